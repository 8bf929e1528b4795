//! The digits dialplan driven by RFC 4733 key presses: each key is reported
//! once, the read-back names the keys in order, and the call ends with
//! kefu's BYE; also when markers are missing, packets are duplicated by the
//! network, or the same key is pressed twice.

use std::net::SocketAddr;
use std::time::Duration;

use kefu_core::engine::{CallEvent, CallId, EndReason, SignalAction};
use kefu_sim::audio::{dominant, split_stereo, zero_frames};
use kefu_sim::fixture::{digit_freq, DIGIT_PROMPT, GREETING};
use kefu_sim::net::NetConfig;
use kefu_sim::phone::{DtmfStyle, ScriptedPhone};
use kefu_sim::{PhoneId, World};

/// Places a call, presses `keys` once the greeting is over (or at once with
/// `barge`), and runs until the call ends.
fn call_and_press(
    net: NetConfig,
    keys: &str,
    style: DtmfStyle,
    barge: bool,
) -> (World, CallId, PhoneId) {
    let mut w = World::new(net);
    let p = w.add_phone(ScriptedPhone::new(SocketAddr::from((
        [192, 0, 2, 20],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    if !barge {
        w.run_for(GREETING + Duration::from_millis(100));
    }
    w.phone_mut(p).press_with(keys, style);
    assert!(
        w.run_until(|w| w.ended(call).is_some(), Duration::from_secs(10)),
        "call did not end; digits {:?}",
        w.digits(call)
    );
    (w, call, p)
}

/// The time the terminator was reported.
fn terminator_at(w: &World, call: CallId) -> std::time::Instant {
    w.events_timed(call)
        .into_iter()
        .find(|(_, e)| *e == CallEvent::Digit('#'))
        .map(|(t, _)| t)
        .expect("'#' reported")
}

/// Checks the read-back after `#`: "you-entered", one prompt per key in
/// order, "goodbye", then kefu hangs up.
fn assert_read_back(w: &World, call: CallId, p: PhoneId, keys: &str) {
    let after = w.recording_since(call, terminator_at(w, call));
    let (_, agent) = split_stereo(&after);
    let frames = agent.len() / 160;
    let expected = (400 + keys.len() as u128 * DIGIT_PROMPT.as_millis() + 400) / 20;
    assert!(
        (frames as u128).abs_diff(expected) <= 2,
        "{frames} frames after '#', expected {expected}"
    );
    assert_eq!(zero_frames(&agent, 160), 0, "agent silent after '#'");
    let candidates: Vec<u32> = "0123456789".chars().map(digit_freq).collect();
    for (i, k) in keys.chars().enumerate() {
        // The middle 200 ms of the i-th digit prompt.
        let start = (400 + 300 * i + 50) * 8;
        let said = dominant(&agent[start..start + 1600], &candidates);
        assert_eq!(said, Some(digit_freq(k)), "read-back of key {i} ({k})");
    }
    assert_eq!(w.signals(call).last(), Some(&SignalAction::Hangup));
    assert_eq!(w.ended(call), Some(EndReason::Hangup));
    // The caller heard the read-back as well.
    let heard_after = w
        .phone(p)
        .received()
        .iter()
        .filter(|h| h.at > terminator_at(w, call))
        .count();
    assert!(
        heard_after as u128 >= expected - 5,
        "phone heard {heard_after} packets"
    );
}

#[test]
fn keys_are_reported_once_and_read_back() {
    let (w, call, p) = call_and_press(NetConfig::default(), "123#", DtmfStyle::default(), false);
    assert_eq!(w.digits(call), "123#");
    assert_eq!(w.engine().stats().digits, 4);
    assert_read_back(&w, call, p, "123");
}

#[test]
fn key_during_greeting_interrupts_it() {
    let (w, call, p) = call_and_press(NetConfig::default(), "7#", DtmfStyle::default(), true);
    assert_eq!(w.digits(call), "7#");
    let first = w.events_timed(call)[1].0;
    // The greeting stopped within a frame of the first key.
    let (_, agent) = split_stereo(&w.recording_since(call, first + Duration::from_millis(20)));
    let until_hash = (terminator_at(&w, call) - first).as_millis() as usize / 20 * 160;
    assert!(zero_frames(&agent[..until_hash.saturating_sub(160)], 160) > 0);
    assert_read_back(&w, call, p, "7");
}

#[test]
fn keys_without_marker_bits_are_still_reported_once() {
    let style = DtmfStyle {
        marker: false,
        ..DtmfStyle::default()
    };
    let (w, call, p) = call_and_press(NetConfig::default(), "123#", style, false);
    assert_eq!(w.digits(call), "123#");
    assert_read_back(&w, call, p, "123");
}

#[test]
fn duplicated_packets_do_not_repeat_keys() {
    let net = NetConfig {
        duplicate: 0.5,
        jitter_max: Duration::from_millis(10),
        seed: 21,
        ..NetConfig::default()
    };
    let (w, call, p) = call_and_press(net, "123#", DtmfStyle::default(), false);
    assert!(w.net().stats().duplicated > 20);
    assert_eq!(w.digits(call), "123#");
    assert_read_back(&w, call, p, "123");
    // Duplicated audio was dropped as such, not played twice.
    let dup = kefu_core::call::media::Dropped::ALL
        .iter()
        .position(|d| *d == kefu_core::call::media::Dropped::Duplicate)
        .map(|i| w.engine().stats().dropped[i]);
    assert!(dup.is_some_and(|n| n > 0), "{:?}", w.engine().stats());
}

#[test]
fn same_key_twice_is_two_presses() {
    let (w, call, p) = call_and_press(NetConfig::default(), "11#", DtmfStyle::default(), false);
    assert_eq!(w.digits(call), "11#");
    assert_read_back(&w, call, p, "11");
}

#[test]
fn a_late_copy_of_a_keys_first_packet_repeats_nothing() {
    let mut w = World::new(NetConfig::default());
    let addr = SocketAddr::from(([192, 0, 2, 21], 4000));
    let p = w.add_phone(ScriptedPhone::new(addr));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    w.run_for(GREETING + Duration::from_millis(100));
    w.phone_mut(p).press("12");
    // '1' takes 200 ms (7 packets, 3 frames of pause); '2' is under way.
    w.run_for(Duration::from_millis(300));
    assert_eq!(w.digits(call), "12");
    // The network delivers a copy of '1''s marked first packet 300 ms late.
    let stale = w
        .phone(p)
        .sent()
        .iter()
        .find(|(_, d)| d.get(1) == Some(&(0x80 | kefu_sim::phone::PT_EVENT)))
        .map(|(_, d)| d.clone())
        .expect("a marked event packet");
    w.inject(call, addr, stale);
    w.run_for(Duration::from_millis(200));
    assert_eq!(w.digits(call), "12");
}
