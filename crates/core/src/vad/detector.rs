//! The speech detector a speech call listens with: one speech probability
//! per 20 ms frame of the caller's audio.
//!
//! Owns the [`SpeechDetector`] trait (one per call: detectors keep state
//! across frames) and [`DetectorFactory`] (shared by every call of an
//! engine, hands out a fresh detector per call). The shell plugs in its
//! neural model (Silero on ONNX Runtime) through them; the deterministic
//! [`super::EnergyVad`] is the default, so the core and its simulations
//! run without any model.
//!
//! A detector is pure computation on the samples given: no clock, no IO.
//! Its answer for a frame may lag by up to one model window (Silero scores
//! 32 ms windows, so a 20 ms frame gets the score of the last complete
//! window); the endpointing hangovers absorb that.

use std::fmt::Debug;

use super::energy::EnergyVad;

/// Scores the caller's frames, one call's worth of state.
pub trait SpeechDetector: Send + Debug {
    /// Takes one 20 ms frame (160 samples at 8 kHz) and returns the speech
    /// probability in `[0, 1]` (out-of-range values and NaN are tolerated by
    /// every consumer).
    fn push(&mut self, frame: &[i16]) -> f32;

    /// Forgets what was heard (the call went on hold and came back).
    fn reset(&mut self);
}

/// Creates a detector for each new speech call.
pub trait DetectorFactory: Send + Sync + Debug {
    /// A detector with fresh state.
    fn create(&self) -> Box<dyn SpeechDetector>;
}

impl SpeechDetector for EnergyVad {
    fn push(&mut self, frame: &[i16]) -> f32 {
        EnergyVad::push(self, frame)
    }

    fn reset(&mut self) {
        *self = EnergyVad::default();
    }
}

/// Hands out [`EnergyVad`]s with the default settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnergyFactory;

impl DetectorFactory for EnergyFactory {
    fn create(&self) -> Box<dyn SpeechDetector> {
        Box::new(EnergyVad::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_detector_through_the_trait() {
        let mut d = EnergyFactory.create();
        let quiet = [0i16; 160];
        let loud: Vec<i16> = (0..160)
            .map(|i| if i % 2 == 0 { 8000 } else { -8000 })
            .collect();
        for _ in 0..20 {
            assert_eq!(d.push(&quiet), 0.0);
        }
        assert!(d.push(&loud) > 0.9);
        d.reset();
        assert_eq!(d.push(&quiet), 0.0);
    }
}
