//! Silero VAD (v5/v6 ONNX model) on ONNX Runtime: the speech detector of
//! speech calls, plugged into the core through
//! [`kefu_core::vad::DetectorFactory`].
//!
//! The model scores 32 ms windows of 8 or 16 kHz audio: each run takes the
//! 256 (512) new samples behind the 32 (64) samples of context kept from
//! the previous window (`input`, f32 `[1, 288]` or `[1, 576]`, samples in
//! `[-1, 1]`), the recurrent `state` (f32 `[2, 1, 128]`) and the rate (`sr`,
//! int64 scalar), and returns the speech probability (`output`, `[1, 1]`)
//! and the next state (`stateN`). Calls hand the detector 8 kHz frames. A call's 20 ms frames are buffered into windows; each frame
//! gets the probability of the last complete window (at most one window
//! behind).
//!
//! One [`SileroModel`] (an ONNX session with one intra-op thread) per media
//! worker, shared by that worker's calls: runs are ~75 µs, so a worker with
//! 20 talking calls spends about 50 ms of CPU per second on them. A
//! per-call [`Silero`] holds only the state, context and pending samples.
//! An inference error makes that window count as silence and is logged
//! once per call; the call goes on.
//!
//! Not here: endpointing and barge-in (the core consumes the
//! probabilities), the ONNX Runtime environment ([`super::piper`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use kefu_core::vad::{DetectorFactory, SpeechDetector};
use ort::session::Session;
use ort::value::Tensor;

/// New samples per model run at 8 kHz (twice that at 16 kHz).
pub const WINDOW: usize = 256;
/// Samples of the previous window the model sees again at 8 kHz (twice
/// that at 16 kHz).
pub const CONTEXT: usize = 32;
/// Size of the recurrent state (`[2, 1, 128]`).
const STATE: usize = 2 * 128;

/// Window and context lengths at `rate` (8000 or 16000 Hz).
fn geometry(rate: u32) -> Option<(usize, usize)> {
    match rate {
        8000 => Some((WINDOW, CONTEXT)),
        16000 => Some((2 * WINDOW, 2 * CONTEXT)),
        _ => None,
    }
}

/// Why the Silero model cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SileroError {
    /// The model file is missing.
    #[error("Silero VAD model not found at {path} (run `make models` or `bash models/fetch.sh`)")]
    MissingFile {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// ONNX Runtime could not load or run it.
    #[error("Silero VAD model {path}: {reason}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What ONNX Runtime said.
        reason: String,
    },
}

/// The bundled model: `$KEFU_MODELS_DIR/silero/silero_vad.onnx`.
pub fn default_model_path() -> PathBuf {
    super::models_dir().join("silero").join("silero_vad.onnx")
}

/// A loaded model: one ONNX session, runs serialized.
pub struct SileroModel {
    session: Mutex<Session>,
    path: PathBuf,
}

impl std::fmt::Debug for SileroModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroModel")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SileroModel {
    /// Loads the model at `path` and checks it has Silero's inputs.
    pub fn load(path: &Path) -> Result<Self, SileroError> {
        if !path.is_file() {
            return Err(SileroError::MissingFile {
                path: path.to_owned(),
            });
        }
        let bad = |reason: String| SileroError::Model {
            path: path.to_owned(),
            reason,
        };
        let env = super::piper::ort_environment().map_err(|e| bad(e.to_string()))?;
        let session = Session::builder(&env)
            .and_then(|b| Ok(b.with_intra_threads(1)?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .and_then(|mut b| b.commit_from_file(path))
            .map_err(|e| bad(e.to_string()))?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for need in ["input", "state", "sr"] {
            if !names.contains(&need) {
                return Err(bad(format!(
                    "not a Silero VAD v5/v6 model: no input `{need}` ({names:?})"
                )));
            }
        }
        let model = SileroModel {
            session: Mutex::new(session),
            path: path.to_owned(),
        };
        // One run per rate proves the shapes and warms the session up.
        for rate in [8000, 16000] {
            let (window, context) = geometry(rate).unwrap_or((WINDOW, CONTEXT));
            let mut state = vec![0f32; STATE];
            model
                .run(&vec![0f32; context + window], &mut state, rate)
                .map_err(bad)?;
        }
        Ok(model)
    }

    /// One window at `rate` (context + window samples in `[-1, 1]`): the
    /// speech probability; `state` is updated in place.
    pub fn run(&self, input: &[f32], state: &mut [f32], rate: u32) -> Result<f32, String> {
        let fail = |e: ort::Error| e.to_string();
        let x = Tensor::from_array(([1usize, input.len()], input.to_vec())).map_err(fail)?;
        let s = Tensor::from_array(([2usize, 1, 128], state.to_vec())).map_err(fail)?;
        let sr = Tensor::from_array(([0usize; 0], vec![i64::from(rate)])).map_err(fail)?;
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs!["input" => x, "state" => s, "sr" => sr])
            .map_err(fail)?;
        let (_, prob) = outputs["output"]
            .try_extract_tensor::<f32>()
            .map_err(fail)?;
        let (_, next) = outputs["stateN"]
            .try_extract_tensor::<f32>()
            .map_err(fail)?;
        if next.len() != state.len() {
            return Err(format!("state of {} values, want {}", next.len(), STATE));
        }
        state.copy_from_slice(next);
        prob.first()
            .copied()
            .ok_or_else(|| "model gave no probability".to_string())
    }
}

/// Hands each new call a [`Silero`] on one shared model.
#[derive(Debug, Clone)]
pub struct SileroFactory {
    model: Arc<SileroModel>,
}

impl SileroFactory {
    /// Detectors running on `model`.
    pub fn new(model: Arc<SileroModel>) -> Self {
        SileroFactory { model }
    }
}

impl DetectorFactory for SileroFactory {
    fn create(&self) -> Box<dyn SpeechDetector> {
        Box::new(Silero::new(self.model.clone()))
    }
}

/// One call's Silero detector; see the module docs.
#[derive(Debug)]
pub struct Silero {
    model: Arc<SileroModel>,
    rate: u32,
    window: usize,
    context: usize,
    state: Vec<f32>,
    /// Context (the previous window's tail) followed by pending samples.
    buf: Vec<f32>,
    prob: f32,
    failed: bool,
}

impl Silero {
    /// A detector for 8 kHz frames with fresh state on `model`.
    pub fn new(model: Arc<SileroModel>) -> Self {
        Silero {
            model,
            rate: 8000,
            window: WINDOW,
            context: CONTEXT,
            state: vec![0.0; STATE],
            buf: vec![0.0; CONTEXT],
            prob: 0.0,
            failed: false,
        }
    }

    /// A detector for frames at `rate`: 8000 or 16000 Hz (what the model
    /// knows), else `None`.
    pub fn with_rate(model: Arc<SileroModel>, rate: u32) -> Option<Self> {
        let (window, context) = geometry(rate)?;
        Some(Silero {
            rate,
            window,
            context,
            buf: vec![0.0; context],
            ..Silero::new(model)
        })
    }
}

impl SpeechDetector for Silero {
    /// Takes a frame at the detector's rate (any length; calls give 20 ms).
    fn push(&mut self, frame: &[i16]) -> f32 {
        self.buf
            .extend(frame.iter().map(|&s| f32::from(s) / 32768.0));
        while self.buf.len() >= self.context + self.window {
            let window = &self.buf[..self.context + self.window];
            self.prob = match self.model.run(window, &mut self.state, self.rate) {
                Ok(p) => p,
                Err(e) => {
                    if !self.failed {
                        self.failed = true;
                        tracing::warn!(error = %e, "Silero VAD run failed; counting as silence");
                    }
                    0.0
                }
            };
            self.buf.drain(..self.window);
        }
        self.prob
    }

    fn reset(&mut self) {
        self.state.fill(0.0);
        self.buf.clear();
        self.buf.resize(self.context, 0.0);
        self.prob = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_the_file_and_the_fix() {
        let e = SileroModel::load(Path::new("/nonexistent/silero.onnx")).expect_err("missing");
        let msg = e.to_string();
        assert!(msg.contains("/nonexistent/silero.onnx"), "{msg}");
        assert!(msg.contains("make models"), "{msg}");
    }
}
