//! Tone generation: silence, single sines and dual-tone pairs, including the
//! DTMF keypad frequencies (ITU-T Q.23; RFC 4733 §3.2 event codes 0-15).
//!
//! Owns phase-continuous synthesis into 16-bit PCM buffers of any length, so a
//! tone can be produced frame by frame (20 ms at a time) without clicks at the
//! frame edges. It does not time tones (cadences such as ringback are the
//! caller's schedule) and does not detect tones.

use super::Hz;

/// Default level of each DTMF component, in dBFS (peak of a full-scale sine).
pub const DTMF_LEVEL_DBFS: f32 = -10.0;

/// What a [`ToneGenerator`] plays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tone {
    /// All-zero samples.
    Silence,
    /// One sine of `freq` Hz at `level_dbfs` (0 dBFS = peak at full scale).
    Sine {
        /// Frequency in Hz.
        freq: u32,
        /// Peak level in dBFS; values above 0 saturate.
        level_dbfs: f32,
    },
    /// Two sines summed, each at `level_dbfs` (as DTMF levels are given per
    /// frequency); the sum saturates rather than wraps.
    Dual {
        /// First frequency in Hz.
        f1: u32,
        /// Second frequency in Hz.
        f2: u32,
        /// Peak level of each component in dBFS.
        level_dbfs: f32,
    },
}

/// A phase-continuous generator for one [`Tone`] at one sample rate.
#[derive(Clone, Debug)]
pub struct ToneGenerator {
    tone: Tone,
    rate: Hz,
    /// Per-component phase in cycles, kept in [0, 1).
    phase: [f64; 2],
    /// Per-component phase increment in cycles per sample.
    step: [f64; 2],
    /// Peak amplitude of each component in sample units.
    amp: f64,
}

fn amplitude(level_dbfs: f32) -> f64 {
    let a = 32767.0 * 10f64.powf(f64::from(level_dbfs) / 20.0);
    if a.is_finite() {
        a
    } else {
        0.0
    }
}

impl ToneGenerator {
    /// A generator for `tone` at `rate`. A zero rate yields silence.
    pub fn new(tone: Tone, rate: Hz) -> Self {
        let per_sample = |f: u32| {
            if rate.0 == 0 {
                0.0
            } else {
                (f64::from(f) / f64::from(rate.0)).fract()
            }
        };
        let (step, amp) = match tone {
            Tone::Silence => ([0.0, 0.0], 0.0),
            Tone::Sine { freq, level_dbfs } => ([per_sample(freq), 0.0], amplitude(level_dbfs)),
            Tone::Dual { f1, f2, level_dbfs } => {
                ([per_sample(f1), per_sample(f2)], amplitude(level_dbfs))
            }
        };
        let amp = if rate.0 == 0 { 0.0 } else { amp };
        Self {
            tone,
            rate,
            phase: [0.0; 2],
            step,
            amp,
        }
    }

    /// The tone being played.
    pub fn tone(&self) -> Tone {
        self.tone
    }

    /// The sample rate.
    pub fn rate(&self) -> Hz {
        self.rate
    }

    /// Overwrites `out` with the next `out.len()` samples, continuing the
    /// phase from the previous call.
    pub fn fill(&mut self, out: &mut [i16]) {
        let components = match self.tone {
            Tone::Silence => 0,
            Tone::Sine { .. } => 1,
            Tone::Dual { .. } => 2,
        };
        if components == 0 || self.amp == 0.0 {
            out.fill(0);
            return;
        }
        let tau = std::f64::consts::TAU;
        for s in out.iter_mut() {
            let mut v = 0.0;
            for k in 0..components {
                v += (tau * self.phase[k]).sin();
                self.phase[k] += self.step[k];
                if self.phase[k] >= 1.0 {
                    self.phase[k] -= 1.0;
                }
            }
            // `as` saturates, so a loud dual tone clips instead of wrapping.
            *s = (v * self.amp).round() as i16;
        }
    }
}

/// The DTMF tone for a keypad `digit` (`0-9`, `*`, `#`, `A-D`, case-insensitive)
/// at [`DTMF_LEVEL_DBFS`] per component; `None` for anything else.
pub fn dtmf_tone(digit: char) -> Option<Tone> {
    const ROWS: [u32; 4] = [697, 770, 852, 941];
    const COLS: [u32; 4] = [1209, 1336, 1477, 1633];
    let (row, col) = match digit.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    Some(Tone::Dual {
        f1: ROWS[row],
        f2: COLS[col],
        level_dbfs: DTMF_LEVEL_DBFS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Goertzel power of `freq` in `x`, normalised by length.
    fn goertzel(x: &[i16], freq: f64, rate: f64) -> f64 {
        let w = std::f64::consts::TAU * freq / rate;
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &v in x {
            let s0 = f64::from(v) + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (x.len() as f64).powi(2)
    }

    #[test]
    fn silence_is_zero() {
        let mut g = ToneGenerator::new(Tone::Silence, Hz(8000));
        let mut buf = [5i16; 160];
        g.fill(&mut buf);
        assert!(buf.iter().all(|&s| s == 0));
    }

    #[test]
    fn sine_has_requested_peak() {
        let mut g = ToneGenerator::new(
            Tone::Sine {
                freq: 1000,
                level_dbfs: -6.0,
            },
            Hz(8000),
        );
        let mut buf = [0i16; 800];
        g.fill(&mut buf);
        let peak = buf.iter().map(|s| i32::from(*s).abs()).max().unwrap_or(0);
        assert!((16_300..=16_450).contains(&peak), "peak {peak}");
    }

    #[test]
    fn phase_continues_across_calls() {
        let tone = Tone::Dual {
            f1: 697,
            f2: 1209,
            level_dbfs: -10.0,
        };
        let mut whole = vec![0i16; 480];
        ToneGenerator::new(tone, Hz(8000)).fill(&mut whole);
        let mut g = ToneGenerator::new(tone, Hz(8000));
        let mut parts = vec![0i16; 480];
        for chunk in parts.chunks_mut(70) {
            g.fill(chunk);
        }
        assert_eq!(whole, parts);
    }

    #[test]
    fn dtmf_digits_have_their_frequency_pairs() {
        let mut buf = [0i16; 800];
        for (digit, lo, hi) in [
            ('1', 697.0, 1209.0),
            ('0', 941.0, 1336.0),
            ('#', 941.0, 1477.0),
        ] {
            let tone = dtmf_tone(digit).expect("keypad digit");
            ToneGenerator::new(tone, Hz(8000)).fill(&mut buf);
            let on = goertzel(&buf, lo, 8000.0).min(goertzel(&buf, hi, 8000.0));
            let off = goertzel(&buf, 852.0, 8000.0).max(goertzel(&buf, 1633.0, 8000.0));
            assert!(on > 100.0 * off, "{digit}: on {on} off {off}");
        }
        assert_eq!(dtmf_tone('d'), dtmf_tone('D'));
        assert_eq!(dtmf_tone('x'), None);
        let all = "0123456789*#ABCD";
        assert!(all.chars().all(|c| dtmf_tone(c).is_some()));
    }

    #[test]
    fn loud_dual_tone_saturates() {
        let tone = Tone::Dual {
            f1: 500,
            f2: 500,
            level_dbfs: 0.0,
        };
        let mut buf = [0i16; 160];
        ToneGenerator::new(tone, Hz(8000)).fill(&mut buf);
        assert!(buf.contains(&i16::MAX));
        assert!(buf.contains(&i16::MIN));
    }

    proptest! {
        #[test]
        fn never_panics(freq in any::<u32>(), f2 in any::<u32>(), level in any::<f32>(),
                        rate in any::<u32>(), len in 0usize..300) {
            let mut buf = vec![0i16; len];
            ToneGenerator::new(Tone::Dual { f1: freq, f2, level_dbfs: level }, Hz(rate)).fill(&mut buf);
            ToneGenerator::new(Tone::Sine { freq, level_dbfs: level }, Hz(rate)).fill(&mut buf);
        }
    }
}
