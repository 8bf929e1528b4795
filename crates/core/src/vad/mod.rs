//! Voice activity: when the caller speaks, when they have finished, and
//! whether their speech should stop the agent (barge-in).
//!
//! Everything here consumes one decision per 20 ms frame, on the call's own
//! tick grid: a speech probability in `[0, 1]` (from the shell's Silero model,
//! or from the deterministic [`energy::EnergyVad`] when no model is
//! configured) and frame levels in dBFS. Time enters only as the `now` of
//! each frame; durations (hangovers, minimum speech) are counted in frames,
//! so a late or early `now` shifts event timestamps but never their order.
//!
//! - [`endpoint::Endpointer`]: utterance start (back-dated), pause (start a
//!   speculative transcription), resume (discard it), end, maximum length,
//!   no-input timeout; [`endpoint::UtteranceBuffer`] keeps the caller's audio
//!   with a pre-roll and hands it out for transcription.
//! - [`bargein::BargeIn`]: whether speech during agent playback is the
//!   caller interrupting, or only the echo of what kefu played (the carrier
//!   has no echo canceller) or a short backchannel ("mm", "嗯").
//! - [`echo::EchoPath`]: the delay and loss of kefu's own audio coming back
//!   on the caller's line, learnt from frame levels.
//! - [`detector::SpeechDetector`]: where the probabilities come from (the
//!   shell's Silero model through a [`detector::DetectorFactory`]).
//! - [`turn_end::classify`]: whether a pause's speculative transcript
//!   reads like a finished sentence, so the pause may end the utterance
//!   early.
//! - [`energy::EnergyVad`]: RMS level against a tracked noise floor, turned
//!   into a probability-like value; the detector when no model is plugged in.
//!
//! Not here: running the neural model (the shell's engines), flushing the
//! playout queue (the call acts on [`bargein::Decision`]), transcription.
//!
//! ## Frame timing convention
//! The frame pushed with `now` holds the audio of `[now, now + FRAME)`.
//! An event's instants are frame times taken from the `now`s pushed: the
//! start of an utterance is the `now` of its first speech frame, its end the
//! `now` of its first silent frame (= end of the last speech frame).

pub mod bargein;
pub mod detector;
pub mod echo;
pub mod endpoint;
pub mod energy;
pub mod turn_end;
pub mod utterance;

use std::time::Duration;

use thiserror::Error;

pub use bargein::{BargeIn, BargeInPolicy, Decision};
pub use detector::{DetectorFactory, EnergyFactory, SpeechDetector};
pub use endpoint::{EndpointConfig, EndpointEvent, Endpointer, UtteranceAudio, UtteranceBuffer};
pub use energy::EnergyVad;

/// Length of one frame: the call's tick.
pub const FRAME: Duration = Duration::from_millis(20);
/// Samples in one frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Samples per second of the audio the VAD sees (narrowband telephony).
pub const RATE: u32 = 8000;
/// The level reported for digital silence, in dBFS: the floor of 16-bit PCM
/// (one LSB is about −90 dBFS), so level arithmetic never meets −∞.
pub const SILENCE_DBFS: f32 = -96.0;

/// A VAD configuration value that cannot work: the operator's fault (a
/// dialplan or `kefu.toml` setting), reported when the config is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VadError {
    /// A setting is out of range or inconsistent with another one.
    #[error("invalid VAD setting `{key}`: {why}")]
    Config {
        /// The setting's name, as in the config file.
        key: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// Whole frames needed to cover `d` (at least one).
pub(crate) fn frames_for(d: Duration) -> u32 {
    let f = FRAME.as_micros();
    let n = d.as_micros().div_ceil(f).max(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Checks a duration setting lies in `[min, max]`.
pub(crate) fn check_duration(
    key: &'static str,
    d: Duration,
    min: Duration,
    max: Duration,
) -> Result<(), VadError> {
    if d < min {
        return Err(VadError::Config {
            key,
            why: "too short",
        });
    }
    if d > max {
        return Err(VadError::Config {
            key,
            why: "too long",
        });
    }
    Ok(())
}

/// Checks a probability threshold lies strictly inside `(0, 1)`.
pub(crate) fn check_probability(key: &'static str, p: f32) -> Result<(), VadError> {
    if p.is_finite() && p > 0.0 && p < 1.0 {
        Ok(())
    } else {
        Err(VadError::Config {
            key,
            why: "must be a probability strictly between 0 and 1",
        })
    }
}

/// A probability from an untrusted source: NaN counts as 0, the rest is
/// clamped to `[0, 1]`.
pub(crate) fn sanitize(p: f32) -> f32 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_up() {
        assert_eq!(frames_for(Duration::ZERO), 1);
        assert_eq!(frames_for(Duration::from_millis(60)), 3);
        assert_eq!(frames_for(Duration::from_millis(61)), 4);
        assert_eq!(frames_for(Duration::MAX), u32::MAX);
    }

    #[test]
    fn sanitize_clamps_and_kills_nan() {
        assert_eq!(sanitize(f32::NAN), 0.0);
        assert_eq!(sanitize(2.0), 1.0);
        assert_eq!(sanitize(-1.0), 0.0);
        assert_eq!(sanitize(f32::INFINITY), 1.0);
    }
}
