//! Whisper ASR through whisper-rs: one model shared by every call, a small
//! pool of decoder states (each costs ~175 MB, so one per worker thread, not
//! one per call), and the settings measured to be fast on phone audio:
//! greedy decoding with temperature fallback off, the encoder window sized
//! to the utterance (`audio_ctx`), the cores shared among the jobs running
//! (a lone job gets them all, a full pool one each), a fixed language and
//! an abort callback bound to the job's deadline.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use kefu_core::media::resample::Resampler;
use kefu_core::media::Hz;
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::asr::{AsrError, AsrOptions, Audio, Recognizer, Transcript};

/// Whisper's input rate.
const RATE: u32 = 16_000;
/// Encoder frames per second of audio (whisper.cpp: 1500 for 30 s).
const CTX_PER_SEC: f32 = 50.0;
/// The full encoder window.
const FULL_CTX: i32 = 1500;
/// The smallest encoder window (3 s). Shorter windows make base repeat
/// short answers until the token cap ("10 of clubs 10 of clubs …" for a
/// 1.1 s clip, measured on the recordings of `sip-test/wer.sh`), which
/// [`trim_loop`] cuts back; a 5 s window avoids most loops but costs a
/// fifth more recognition time over those recordings.
const MIN_CTX: i32 = 150;

/// Settings of a [`WhisperRecognizer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhisperConfig {
    /// Decoder states, i.e. utterances decoded at once.
    pub workers: usize,
    /// Threads per decode when every state is busy (1 is fastest under
    /// load on this hardware); fewer jobs share `workers` threads.
    pub threads: usize,
    /// Size the encoder window to the utterance. Right for `base`; `tiny`
    /// falls into repetition loops with a shrunk window.
    pub sized_window: bool,
}

impl Default for WhisperConfig {
    fn default() -> Self {
        WhisperConfig {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            threads: 1,
            sized_window: true,
        }
    }
}

/// A loaded Whisper model with its pool of decoder states.
pub struct WhisperRecognizer {
    ctx: WhisperContext,
    free: Mutex<Vec<WhisperState>>,
    ready: Condvar,
    config: WhisperConfig,
    running: AtomicUsize,
}

/// Counts a decode as running while it lives.
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    /// Registers one more decode; returns it and how many run now.
    fn start(count: &'a AtomicUsize) -> (Self, usize) {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        (Running(count), n)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for WhisperRecognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperRecognizer")
            .field("config", &self.config)
            .finish()
    }
}

impl WhisperRecognizer {
    /// Loads `path` (a ggml model) and creates `config.workers` states.
    pub fn load(path: &Path, config: WhisperConfig) -> Result<Self, AsrError> {
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(AsrError::ModelMissing { path: shown });
        }
        whisper_rs::install_logging_hooks();
        let load = |reason: String| AsrError::Load {
            path: shown.clone(),
            reason,
        };
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| load(e.to_string()))?;
        let workers = config.workers.max(1);
        let states = (0..workers)
            .map(|_| ctx.create_state().map_err(|e| load(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WhisperRecognizer {
            ctx,
            free: Mutex::new(states),
            ready: Condvar::new(),
            config: WhisperConfig { workers, ..config },
            running: AtomicUsize::new(0),
        })
    }

    /// Whether the model is multilingual (else English only).
    pub fn is_multilingual(&self) -> bool {
        self.ctx.is_multilingual()
    }

    fn take_state(&self) -> Result<WhisperState, AsrError> {
        let poisoned = |_| AsrError::Decode("decoder pool poisoned".into());
        let mut free = self.free.lock().map_err(poisoned)?;
        loop {
            if let Some(s) = free.pop() {
                return Ok(s);
            }
            free = self.ready.wait(free).map_err(poisoned)?;
        }
    }

    fn give_state(&self, state: WhisperState) {
        if let Ok(mut free) = self.free.lock() {
            free.push(state);
            self.ready.notify_one();
        }
    }
}

/// Mono i16 at any supported rate → f32 at 16 kHz, padded to at least 1 s
/// (whisper.cpp refuses shorter input).
fn to_whisper_input(audio: Audio<'_>) -> Result<Vec<f32>, AsrError> {
    let pcm: Vec<i16> = if audio.rate == RATE {
        audio.samples.to_vec()
    } else {
        let mut r = Resampler::new(Hz(audio.rate), Hz(RATE)).map_err(|e| AsrError::Rate {
            rate: audio.rate,
            reason: e.to_string(),
        })?;
        let mut out = Vec::with_capacity(audio.samples.len() * 2);
        r.process(audio.samples, &mut out);
        out
    };
    let mut f: Vec<f32> = pcm.iter().map(|s| f32::from(*s) / 32768.0).collect();
    if f.len() < RATE as usize + RATE as usize / 10 {
        f.resize(RATE as usize + RATE as usize / 10, 0.0);
    }
    Ok(f)
}

/// The encoder window for `samples` of 16 kHz audio: the utterance plus a
/// margin, never more than the model's full window.
pub fn audio_ctx_for(samples: usize) -> i32 {
    let secs = samples as f32 / RATE as f32;
    ((secs * CTX_PER_SEC).ceil() as i32 + 64).clamp(MIN_CTX, FULL_CTX)
}

impl Recognizer for WhisperRecognizer {
    fn transcribe(&self, audio: Audio<'_>, options: &AsrOptions) -> Result<Transcript, AsrError> {
        self.transcribe_stoppable(audio, options, Arc::new(AtomicBool::new(false)))
    }

    fn transcribe_stoppable(
        &self,
        audio: Audio<'_>,
        options: &AsrOptions,
        stop: Arc<AtomicBool>,
    ) -> Result<Transcript, AsrError> {
        if stop.load(Ordering::SeqCst) {
            return Err(AsrError::Cancelled);
        }
        let input = to_whisper_input(audio)?;
        let audio_secs = audio.samples.len() as f32 / audio.rate.max(1) as f32;
        let queued_at = Instant::now();
        let mut state = self.take_state()?;
        let started = Instant::now();
        let (_running, jobs) = Running::start(&self.running);
        let threads = (self.config.workers / jobs).max(self.config.threads).max(1);
        let deadline = started + options.deadline;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        let language = options.language.as_str();
        if language == "auto" {
            params.set_detect_language(false);
            params.set_language(None);
        } else {
            params.set_language(Some(language));
        }
        // Whisper writes Mandarin in traditional characters as often as
        // not; a simplified-Chinese prompt steers it to the characters
        // mainland callers and dialplans use (measured: 81 of 130
        // transcripts traditional without it, 8 with it).
        if language == "zh" {
            params.set_initial_prompt("以下是普通话的句子。");
        }
        params.set_n_threads(threads as i32);
        params.set_temperature_inc(0.0);
        params.set_no_context(true);
        params.set_no_timestamps(true);
        params.set_single_segment(true);
        params.set_suppress_blank(true);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        if self.config.sized_window {
            params.set_audio_ctx(audio_ctx_for(input.len()));
        }
        // Whisper sometimes repeats a short utterance until its token limit
        // ("ten of clubs ten of clubs …"), which costs seconds; people say
        // at most ~4 tokens a second, so cap the decode to the audio.
        let max_tokens = max_tokens_for(audio_secs);
        params.set_max_tokens(max_tokens);
        let abort = Abort {
            stop: stop.clone(),
            deadline,
        };
        abort.install(&mut params);
        let result = state.full(params, &input);
        drop(abort);
        let text = match result {
            Ok(()) => {
                let mut text = String::new();
                let mut tokens = 0;
                for seg in state.as_iter() {
                    tokens += seg.n_tokens();
                    if let Ok(t) = seg.to_str_lossy() {
                        text.push_str(&t);
                    }
                }
                let text = drop_echo(&clean(&text));
                // Stopped by the cap: a repetition loop, cut back to one
                // round of it.
                Ok(if tokens >= max_tokens {
                    trim_loop(&text)
                } else {
                    text
                })
            }
            Err(_) if stop.load(Ordering::SeqCst) => Err(AsrError::Cancelled),
            Err(e) if Instant::now() > deadline => {
                let _ = e;
                Err(AsrError::Deadline(options.deadline))
            }
            Err(e) => Err(AsrError::Decode(e.to_string())),
        };
        let decoding = started.elapsed();
        self.give_state(state);
        Ok(Transcript {
            text: text?,
            audio_secs,
            queued: started.saturating_duration_since(queued_at),
            decoding,
        })
    }
}

/// When whisper.cpp should give up on a decode: the audio went stale, or
/// the deadline passed. It asks between encoder and decoder steps.
///
/// whisper-rs 0.16's `set_abort_callback_safe` hands whisper.cpp a pointer
/// to a boxed trait object but reads it back as the closure itself, so the
/// closure sees garbage (its deadline never fired; capturing an `Arc` made
/// every decode abort). This is the callback done by hand: the only
/// `unsafe` in kefu.
struct Abort {
    stop: Arc<AtomicBool>,
    deadline: Instant,
}

impl Abort {
    /// Points `params` at `self`; `self` must outlive the decode that uses
    /// `params` (the caller keeps it until `full` has returned).
    #[allow(unsafe_code)]
    fn install(&self, params: &mut FullParams<'_, '_>) {
        unsafe extern "C" fn check(data: *mut std::ffi::c_void) -> bool {
            // SAFETY: `data` is the `&Abort` given below, alive for the
            // whole decode; only shared access, the flag is atomic.
            let abort = unsafe { &*(data as *const Abort) };
            abort.stop.load(Ordering::SeqCst) || Instant::now() > abort.deadline
        }
        // SAFETY: `check` only reads through the pointer, and the caller
        // keeps `self` alive until whisper.cpp has returned.
        unsafe {
            params.set_abort_callback(Some(check));
            params.set_abort_callback_user_data(self as *const Abort as *mut std::ffi::c_void);
        }
    }
}

/// The most tokens an utterance of `secs` seconds can need: fast speech is
/// about 4 tokens a second (digits and names a little more), with a floor
/// for very short answers.
pub fn max_tokens_for(secs: f32) -> i32 {
    ((secs * 6.0).ceil() as i32 + 8).clamp(12, 224)
}

/// The longest phrase [`trim_loop`] looks for (a sentence of a turn).
const MAX_LOOP_WORDS: usize = 24;

/// The text with a repeated tail cut back to one occurrence: the longest
/// stretch at the end made of one phrase (up to 24 words) said at least
/// twice in a row (one word: three times), the last one possibly
/// unfinished. Used only on decodes stopped by the token cap. Text without
/// such a tail comes back unchanged.
pub fn trim_loop(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    // "29340. 29340. 29340" repeats one word: compare without punctuation.
    let keys: Vec<String> = words
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let n = words.len();
    let mut best: Option<(usize, usize)> = None;
    for period in 1..=MAX_LOOP_WORDS.min(n / 2) {
        // Walk back while each word repeats the one a period later.
        let mut start = n - period;
        while start > 0 && keys[start - 1] == keys[start - 1 + period] {
            start -= 1;
        }
        // Three rounds of one word ("5 5 5"), two of a phrase.
        let rounds = if period >= 2 { 2 } else { 3 };
        if n - start >= rounds * period && best.is_none_or(|(s, _)| start < s) {
            best = Some((start, period));
        }
    }
    match best {
        Some((start, period)) => words[..start + period].join(" "),
        None => text.to_string(),
    }
}

/// A sentence's words for comparison: letters, digits and CJK characters
/// only, lowercased ("1, 2, 3." and "1 2 3" compare equal).
fn sentence_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The text without Whisper's echoes: a sentence said again right after
/// itself ("Where's my order? Where's my order?") is kept once, and an
/// unfinished last fragment that only restarts an earlier sentence
/// ("1, 2, 3, 4, 5, 6, 7, 8. 1, 2, 3, 4,") is dropped. Both come from the
/// decoder running on past the end of speech; a caller who really repeats
/// a sentence loses nothing of its meaning.
pub fn drop_echo(text: &str) -> String {
    // Split after each sentence end, keeping the punctuation.
    let mut sentences: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '?' | '!' | '。' | '？' | '！') {
            let end = i + c.len_utf8();
            // "3.5" and "e.g." stay whole: a sentence ends before a space
            // or a CJK character, or at the end.
            let next = text[end..].chars().next();
            if next.is_none_or(|n| n.is_whitespace() || !n.is_ascii()) {
                sentences.push(&text[start..end]);
                start = end;
            }
        }
    }
    let tail = &text[start..];
    let mut kept: Vec<(&str, String)> = Vec::new();
    for s in sentences {
        let key = sentence_key(s);
        if key.is_empty() || kept.last().is_some_and(|(_, k)| *k == key) {
            continue;
        }
        kept.push((s, key));
    }
    let tail_key = sentence_key(tail);
    let echo = !tail_key.is_empty() && kept.iter().any(|(_, k)| k.starts_with(&tail_key));
    let mut out: String = kept.iter().map(|(s, _)| *s).collect();
    if !echo {
        out.push_str(tail);
    }
    out.trim().to_string()
}

/// Trims Whisper's output and drops its non-speech markers
/// (`[BLANK_AUDIO]`, `(silence)`, `[MUSIC]` …).
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = (depth - 1).max(0),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Default decode deadline for an utterance of `secs` seconds: generous
/// for real speech, short enough that a stuck decode does not hold a call.
pub fn deadline_for(secs: f32) -> Duration {
    Duration::from_millis((2000.0 + secs * 500.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_dropped() {
        assert_eq!(clean(" [BLANK_AUDIO]"), "");
        assert_eq!(
            clean(" Hello there. (coughs) Bye [MUSIC]"),
            "Hello there. Bye"
        );
    }

    #[test]
    fn loops_are_cut_back_to_one_round() {
        assert_eq!(
            trim_loop("10 of clubs 10 of clubs 10 of clubs 10 of clubs 10"),
            "10 of clubs"
        );
        assert_eq!(trim_loop("5 5 5 5 5 5 5 5"), "5");
        let s = "Had he married a more amiable woman, he might have been made still more \
                 respectable than he was.";
        assert_eq!(trim_loop(&format!("{s} {s} Had he married a")), s);
        assert_eq!(trim_loop("29340. 29340. 29340. 29340. 29340"), "29340.");
        assert_eq!(
            trim_loop("I want to pay my bill my bill my bill my"),
            "I want to pay my bill"
        );
        assert_eq!(trim_loop("Ten of clubs Ten of clubs"), "Ten of clubs");
        // Nothing repeated: unchanged.
        assert_eq!(trim_loop("no no, I said no"), "no no, I said no");
        assert_eq!(trim_loop("ten of clubs"), "ten of clubs");
        assert_eq!(trim_loop(""), "");
    }

    #[test]
    fn echoes_are_dropped() {
        assert_eq!(
            drop_echo("1, 2, 3, 4, 5, 6, 7, 8. 1, 2, 3, 4,"),
            "1, 2, 3, 4, 5, 6, 7, 8."
        );
        assert_eq!(
            drop_echo("Where's my order? Where's my order? Where's my order?"),
            "Where's my order?"
        );
        assert_eq!(
            drop_echo("我的订单在哪里？我的订单在哪里？"),
            "我的订单在哪里？"
        );
        assert_eq!(drop_echo("我的订单在哪里？我的订"), "我的订单在哪里？");
        // Different sentences, decimals and unfinished speech stay.
        assert_eq!(
            drop_echo("It costs 3.5 dollars. Is that right? Yes"),
            "It costs 3.5 dollars. Is that right? Yes"
        );
        assert_eq!(drop_echo("I want to pay my bill"), "I want to pay my bill");
        assert_eq!(
            drop_echo("Hello. I want a person. Hello."),
            "Hello. I want a person. Hello."
        );
        assert_eq!(drop_echo(""), "");
        assert_eq!(drop_echo("..."), "");
    }

    #[test]
    fn token_cap_follows_the_utterance() {
        assert_eq!(max_tokens_for(0.5), 12);
        assert_eq!(max_tokens_for(2.0), 20);
        assert_eq!(max_tokens_for(100.0), 224);
    }

    #[test]
    fn window_follows_the_utterance() {
        assert_eq!(audio_ctx_for(16_000), MIN_CTX);
        assert_eq!(audio_ctx_for(16_000 * 3), 214);
        assert_eq!(audio_ctx_for(16_000 * 60), FULL_CTX);
    }

    #[test]
    fn short_audio_is_padded_and_resampled() {
        let samples = vec![1000i16; 800];
        let f = to_whisper_input(Audio {
            samples: &samples,
            rate: 8000,
        })
        .expect("input");
        assert!(f.len() >= 16_000);
        assert!(to_whisper_input(Audio {
            samples: &samples,
            rate: 7
        })
        .is_err());
    }

    #[test]
    fn missing_model_names_the_file_and_the_fix() {
        let e =
            WhisperRecognizer::load(Path::new("/nonexistent/ggml.bin"), WhisperConfig::default())
                .expect_err("missing");
        let m = e.to_string();
        assert!(
            m.contains("/nonexistent/ggml.bin") && m.contains("make models"),
            "{m}"
        );
    }
}
