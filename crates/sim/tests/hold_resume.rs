//! Re-INVITEs inside a call (RFC 3264 §8): hold with `sendonly` stops kefu's
//! RTP, resume starts it again, `inactive` keeps a silent call alive, and an
//! unusable re-offer is rejected with 488 leaving the call as it was.

use std::net::SocketAddr;
use std::time::Duration;

use kefu_core::engine::SignalAction;
use kefu_core::rtp::packet::RtpPacket;
use kefu_core::sdp::Codec;
use kefu_core::CallId;
use kefu_sim::fixture::engine_config;
use kefu_sim::net::NetConfig;
use kefu_sim::phone::ScriptedPhone;
use kefu_sim::{PhoneId, World};

fn answered_call() -> (World, CallId, PhoneId) {
    let mut w = World::new(NetConfig::default());
    let p = w.add_phone(ScriptedPhone::new(SocketAddr::from((
        [192, 0, 2, 50],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    w.run_for(Duration::from_millis(300));
    (w, call, p)
}

/// The SDP of the last re-offer answer.
fn last_reoffer_answer(w: &World, call: CallId) -> String {
    match w.signals(call).last() {
        Some(SignalAction::ReofferAnswer { sdp }) => sdp.clone(),
        other => panic!("expected a re-offer answer, got {other:?}"),
    }
}

/// Packets sent after `t` (not at `t`: that tick may have run before the
/// re-offer at the same instant).
fn sent_since(w: &World, call: CallId, t: std::time::Instant) -> usize {
    w.sent_rtp(call).iter().filter(|s| s.at > t).count()
}

#[test]
fn hold_stops_kefu_rtp_and_resume_restarts_it() {
    let (mut w, call, p) = answered_call();
    let sdp = w.phone_mut(p).hold_offer();
    w.reoffer(call, sdp);
    let answer = last_reoffer_answer(&w, call);
    assert!(answer.contains("a=recvonly"), "{answer}");
    let held_at = w.now();
    w.run_for(Duration::from_secs(1));
    assert_eq!(sent_since(&w, call, held_at), 0);
    let heard = w.phone(p).packets_received();
    // On hold kefu still listens: the caller's audio is recorded.
    let (caller, _) = kefu_sim::audio::split_stereo(&w.recording_since(call, held_at));
    assert!(kefu_sim::audio::rms(&caller) > 1000.0);

    let sdp = w.phone_mut(p).resume_offer();
    w.reoffer(call, sdp);
    let answer = last_reoffer_answer(&w, call);
    assert!(answer.contains("a=sendrecv"), "{answer}");
    let resumed_at = w.now();
    w.run_for(Duration::from_secs(1));
    assert!(sent_since(&w, call, resumed_at) >= 49);
    assert!(w.phone(p).packets_received() - heard >= 49);
    assert!(w.ended(call).is_none());

    // RFC 3550 §5.1: the sequence number runs on without a gap across the
    // hold, while the timestamp kept counting the time that passed.
    let sent = w.sent_rtp(call);
    let before = sent
        .iter()
        .rfind(|s| s.at <= held_at)
        .expect("sent before hold");
    let after = sent
        .iter()
        .find(|s| s.at > resumed_at)
        .expect("sent after resume");
    let (a, b) = (
        RtpPacket::parse(&before.data).expect("rtp").header,
        RtpPacket::parse(&after.data).expect("rtp").header,
    );
    assert_eq!(b.seq.0, a.seq.0.wrapping_add(1));
    let ticks = ((after.at - before.at).as_millis() / 20) as u32;
    assert_eq!(b.timestamp.wrapping_sub(a.timestamp), ticks * 160);
}

#[test]
fn inactive_hold_outlasts_the_media_timeout() {
    let (mut w, call, p) = answered_call();
    let sdp = w.phone_mut(p).offer_with(&[(0, "PCMU/8000")], "inactive");
    w.reoffer(call, sdp);
    assert!(last_reoffer_answer(&w, call).contains("a=inactive"));
    w.phone_mut(p).stop();
    let held_at = w.now();
    w.run_for(engine_config().call.media_timeout * 2);
    assert!(w.ended(call).is_none(), "{:?}", w.events(call));
    assert_eq!(sent_since(&w, call, held_at), 0);
}

#[test]
fn reoffer_without_common_codec_is_rejected_and_changes_nothing() {
    let (mut w, call, p) = answered_call();
    let before = w
        .engine()
        .call(call)
        .map(|c| c.negotiated().clone())
        .expect("call exists");
    let sdp = w.phone_mut(p).offer_with(&[(18, "G729/8000")], "sendrecv");
    w.reoffer(call, sdp);
    assert!(
        matches!(
            w.signals(call).last(),
            Some(SignalAction::ReofferReject { status: 488, .. })
        ),
        "{:?}",
        w.signals(call)
    );
    let after = w
        .engine()
        .call(call)
        .map(|c| c.negotiated().clone())
        .expect("call exists");
    assert_eq!(after, before);
    assert_eq!(after.codec, Codec::Pcmu);
    let t = w.now();
    let heard = w.phone(p).packets_received();
    w.run_for(Duration::from_secs(1));
    assert!(sent_since(&w, call, t) >= 49);
    assert!(w.phone(p).packets_received() - heard >= 49);
    assert!(w.ended(call).is_none());
}

#[test]
fn resume_after_a_long_inactive_hold_waits_for_the_callers_media() {
    let mut cfg = engine_config();
    cfg.digits.first_digit_timeout = Duration::from_secs(60);
    let timeout = cfg.call.media_timeout;
    let mut w = World::with_config(cfg, kefu_sim::fixture::prompts(), NetConfig::default());
    let p = w.add_phone(ScriptedPhone::new(SocketAddr::from((
        [192, 0, 2, 51],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    let sdp = w.phone_mut(p).offer_with(&[(0, "PCMU/8000")], "inactive");
    w.reoffer(call, sdp);
    w.phone_mut(p).stop();
    w.run_for(timeout * 2);
    assert!(w.ended(call).is_none());

    let sdp = w.phone_mut(p).resume_offer();
    w.reoffer(call, sdp);
    // The caller starts talking again 100 ms after its re-INVITE was
    // answered (its ACK, then its first packet).
    w.run_for(Duration::from_millis(100));
    let (now, kefu) = (w.now(), w.local_addr(call).expect("call"));
    w.phone_mut(p).start(now, kefu);
    w.run_for(Duration::from_secs(1));
    assert_eq!(w.ended(call), None, "{:?}", w.events(call));
}

#[test]
fn a_reinvite_without_offer_gets_the_current_session_with_a_new_version() {
    let (mut w, call, _) = answered_call();
    let first = w
        .signals(call)
        .iter()
        .find_map(|s| match s {
            SignalAction::Answer { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .expect("answer");
    w.reoffer(call, Vec::new());
    w.run_for(Duration::from_millis(40));
    let again = w
        .signals(call)
        .iter()
        .find_map(|s| match s {
            SignalAction::ReofferAnswer { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .expect("offer in the 200");
    let version = |sdp: &str| {
        sdp.lines()
            .find(|l| l.starts_with("o="))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|v| v.parse::<u64>().ok())
            .expect("o= version")
    };
    assert_eq!(version(&again), version(&first) + 1);
    assert!(again.contains("m=audio"), "{again}");
    assert!(w.ended(call).is_none(), "the call goes on");
}
