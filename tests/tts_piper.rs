//! Piper text to speech on ONNX Runtime: phoneme ids, clause streaming,
//! barge-in, and `kefu say` writing a telephone-rate WAV.
//!
//! Tests that need the voice (`$KEFU_MODELS_DIR/piper/en_US-joe-medium.onnx`)
//! and ONNX Runtime (`$KEFU_MODELS_DIR/ort/libonnxruntime.so`) say so and
//! pass when they are absent; `make test` fetches them first.
#![cfg(feature = "speech")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use kefu::engines::phonemize::{split_clauses, PhonemeIds};
use kefu::engines::piper::{ort_library_path, PiperVoice};
use kefu::engines::tts::{json_beside, models_dir, Chunk, Synthesizer, DEFAULT_VOICE};

fn voice_path() -> PathBuf {
    models_dir()
        .join("piper")
        .join(format!("{DEFAULT_VOICE}.onnx"))
}

/// The shared voice, or `None` (with a note) when the models are absent.
fn voice() -> Option<&'static PiperVoice> {
    static VOICE: OnceLock<Option<PiperVoice>> = OnceLock::new();
    VOICE
        .get_or_init(|| {
            let onnx = voice_path();
            let lib = ort_library_path();
            if !onnx.is_file() || !lib.is_file() {
                // `make test` fetches the models first: missing models there
                // are a failure, not a skip.
                assert!(
                    std::env::var_os("KEFU_SKIP_MODEL_TESTS").is_some(),
                    "{} or {} missing: run `make models` (or set KEFU_SKIP_MODEL_TESTS=1)",
                    onnx.display(),
                    lib.display()
                );
                eprintln!("SKIPPED: models missing and KEFU_SKIP_MODEL_TESTS is set");
                return None;
            }
            Some(PiperVoice::load(&onnx, &json_beside(&onnx)).expect("voice loads"))
        })
        .as_ref()
}

fn espeak_present() -> bool {
    Command::new("espeak-ng").arg("--version").output().is_ok()
}

fn rms(s: &[i16]) -> f64 {
    let sum: f64 = s.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    (sum / s.len().max(1) as f64).sqrt()
}

#[test]
fn ids_are_framed_padded_and_decomposed() {
    let map: HashMap<char, Vec<i64>> = [
        ('_', 0),
        ('^', 1),
        ('$', 2),
        (' ', 3),
        (',', 8),
        ('c', 16),
        ('h', 20),
        ('ə', 59),
        ('ˈ', 120),
        ('\u{327}', 140),
    ]
    .into_iter()
    .map(|(c, id)| (c, vec![id]))
    .collect();
    let ids = PhonemeIds::new(map).expect("map has _ ^ $");
    // BOS, pad, then each symbol followed by pad, then EOS; unknown 'x' is
    // skipped; 'ç' is NFD-decomposed into 'c' + cedilla.
    assert_eq!(
        ids.ids("hˈəx, ç"),
        vec![1, 0, 20, 0, 120, 0, 59, 0, 8, 0, 3, 0, 16, 0, 140, 0, 2]
    );
    assert_eq!(ids.ids(""), vec![1, 0, 2]);
}

#[test]
fn clauses_keep_their_punctuation() {
    let c = split_clauses("Thank you for calling, how can I help? ");
    let got: Vec<_> = c.iter().map(|c| (c.text.as_str(), c.punct)).collect();
    assert_eq!(
        got,
        vec![
            ("Thank you for calling", Some(',')),
            ("how can I help", Some('?'))
        ]
    );
}

#[test]
fn espeak_phonemes_keep_clause_punctuation() {
    if !espeak_present() {
        eprintln!("SKIPPED: espeak-ng not installed");
        return;
    }
    let e = kefu::engines::phonemize::Espeak::new("en-us");
    let clauses = split_clauses("Hello, world. Dr. Smith is here!");
    let ph = e.phonemize(&clauses).expect("espeak-ng runs");
    // What Piper's own phonemizer gives for these sentences.
    assert_eq!(ph, vec!["həlˈoʊ, ", "wˈɜːld.", "dˈɑːktɚ smˈɪθ ɪz hˈɪɹ!"]);
}

#[test]
fn a_sentence_sounds_plausible() {
    let Some(v) = voice() else { return };
    assert_eq!(v.sample_rate(), 22_050);
    let audio = v
        .synthesize_all("Thank you for calling. How can I help you today?")
        .expect("synthesis");
    let secs = audio.len() as f64 / 22_050.0;
    assert!((1.0..6.0).contains(&secs), "duration {secs:.2} s");
    assert!(rms(&audio) > 500.0, "too quiet: rms {:.0}", rms(&audio));
}

#[test]
fn empty_text_gives_no_audio() {
    let Some(v) = voice() else { return };
    for text in ["", "   ", "?!"] {
        assert!(
            v.synthesize_all(text).expect("no error").is_empty(),
            "{text:?}"
        );
    }
}

#[test]
fn clauses_stream_before_the_whole_is_done() {
    let Some(v) = voice() else { return };
    let t0 = Instant::now();
    let mut arrivals = Vec::new();
    v.synthesize(
        "Your order has shipped, and it will arrive on Tuesday morning.",
        &mut |c: Chunk| {
            assert!(!c.samples.is_empty());
            arrivals.push((t0.elapsed(), c.samples.len()));
            true
        },
    )
    .expect("synthesis");
    let total = t0.elapsed();
    assert!(arrivals.len() >= 2, "{} chunks", arrivals.len());
    assert!(arrivals[0].0 < total, "first chunk only at the end");
    assert!(
        arrivals.iter().all(|&(_, n)| n > 2_205),
        "a chunk under 0.1 s"
    );
}

#[test]
fn sink_false_stops_synthesis() {
    let Some(v) = voice() else { return };
    let mut n = 0;
    v.synthesize("One, two, three, four.", &mut |_c: Chunk| {
        n += 1;
        false
    })
    .expect("barge-in is not an error");
    assert_eq!(n, 1);
}

#[test]
fn say_writes_an_8khz_wav() {
    if voice().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("hello.wav");
    let run = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args([
            "say",
            "Hello, thank you for calling.",
            "--rate",
            "8000",
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("kefu runs");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("first audio"), "{err}");
    let r = hound::WavReader::open(&out).expect("a WAV");
    let spec = r.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (8000, 1, 16)
    );
    let samples: Vec<i16> = r.into_samples().map(|s| s.expect("sample")).collect();
    let secs = samples.len() as f64 / 8000.0;
    assert!((0.8..5.0).contains(&secs), "duration {secs:.2} s");
    assert!(rms(&samples) > 500.0);
}

#[test]
fn say_without_models_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .env("KEFU_MODELS_DIR", dir.path())
        .env_remove("ORT_DYLIB_PATH")
        .args(["say", "hello", "-o"])
        .arg(dir.path().join("x.wav"))
        .output()
        .expect("kefu runs");
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("en_US-joe-medium.onnx"), "{err}");
    assert!(err.contains("make models"), "{err}");
}
