//! Barge-in on a whole call: the caller speaking over kefu's synthesized
//! speech silences its RTP audio within `pause_after` and a frame of the
//! onset (as kefu hears it), and at `min_speech` cancels the synthesis,
//! drops its late chunks and takes the turn; a backchannel (which only holds kefu for a moment and
//! is never transcribed), and kefu's own echo on a line without an echo
//! canceller, do not.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kefu_core::engine::{CallEvent, CallId, SpeechId};
use kefu_core::media::g711::{self, Law};
use kefu_core::vad::bargein::BargeInPolicy;
use kefu_core::vad::energy::level_dbfs;
use kefu_sim::fixture;
use kefu_sim::net::NetConfig;
use kefu_sim::phone::ScriptedPhone;
use kefu_sim::world::SpeechRequest;
use kefu_sim::{PhoneId, World};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const NET: Duration = Duration::from_millis(5);
const GREETING: &str = "Hello, this is kefu. How can I help you?";

/// Frames of the greeting (40 ms of audio per character).
fn greeting_frames() -> usize {
    GREETING.chars().count() * 2
}

/// A speech call whose greeting streams in real time (a 400 ms chunk every
/// 400 ms), so its synthesis is still open while it plays; runs until the
/// phone hears the greeting start.
fn call(phone: ScriptedPhone, honour_cancel: bool) -> (World, CallId, PhoneId) {
    let mut w = World::with_config(
        fixture::speech_config(),
        fixture::prompts(),
        NetConfig::default(),
    );
    w.speech_services().tts_chunk_delay = ms(400);
    w.speech_services().honour_cancel = honour_cancel;
    let p = w.add_phone(phone);
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), ms(1000)));
    assert!(w.run_until(
        |w| w.phone(p).levels().iter().any(|(_, l)| *l > -40.0),
        ms(1000)
    ));
    (w, call, p)
}

fn phone(host: u8) -> ScriptedPhone {
    ScriptedPhone::silent(SocketAddr::from(([192, 0, 2, host], 4000)))
}

fn cancels(w: &World, call: CallId) -> Vec<SpeechId> {
    w.speech_requests(call)
        .into_iter()
        .filter_map(|(_, r)| match r {
            SpeechRequest::Cancel { req } => Some(req),
            _ => None,
        })
        .collect()
}

fn barge_ins(w: &World, call: CallId) -> Vec<Instant> {
    w.events_timed(call)
        .into_iter()
        .filter(|(_, e)| *e == CallEvent::BargeIn)
        .map(|(t, _)| t)
        .collect()
}

/// Loud frames kefu sent since `t`.
fn loud_sent(w: &World, call: CallId, t: Instant) -> usize {
    w.sent_levels(call)
        .iter()
        .filter(|(at, l)| *at >= t && *l > -40.0)
        .count()
}

/// The caller says "stop" for 600 ms, 300 ms into the greeting; checks the
/// greeting stops in time and the caller gets the turn.
fn interrupted(mut w: World, call: CallId, p: PhoneId) {
    let begin = w.now();
    w.run_for(ms(300));
    let end = w.say(p, "stop", ms(600)).expect("sending");
    let onset = end - ms(600);
    assert!(w.run_until(|w| !w.heard(call).is_empty(), ms(3000)));
    let BargeInPolicy {
        min_speech,
        pause_after,
        ..
    } = BargeInPolicy::default();
    let barged = match barge_ins(&w, call)[..] {
        [t] => t,
        ref other => panic!("expected one barge-in, got {other:?}"),
    };
    // Decided on the frame completing min_speech of speech as kefu hears it
    // (after the network and the jitter buffer)...
    let heard_onset = barged - (min_speech - ms(20));
    let tin = heard_onset - onset;
    assert!(tin >= NET + ms(40) && tin <= NET + ms(60), "{tin:?}");
    // ...and kefu fell silent already when it held its playout, on the
    // frame completing pause_after.
    let stop = w
        .sent_levels(call)
        .iter()
        .find(|(at, l)| *at > begin && *at >= onset && *l < -60.0)
        .map(|(at, _)| *at)
        .expect("kefu fell silent");
    assert_eq!(stop, heard_onset + pause_after);
    assert!(stop - heard_onset <= pause_after + ms(20));
    println!(
        "barge-in: caller onset to kefu silent {:?} at the phone's mouth, {:?} as kefu hears it",
        stop - onset,
        stop - heard_onset
    );
    assert_eq!(cancels(&w, call), [SpeechId(0)]);
    // Nothing of the greeting after that, even from late chunks.
    assert!(w.run_until(|w| w.said(call).len() == 2, ms(3000)));
    let reply_at = w
        .events_timed(call)
        .into_iter()
        .filter(|(_, e)| matches!(e, CallEvent::Said(_)))
        .nth(1)
        .map(|(t, _)| t)
        .expect("reply");
    assert_eq!(
        w.sent_levels(call)
            .iter()
            .filter(|(at, l)| *at >= stop && *at < reply_at && *l > -60.0)
            .count(),
        0
    );
    assert_eq!(w.heard(call), ["stop"]);
    assert_eq!(
        w.said(call).last().map(String::as_str),
        Some("You said: stop. Anything else?")
    );
}

#[test]
fn speech_over_kefu_stops_it_and_takes_the_turn() {
    let (w, call, p) = call(phone(40), true);
    interrupted(w, call, p);
}

#[test]
fn late_chunks_of_a_cancelled_synthesis_are_dropped() {
    let (w, call, p) = call(phone(41), false);
    interrupted(w, call, p);
}

#[test]
fn barge_in_works_on_an_echoing_line() {
    let (w, call, p) = call(phone(42).with_echo(12.0), true);
    interrupted(w, call, p);
}

#[test]
fn a_backchannel_does_not_stop_kefu() {
    let (mut w, call, p) = call(phone(43), true);
    let begin = w.now() - ms(20);
    w.run_for(ms(500));
    w.say(p, "mm", ms(150));
    // kefu holds its greeting for the "mm" and then plays on: the whole
    // greeting is sent, only later.
    w.run_for(ms(2500));
    assert!(barge_ins(&w, call).is_empty());
    assert!(cancels(&w, call).is_empty());
    assert_eq!(loud_sent(&w, call, begin), greeting_frames());
    // Not even transcribed: what started during a hold that ended in a
    // resume is forgotten.
    w.run_for(ms(1000));
    assert!(w.heard(call).is_empty(), "{:?}", w.heard(call));
    // A speculative transcription may have gone out at its pause; the
    // resume called it off.
    let (mut asked, mut stale) = (Vec::new(), Vec::new());
    for (_, r) in w.speech_requests(call) {
        match r {
            SpeechRequest::Transcribe { utt, kind, .. } => {
                assert_eq!(kind, kefu_core::engine::TranscribeKind::Speculative);
                asked.push(utt);
            }
            SpeechRequest::Stale { utt } => stale.push(utt),
            _ => {}
        }
    }
    assert_eq!(asked, stale);
    assert_eq!(w.said(call), [GREETING]);
}

#[test]
fn kefus_own_echo_is_not_barge_in() {
    let (mut w, call, p) = call(phone(44).with_echo(12.0), true);
    let begin = w.now() - ms(20);
    assert!(w.run_until_kefu_done(p, ms(3000)));
    w.run_for(ms(1000));
    assert!(barge_ins(&w, call).is_empty());
    assert!(cancels(&w, call).is_empty());
    assert_eq!(loud_sent(&w, call, begin), greeting_frames());
    // The echo was loud (speech to an energy VAD), and never taken for the
    // caller.
    let mut pcm = Vec::new();
    let loud_echo = w
        .phone(p)
        .sent()
        .iter()
        .filter(|(_, d)| {
            pcm.clear();
            g711::decode(Law::Mu, &d[12..], &mut pcm);
            level_dbfs(&pcm) > -30.0
        })
        .count();
    assert!(
        loud_echo + 2 >= greeting_frames(),
        "{loud_echo} loud echo frames"
    );
    let transcribed = w
        .speech_requests(call)
        .into_iter()
        .filter(|(_, r)| matches!(r, SpeechRequest::Transcribe { .. }))
        .count();
    assert_eq!(transcribed, 0);
    assert!(w.heard(call).is_empty());
}
