//! Loads a dialplan for the engine: the bundled `default` (compiled into the
//! binary with its prompts) or a TOML file with a prompts folder beside it.
//!
//! Prompts are WAV files of any common rate, mono or stereo, 16-bit PCM; they
//! are mixed to mono and resampled to 8 kHz once, at load time.

pub mod cases;
pub mod flow;
pub mod session;
pub mod watch;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kefu_core::dialogue::digits::Settings as DigitSettings;
use kefu_core::media::resample::resample;
use kefu_core::media::Hz;
use kefu_core::playout::Prompts;
use serde::Deserialize;

/// A dialplan ready for the engine.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Name or file it came from.
    pub source: String,
    /// Settings of the digits dialogue.
    pub digits: DigitSettings,
    /// Ringing time before answer.
    pub answer_after: Duration,
    /// Prompts at 8 kHz.
    pub prompts: Prompts,
    /// Speech settings, for a speech or flow dialplan.
    pub speech: Option<SpeechPlan>,
    /// The flow, for a flow dialplan (with the files to watch for reloads).
    pub flow: Option<flow::Loaded>,
}

/// What a speech dialplan needs beyond the dialogue: engines and voice.
#[derive(Debug, Clone)]
pub struct SpeechPlan {
    /// The dialogue's settings.
    pub dialogue: kefu_core::dialogue::speech::Settings,
    /// Endpointing and barge-in.
    pub voice: kefu_core::call::voice::VoiceSettings,
    /// ASR language (ISO 639-1, or auto).
    pub language: String,
    /// TTS voice: a Piper voice name, an .onnx path, or espeak:VOICE.
    pub tts_voice: String,
    /// Whisper model name or file.
    pub asr_model: String,
    /// What scores the caller's frames for speech.
    pub vad: VadKind,
}

/// The speech detector a speech dialplan listens with (`vad = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadKind {
    /// Silero VAD on ONNX Runtime (the default): robust to noise and to
    /// G.711, needs `models/silero/silero_vad.onnx`.
    Silero,
    /// Frame energy against a tracked noise floor: no model, but any loud
    /// noise counts as speech.
    Energy,
}

/// A dialplan that cannot be used; whose fault: the operator's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialplanError {
    /// The file could not be read.
    #[error("dialplan {file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid dialplan.
    #[error("dialplan {file}:{line}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A prompt file is unusable.
    #[error("dialplan prompt {file}: {message}")]
    Prompt {
        /// The WAV file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    kind: String,
    prompts: Option<String>,
    answer_after_ms: Option<u64>,
    #[serde(default)]
    digits: RawDigits,
    /// Generated prompts: a tone, two tones, or silence.
    #[serde(default)]
    tones: std::collections::BTreeMap<String, RawTone>,
    /// The speech dialplan's settings (kind = "speech").
    speech: Option<RawSpeech>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpeech {
    language: Option<String>,
    voice: Option<String>,
    model: Option<String>,
    greeting: Option<String>,
    default_reply: Option<String>,
    goodbye: Option<String>,
    goodbye_words: Option<Vec<String>>,
    no_input: Option<String>,
    max_no_input: Option<u32>,
    fallback_prompt: Option<String>,
    barge_in: Option<bool>,
    barge_in_min_speech_ms: Option<u64>,
    end_of_speech_ms: Option<u64>,
    early_end_ms: Option<u64>,
    start_of_speech_ms: Option<u64>,
    max_utterance_ms: Option<u64>,
    no_input_ms: Option<u64>,
    vad: Option<String>,
    #[serde(default)]
    answers: Vec<RawAnswer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    keywords: Vec<String>,
    answer: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTone {
    /// Frequency in Hz; absent for silence.
    freq: Option<u32>,
    /// Second frequency for a dual tone (like a DTMF key).
    freq2: Option<u32>,
    /// Length in milliseconds.
    ms: u64,
    /// Level of each tone in dBFS (default -12).
    level_dbfs: Option<f32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigits {
    first_digit_timeout_ms: Option<u64>,
    inter_digit_timeout_ms: Option<u64>,
    max_digits: Option<usize>,
    terminator: Option<String>,
}

const DEFAULT_TOML: &str = include_str!("../../dialplans/default.toml");
const SPEECH_TOML: &str = include_str!("../../dialplans/speech.toml");

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../../dialplans/default/prompts/", $name, ".wav")) as &[u8])),*]
    };
}

const DEFAULT_PROMPTS: &[(&str, &[u8])] = bundled!(
    "greeting",
    "you-entered",
    "goodbye",
    "no-input",
    "sorry",
    "digit-0",
    "digit-1",
    "digit-2",
    "digit-3",
    "digit-4",
    "digit-5",
    "digit-6",
    "digit-7",
    "digit-8",
    "digit-9",
    "digit-star",
    "digit-pound",
    "digit-a",
    "digit-b",
    "digit-c",
    "digit-d",
);

/// The shell's keys of a flow dialplan (the core checks the rest).
#[derive(Debug, Deserialize)]
struct RawFlowShell {
    language: Option<String>,
    prompts: Option<String>,
    answer_after_ms: Option<u64>,
    #[serde(default)]
    tones: std::collections::BTreeMap<String, RawTone>,
    speech: Option<RawSpeech>,
}

/// Bundled flow dialplans, found in `dialplans/` under the working
/// directory by name.
const BUNDLED_FLOWS: &[&str] = &["shop", "shop-zh"];

/// Loads `name_or_file`: `default`, `speech`, `shop`, `shop-zh`, or a path
/// to a dialplan TOML file.
pub fn load(name_or_file: &str) -> Result<Loaded, DialplanError> {
    if BUNDLED_FLOWS.contains(&name_or_file) {
        return load(&format!("dialplans/{name_or_file}.toml"));
    }
    if !matches!(name_or_file, "default" | "speech") && flow::is_flow_file(Path::new(name_or_file))
    {
        return load_flow(Path::new(name_or_file));
    }
    if name_or_file == "default" || name_or_file == "speech" {
        let text = if name_or_file == "speech" {
            SPEECH_TOML
        } else {
            DEFAULT_TOML
        };
        let raw = parse(name_or_file, text)?;
        let mut prompts = Prompts::new();
        for (name, bytes) in DEFAULT_PROMPTS {
            let file = format!("default/prompts/{name}.wav");
            prompts.insert(name, decode_wav(&file, std::io::Cursor::new(*bytes))?);
        }
        return build(name_or_file.into(), raw, prompts);
    }
    let path = PathBuf::from(name_or_file);
    let file = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|source| DialplanError::Read {
        file: file.clone(),
        source,
    })?;
    let raw = parse(&file, &text)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let prompts_dir = dir.join(raw.prompts.as_deref().unwrap_or("prompts"));
    let prompts = load_dir(&prompts_dir)?;
    build(file, raw, prompts)
}

/// A flow dialplan: the core's flow, and the engines' settings from
/// `[speech]` (language from the plan unless set there).
fn load_flow(path: &Path) -> Result<Loaded, DialplanError> {
    let file = path.display().to_string();
    let loaded = flow::load(path).map_err(|problems| DialplanError::Syntax {
        file: file.clone(),
        line: problems.first().map_or(0, |p| p.line),
        message: problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| DialplanError::Read {
        file: file.clone(),
        source,
    })?;
    let shell: RawFlowShell = toml::from_str(&text).map_err(|e| DialplanError::Syntax {
        file: file.clone(),
        line: 0,
        message: e.message().trim().to_string(),
    })?;
    let mut speech = shell.speech.unwrap_or_default();
    if speech.language.is_none() {
        speech.language = shell.language.clone();
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let prompts = match &shell.prompts {
        Some(p) => load_dir(&dir.join(p))?,
        None if dir.join("prompts").is_dir() => load_dir(&dir.join("prompts"))?,
        None => Prompts::new(),
    };
    let raw = Raw {
        kind: "speech".into(),
        prompts: shell.prompts,
        answer_after_ms: shell.answer_after_ms,
        digits: RawDigits::default(),
        tones: shell.tones,
        speech: Some(speech),
    };
    let mut out = build(file, raw, prompts)?;
    out.flow = Some(loaded);
    Ok(out)
}

fn parse(file: &str, text: &str) -> Result<Raw, DialplanError> {
    let raw: Raw = toml::from_str(text).map_err(|e| DialplanError::Syntax {
        file: file.to_string(),
        line: e
            .span()
            .map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1
            })
            .unwrap_or(0),
        message: e.message().trim().to_string(),
    })?;
    if raw.kind != "digits" && raw.kind != "speech" {
        return Err(DialplanError::Syntax {
            file: file.to_string(),
            line: 0,
            message: format!(
                "kind: unknown dialplan kind {:?} (this version has: digits, speech)",
                raw.kind
            ),
        });
    }
    Ok(raw)
}

/// Renders the `[tones]` table into prompts (8 kHz), replacing WAV prompts of
/// the same name.
fn add_tones(source: &str, raw: &Raw, prompts: &mut Prompts) -> Result<(), DialplanError> {
    use kefu_core::media::tone::{Tone, ToneGenerator};
    for (name, t) in &raw.tones {
        let bad = |message: String| DialplanError::Syntax {
            file: source.to_string(),
            line: 0,
            message: format!("tones.{name}: {message}"),
        };
        if t.ms == 0 || t.ms > 60_000 {
            return Err(bad(format!("ms = {} is outside 1..=60000", t.ms)));
        }
        let level_dbfs = t.level_dbfs.unwrap_or(-12.0);
        if !(-96.0..=0.0).contains(&level_dbfs) {
            return Err(bad(format!("level_dbfs = {level_dbfs} is outside -96..=0")));
        }
        for f in [t.freq, t.freq2].into_iter().flatten() {
            if !(20..=3900).contains(&f) {
                return Err(bad(format!(
                    "{f} Hz is outside 20..=3900 (8 kHz telephone audio)"
                )));
            }
        }
        let tone = match (t.freq, t.freq2) {
            (None, None) => Tone::Silence,
            (Some(freq), None) => Tone::Sine { freq, level_dbfs },
            (Some(f1), Some(f2)) => Tone::Dual { f1, f2, level_dbfs },
            (None, Some(_)) => return Err(bad("freq2 needs freq".into())),
        };
        let mut samples = vec![0i16; (t.ms * 8) as usize];
        ToneGenerator::new(tone, Hz(8000)).fill(&mut samples);
        prompts.insert(name, samples);
    }
    Ok(())
}

fn speech_plan(source: &str, raw: &Raw) -> Result<Option<SpeechPlan>, DialplanError> {
    use kefu_core::dialogue::speech::{ReplyRule, Settings};
    if raw.kind != "speech" {
        return Ok(None);
    }
    let empty = RawSpeech {
        language: None,
        voice: None,
        model: None,
        greeting: None,
        default_reply: None,
        goodbye: None,
        goodbye_words: None,
        no_input: None,
        max_no_input: None,
        fallback_prompt: None,
        barge_in: None,
        barge_in_min_speech_ms: None,
        end_of_speech_ms: None,
        early_end_ms: None,
        start_of_speech_ms: None,
        max_utterance_ms: None,
        no_input_ms: None,
        vad: None,
        answers: Vec::new(),
    };
    let r = raw.speech.as_ref().unwrap_or(&empty);
    let d = Settings::default();
    let dialogue = Settings {
        greeting: r.greeting.clone().unwrap_or(d.greeting),
        replies: r
            .answers
            .iter()
            .map(|a| ReplyRule {
                keywords: a.keywords.clone(),
                answer: a.answer.clone(),
            })
            .collect(),
        default_reply: r.default_reply.clone().unwrap_or(d.default_reply),
        goodbye_words: r.goodbye_words.clone().unwrap_or(d.goodbye_words),
        goodbye: r.goodbye.clone().unwrap_or(d.goodbye),
        no_input_prompt: r.no_input.clone().unwrap_or(d.no_input_prompt),
        max_no_input: r.max_no_input.unwrap_or(d.max_no_input),
        fallback_prompt: r.fallback_prompt.clone().unwrap_or(d.fallback_prompt),
    };
    let mut voice = kefu_core::call::voice::VoiceSettings::default();
    if let Some(b) = r.barge_in {
        voice.barge_in.enabled = b;
    }
    if let Some(ms) = r.barge_in_min_speech_ms {
        voice.barge_in.min_speech = Duration::from_millis(ms);
    }
    if let Some(ms) = r.end_of_speech_ms {
        voice.endpoint.end_hangover = Duration::from_millis(ms);
    }
    if let Some(ms) = r.early_end_ms {
        voice.endpoint.early_end = Duration::from_millis(ms);
    }
    if let Some(ms) = r.start_of_speech_ms {
        voice.endpoint.start_hangover = Duration::from_millis(ms);
    }
    if let Some(ms) = r.max_utterance_ms {
        voice.endpoint.max_utterance = Duration::from_millis(ms);
    }
    if let Some(ms) = r.no_input_ms {
        voice.endpoint.no_input_timeout = Duration::from_millis(ms);
    }
    let fault = |message: String| DialplanError::Syntax {
        file: source.to_string(),
        line: 0,
        message,
    };
    voice
        .validate()
        .map_err(|e| fault(format!("speech: {e}")))?;
    let vad = match r.vad.as_deref() {
        None | Some("silero") => VadKind::Silero,
        Some("energy") => VadKind::Energy,
        Some(other) => {
            return Err(fault(format!(
                "speech.vad: unknown detector {other:?} (use \"silero\" or \"energy\")"
            )))
        }
    };
    Ok(Some(SpeechPlan {
        dialogue,
        voice,
        language: r.language.clone().unwrap_or_else(|| "en".into()),
        tts_voice: r.voice.clone().unwrap_or_else(|| "en_US-joe-medium".into()),
        asr_model: r.model.clone().unwrap_or_else(|| "base-q8_0".into()),
        vad,
    }))
}

fn build(source: String, raw: Raw, mut prompts: Prompts) -> Result<Loaded, DialplanError> {
    add_tones(&source, &raw, &mut prompts)?;
    let speech = speech_plan(&source, &raw)?;
    let d = DigitSettings::default();
    let terminator = match raw.digits.terminator.as_deref() {
        None => d.terminator,
        Some(t) if t.chars().count() == 1 && "0123456789*#ABCD".contains(t) => {
            t.chars().next().unwrap_or('#')
        }
        Some(t) => {
            return Err(DialplanError::Syntax {
                file: source,
                line: 0,
                message: format!("digits.terminator: {t:?} is not a DTMF key"),
            })
        }
    };
    Ok(Loaded {
        digits: DigitSettings {
            first_digit_timeout: raw
                .digits
                .first_digit_timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(d.first_digit_timeout),
            inter_digit_timeout: raw
                .digits
                .inter_digit_timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(d.inter_digit_timeout),
            max_digits: raw.digits.max_digits.unwrap_or(d.max_digits).clamp(1, 64),
            terminator,
        },
        answer_after: Duration::from_millis(raw.answer_after_ms.unwrap_or(300).min(60_000)),
        source,
        prompts,
        speech,
        flow: None,
    })
}

fn load_dir(dir: &Path) -> Result<Prompts, DialplanError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DialplanError::Read {
        file: dir.display().to_string(),
        source,
    })?;
    let mut prompts = Prompts::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("wav") {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let file = path.display().to_string();
        let f = std::fs::File::open(&path).map_err(|source| DialplanError::Read {
            file: file.clone(),
            source,
        })?;
        prompts.insert(name, decode_wav(&file, std::io::BufReader::new(f))?);
    }
    Ok(prompts)
}

/// Decodes a 16-bit PCM WAV to mono 8 kHz samples.
pub fn decode_wav<R: std::io::Read>(file: &str, r: R) -> Result<Vec<i16>, DialplanError> {
    let bad = |message: String| DialplanError::Prompt {
        file: file.to_string(),
        message,
    };
    let reader = hound::WavReader::new(r).map_err(|e| bad(e.to_string()))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(bad(format!(
            "need 16-bit PCM, got {} bits {:?}",
            spec.bits_per_sample, spec.sample_format
        )));
    }
    let channels = spec.channels.max(1) as usize;
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let mono: Vec<i16> = samples
        .chunks(channels)
        .map(|c| (c.iter().map(|s| *s as i32).sum::<i32>() / c.len() as i32) as i16)
        .collect();
    if spec.sample_rate == 8000 {
        return Ok(mono);
    }
    resample(Hz(spec.sample_rate), Hz(8000), &mono).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        std::fs::create_dir_all(dir.join("prompts")).expect("mkdir");
        let p = dir.join("plan.toml");
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn bundled_default_loads_all_prompts() {
        let plan = load("default").expect("default");
        assert_eq!(plan.prompts.len(), 21);
        assert!(plan.speech.is_none());
        assert_eq!(plan.digits.terminator, '#');
        let speech = load("speech").expect("speech");
        let sp = speech.speech.expect("speech settings");
        assert_eq!(sp.language, "en");
        assert_eq!(sp.dialogue.replies.len(), 2);
        assert_eq!(sp.vad, VadKind::Silero);
    }

    #[test]
    fn speech_detector_and_barge_in_settings() {
        let dir = tempfile::tempdir().expect("dir");
        let p = write(
            dir.path(),
            "kind = \"speech\"\n[speech]\nvad = \"energy\"\nbarge_in_min_speech_ms = 400\n\
             start_of_speech_ms = 100\nmax_utterance_ms = 8000\nno_input_ms = 7000\n",
        );
        let sp = load(p.to_str().expect("utf8"))
            .expect("load")
            .speech
            .expect("speech");
        assert_eq!(sp.vad, VadKind::Energy);
        assert_eq!(sp.voice.barge_in.min_speech, Duration::from_millis(400));
        assert_eq!(sp.voice.endpoint.start_hangover, Duration::from_millis(100));
        assert_eq!(sp.voice.endpoint.max_utterance, Duration::from_secs(8));
        assert_eq!(sp.voice.endpoint.no_input_timeout, Duration::from_secs(7));
        let p = write(
            dir.path(),
            "kind = \"speech\"\n[speech]\nvad = \"webrtc\"\n",
        );
        let e = load(p.to_str().expect("utf8")).expect_err("unknown vad");
        assert!(
            e.to_string().contains("speech.vad: unknown detector"),
            "{e}"
        );
        let p = write(
            dir.path(),
            "kind = \"speech\"\n[speech]\nbarge_in_min_speech_ms = 5\n",
        );
        let e = load(p.to_str().expect("utf8")).expect_err("too short");
        assert!(e.to_string().contains("min_speech"), "{e}");
    }

    #[test]
    fn tones_become_prompts() {
        let dir = tempfile::tempdir().expect("dir");
        let p = write(
            dir.path(),
            "kind = \"digits\"\n[tones]\ngreeting = { freq = 440, ms = 500 }\n\
             beep = { freq = 697, freq2 = 1209, ms = 100, level_dbfs = -6.0 }\n\
             pause = { ms = 250 }\n",
        );
        let plan = load(p.to_str().expect("utf8")).expect("load");
        assert_eq!(plan.prompts.names(), ["beep", "greeting", "pause"]);
        match plan.prompts.source("greeting") {
            Some(kefu_core::playout::Source::Pcm { samples, .. }) => {
                assert_eq!(samples.len(), 4000);
                assert!(samples.iter().any(|s| s.abs() > 1000));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_tone_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("dir");
        let p = write(
            dir.path(),
            "kind = \"digits\"\n[tones]\nhigh = { freq = 6000, ms = 100 }\n",
        );
        let e = load(p.to_str().expect("utf8")).expect_err("6 kHz");
        assert!(e.to_string().contains("tones.high: 6000 Hz"), "{e}");
        let p = write(dir.path(), "kind = \"frobnicate\"\n");
        let e = load(p.to_str().expect("utf8")).expect_err("kind");
        assert!(e.to_string().contains("unknown dialplan kind"), "{e}");
    }
}
