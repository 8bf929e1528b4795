//! Text to speech: the [`Synthesizer`] trait the rest of kefu calls, its
//! audio [`Chunk`]s and its error type, plus [`open_voice`], which turns a
//! voice name from the configuration or the command line into a synthesizer.
//!
//! Two implementations: [`super::piper::PiperVoice`] (a Piper VITS voice run
//! on ONNX Runtime, the default) and [`super::espeak::EspeakSynth`] (the
//! `espeak-ng` program, for languages that have no Piper voice, e.g.
//! Mandarin). Synthesis is blocking and CPU-bound: callers run it on the
//! engine pool, never on a media or tokio thread. Audio is delivered clause by
//! clause so that playout can start after the first clause and stop early on
//! barge-in.
//!
//! This module does not resample, encode or cache: the caller converts to the
//! call's rate (`kefu_core::media::resample`) and caches static prompts.

use std::path::{Path, PathBuf};

use super::espeak::EspeakSynth;
use super::piper::PiperVoice;

/// The command that fetches models and the ONNX Runtime library.
pub const FETCH_HINT: &str = "run `make models` (or `bash models/fetch.sh`)";

/// The voice used when none is configured.
pub const DEFAULT_VOICE: &str = "en_US-joe-medium";

/// One piece of synthesized speech: 16-bit mono PCM at the synthesizer's
/// [`Synthesizer::sample_rate`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chunk {
    /// The samples.
    pub samples: Vec<i16>,
    /// True when this chunk ends a clause (a natural place to stop or to
    /// splice), false when more of the same clause follows.
    pub clause_end: bool,
}

/// Why speech could not be synthesized. Text is never at fault: any text,
/// including empty text (which yields no audio), is spoken as well as the
/// voice can.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TtsError {
    /// A model or library file is missing (operator: fetch the models).
    #[error("{what} not found: {}; {FETCH_HINT}", path.display())]
    MissingFile {
        /// What the file is ("Piper voice", "ONNX Runtime library" …).
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The ONNX Runtime library exists but cannot be loaded (operator: wrong
    /// or corrupt file, or an incompatible version).
    #[error("cannot load ONNX Runtime from {}: {reason}; {FETCH_HINT}", path.display())]
    Runtime {
        /// The library file.
        path: PathBuf,
        /// ONNX Runtime's explanation.
        reason: String,
    },
    /// A voice file is malformed (operator: corrupt or wrong download).
    #[error("bad voice {}: {reason}; {FETCH_HINT}", path.display())]
    BadVoice {
        /// The `.onnx` or `.onnx.json` file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The `espeak-ng` program is missing or failed (operator: install it,
    /// Debian package `espeak-ng`, or pick a voice it has).
    #[error("espeak-ng: {0} (install the Debian package `espeak-ng`)")]
    Espeak(String),
    /// The model failed while running (kefu's fault, or out of memory).
    #[error("speech synthesis failed: {0}")]
    Inference(String),
}

impl TtsError {
    /// True when the operator can fix this (files, packages, configuration);
    /// false for internal failures.
    pub fn is_operator_fault(&self) -> bool {
        !matches!(self, Self::Inference(_))
    }
}

/// A text-to-speech engine. Implementations are shared between calls
/// (`Send + Sync`); each call blocks its thread until done or stopped.
pub trait Synthesizer: Send + Sync {
    /// Speaks `text`, handing audio to `sink` clause by clause as soon as
    /// each is ready. `sink` returns `false` to stop early (barge-in); that
    /// is not an error. Empty text produces no chunks.
    fn synthesize(&self, text: &str, sink: &mut dyn FnMut(Chunk) -> bool) -> Result<(), TtsError>;

    /// The rate of the samples in every [`Chunk`], in Hz.
    fn sample_rate(&self) -> u32;

    /// Speaks `text` and returns all of its audio at once.
    fn synthesize_all(&self, text: &str) -> Result<Vec<i16>, TtsError> {
        let mut all = Vec::new();
        self.synthesize(text, &mut |c: Chunk| {
            all.extend_from_slice(&c.samples);
            true
        })?;
        Ok(all)
    }
}

/// The models folder (see [`super::models_dir`]).
pub fn models_dir() -> PathBuf {
    super::models_dir()
}

/// Opens a voice by name or path:
/// - `espeak:VOICE` (e.g. `espeak:cmn-latn-pinyin`): the `espeak-ng` program;
/// - a path ending in `.onnx`: that Piper model, with `PATH.json` beside it;
/// - otherwise a Piper voice name, `$KEFU_MODELS_DIR/piper/NAME.onnx`.
pub fn open_voice(spec: &str) -> Result<Box<dyn Synthesizer>, TtsError> {
    if let Some(voice) = spec.strip_prefix("espeak:") {
        return Ok(Box::new(EspeakSynth::new(voice)?));
    }
    let onnx = if spec.ends_with(".onnx") {
        PathBuf::from(spec)
    } else {
        models_dir().join("piper").join(format!("{spec}.onnx"))
    };
    let json = json_beside(&onnx);
    Ok(Box::new(PiperVoice::load(&onnx, &json)?))
}

/// `voice.onnx` -> `voice.onnx.json`, Piper's naming.
pub fn json_beside(onnx: &Path) -> PathBuf {
    let mut s = onnx.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Synthesizer for Fixed {
        fn synthesize(
            &self,
            text: &str,
            sink: &mut dyn FnMut(Chunk) -> bool,
        ) -> Result<(), TtsError> {
            for w in text.split_whitespace() {
                let c = Chunk {
                    samples: vec![1; w.len()],
                    clause_end: true,
                };
                if !sink(c) {
                    break;
                }
            }
            Ok(())
        }
        fn sample_rate(&self) -> u32 {
            8000
        }
    }

    #[test]
    fn synthesize_all_concatenates_chunks() {
        let all = Fixed.synthesize_all("ab cde").expect("fixed synth");
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn missing_file_names_the_file_and_the_fetch_command() {
        let e = TtsError::MissingFile {
            what: "Piper voice",
            path: PathBuf::from("models/piper/x.onnx"),
        };
        let msg = e.to_string();
        assert!(msg.contains("models/piper/x.onnx"), "{msg}");
        assert!(msg.contains("make models"), "{msg}");
        assert!(e.is_operator_fault());
    }

    #[test]
    fn json_sits_beside_the_model() {
        assert_eq!(
            json_beside(Path::new("a/b.onnx")),
            PathBuf::from("a/b.onnx.json")
        );
    }
}
