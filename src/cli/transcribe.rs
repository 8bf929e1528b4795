//! `kefu transcribe FILE.wav [--language L] [--model NAME_OR_FILE]`: prints
//! the text of a recording. Any WAV kefu can read (8 kHz µ-law telephone
//! recordings included, see [`crate::wav`]); long files are transcribed in
//! 30 s windows.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::engines::asr::{AsrOptions, Audio, Recognizer};
use crate::engines::models_dir;
use crate::engines::whisper::{deadline_for, WhisperConfig, WhisperRecognizer};

/// The default Whisper model: base, q8_0-quantized (best measured latency
/// and phone-audio accuracy on CPU; see models/README.md).
pub const DEFAULT_MODEL: &str = "base-q8_0";

/// The file of a Whisper model given by name (`base-q8_0`, `base`,
/// `tiny.en`) or by path.
pub fn whisper_model_path(name_or_file: &str) -> PathBuf {
    let p = Path::new(name_or_file);
    if name_or_file.ends_with(".bin") || p.components().count() > 1 {
        return p.to_path_buf();
    }
    models_dir()
        .join("whisper")
        .join(format!("ggml-{name_or_file}.bin"))
}

/// Runs the command; returns the process exit code.
pub fn run(file: &Path, language: &str, model: &str) -> u8 {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("kefu: {}: {e}", file.display());
            return 2;
        }
    };
    let wav = match crate::wav::decode(&bytes) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("kefu: {}: {e}", file.display());
            return 2;
        }
    };
    let path = whisper_model_path(model);
    let loading = Instant::now();
    let config = WhisperConfig {
        workers: 1,
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        sized_window: !model.starts_with("tiny"),
    };
    let asr = match WhisperRecognizer::load(&path, config) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kefu: {e}");
            return 2;
        }
    };
    if language != "en" && language != "auto" && !asr.is_multilingual() {
        eprintln!("kefu: model {model} is English-only; use --model base-q8_0 for {language:?}");
        return 2;
    }
    let loaded = loading.elapsed();
    let window = wav.rate as usize * 30;
    let mut texts = Vec::new();
    let started = Instant::now();
    for chunk in wav.samples.chunks(window.max(1)) {
        let secs = chunk.len() as f32 / wav.rate as f32;
        let options = AsrOptions {
            language: language.to_string(),
            deadline: deadline_for(secs) * 4,
        };
        match asr.transcribe(
            Audio {
                samples: chunk,
                rate: wav.rate,
            },
            &options,
        ) {
            Ok(t) if !t.text.is_empty() => texts.push(t.text),
            Ok(_) => {}
            Err(e) => {
                eprintln!("kefu: {}: {e}", file.display());
                return 1;
            }
        }
    }
    println!("{}", texts.join(" "));
    eprintln!(
        "kefu: {:.2} s of audio at {} Hz; model {} loaded in {} ms; transcribed in {} ms",
        wav.samples.len() as f32 / wav.rate as f32,
        wav.rate,
        path.display(),
        loaded.as_millis(),
        started.elapsed().as_millis()
    );
    0
}
