//! Speech engines, run off the media threads: Whisper ASR (whisper-rs),
//! Piper TTS and Silero VAD on ONNX Runtime (`ort`, loaded at run time from
//! `models/`). Each sits behind a trait so tests can script it.

pub mod asr;
pub mod espeak;
pub mod phonemize;
pub mod piper;
pub mod silero;
pub mod tts;
pub mod whisper;

/// Where models live: `$KEFU_MODELS_DIR`, else `./models` when it exists,
/// else the `models/` folder of the source tree the binary was built from.
pub fn models_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("KEFU_MODELS_DIR").filter(|v| !v.is_empty()) {
        return d.into();
    }
    let here = std::path::PathBuf::from("models");
    if here.is_dir() {
        return here;
    }
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}
