//! `kefu transcribe` with the real Whisper models on telephone audio
//! (8 kHz µ-law WAV). The models come from `make models`; `make test` fetches
//! them first. Set KEFU_SKIP_MODEL_TESTS=1 to skip where they cannot be had.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn models_present(model: &str) -> bool {
    let p = root()
        .join("models/whisper")
        .join(format!("ggml-{model}.bin"));
    if p.is_file() {
        return true;
    }
    if std::env::var_os("KEFU_SKIP_MODEL_TESTS").is_some() {
        eprintln!(
            "skipped: {} missing and KEFU_SKIP_MODEL_TESTS is set",
            p.display()
        );
        return false;
    }
    panic!(
        "{} is missing: run `make models` (or set KEFU_SKIP_MODEL_TESTS=1)",
        p.display()
    );
}

/// Whisper's worker threads spin while they wait: several decodes at once
/// on a small machine slow each other far past their deadlines. The tests
/// of this file take turns.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn transcribe(file: &str, model: &str) -> String {
    let _turn = one_at_a_time();
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(root())
        .args(["transcribe", file, "--model", model])
        .output()
        .expect("run kefu transcribe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kefu transcribe failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).to_lowercase()
}

fn words_found(text: &str, words: &[&str]) -> usize {
    words.iter().filter(|w| text.contains(*w)).count()
}

#[test]
fn default_model_transcribes_ulaw_phone_audio() {
    if !models_present("base-q8_0") {
        return;
    }
    // "Hello, this is a test call. One two three. Thank you, goodbye."
    let text = transcribe("sip-test/audio/speech-8k-ulaw.wav", "base-q8_0");
    let words = ["hello", "test call", "thank you", "goodbye"];
    assert!(words_found(&text, &words) >= 3, "heard: {text:?}");
}

#[test]
fn missing_file_and_bad_wav_are_clear_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["transcribe", "/nonexistent.wav"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.wav"));
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, b"not a wav at all").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .arg("transcribe")
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a WAV file"));
}

#[test]
fn piper_speech_survives_the_phone_line_and_whisper() {
    if !models_present("base-q8_0") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let wav = dir.path().join("said.wav");
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(root())
        .args(["say", "Your parcel will arrive on Tuesday morning.", "-o"])
        .arg(&wav)
        .args(["--rate", "8000"])
        .output()
        .expect("run kefu say");
    assert!(
        out.status.success(),
        "kefu say: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = transcribe(wav.to_str().expect("utf8"), "base-q8_0");
    let words = ["parcel", "arrive", "tuesday", "morning"];
    assert!(words_found(&text, &words) >= 3, "heard: {text:?}");
}

/// The recognizer as the speech pool drives it, on the committed clip.
#[cfg(feature = "speech")]
mod stopping {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use kefu::engines::asr::{AsrError, AsrOptions, Audio, Recognizer};
    use kefu::engines::whisper::{WhisperConfig, WhisperRecognizer};

    fn clip() -> Vec<i16> {
        let mut r = hound::WavReader::open(super::root().join("sip-test/audio/speech-8k-s16.wav"))
            .expect("clip");
        r.samples::<i16>().map(|s| s.expect("sample")).collect()
    }

    fn recognizer() -> WhisperRecognizer {
        let path = super::root().join("models/whisper/ggml-base-q8_0.bin");
        WhisperRecognizer::load(&path, WhisperConfig::default()).expect("model loads")
    }

    #[test]
    fn a_decode_stops_at_its_deadline_and_when_cancelled() {
        if !super::models_present("base-q8_0") {
            return;
        }
        let _turn = super::one_at_a_time();
        let asr = recognizer();
        let samples = clip();
        let audio = Audio {
            samples: &samples,
            rate: 8000,
        };
        let normal = AsrOptions::default();
        let t = asr.transcribe(audio, &normal).expect("transcribes");
        assert!(t.text.to_lowercase().contains("hello"), "{:?}", t.text);

        let tight = AsrOptions {
            deadline: Duration::from_millis(1),
            ..AsrOptions::default()
        };
        match asr.transcribe(audio, &tight) {
            Err(AsrError::Deadline(_)) => {}
            other => panic!("expected the deadline to stop it, got {other:?}"),
        }

        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            flag.store(true, Ordering::SeqCst);
        });
        let started = Instant::now();
        let r = asr.transcribe_stoppable(audio, &normal, stop);
        setter.join().expect("setter");
        match r {
            Err(AsrError::Cancelled) => {}
            other => panic!("expected a cancelled decode, got {other:?}"),
        }
        eprintln!("cancelled decode returned after {:?}", started.elapsed());
    }
}

/// Real recorded speech (Debian pocketsphinx-testdata, BSD-2-Clause; `make
/// deps` installs it), as a phone line delivers it: 16 kHz → 8 kHz µ-law.
#[cfg(feature = "speech")]
mod recorded {
    use super::common::recordings;
    use kefu::engines::asr::{AsrOptions, Audio, Recognizer};
    use kefu::engines::whisper::{WhisperConfig, WhisperRecognizer};

    #[test]
    fn recorded_speech_over_a_phone_line_is_transcribed() {
        if !super::models_present("base-q8_0") {
            return;
        }
        let _turn = super::one_at_a_time();
        let path = super::root().join("models/whisper/ggml-base-q8_0.bin");
        let asr = WhisperRecognizer::load(&path, WhisperConfig::default()).expect("model loads");
        // (recording, words that must be heard): two spoken commands.
        let cases = [
            ("goforward.raw", &["go", "forward", "meters"][..]),
            ("something.raw", &["go", "somewhere", "something"][..]),
        ];
        let files: Vec<_> = cases.iter().map(|(f, _)| recordings::path(f)).collect();
        if !recordings::present(&files) {
            return;
        }
        for (file, words) in cases {
            let samples = recordings::phone_line(&recordings::raw_16k(file));
            let t = asr
                .transcribe(
                    Audio {
                        samples: &samples,
                        rate: 8000,
                    },
                    &AsrOptions::default(),
                )
                .expect("transcribes");
            let text = t.text.to_lowercase();
            let missing: Vec<_> = words.iter().filter(|w| !text.contains(*w)).collect();
            assert!(
                missing.is_empty(),
                "{file}: heard {text:?}, missing {missing:?}"
            );
        }
    }
}
