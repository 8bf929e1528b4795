//! Speech engines, run off the media threads: Whisper ASR (whisper-rs),
//! Piper TTS and Silero VAD on ONNX Runtime (`ort`, loaded at run time from
//! `models/`). Each sits behind a trait so tests can script it.

pub mod asr;
pub mod whisper;
