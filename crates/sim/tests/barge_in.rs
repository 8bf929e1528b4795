//! Barge-in on virtual time: the caller interrupting kefu's prompt silences
//! it within `pause_after` plus one frame of the onset and flushes it at
//! `min_speech`; backchannels only hold it briefly, and kefu's own echo (the
//! carrier has no echo canceller) does not touch it.

use std::time::Duration;

use kefu_core::vad::bargein::{BargeInPolicy, Decision, Verdict};
use kefu_core::vad::endpoint::{AudioKind, EndpointConfig, EndpointEvent};
use kefu_core::vad::FRAME;
use kefu_sim::speech::{prompt, Line, Script};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Lead-in before kefu starts talking (the line's first frames teach the
/// energy VAD its noise floor).
const LEAD: u64 = 300;

/// kefu's prompt: `LEAD` of silence, then `len` ms of syllables.
fn kefu_says(len: u64) -> Vec<i16> {
    let mut p = Script::new().silence(LEAD).build();
    p.extend(prompt(len, 200));
    p
}

/// A caller level clear of the echo the prompt (peaks at −12 dBFS) could
/// make on a line whose loss is not learnt yet (6 dB assumed).
const LOUD: f32 = -6.0;

fn min_speech() -> Duration {
    BargeInPolicy::default().min_speech
}

fn pause_after() -> Duration {
    BargeInPolicy::default().pause_after
}

fn interrupts(l: &Line) -> Vec<Decision> {
    l.decisions()
        .iter()
        .map(|(_, d)| *d)
        .filter(|d| matches!(d, Decision::Interrupt { .. }))
        .collect()
}

/// Time since the start of the onset and decision of the only interrupt.
fn interrupt(l: &Line) -> (Duration, Duration) {
    match interrupts(l)[..] {
        [Decision::Interrupt { onset, at }] => (l.since_start(onset), l.since_start(at)),
        ref other => panic!("expected one interrupt, got {other:?}"),
    }
}

#[test]
fn a_backchannel_does_not_stop_the_prompt() {
    let p = kefu_says(3_000);
    // "嗯" (200 ms), then "对" (200 ms) after a breath, loud enough to
    // hold the prompt before the line's echo loss is learnt.
    let caller = Script::new()
        .silence(1_000)
        .speech_at(LOUD, 200)
        .silence(150)
        .speech_at(LOUD, 200)
        .build();
    let mut l = Line::new(caller).playing(p.clone());
    l.run(ms(4_400));
    // Each held the prompt for a moment, and released it.
    let kinds: Vec<&str> = l
        .decisions()
        .iter()
        .map(|(_, d)| match d {
            Decision::Pause { .. } => "pause",
            Decision::Resume { .. } => "resume",
            Decision::Interrupt { .. } => "interrupt",
        })
        .collect();
    assert_eq!(kinds, ["pause", "resume", "pause", "resume"]);
    // Nothing of the prompt was lost: it played to its end, in order, with
    // only silence inserted.
    assert_eq!(l.prompt_played(), p.len());
    let voiced: Vec<i16> = l.played().iter().copied().filter(|&s| s != 0).collect();
    let want: Vec<i16> = p.iter().copied().filter(|&s| s != 0).collect();
    assert_eq!(voiced, want);
    // The holds were short: under 400 ms each (speech + resume_after).
    let d = l.decisions();
    for pair in d.chunks(2) {
        assert!(pair[1].0 - pair[0].0 <= ms(400), "{pair:?}");
    }
}

#[test]
fn speech_over_the_prompt_silences_it_within_pause_after_and_a_frame() {
    // Onset 10 ms into a frame.
    let onset = ms(1_010);
    let caller = Script::new().silence(1_010).speech_at(LOUD, 400).build();
    let mut l = Line::new(caller).playing(kefu_says(3_000));
    l.run(ms(2_000));
    let (dated, decided) = interrupt(&l);
    // Dated to the frame holding the onset, decided on the 14th speech frame.
    assert_eq!(dated, ms(1_000));
    assert_eq!(decided, ms(1_260));
    assert!(decided <= onset + min_speech() + FRAME);
    // Held on the 2nd speech frame: the call holds the playout in that
    // tick, the next frame is silence, and it stays silent (flushed).
    let (held_at, _) = l.decisions()[0];
    assert!(matches!(l.decisions()[0].1, Decision::Pause { .. }));
    assert_eq!(held_at, ms(1_020));
    let stopped = l.agent_stopped().expect("held");
    assert_eq!(stopped, held_at + FRAME);
    assert!(stopped - onset <= pause_after() + FRAME);
    let from = stopped.as_millis() as usize * 8;
    assert!(l.played()[from..].iter().all(|&s| s == 0));
    // It was talking just before (the prompt's syllables have gaps).
    assert!(l.played()[from - 8 * 400..from].iter().any(|&s| s != 0));
}

#[test]
fn the_prompts_own_echo_is_not_barge_in() {
    // 10 dB of echo return loss, 60 ms round trip: loud, and speech-like.
    let mut l = Line::new(Vec::new())
        .playing(kefu_says(4_000))
        .echo(10.0, ms(60));
    l.run(ms(4_300));
    assert!(l.decisions().is_empty(), "{:?}", l.decisions());
    // The VAD did call the echo speech: barge-in explained it away…
    let echo = l.verdicts().iter().filter(|v| **v == Verdict::Echo).count();
    assert!(echo > 100, "{echo} echo frames");
    assert!(!l.verdicts().contains(&Verdict::Speech));
    // …and learnt the line's loss from it.
    let erl = l.barge_in().erl_db();
    // Slightly above the true 10 dB: the prompt's gaps bias it up, by less
    // than the 3 dB echo margin.
    assert!((9.0..=11.0).contains(&erl), "{erl}");
    // Nor does the endpointer hear an utterance in it.
    assert!(l.events().is_empty(), "{:?}", l.events());
}

#[test]
fn a_loud_caller_over_the_prompt_and_its_echo_stops_it() {
    let caller = Script::new().silence(2_000).speech_at(-12.0, 1_000).build();
    let mut l = Line::new(caller)
        .playing(kefu_says(4_000))
        .echo(10.0, ms(60));
    l.run(ms(3_500));
    let (dated, decided) = interrupt(&l);
    assert_eq!(dated, ms(2_000));
    assert!(decided <= ms(2_000) + min_speech() + FRAME, "{decided:?}");
}

#[test]
fn the_interrupting_utterance_is_endpointed_with_its_onset() {
    let caller = Script::new()
        .silence(1_500)
        .speech(1_000)
        .silence(1_000)
        .build();
    let mut l = Line::new(caller)
        .playing(kefu_says(4_000))
        .echo(10.0, ms(60));
    l.run(ms(3_500));
    let (dated, _) = interrupt(&l);
    assert_eq!(dated, ms(1_500));
    let started: Vec<_> = l
        .events()
        .iter()
        .filter_map(|(_, e)| match e {
            EndpointEvent::SpeechStarted { at } => Some(l.since_start(*at)),
            _ => None,
        })
        .collect();
    assert_eq!(started, vec![ms(1_500)]);
    let last = l.audio().last().map(|(_, a)| (a.kind, a.samples.len()));
    // Pre-roll (which holds only echo) plus the caller's second.
    assert_eq!(last, Some((AudioKind::Final, 1_200 * 8)));
}

#[test]
fn barge_in_disabled_plays_the_prompt_to_the_end() {
    let policy = BargeInPolicy {
        enabled: false,
        ..BargeInPolicy::default()
    };
    let p = kefu_says(2_000);
    let caller = Script::new().silence(800).speech(1_000).build();
    let mut l = Line::with(caller, EndpointConfig::default(), policy)
        .expect("valid")
        .playing(p.clone());
    l.run(ms(2_500));
    assert!(l.decisions().is_empty());
    assert_eq!(&l.played()[..p.len()], &p[..]);
    // The caller is still heard.
    assert!(l
        .events()
        .iter()
        .any(|(_, e)| matches!(e, EndpointEvent::UtteranceEnded { .. })));
}

#[test]
fn a_longer_min_speech_tolerates_longer_backchannels() {
    let policy = BargeInPolicy {
        min_speech: ms(500),
        ..BargeInPolicy::default()
    };
    let caller = Script::new().silence(1_000).speech(400).build();
    let mut l = Line::with(caller.clone(), EndpointConfig::default(), policy)
        .expect("valid")
        .playing(kefu_says(3_000));
    l.run(ms(3_000));
    assert!(interrupts(&l).is_empty(), "{:?}", l.decisions());
    let mut l = Line::new(caller).playing(kefu_says(3_000));
    l.run(ms(3_000));
    assert_eq!(interrupts(&l).len(), 1);
}
