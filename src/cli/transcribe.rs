//! `kefu transcribe FILE.wav… [--language L] [--model NAME_OR_FILE]`: prints
//! the text of recordings. Any WAV kefu can read (8 kHz µ-law telephone
//! recordings included, see [`crate::wav`]); long files are transcribed in
//! 30 s windows.
//!
//! With one file the text alone is printed (scripts read it as is). With
//! several the model is loaded once and each file gives one line,
//! `FILE<TAB>text` (tabs and line breaks in the text become spaces), in the
//! order given: for benchmarks over hundreds of clips
//! (`sip-test/intent-asr.sh`), where loading the model per process costs more
//! than the decoding. A file that cannot be read or decoded is reported on
//! stderr and the others still run; the exit code is then the worst one seen
//! (2 unreadable file or bad arguments, 1 recognition failure).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// Runs the command on `files` (at least one) with `threads` decoder
/// threads (default: one per core); returns the process exit code.
pub fn run(files: &[PathBuf], language: &str, model: &str, threads: Option<usize>) -> u8 {
    // A missing file is the caller's mistake: say so before the model load.
    for file in files {
        if let Err(e) = std::fs::metadata(file) {
            eprintln!("kefu: {}: {e}", file.display());
            return 2;
        }
    }
    let path = whisper_model_path(model);
    let loading = Instant::now();
    let config = WhisperConfig {
        workers: 1,
        threads: threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
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
    let many = files.len() > 1;
    let mut worst = 0u8;
    let (mut audio_secs, mut busy) = (0.0f32, Duration::ZERO);
    for file in files {
        match transcribe_file(&asr, file, language) {
            Ok(done) => {
                audio_secs += done.audio_secs;
                busy += done.elapsed;
                if many {
                    println!("{}\t{}", file.display(), one_line(&done.text));
                    eprintln!(
                        "kefu: {}: {:.2} s of audio at {} Hz; transcribed in {} ms",
                        file.display(),
                        done.audio_secs,
                        done.rate,
                        done.elapsed.as_millis()
                    );
                } else {
                    println!("{}", done.text);
                    eprintln!(
                        "kefu: {:.2} s of audio at {} Hz; model {} loaded in {} ms; transcribed in {} ms",
                        done.audio_secs,
                        done.rate,
                        path.display(),
                        loaded.as_millis(),
                        done.elapsed.as_millis()
                    );
                }
            }
            Err((code, msg)) => {
                eprintln!("kefu: {}: {msg}", file.display());
                worst = worst.max(code);
            }
        }
    }
    if many {
        eprintln!(
            "kefu: {} files, {audio_secs:.1} s of audio; model {} loaded in {} ms; transcribed in {} ms",
            files.len(),
            path.display(),
            loaded.as_millis(),
            busy.as_millis()
        );
    }
    worst
}

/// One file's text and figures.
struct Done {
    text: String,
    audio_secs: f32,
    rate: u32,
    elapsed: Duration,
}

/// Reads, decodes and transcribes one file; errors carry the exit code.
fn transcribe_file(
    asr: &WhisperRecognizer,
    file: &Path,
    language: &str,
) -> Result<Done, (u8, String)> {
    let bytes = std::fs::read(file).map_err(|e| (2, e.to_string()))?;
    let wav = crate::wav::decode(&bytes).map_err(|e| (2, e.to_string()))?;
    let window = wav.rate as usize * 30;
    let mut texts = Vec::new();
    let started = Instant::now();
    for chunk in wav.samples.chunks(window.max(1)) {
        let secs = chunk.len() as f32 / wav.rate as f32;
        let options = AsrOptions {
            language: language.to_string(),
            deadline: deadline_for(secs) * 4,
        };
        let audio = Audio {
            samples: chunk,
            rate: wav.rate,
        };
        match asr.transcribe(audio, &options) {
            Ok(t) if !t.text.is_empty() => texts.push(t.text),
            Ok(_) => {}
            Err(e) => return Err((1, e.to_string())),
        }
    }
    Ok(Done {
        text: texts.join(" "),
        audio_secs: wav.samples.len() as f32 / wav.rate as f32,
        rate: wav.rate,
        elapsed: started.elapsed(),
    })
}

/// `text` on one line: tabs and line breaks become spaces, so that a
/// `FILE<TAB>text` line stays two fields.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '\t' || c == '\n' || c == '\r' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_lines_keep_two_fields() {
        assert_eq!(one_line("a\tb\r\nc"), "a b  c");
        assert_eq!(one_line("你好。"), "你好。");
    }

    #[test]
    fn model_names_resolve_under_models() {
        assert!(whisper_model_path("base-q8_0").ends_with("whisper/ggml-base-q8_0.bin"));
        assert_eq!(whisper_model_path("x/y.bin"), PathBuf::from("x/y.bin"));
    }
}
