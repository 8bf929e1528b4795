//! Speech recognition, as the rest of kefu sees it: a [`Recognizer`] turns
//! one utterance (mono PCM at any rate) into text, within a deadline.
//!
//! Implementations: [`super::whisper::WhisperRecognizer`] (whisper.cpp via
//! whisper-rs). Tests and the simulator script their own.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// One utterance to transcribe.
#[derive(Debug, Clone, Copy)]
pub struct Audio<'a> {
    /// Mono 16-bit samples.
    pub samples: &'a [i16],
    /// Their sample rate.
    pub rate: u32,
}

/// How to transcribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsrOptions {
    /// ISO 639-1 language code (`en`, `zh`, …), or `auto` to detect (it
    /// doubles the cost: set the language where the dialplan knows it).
    pub language: String,
    /// Give up after this long (garbage audio can otherwise take minutes).
    pub deadline: Duration,
}

impl Default for AsrOptions {
    fn default() -> Self {
        AsrOptions {
            language: "en".into(),
            deadline: Duration::from_secs(10),
        }
    }
}

/// The text of an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The words, trimmed; empty when nothing was said.
    pub text: String,
    /// Seconds of audio transcribed.
    pub audio_secs: f32,
    /// Time spent waiting for a free decoder.
    pub queued: Duration,
    /// Time spent decoding.
    pub decoding: Duration,
}

/// Why an utterance could not be transcribed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AsrError {
    /// The model file is missing; whose fault: the operator's.
    #[error("speech model {path} is missing: run `make models` (or `bash models/fetch.sh`)")]
    ModelMissing {
        /// The expected file.
        path: String,
    },
    /// The model file could not be loaded.
    #[error("speech model {path} could not be loaded: {reason}")]
    Load {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The audio's sample rate cannot be converted.
    #[error("audio at {rate} Hz cannot be transcribed: {reason}")]
    Rate {
        /// The rate given.
        rate: u32,
        /// Why.
        reason: String,
    },
    /// The decoder ran past its deadline and was stopped.
    #[error("transcription stopped after its {0:?} deadline")]
    Deadline(Duration),
    /// The audio went stale (the caller went on speaking) and the decoder
    /// was stopped.
    #[error("transcription cancelled")]
    Cancelled,
    /// The decoder failed.
    #[error("transcription failed: {0}")]
    Decode(String),
}

/// Turns utterances into text. Shared by all calls; implementations bound
/// their own concurrency.
pub trait Recognizer: Send + Sync {
    /// Transcribes one utterance; blocks the calling (worker) thread.
    fn transcribe(&self, audio: Audio<'_>, options: &AsrOptions) -> Result<Transcript, AsrError>;

    /// Like [`Recognizer::transcribe`], but gives up with
    /// [`AsrError::Cancelled`] once `stop` is set. Implementations that
    /// cannot stop mid-way run to the end.
    fn transcribe_stoppable(
        &self,
        audio: Audio<'_>,
        options: &AsrOptions,
        stop: Arc<AtomicBool>,
    ) -> Result<Transcript, AsrError> {
        let _ = stop;
        self.transcribe(audio, options)
    }
}
