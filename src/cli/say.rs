//! `kefu say`: speaks a text into a 16-bit mono WAV file at a chosen rate,
//! for trying voices and producing prompt files.
//!
//! `kefu say "Hello, how can I help?" -o hello.wav [--voice NAME|PATH.onnx|espeak:VOICE] [--rate 8000]`
//!
//! Prints the audio duration, the voice load time, the time to the first
//! audio and the total synthesis time to stderr. Exit codes: 0 done, 1
//! internal failure or unwritable file, 2 bad arguments or missing models
//! (the message names the file and the command that fetches it).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use kefu_core::media::resample::{Resampler, SUPPORTED_RATES};
use kefu_core::media::Hz;

use crate::engines::tts::{open_voice, Chunk, DEFAULT_VOICE};

/// Arguments of `kefu say`.
#[derive(Debug, Clone, clap::Args)]
pub struct SayArgs {
    /// The text to speak; `-` reads it from standard input.
    pub text: String,
    /// The WAV file to write (16-bit mono PCM).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
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
    match say(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("kefu say: {msg}");
            ExitCode::from(code)
        }
    }
}

fn say(args: &SayArgs) -> Result<(), (u8, String)> {
    let text = if args.text == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| (2, format!("cannot read standard input: {e}")))?;
        s
    } else {
        args.text.clone()
    };
    let t0 = Instant::now();
    let voice = open_voice(&args.voice).map_err(|e| (exit_code(&e), e.to_string()))?;
    let loaded = t0.elapsed();
    let from = voice.sample_rate();
    let to = args.rate.unwrap_or(from);
    let mut resampler =
        Resampler::new(Hz(from), Hz(to)).map_err(|e| (2, format!("voice rate {from} Hz: {e}")))?;
    let mut out = Vec::new();
    let t1 = Instant::now();
    let mut first = None;
    voice
        .synthesize(&text, &mut |c: Chunk| {
            first.get_or_insert_with(|| t1.elapsed());
            resampler.process(&c.samples, &mut out);
            true
        })
        .map_err(|e| (exit_code(&e), e.to_string()))?;
    let total = t1.elapsed();
    write_wav(&args.output, to, &out)
        .map_err(|e| (1, format!("{}: {e}", args.output.display())))?;
    let secs = out.len() as f64 / f64::from(to);
    let first_ms = first.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.0}", d.as_secs_f64() * 1e3),
    );
    eprintln!(
        "{}: {secs:.2} s of audio at {to} Hz; voice load {:.0} ms, first audio {first_ms} ms, total {:.0} ms (real-time factor {:.3})",
        args.output.display(),
        loaded.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        if secs > 0.0 { total.as_secs_f64() / secs } else { 0.0 },
    );
    Ok(())
}

fn exit_code(e: &crate::engines::tts::TtsError) -> u8 {
    if e.is_operator_fault() {
        2
    } else {
        1
    }
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
}
