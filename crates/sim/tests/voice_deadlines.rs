//! Stalled speech engines (issue #3, bad input): a transcription or a
//! synthesis that never answers does not leave the caller in silence. After
//! its deadline the request counts as failed, the caller hears the recorded
//! fallback prompt, and kefu listens again.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kefu_core::engine::TranscribeKind;
use kefu_sim::audio::dominant;
use kefu_sim::fixture::{self, SORRY_FREQ};
use kefu_sim::net::NetConfig;
use kefu_sim::phone::ScriptedPhone;
use kefu_sim::world::SpeechRequest;
use kefu_sim::{PhoneId, World};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn world(asr: Duration, tts: Duration) -> World {
    let mut cfg = fixture::speech_config();
    cfg.voice.speculative = false;
    cfg.voice.transcript_deadline = ms(2000);
    cfg.voice.speech_deadline = ms(1500);
    let mut w = World::with_config(cfg, fixture::prompts(), NetConfig::default());
    w.speech_services().asr_delay = asr;
    w.speech_services().tts_first_audio = tts;
    w
}

/// What the phone hears from `from` until kefu falls silent is the recorded
/// fallback prompt.
fn assert_fallback_heard_from(w: &mut World, p: PhoneId, from: Instant) {
    assert!(w.run_until_kefu_done(p, ms(5000)));
    let i = w
        .phone(p)
        .levels()
        .iter()
        .position(|(t, _)| *t >= from)
        .expect("packets");
    let heard = &w.phone(p).heard_samples()[i * 160..];
    assert_eq!(dominant(heard, &[1000, SORRY_FREQ]), Some(SORRY_FREQ));
}

#[test]
fn a_stalled_transcription_expires_into_the_fallback() {
    // The recognizer takes 60 s: far past the 2 s deadline.
    let mut w = world(ms(60_000), ms(100));
    let p = w.add_phone(ScriptedPhone::silent(SocketAddr::from((
        [192, 0, 2, 40],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), ms(1000)));
    assert!(w.run_until_kefu_done(p, ms(5000)), "greeting heard");
    let end = w.say(p, "parcel", ms(1000)).expect("sending");
    let asked = |w: &World| {
        w.speech_requests(call).iter().any(|(_, r)| {
            matches!(
                r,
                SpeechRequest::Transcribe {
                    kind: TranscribeKind::Final,
                    ..
                }
            )
        })
    };
    assert!(
        w.run_until(asked, ms(2000)),
        "final transcription asked for"
    );
    // Nothing heard, yet the fallback plays within deadline + a few frames.
    assert!(w.run_until(
        |w| w.phone(p).first_loud_after(end + ms(1000), -40.0).is_some(),
        ms(4000)
    ));
    let first = w
        .phone(p)
        .first_loud_after(end + ms(1000), -40.0)
        .expect("loud");
    assert!(
        first - end < ms(2000 + 600 + 200),
        "fallback after {:?}",
        first - end
    );
    assert_fallback_heard_from(&mut w, p, first);
    assert!(w.heard(call).is_empty());
    assert!(w.ended(call).is_none(), "the call goes on");
}

#[test]
fn a_stalled_synthesis_is_cancelled_into_the_fallback() {
    // The synthesizer's first audio takes 30 s: past the 1.5 s deadline.
    let mut w = world(ms(200), ms(30_000));
    let p = w.add_phone(ScriptedPhone::silent(SocketAddr::from((
        [192, 0, 2, 41],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), ms(1000)));
    let answered = w.now();
    assert!(w.run_until(
        |w| w.phone(p).first_loud_after(answered, -40.0).is_some(),
        ms(3000)
    ));
    let first = w.phone(p).first_loud_after(answered, -40.0).expect("loud");
    assert!(
        first - answered < ms(1500 + 200),
        "fallback after {:?}",
        first - answered
    );
    assert_fallback_heard_from(&mut w, p, first);
    let cancelled = w
        .speech_requests(call)
        .iter()
        .any(|(_, r)| matches!(r, SpeechRequest::Cancel { .. }));
    assert!(cancelled, "the stalled synthesis was cancelled");
    assert!(w.ended(call).is_none(), "the call goes on");
}
