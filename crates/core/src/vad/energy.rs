//! A deterministic energy VAD: each frame's RMS level in dBFS compared with a
//! tracked noise floor, mapped to a probability-like value in `[0, 1]`.
//!
//! Used when no neural model is configured, and in tests, where a tone burst
//! stands in for speech. It cannot tell speech from any other loud sound (a
//! tone, music on hold, a door): that is what the shell's Silero model is
//! for. Same input, same output, on every run.
//!
//! Levels follow the usual digital convention: `20·log10(rms / 32768)`, so a
//! full-scale sine is about −3 dBFS and digital silence is
//! [`SILENCE_DBFS`].

use super::SILENCE_DBFS;

/// RMS level of `pcm` in dBFS, [`SILENCE_DBFS`] for silence or no samples.
pub fn level_dbfs(pcm: &[i16]) -> f32 {
    if pcm.is_empty() {
        return SILENCE_DBFS;
    }
    let sum: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / pcm.len() as f64).sqrt() / 32768.0;
    if rms <= 0.0 {
        return SILENCE_DBFS;
    }
    let db = 20.0 * rms.log10();
    (db as f32).max(SILENCE_DBFS)
}

/// Settings of an [`EnergyVad`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyConfig {
    /// Frames quieter than this are never speech (−50 dBFS: line noise on a
    /// quiet PSTN call sits around −60 to −70 dBFS).
    pub min_dbfs: f32,
    /// The noise floor is never assumed lower than this (−70 dBFS), so
    /// digital silence does not make faint noise look like speech.
    pub floor_min_dbfs: f32,
    /// SNR at and below which the probability is 0 (3 dB).
    pub snr_low_db: f32,
    /// SNR at and above which the probability is 1 (15 dB); 0.5 sits half
    /// way (9 dB).
    pub snr_high_db: f32,
    /// How fast the floor rises toward a louder level, in dB per frame
    /// (0.01 dB/frame = 0.5 dB/s: a 20 s utterance lifts it by 10 dB at most).
    pub floor_rise_db: f32,
    /// Fraction of the gap closed per frame when the level drops below the
    /// floor (0.5: the floor follows quiet quickly).
    pub floor_fall: f32,
    /// Frames at the start during which the floor follows the level both
    /// ways at `floor_fall` (10 frames = 200 ms), so a line that is noisy
    /// from the first frame is learnt at once rather than at 0.5 dB/s.
    pub warmup_frames: u32,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        EnergyConfig {
            min_dbfs: -50.0,
            floor_min_dbfs: -70.0,
            snr_low_db: 3.0,
            snr_high_db: 15.0,
            floor_rise_db: 0.01,
            floor_fall: 0.5,
            warmup_frames: 10,
        }
    }
}

/// Energy VAD with noise floor tracking; one [`EnergyVad::push`] per frame.
#[derive(Debug, Clone)]
pub struct EnergyVad {
    cfg: EnergyConfig,
    floor: f32,
    level: f32,
    seen: u32,
}

impl Default for EnergyVad {
    fn default() -> Self {
        Self::new(EnergyConfig::default())
    }
}

impl EnergyVad {
    /// A VAD whose floor starts at `cfg.floor_min_dbfs`. Settings are used
    /// as given; non-finite values only make every frame silent.
    pub fn new(cfg: EnergyConfig) -> Self {
        EnergyVad {
            cfg,
            floor: cfg.floor_min_dbfs,
            level: SILENCE_DBFS,
            seen: 0,
        }
    }

    /// Measures one frame and returns its speech probability in `[0, 1]`.
    pub fn push(&mut self, frame: &[i16]) -> f32 {
        let level = level_dbfs(frame);
        self.level = level;
        let p = self.probability(level);
        self.track(level);
        p
    }

    /// Level of the last frame, in dBFS.
    pub fn level(&self) -> f32 {
        self.level
    }

    /// The current noise floor estimate, in dBFS.
    pub fn noise_floor(&self) -> f32 {
        self.floor
    }

    fn probability(&self, level: f32) -> f32 {
        if level.is_nan() || level < self.cfg.min_dbfs {
            return 0.0;
        }
        let snr = level - self.floor;
        let span = self.cfg.snr_high_db - self.cfg.snr_low_db;
        if span.is_nan() || span <= 0.0 {
            return if snr >= self.cfg.snr_high_db {
                1.0
            } else {
                0.0
            };
        }
        super::sanitize((snr - self.cfg.snr_low_db) / span)
    }

    fn track(&mut self, level: f32) {
        let warming = self.seen < self.cfg.warmup_frames;
        self.seen = self.seen.saturating_add(1);
        let floor = if level < self.floor || warming {
            self.floor + (level - self.floor) * self.cfg.floor_fall
        } else {
            self.floor + self.cfg.floor_rise_db.min(level - self.floor)
        };
        let floor = floor.max(self.cfg.floor_min_dbfs);
        if floor.is_finite() {
            self.floor = floor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{Tone, ToneGenerator};
    use crate::media::Hz;

    fn sine(level_dbfs: f32) -> Vec<i16> {
        let mut v = vec![0; 160];
        let t = Tone::Sine {
            freq: 440,
            level_dbfs,
        };
        ToneGenerator::new(t, Hz(8000)).fill(&mut v);
        v
    }

    #[test]
    fn level_of_known_signals() {
        assert_eq!(level_dbfs(&[]), SILENCE_DBFS);
        assert_eq!(level_dbfs(&[0; 160]), SILENCE_DBFS);
        // A sine at -12 dBFS peak has an RMS 3 dB lower.
        let l = level_dbfs(&sine(-12.0));
        assert!((l + 15.0).abs() < 0.2, "{l}");
        assert!((level_dbfs(&[i16::MIN; 4]) - 0.0).abs() < 0.01);
    }

    #[test]
    fn tone_is_speech_and_silence_is_not() {
        let mut v = EnergyVad::default();
        assert_eq!(v.push(&[0; 160]), 0.0);
        assert_eq!(v.push(&sine(-12.0)), 1.0);
        assert_eq!(v.push(&[0; 160]), 0.0);
        // Faint noise under the absolute gate is never speech.
        assert_eq!(v.push(&sine(-55.0)), 0.0);
    }

    #[test]
    fn steady_noise_is_learnt_and_speech_stands_out() {
        let mut v = EnergyVad::default();
        let noise = sine(-40.0);
        for _ in 0..3000 {
            v.push(&noise);
        }
        // 60 s of a constant -43 dBFS sound: the floor has caught up.
        assert!(v.noise_floor() > -44.0, "{}", v.noise_floor());
        assert_eq!(v.push(&noise), 0.0);
        assert_eq!(v.push(&sine(-20.0)), 1.0);
        // The floor drops back quickly once the noise stops.
        for _ in 0..20 {
            v.push(&[0; 160]);
        }
        assert!(v.noise_floor() <= -69.0);
    }

    #[test]
    fn noise_from_the_first_frame_is_learnt_during_warmup() {
        let mut v = EnergyVad::default();
        let noise = sine(-40.0);
        // The first frame is judged against the default floor...
        assert_eq!(v.push(&noise), 1.0);
        for _ in 0..20 {
            v.push(&noise);
        }
        // ...but 200 ms later the floor is the noise.
        assert!((v.noise_floor() + 43.0).abs() < 0.5, "{}", v.noise_floor());
        assert_eq!(v.push(&noise), 0.0);
        assert_eq!(v.push(&sine(-18.0)), 1.0);
    }

    #[test]
    fn probability_ramps_with_snr() {
        // Floor at -70: 9 dB SNR is half way (with the absolute gate lowered).
        let v = EnergyVad::new(EnergyConfig {
            min_dbfs: -90.0,
            ..EnergyConfig::default()
        });
        assert!((v.probability(-61.0) - 0.5).abs() < 1e-4);
        assert_eq!(v.probability(-80.0), 0.0);
        assert_eq!(v.probability(-10.0), 1.0);
    }
}
