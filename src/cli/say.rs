//! `kefu say`: speaks a text into a 16-bit mono WAV file at a chosen rate,
//! for trying voices and producing prompt files.
//!
//! `kefu say "Hello, how can I help?" -o hello.wav [--voice NAME|PATH.onnx|espeak:VOICE] [--rate 8000]`
//!
//! `kefu say --batch TEXTS.tsv --out-dir DIR [--voice …] [--rate …]` speaks
//! many texts with the voice loaded once: each `NAME<TAB>TEXT` line of the
//! file (blank lines and `#` comments skipped; `-` reads standard input)
//! becomes `DIR/NAME.wav`, and its path is printed on standard output. For
//! benchmarks that synthesize hundreds of phrasings
//! (`sip-test/intent-asr.sh`), where loading the voice per process costs more
//! than the speech.
//!
//! Prints the audio duration, the voice load time, the time to the first
//! audio and the total synthesis time to stderr. Exit codes: 0 done, 1
//! internal failure or unwritable file, 2 bad arguments or missing models
//! (the message names the file and the command that fetches it). A batch
//! file is checked whole before anything is spoken.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kefu_core::media::resample::{Resampler, SUPPORTED_RATES};
use kefu_core::media::Hz;

use crate::engines::tts::{open_voice, Chunk, Synthesizer, TtsError, DEFAULT_VOICE};

/// Arguments of `kefu say`.
#[derive(Debug, Clone, clap::Args)]
pub struct SayArgs {
    /// The text to speak; `-` reads it from standard input.
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    pub text: Option<String>,
    /// The WAV file to write (16-bit mono PCM).
    #[arg(
        short,
        long,
        value_name = "FILE",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    pub output: Option<PathBuf>,
    /// Many texts instead of one: a file of `NAME<TAB>TEXT` lines (`#`
    /// comments and blank lines skipped; `-` reads standard input), each
    /// spoken into `OUT_DIR/NAME.wav` with the voice loaded once.
    #[arg(long, value_name = "FILE.tsv", requires = "out_dir")]
    pub batch: Option<PathBuf>,
    /// The folder for `--batch`'s WAV files (created when missing).
    #[arg(long, value_name = "DIR", requires = "batch")]
    pub out_dir: Option<PathBuf>,
    /// A Piper voice name (in $KEFU_MODELS_DIR/piper), a path to a `.onnx`
    /// voice, or `espeak:VOICE` (e.g. `espeak:cmn-latn-pinyin`).
    #[arg(long, value_name = "NAME_OR_ONNX_PATH", default_value = DEFAULT_VOICE)]
    pub voice: String,
    /// Output sample rate in Hz: 8000, 11025, 12000, 16000, 22050, 24000,
    /// 32000, 44100 or 48000 (default: the voice's own rate).
    #[arg(long, value_name = "HZ", value_parser = parse_rate)]
    pub rate: Option<u32>,
}

fn parse_rate(s: &str) -> Result<u32, String> {
    let r: u32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if SUPPORTED_RATES.contains(&Hz(r)) {
        Ok(r)
    } else {
        let list: Vec<String> = SUPPORTED_RATES.iter().map(|h| h.0.to_string()).collect();
        Err(format!(
            "{r} Hz is not supported; use one of {}",
            list.join(", ")
        ))
    }
}

/// Runs `kefu say`.
pub fn run(args: &SayArgs) -> ExitCode {
    let result = match (&args.batch, &args.out_dir) {
        (Some(batch), Some(dir)) => say_batch(args, batch, dir),
        _ => say(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("kefu say: {msg}");
            ExitCode::from(code)
        }
    }
}

/// A failure: the exit code and the message.
type Failure = (u8, String);

fn read_input(path: &str) -> Result<String, Failure> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| (2, format!("cannot read standard input: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| (2, format!("{path}: {e}")))
    }
}

fn say(args: &SayArgs) -> Result<(), Failure> {
    let (Some(text), Some(output)) = (&args.text, &args.output) else {
        return Err((
            2,
            "give a TEXT and -o FILE, or --batch and --out-dir".into(),
        ));
    };
    let text = if text == "-" {
        read_input("-")?
    } else {
        text.clone()
    };
    let t0 = Instant::now();
    let voice = open_voice(&args.voice).map_err(tts_failure)?;
    let loaded = t0.elapsed();
    let to = args.rate.unwrap_or(voice.sample_rate());
    let speech = speak(voice.as_ref(), &text, to)?;
    write_wav(output, to, &speech.samples)
        .map_err(|e| (1, format!("{}: {e}", output.display())))?;
    let secs = speech.samples.len() as f64 / f64::from(to);
    let first_ms = speech.first.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.0}", d.as_secs_f64() * 1e3),
    );
    eprintln!(
        "{}: {secs:.2} s of audio at {to} Hz; voice load {:.0} ms, first audio {first_ms} ms, total {:.0} ms (real-time factor {:.3})",
        output.display(),
        loaded.as_secs_f64() * 1e3,
        speech.total.as_secs_f64() * 1e3,
        rtf(speech.total, secs),
    );
    Ok(())
}

/// `--batch`: every line of the file into its own WAV, one voice load.
fn say_batch(args: &SayArgs, batch: &Path, dir: &Path) -> Result<(), Failure> {
    let shown = batch.display().to_string();
    let items = parse_batch(&read_input(&shown)?, &shown).map_err(|e| (2, e))?;
    std::fs::create_dir_all(dir).map_err(|e| (1, format!("{}: {e}", dir.display())))?;
    let t0 = Instant::now();
    let voice = open_voice(&args.voice).map_err(tts_failure)?;
    let loaded = t0.elapsed();
    let to = args.rate.unwrap_or(voice.sample_rate());
    let mut audio_secs = 0.0;
    let mut busy = Duration::ZERO;
    for (name, text) in &items {
        let path = dir.join(format!("{name}.wav"));
        let speech = speak(voice.as_ref(), text, to)?;
        write_wav(&path, to, &speech.samples)
            .map_err(|e| (1, format!("{}: {e}", path.display())))?;
        let secs = speech.samples.len() as f64 / f64::from(to);
        audio_secs += secs;
        busy += speech.total;
        eprintln!(
            "{}: {secs:.2} s of audio; {:.0} ms",
            path.display(),
            speech.total.as_secs_f64() * 1e3
        );
        println!("{}", path.display());
    }
    eprintln!(
        "{} files, {audio_secs:.1} s of audio at {to} Hz; voice load {:.0} ms, synthesis {:.1} s (real-time factor {:.3})",
        items.len(),
        loaded.as_secs_f64() * 1e3,
        busy.as_secs_f64(),
        rtf(busy, audio_secs),
    );
    Ok(())
}

/// The `(NAME, TEXT)` pairs of a batch file; the error names `shown:line`.
/// Names become file names, so they must be plain (no path separators, no
/// leading dot) and unique.
fn parse_batch(text: &str, shown: &str) -> Result<Vec<(String, String)>, String> {
    let mut items: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("{shown}:{}", n + 1);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((name, phrase)) = line.split_once('\t') else {
            return Err(format!("{at}: expected NAME<TAB>TEXT"));
        };
        let name = name.trim();
        let plain = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0']);
        if !plain {
            return Err(format!(
                "{at}: `{name}` cannot be a file name (no `/`, `\\` or leading `.`)"
            ));
        }
        if !seen.insert(name.to_owned()) {
            return Err(format!("{at}: `{name}` appears twice"));
        }
        items.push((name.to_owned(), phrase.trim().to_owned()));
    }
    if items.is_empty() {
        return Err(format!("{shown}: no NAME<TAB>TEXT lines"));
    }
    Ok(items)
}

/// One text's audio and timings.
struct Speech {
    samples: Vec<i16>,
    first: Option<Duration>,
    total: Duration,
}

fn speak(voice: &dyn Synthesizer, text: &str, to: u32) -> Result<Speech, Failure> {
    let from = voice.sample_rate();
    let mut resampler =
        Resampler::new(Hz(from), Hz(to)).map_err(|e| (2, format!("voice rate {from} Hz: {e}")))?;
    let mut samples = Vec::new();
    let t1 = Instant::now();
    let mut first = None;
    voice
        .synthesize(text, &mut |c: Chunk| {
            first.get_or_insert_with(|| t1.elapsed());
            resampler.process(&c.samples, &mut samples);
            true
        })
        .map_err(tts_failure)?;
    Ok(Speech {
        samples,
        first,
        total: t1.elapsed(),
    })
}

fn rtf(busy: Duration, audio_secs: f64) -> f64 {
    if audio_secs > 0.0 {
        busy.as_secs_f64() / audio_secs
    } else {
        0.0
    }
}

fn tts_failure(e: TtsError) -> Failure {
    let code = if e.is_operator_fault() { 2 } else { 1 };
    (code, e.to_string())
}

fn write_wav(path: &std::path::Path, rate: u32, samples: &[i16]) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &s in samples {
        w.write_sample(s)?;
    }
    w.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_checked_against_the_resampler() {
        assert_eq!(parse_rate("8000"), Ok(8000));
        assert!(parse_rate("8001").is_err_and(|e| e.contains("8000, 11025")));
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn batch_lines_name_their_files() {
        let items = parse_batch("# phrasings\n\na1\thello there\nb2\t你好 \n", "t.tsv").unwrap();
        assert_eq!(
            items,
            vec![
                ("a1".to_owned(), "hello there".to_owned()),
                ("b2".to_owned(), "你好".to_owned())
            ]
        );
    }

    #[test]
    fn batch_names_must_be_plain_and_unique() {
        let err = |s: &str| parse_batch(s, "t.tsv").unwrap_err();
        assert!(err("a\thi\na\tho\n").contains("t.tsv:2: `a` appears twice"));
        assert!(err("../x\thi\n").contains("t.tsv:1:"));
        assert!(err("no tab here\n").contains("expected NAME<TAB>TEXT"));
        assert!(err("# only a comment\n").contains("no NAME<TAB>TEXT lines"));
    }
}
