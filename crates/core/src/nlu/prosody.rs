//! How an utterance was said: loudness, pitch and speaking rate, measured
//! from its audio and transcript. One of the inputs of the emotion
//! estimate, which compares them with the caller's own earlier utterances
//! (a loud voice or a high one says little on its own; louder and higher
//! than this caller's usual says more).
//!
//! - **Energy**: the audio is cut into 20 ms frames and each frame's RMS
//!   level taken in dBFS. A frame is *voiced* when it is above −55 dBFS
//!   and above an adaptive floor, 30 % of the way from the quiet frames'
//!   level (10th percentile) to the loud ones' (95th), so pauses and line
//!   noise between words do not count. `energy_db` is the mean level of
//!   the voiced frames.
//! - **Pitch**: for each voiced frame, a 40 ms window (decimated to about
//!   8 kHz) is autocorrelated, normalized, over the lags of 70 to 400 Hz;
//!   the shortest lag within 85 % of the best one wins (so a period's
//!   multiples do not halve the pitch), refined by a parabola through its
//!   neighbours, and kept when its correlation reaches 0.5 (periodic, not
//!   noise). `pitch_hz` is the median of the kept estimates, `None` with
//!   fewer than 5 (100 ms).
//! - **Rate**: syllables of the transcript per second of voiced audio:
//!   English words count their vowel groups (a silent final e dropped),
//!   each Chinese character one, each digit one.
//!
//! Not here: the caller's baseline and what the deltas mean (the
//! dialogue's emotion estimate), voice activity detection (the VAD).

use super::normalize::{is_unspaced, normalize};

/// How an utterance was said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prosody {
    /// Mean level of the voiced frames, dBFS (0 is full scale).
    pub energy_db: f32,
    /// Median fundamental frequency, Hz; `None` when too little of the
    /// audio is periodic (whispers, noise, very short speech).
    pub pitch_hz: Option<f32>,
    /// Syllables per second of voiced audio (0 for an empty transcript).
    pub rate: f32,
}

/// Frame length for energy and voicing, ms.
const FRAME_MS: u32 = 20;
/// Shortest audio measured, ms.
const MIN_AUDIO_MS: u32 = 200;
/// A frame at or below this level is silence whatever the floor, dBFS.
const SILENCE_DB: f32 = -55.0;
/// Where the voicing floor sits between the quiet and the loud frames.
const FLOOR_FRACTION: f32 = 0.3;
/// Pitch search range, Hz.
const PITCH_MIN_HZ: f32 = 70.0;
const PITCH_MAX_HZ: f32 = 400.0;
/// Sample rate the pitch search runs at (about; an integer decimation).
const PITCH_RATE: u32 = 8000;
/// Pitch analysis window, ms: two periods of the lowest pitch and more.
const PITCH_WINDOW_MS: u32 = 40;
/// Normalized autocorrelation a frame needs to count as periodic.
const PERIODIC: f32 = 0.5;
/// Lags within this fraction of the best count as candidates.
const NEAR_BEST: f32 = 0.85;
/// Fewest periodic frames for a pitch.
const MIN_PITCH_FRAMES: usize = 5;

impl Prosody {
    /// Measures `pcm` (mono, 16-bit) at `sample_rate` (4 kHz or more),
    /// with `text` its transcript. `None` for audio shorter than 200 ms,
    /// silent audio, or a sample rate under 4 kHz.
    pub fn measure(pcm: &[i16], sample_rate: u32, text: &str) -> Option<Prosody> {
        if sample_rate < 4000 {
            return None;
        }
        let frame = usize::try_from(u64::from(sample_rate) * u64::from(FRAME_MS) / 1000).ok()?;
        let min_len = u64::from(sample_rate) * u64::from(MIN_AUDIO_MS) / 1000;
        if (pcm.len() as u64) < min_len {
            return None;
        }
        let levels: Vec<f32> = pcm.chunks_exact(frame).map(level_db).collect();
        let voiced = voiced_frames(&levels);
        if voiced.is_empty() {
            return None;
        }
        let energy_db = voiced.iter().map(|&i| levels[i]).sum::<f32>() / voiced.len() as f32;
        let seconds = voiced.len() as f32 * FRAME_MS as f32 / 1000.0;
        Some(Prosody {
            energy_db,
            pitch_hz: pitch(pcm, sample_rate, frame, &voiced),
            rate: syllables(text) as f32 / seconds,
        })
    }
}

/// RMS level of a frame, dBFS (−200 for digital silence).
fn level_db(frame: &[i16]) -> f32 {
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / frame.len().max(1) as f64).sqrt() / 32768.0;
    if rms > 0.0 {
        (20.0 * rms.log10()) as f32
    } else {
        -200.0
    }
}

/// Indexes of the voiced frames; see the module docs.
fn voiced_frames(levels: &[f32]) -> Vec<usize> {
    if levels.is_empty() {
        return Vec::new();
    }
    let mut sorted = levels.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = |q: f32| sorted[((sorted.len() - 1) as f32 * q).round() as usize];
    let (quiet, loud) = (at(0.1), at(0.95));
    // A hair under, so a steady tone (quiet = loud) is all voiced.
    let floor = quiet + FLOOR_FRACTION * (loud - quiet) - 0.01;
    (0..levels.len())
        .filter(|&i| levels[i] > SILENCE_DB && levels[i] >= floor)
        .collect()
}

/// Median pitch over the voiced frames; see the module docs.
fn pitch(pcm: &[i16], sample_rate: u32, frame: usize, voiced: &[usize]) -> Option<f32> {
    let k = (sample_rate / PITCH_RATE).max(1) as usize;
    let rate = sample_rate as f32 / k as f32;
    // Decimate by averaging k samples (a crude low-pass, ample below 400 Hz).
    let x: Vec<f32> = pcm
        .chunks_exact(k)
        .map(|c| c.iter().map(|&s| f32::from(s)).sum::<f32>() / k as f32)
        .collect();
    let window = (rate * PITCH_WINDOW_MS as f32 / 1000.0) as usize;
    let lags =
        ((rate / PITCH_MAX_HZ).floor() as usize).max(2)..=(rate / PITCH_MIN_HZ).ceil() as usize;
    let mut f0: Vec<f32> = voiced
        .iter()
        .filter_map(|&i| {
            let start = i * frame / k;
            let w = x.get(start..start + window)?;
            period(w, lags.clone()).map(|lag| rate / lag)
        })
        .filter(|f| (PITCH_MIN_HZ..=PITCH_MAX_HZ).contains(f))
        .collect();
    if f0.len() < MIN_PITCH_FRAMES {
        return None;
    }
    f0.sort_by(f32::total_cmp);
    Some(f0[f0.len() / 2])
}

/// The period of `w` in samples (fractional), if it is periodic within
/// `lags`; see the module docs.
fn period(w: &[f32], lags: std::ops::RangeInclusive<usize>) -> Option<f32> {
    let mean = w.iter().sum::<f32>() / w.len() as f32;
    let w: Vec<f32> = w.iter().map(|s| s - mean).collect();
    let (lo, hi) = (*lags.start(), (*lags.end()).min(w.len() / 2));
    if lo + 2 > hi {
        return None;
    }
    // r[j] is the normalized autocorrelation at lag lo - 1 + j.
    let r: Vec<f32> = (lo - 1..=hi + 1).map(|lag| correlation(&w, lag)).collect();
    let best = r[1..r.len() - 1].iter().copied().fold(f32::MIN, f32::max);
    if best < PERIODIC {
        return None;
    }
    let j = (1..r.len() - 1)
        .find(|&j| r[j] >= NEAR_BEST * best && r[j] >= r[j - 1] && r[j] >= r[j + 1])?;
    // Parabolic interpolation through the peak and its neighbours.
    let (a, b, c) = (r[j - 1], r[j], r[j + 1]);
    let denom = a - 2.0 * b + c;
    let shift = if denom.abs() > 1e-9 {
        0.5 * (a - c) / denom
    } else {
        0.0
    };
    Some((lo - 1 + j) as f32 + shift.clamp(-0.5, 0.5))
}

/// Normalized autocorrelation of `w` at `lag`.
fn correlation(w: &[f32], lag: usize) -> f32 {
    if lag >= w.len() {
        return 0.0;
    }
    let (a, b) = (&w[..w.len() - lag], &w[lag..]);
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let ea: f32 = a.iter().map(|x| x * x).sum();
    let eb: f32 = b.iter().map(|x| x * x).sum();
    let norm = (ea * eb).sqrt();
    if norm > 0.0 {
        dot / norm
    } else {
        0.0
    }
}

/// Syllables in `text`: vowel groups per English word (a final silent e
/// dropped, at least one), one per Chinese character, one per digit.
pub fn syllables(text: &str) -> usize {
    let mut n = 0;
    for word in normalize(text).split(' ') {
        let mut latin = String::new();
        for c in word.chars() {
            if is_unspaced(c) || c.is_ascii_digit() {
                n += 1 + vowel_groups(&latin);
                latin.clear();
            } else if c.is_alphabetic() {
                latin.push(c);
            }
        }
        n += vowel_groups(&latin);
    }
    n
}

/// Syllables of one word of letters (0 for none).
fn vowel_groups(word: &str) -> usize {
    if word.is_empty() {
        return 0;
    }
    let vowel = |c: char| "aeiouyàáâäèéêëìíîïòóôöùúûü".contains(c);
    let chars: Vec<char> = word.chars().collect();
    let mut groups = (0..chars.len())
        .filter(|&i| vowel(chars[i]) && (i == 0 || !vowel(chars[i - 1])))
        .count();
    let silent_e = word.ends_with('e') && !word.ends_with("le") && chars.len() > 2;
    if silent_e && groups > 1 {
        groups -= 1;
    }
    groups.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::TAU;

    /// A sine of `hz` at `amp` (of 32767), `ms` long.
    fn tone(hz: f32, amp: f32, ms: u32, rate: u32) -> Vec<i16> {
        let n = (rate * ms / 1000) as usize;
        (0..n)
            .map(|i| (amp * (TAU * hz * i as f32 / rate as f32).sin()) as i16)
            .collect()
    }

    /// A vowel-like signal: a pulse train at `hz` through a resonance
    /// near 700 Hz, so most of its energy is in harmonics, not the
    /// fundamental.
    fn pulses(hz: f32, amp: f32, ms: u32, rate: u32) -> Vec<i16> {
        let n = (rate * ms / 1000) as usize;
        let (r, theta) = (0.97f32, TAU * 700.0 / rate as f32);
        let (a1, a2) = (2.0 * r * theta.cos(), -r * r);
        let (mut y1, mut y2, mut out) = (0.0f32, 0.0f32, Vec::with_capacity(n));
        let period = rate as f32 / hz;
        let mut next = 0.0f32;
        for i in 0..n {
            let x = if i as f32 >= next {
                next += period;
                1.0
            } else {
                0.0
            };
            let y = x + a1 * y1 + a2 * y2;
            (y2, y1) = (y1, y);
            out.push(y);
        }
        let peak = out.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        out.iter().map(|v| (v / peak * amp) as i16).collect()
    }

    /// White noise from a fixed seed.
    fn noise(amp: f32, ms: u32, rate: u32) -> Vec<i16> {
        let mut x: u32 = 12345;
        (0..rate * ms / 1000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((f32::from((x >> 16) as u16) / 65535.0 - 0.5) * 2.0 * amp) as i16
            })
            .collect()
    }

    fn near(got: Option<f32>, want: f32, tolerance: f32) -> bool {
        got.is_some_and(|g| (g - want).abs() <= want * tolerance)
    }

    #[test]
    fn pitch_of_sine_tones() {
        for (hz, rate) in [
            (120.0, 8000),
            (220.0, 8000),
            (90.0, 16000),
            (220.0, 16000),
            (350.0, 16000),
            (200.0, 48000),
        ] {
            let p = Prosody::measure(&tone(hz, 8000.0, 600, rate), rate, "").expect("measured");
            assert!(near(p.pitch_hz, hz, 0.01), "{hz} Hz at {rate}: {p:?}");
        }
    }

    #[test]
    fn pitch_of_harmonic_rich_pulse_trains() {
        for (hz, rate) in [(120.0, 8000), (220.0, 8000), (120.0, 16000), (220.0, 16000)] {
            let p = Prosody::measure(&pulses(hz, 12000.0, 600, rate), rate, "").expect("measured");
            assert!(near(p.pitch_hz, hz, 0.02), "{hz} Hz at {rate}: {p:?}");
        }
    }

    #[test]
    fn noise_has_energy_but_no_pitch() {
        let p = Prosody::measure(&noise(6000.0, 600, 8000), 8000, "").expect("measured");
        assert_eq!(p.pitch_hz, None, "{p:?}");
        assert!(p.energy_db > -30.0 && p.energy_db < -10.0, "{p:?}");
    }

    #[test]
    fn silence_and_short_audio_are_not_measured() {
        assert_eq!(Prosody::measure(&[0; 8000], 8000, "hello"), None);
        assert_eq!(
            Prosody::measure(&tone(150.0, 8000.0, 150, 8000), 8000, "hi"),
            None
        );
        assert_eq!(Prosody::measure(&[], 16000, ""), None);
        // Below -55 dBFS is silence however steady.
        assert_eq!(
            Prosody::measure(&tone(150.0, 30.0, 500, 8000), 8000, ""),
            None
        );
        assert_eq!(
            Prosody::measure(&tone(150.0, 8000.0, 500, 8000), 0, ""),
            None
        );
        assert_eq!(
            Prosody::measure(&tone(150.0, 8000.0, 500, 8000), 3000, ""),
            None
        );
    }

    #[test]
    fn energy_is_the_level_of_the_voiced_frames() {
        // A sine of amplitude A has RMS A/sqrt(2).
        let p = Prosody::measure(&tone(200.0, 8000.0, 500, 8000), 8000, "").expect("measured");
        let want = 20.0 * (8000.0 / 2f32.sqrt() / 32768.0).log10();
        assert!((p.energy_db - want).abs() < 0.3, "{p:?} vs {want}");
        let loud = Prosody::measure(&tone(200.0, 16000.0, 500, 8000), 8000, "").expect("loud");
        let quiet = Prosody::measure(&tone(200.0, 4000.0, 500, 8000), 8000, "").expect("quiet");
        assert!(
            (loud.energy_db - quiet.energy_db - 12.04).abs() < 0.3,
            "{loud:?} {quiet:?}"
        );
        // Pauses around the words do not pull the level down.
        let mut padded = vec![0i16; 2400];
        padded.extend(tone(200.0, 8000.0, 500, 8000));
        padded.extend(noise(20.0, 300, 8000));
        let p2 = Prosody::measure(&padded, 8000, "").expect("measured");
        assert!((p2.energy_db - p.energy_db).abs() < 0.5, "{p2:?} vs {p:?}");
    }

    #[test]
    fn rate_is_syllables_per_voiced_second() {
        let mut audio = vec![0i16; 2400];
        audio.extend(pulses(120.0, 10000.0, 1000, 8000));
        audio.extend(vec![0i16; 4000]);
        // "hello there, how are you" = 2 + 1 + 1 + 1 + 1 syllables in 1 s.
        let p = Prosody::measure(&audio, 8000, "Hello there, how are you?").expect("measured");
        assert!((p.rate - 6.0).abs() < 0.4, "{p:?}");
        let p = Prosody::measure(&audio, 8000, "我的快递到哪了").expect("measured");
        assert!((p.rate - 7.0).abs() < 0.5, "{p:?}");
        assert_eq!(
            Prosody::measure(&audio, 8000, "").map(|p| p.rate),
            Some(0.0)
        );
    }

    #[test]
    fn syllable_counts() {
        for (text, want) in [
            ("hello", 2),
            ("there", 1),
            ("table", 2),
            ("cancel my order", 5),
            ("I want a refund", 5),
            ("queue", 1),
            ("转人工", 3),
            ("订单123", 5),
            ("iphone手机", 4),
            ("", 0),
            ("？！", 0),
        ] {
            assert_eq!(syllables(text), want, "{text}");
        }
    }
}
