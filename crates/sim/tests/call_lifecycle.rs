//! A call's life as the signalling layer sees it: ringing, answer with a
//! PCMU answer, the greeting reaching the caller, and each way a call ends
//! (remote BYE, CANCEL while ringing, an unusable offer, a silent caller).

use std::net::SocketAddr;
use std::time::Duration;

use kefu_core::engine::{CallEvent, EndReason, SignalAction};
use kefu_sim::audio::{is_silent, rms};
use kefu_sim::fixture::{engine_config, ANSWER_AFTER};
use kefu_sim::net::NetConfig;
use kefu_sim::phone::ScriptedPhone;
use kefu_sim::World;

fn caller() -> ScriptedPhone {
    ScriptedPhone::new(SocketAddr::from(([192, 0, 2, 10], 4000)))
}

#[test]
fn answered_call_plays_greeting_and_ends_on_remote_bye() {
    let mut w = World::new(NetConfig::default());
    let p = w.add_phone(caller());
    let call = w.dial(p);
    assert_eq!(w.signals(call), [SignalAction::Ringing]);

    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(2)));
    let signals = w.signals_timed(call);
    let (at, SignalAction::Answer { sdp }) = &signals[1] else {
        panic!("second action is not an answer: {signals:?}");
    };
    // Answered on the first tick at or after answer_after.
    let waited = *at - signals[0].0;
    assert!(waited >= ANSWER_AFTER && waited < ANSWER_AFTER + Duration::from_millis(20));
    assert!(sdp.contains("m=audio 20000 RTP/AVP 0"), "{sdp}");
    assert!(sdp.contains("PCMU/8000"), "{sdp}");
    assert!(sdp.contains("telephone-event/8000"), "{sdp}");

    // Half the greeting later the caller hears it.
    w.run_for(Duration::from_millis(500));
    let heard = w.phone(p).heard_samples();
    assert!(heard.len() >= 160 * 20, "heard {} samples", heard.len());
    assert!(rms(heard) > 1000.0, "greeting too quiet: {}", rms(heard));

    w.bye(call);
    assert_eq!(w.ended(call), Some(EndReason::RemoteBye));
    assert_eq!(w.engine().calls(), 0);
    assert_eq!(w.recording_bounds(call), (true, true));
    assert!(!w.phone(p).is_sending());
    // kefu does not also send BYE for a call the caller ended.
    assert!(!w.signals(call).contains(&SignalAction::Hangup));
    let events = w.events(call);
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], CallEvent::Answered);
    assert_eq!(events[2], CallEvent::Ended(EndReason::RemoteBye));
    // Just before the end: who spoke how much (the greeting played).
    let CallEvent::Talk(talk) = &events[1] else {
        panic!("no talk figures before the end: {events:?}");
    };
    assert!(talk.total_ms >= 400, "{talk:?}");
    assert!(
        talk.agent_ms >= 400 && talk.agent_ms <= talk.total_ms,
        "{talk:?}"
    );
    assert_eq!(talk.caller_ms, 0, "{talk:?}");
}

#[test]
fn cancel_while_ringing_ends_without_answer() {
    let mut w = World::new(NetConfig::default());
    let p = w.add_phone(caller());
    let call = w.dial(p);
    w.run_for(ANSWER_AFTER / 2);
    w.cancel(call);
    assert_eq!(w.ended(call), Some(EndReason::Cancelled));
    w.run_for(Duration::from_secs(1));
    assert_eq!(w.signals(call), [SignalAction::Ringing]);
    assert_eq!(w.events(call), [CallEvent::Ended(EndReason::Cancelled)]);
    assert_eq!(w.phone(p).packets_received(), 0);
    assert_eq!(w.recording_bounds(call), (false, false));
}

#[test]
fn offer_without_common_codec_is_rejected_with_488() {
    let mut w = World::new(NetConfig::default());
    let p = w.add_phone(caller());
    let sdp = w.phone_mut(p).offer_with(&[(18, "G729/8000")], "sendrecv");
    let call = w.dial_with(Some(p), sdp);
    let signals = w.signals(call);
    assert!(
        matches!(
            signals.as_slice(),
            [SignalAction::Reject { status: 488, .. }]
        ),
        "{signals:?}"
    );
    assert_eq!(w.events(call), [CallEvent::Ended(EndReason::Rejected(488))]);
    assert_eq!(w.engine().calls(), 0);
    w.run_for(Duration::from_secs(1));
    assert!(w.sent_rtp(call).is_empty());
}

#[test]
fn silent_caller_is_hung_up_after_media_timeout() {
    let timeout = engine_config().call.media_timeout;
    let mut w = World::new(NetConfig::default());
    let p = w.add_phone(caller());
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    // The caller's RTP never starts.
    w.phone_mut(p).stop();
    let answered_at = w.now();
    assert!(w.run_until(|w| w.ended(call).is_some(), timeout * 2));
    assert_eq!(w.ended(call), Some(EndReason::MediaTimeout));
    assert_eq!(w.signals(call).last(), Some(&SignalAction::Hangup));
    let took = w.now() - answered_at;
    assert!(
        took > timeout && took <= timeout + Duration::from_millis(40),
        "{took:?}"
    );
    // The agent was talking all along; only the caller was silent.
    let (caller_ch, _) = kefu_sim::audio::split_stereo(&w.recording(call));
    assert!(is_silent(&caller_ch, 0));
}
