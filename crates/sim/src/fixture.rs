//! Ready-made configuration for simulated calls: an engine config with short
//! timers and a prompt set generated in code (tones, no files), so each
//! prompt is recognisable by its frequency in what the phone hears.

use std::time::Duration;

use kefu_core::call::voice::VoiceSettings;
use kefu_core::call::CallSettings;
use kefu_core::dialogue::digits::Settings as DigitSettings;
use kefu_core::dialogue::speech::Settings as SpeechSettings;
use kefu_core::engine::Config;
use kefu_core::media::tone::{Tone, ToneGenerator};
use kefu_core::media::Hz;
use kefu_core::playout::Prompts;
use kefu_core::sdp::LocalCaps;

/// Ringing time of [`engine_config`].
pub const ANSWER_AFTER: Duration = Duration::from_millis(200);
/// Length of the `greeting` prompt.
pub const GREETING: Duration = Duration::from_secs(1);
/// Length of each `digit-*` prompt.
pub const DIGIT_PROMPT: Duration = Duration::from_millis(300);

/// An engine config for tests: default caps, 3-frame jitter buffer,
/// symmetric RTP, recording on, 2 s media timeout, 200 ms ringing, 3 s/2 s
/// digit timeouts, seed 1.
pub fn engine_config() -> Config {
    Config {
        caps: LocalCaps::default(),
        call: CallSettings {
            jitter_depth_frames: 3,
            symmetric_rtp: true,
            record: true,
            media_timeout: Duration::from_secs(2),
        },
        answer_after: ANSWER_AFTER,
        flow: None,
        digits: DigitSettings {
            first_digit_timeout: Duration::from_secs(3),
            inter_digit_timeout: Duration::from_secs(2),
            max_digits: 20,
            terminator: '#',
        },
        speech: None,
        voice: VoiceSettings::default(),
        seed: 1,
    }
}

/// A sine of `freq` Hz lasting `len`, at -12 dBFS, 8 kHz.
pub fn tone(freq: u32, len: Duration) -> Vec<i16> {
    let n = (len.as_millis() as usize) * 8;
    let mut out = vec![0; n];
    let t = Tone::Sine {
        freq,
        level_dbfs: -12.0,
    };
    ToneGenerator::new(t, Hz(8000)).fill(&mut out);
    out
}

/// The frequency of the `digit-*` prompt for `key`.
pub fn digit_freq(key: char) -> u32 {
    match key {
        '0'..='9' => 500 + 50 * key.to_digit(10).unwrap_or(0),
        '*' => 1100,
        '#' => 1150,
        k => 1200 + 50 * (k.to_ascii_lowercase() as u32).saturating_sub('a' as u32),
    }
}

/// The prompts of the digits dialplan: `greeting` (1 s, 440 Hz),
/// `digit-*` (0.3 s each, see [`digit_freq`]), `you-entered` (0.4 s,
/// 1400 Hz), `goodbye` (0.4 s, 350 Hz), `no-input` (0.4 s, 1500 Hz); and
/// the speech dialplan's fallback `sorry` (0.4 s, [`SORRY_FREQ`]).
pub fn prompts() -> Prompts {
    let mut p = Prompts::new();
    p.insert("greeting", tone(440, GREETING));
    for k in "0123456789".chars() {
        p.insert(&format!("digit-{k}"), tone(digit_freq(k), DIGIT_PROMPT));
    }
    let named = [
        ("star", '*'),
        ("pound", '#'),
        ("a", 'a'),
        ("b", 'b'),
        ("c", 'c'),
        ("d", 'd'),
    ];
    for (name, k) in named {
        p.insert(&format!("digit-{name}"), tone(digit_freq(k), DIGIT_PROMPT));
    }
    let short = Duration::from_millis(400);
    p.insert("you-entered", tone(1400, short));
    p.insert("goodbye", tone(350, short));
    p.insert("no-input", tone(1500, short));
    p.insert("sorry", tone(SORRY_FREQ, short));
    p
}

/// Frequency of the `sorry` prompt (the speech dialplan's fallback).
pub const SORRY_FREQ: u32 = 1900;

/// [`engine_config`] running the speech dialplan with its default settings
/// (fallback prompt `sorry`), default endpointing and barge-in.
pub fn speech_config() -> Config {
    Config {
        speech: Some(SpeechSettings::default()),
        ..engine_config()
    }
}
