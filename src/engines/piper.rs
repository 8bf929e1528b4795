//! Piper voices (VITS models exported to ONNX) run directly on ONNX Runtime
//! through the `ort` crate, and the process-wide ONNX Runtime environment.
//!
//! A voice is `NAME.onnx` plus `NAME.onnx.json` (sample rate, espeak voice,
//! `phoneme_id_map`, inference scales). Each clause of the text becomes one
//! model run with inputs `input` (int64 `[1, n]` phoneme ids),
//! `input_lengths` (int64 `[1]`), `scales` (f32 `[noise, length, noise_w]`)
//! and, for multi-speaker voices, `sid`; the output is float audio in
//! `[-1, 1]` at the voice's rate, converted to i16 without per-clause
//! normalization (so clauses keep one loudness).
//!
//! ONNX Runtime is loaded at run time (`load-dynamic`) from
//! `$ORT_DYLIB_PATH` or `$KEFU_MODELS_DIR/ort/libonnxruntime.so`; ONNX
//! Runtime allows one environment per process, which [`ort_environment`]
//! owns for every engine (Silero VAD too). Sessions use one intra-op thread:
//! on this hardware one thread is about twice as fast as two under load.
//!
//! Not here: phonemization ([`super::phonemize`]), resampling, caching.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;

use super::phonemize::{split_clauses, Espeak, PhonemeIds};
use super::tts::{models_dir, Chunk, Synthesizer, TtsError};

/// Each clause is its own model run and ends in the model's own pause; the
/// trailing silence is capped so that clause pauses stay near what a
/// whole-sentence run gives: 150 ms after `, ; :`, 300 ms after a sentence.
const CLAUSE_PAUSE_S: f32 = 0.15;
const SENTENCE_PAUSE_S: f32 = 0.3;
/// Samples quieter than this (about -42 dBFS) count as silence.
const SILENCE_LEVEL: i16 = 256;
/// Silence kept before the first sound of an utterance (10 ms).
const LEAD_IN_S: f32 = 0.01;

/// The ONNX Runtime library: `$ORT_DYLIB_PATH` when set, else
/// `$KEFU_MODELS_DIR/ort/libonnxruntime.so`.
pub fn ort_library_path() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || models_dir().join("ort").join("libonnxruntime.so"),
            PathBuf::from,
        )
}

/// The process's ONNX Runtime environment, created on first use from
/// [`ort_library_path`]. Later calls return the same environment (or the
/// same error: a process does not retry a broken library).
pub fn ort_environment() -> Result<Environment, TtsError> {
    static ENV: OnceLock<Result<Environment, (PathBuf, Option<String>)>> = OnceLock::new();
    let r = ENV.get_or_init(|| {
        let path = ort_library_path();
        if !path.is_file() {
            return Err((path, None));
        }
        let path = std::path::absolute(&path).unwrap_or(path);
        let builder = ort::init_from(&path).map_err(|e| (path.clone(), Some(e.to_string())))?;
        builder
            .with_name("kefu")
            .build()
            .map_err(|e| (path.clone(), Some(e.to_string())))
    });
    match r {
        Ok(env) => Ok(env.clone()),
        Err((path, None)) => Err(TtsError::MissingFile {
            what: "ONNX Runtime library",
            path: path.clone(),
        }),
        Err((path, Some(reason))) => Err(TtsError::Runtime {
            path: path.clone(),
            reason: reason.clone(),
        }),
    }
}

/// What a voice's `.onnx.json` says.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// Output rate in Hz (22,050 for "medium" voices).
    pub sample_rate: u32,
    /// The espeak-ng voice for phonemization (`en-us`).
    pub espeak_voice: String,
    /// Symbol -> ids.
    pub ids: PhonemeIds,
    /// `[noise_scale, length_scale, noise_w]`.
    pub scales: [f32; 3],
    /// Speakers in the model; above 1 the model takes a `sid` input.
    pub num_speakers: u32,
}

impl VoiceConfig {
    /// Parses the JSON text of a voice config.
    pub fn parse(json: &str) -> Result<Self, String> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let phoneme_type = v["phoneme_type"].as_str().unwrap_or("espeak");
        if phoneme_type != "espeak" {
            return Err(format!(
                "phoneme_type {phoneme_type:?} is not supported (only espeak)"
            ));
        }
        let sample_rate = v["audio"]["sample_rate"]
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
            .ok_or("audio.sample_rate missing")?;
        let espeak_voice = v["espeak"]["voice"]
            .as_str()
            .ok_or("espeak.voice missing")?
            .to_owned();
        let inf = &v["inference"];
        let scale = |k: &str, d: f32| inf[k].as_f64().map_or(d, |x| x as f32);
        Ok(Self {
            sample_rate,
            espeak_voice,
            ids: PhonemeIds::from_json(&v["phoneme_id_map"])?,
            scales: [
                scale("noise_scale", 0.667),
                scale("length_scale", 1.0),
                scale("noise_w", 0.8),
            ],
            num_speakers: v["num_speakers"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1),
        })
    }
}

/// A loaded Piper voice. Shared between calls; runs are serialized on one
/// ONNX session (`Session::run` takes `&mut`).
pub struct PiperVoice {
    session: Mutex<Session>,
    config: VoiceConfig,
    espeak: Espeak,
}

impl std::fmt::Debug for PiperVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperVoice")
            .field("sample_rate", &self.config.sample_rate)
            .field("espeak_voice", &self.config.espeak_voice)
            .finish_non_exhaustive()
    }
}

impl PiperVoice {
    /// Loads `onnx` with its config `json`. Missing files, a broken
    /// library or a malformed voice are operator errors naming the file.
    pub fn load(onnx: &Path, json: &Path) -> Result<Self, TtsError> {
        for (path, what) in [(onnx, "Piper voice model"), (json, "Piper voice config")] {
            if !path.is_file() {
                return Err(TtsError::MissingFile {
                    what,
                    path: path.to_owned(),
                });
            }
        }
        let bad = |path: &Path, reason: String| TtsError::BadVoice {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(json).map_err(|e| bad(json, e.to_string()))?;
        let config = VoiceConfig::parse(&text).map_err(|r| bad(json, r))?;
        let env = ort_environment()?;
        let session = Session::builder(&env)
            .and_then(|b| Ok(b.with_intra_threads(1)?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .and_then(|mut b| b.commit_from_file(onnx))
            .map_err(|e| bad(onnx, e.to_string()))?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for need in ["input", "input_lengths", "scales"] {
            if !names.contains(&need) {
                return Err(bad(
                    onnx,
                    format!("model has no input `{need}` ({names:?})"),
                ));
            }
        }
        Ok(Self {
            espeak: Espeak::new(&config.espeak_voice),
            session: Mutex::new(session),
            config,
        })
    }

    /// The voice's configuration.
    pub fn config(&self) -> &VoiceConfig {
        &self.config
    }

    /// Runs the model on one utterance's ids (framed by BOS/EOS).
    pub fn infer(&self, ids: &[i64]) -> Result<Vec<i16>, TtsError> {
        let fail = |e: ort::Error| TtsError::Inference(e.to_string());
        let n = ids.len();
        let input = Tensor::from_array(([1usize, n], ids.to_vec())).map_err(fail)?;
        let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(fail)?;
        let scales = Tensor::from_array(([3usize], self.config.scales.to_vec())).map_err(fail)?;
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = if self.config.num_speakers > 1 {
            let sid = Tensor::from_array(([1usize], vec![0i64])).map_err(fail)?;
            session.run(ort::inputs![
                "input" => input,
                "input_lengths" => lengths,
                "scales" => scales,
                "sid" => sid,
            ])
        } else {
            session.run(ort::inputs![
                "input" => input,
                "input_lengths" => lengths,
                "scales" => scales,
            ])
        }
        .map_err(fail)?;
        let (_, value) = outputs
            .iter()
            .next()
            .ok_or_else(|| TtsError::Inference("model gave no output".into()))?;
        let (_, audio) = value.try_extract_tensor::<f32>().map_err(fail)?;
        Ok(audio.iter().map(|&x| to_i16(x)).collect())
    }
}

/// Shortens the silence at the start of `samples` to at most `max` samples.
fn trim_leading_silence(samples: &mut Vec<i16>, max: usize) {
    let voiced = samples
        .iter()
        .position(|s| s.unsigned_abs() >= SILENCE_LEVEL.unsigned_abs())
        .unwrap_or(samples.len());
    samples.drain(..voiced.saturating_sub(max));
}

/// Shortens the silence at the end of `samples` to at most `max` samples.
fn cap_trailing_silence(samples: &mut Vec<i16>, max: usize) {
    let voiced = samples
        .iter()
        .rposition(|s| s.unsigned_abs() >= SILENCE_LEVEL.unsigned_abs())
        .map_or(0, |i| i + 1);
    samples.truncate(samples.len().min(voiced + max));
}

/// Float sample in [-1, 1] to i16, clipping overshoot.
fn to_i16(x: f32) -> i16 {
    // `as` saturates; NaN becomes 0.
    (x * 32767.0).round() as i16
}

impl Synthesizer for PiperVoice {
    fn synthesize(&self, text: &str, sink: &mut dyn FnMut(Chunk) -> bool) -> Result<(), TtsError> {
        let clauses = split_clauses(text);
        let phonemes = self.espeak.phonemize(&clauses)?;
        let rate = self.config.sample_rate as f32;
        let mut first = true;
        for (ph, clause) in phonemes.iter().zip(&clauses) {
            let ids = self.config.ids.ids(ph);
            if ids.len() <= self.config.ids.frame_len() {
                continue;
            }
            let mut samples = self.infer(&ids)?;
            let pause = match clause.punct {
                Some(',' | ';' | ':') => CLAUSE_PAUSE_S,
                _ => SENTENCE_PAUSE_S,
            };
            cap_trailing_silence(&mut samples, (pause * rate) as usize);
            if first {
                // The model opens with ~40–50 ms of silence: dead air before
                // every reply.
                trim_leading_silence(&mut samples, (LEAD_IN_S * rate) as usize);
                first = false;
            }
            let chunk = Chunk {
                samples,
                clause_end: true,
            };
            if !sink(chunk) {
                break;
            }
        }
        Ok(())
    }

    fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_scales_and_defaults() {
        let c = VoiceConfig::parse(
            r#"{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},
                "inference":{"noise_scale":0.5},
                "phoneme_id_map":{"_":[0],"^":[1],"$":[2],"a":[14]}}"#,
        )
        .expect("valid config");
        assert_eq!(c.sample_rate, 22050);
        assert_eq!(c.espeak_voice, "en-us");
        assert_eq!(c.scales, [0.5, 1.0, 0.8]);
        assert_eq!(c.ids.ids("a"), vec![1, 0, 14, 0, 2]);
    }

    #[test]
    fn config_without_pad_or_rate_is_rejected() {
        assert!(VoiceConfig::parse(r#"{"espeak":{"voice":"en-us"}}"#).is_err());
        let no_pad = r#"{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},
                         "phoneme_id_map":{"^":[1],"$":[2]}}"#;
        assert!(VoiceConfig::parse(no_pad).is_err());
    }

    #[test]
    fn trailing_silence_is_capped() {
        let mut v = vec![1000, 0, 0, 0, 0, 5, 0];
        let mut lead = vec![0i16, 3, 0, 0, 900, 5];
        trim_leading_silence(&mut lead, 1);
        assert_eq!(lead, [0, 900, 5]);
        let mut quiet = vec![0i16; 4];
        trim_leading_silence(&mut quiet, 1);
        assert_eq!(quiet, [0]);
        cap_trailing_silence(&mut v, 2);
        assert_eq!(v, vec![1000, 0, 0]);
        let mut short = vec![1000, 0];
        cap_trailing_silence(&mut short, 2);
        assert_eq!(short.len(), 2);
    }

    #[test]
    fn samples_clip_instead_of_wrapping() {
        assert_eq!(to_i16(2.0), i16::MAX);
        assert_eq!(to_i16(-2.0), i16::MIN);
        assert_eq!(to_i16(f32::NAN), 0);
    }

    #[test]
    fn missing_voice_names_the_file() {
        let e = PiperVoice::load(
            Path::new("/nonexistent/v.onnx"),
            Path::new("/nonexistent/v.onnx.json"),
        )
        .expect_err("missing");
        assert!(e.to_string().contains("/nonexistent/v.onnx"), "{e}");
    }
}
