//! Symmetric RTP (RFC 4961) for a caller behind NAT: its SDP names a private
//! address, its packets come from a public one, and after the first packet
//! kefu sends to where they come from.

use std::net::SocketAddr;
use std::time::Duration;

use kefu_sim::net::NetConfig;
use kefu_sim::phone::ScriptedPhone;
use kefu_sim::World;

const PRIVATE: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 50)),
    4000,
);
const PUBLIC: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 5)),
    31_000,
);

/// 50 ms latency, so kefu's first ticks come before the caller's first
/// packet arrives.
fn slow_net() -> NetConfig {
    NetConfig {
        latency: Duration::from_millis(50),
        ..NetConfig::default()
    }
}

fn world(symmetric: bool) -> World {
    let mut cfg = kefu_sim::fixture::engine_config();
    cfg.call.symmetric_rtp = symmetric;
    World::with_config(cfg, kefu_sim::fixture::prompts(), slow_net())
}

#[test]
fn kefu_sends_to_the_source_address_after_the_first_packet() {
    let mut w = world(true);
    let p = w.add_phone(ScriptedPhone::new(PRIVATE).behind_nat(PUBLIC));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    let answered = w.now();
    w.run_for(Duration::from_secs(1));

    let first_arrival = answered + Duration::from_millis(50);
    let sent = w.sent_rtp(call);
    let (early, late): (Vec<_>, Vec<_>) = sent.iter().partition(|s| s.at < first_arrival);
    assert!(!early.is_empty(), "no packet before latching");
    assert!(early.iter().all(|s| s.to == PRIVATE));
    assert!(late.len() >= 45);
    assert!(
        late.iter().all(|s| s.to == PUBLIC),
        "{:?}",
        late.iter().map(|s| s.to).collect::<Vec<_>>()
    );
    // The packets to the private address went nowhere; the rest reached the
    // phone.
    assert_eq!(w.undelivered().len(), early.len());
    let arrived = late
        .iter()
        .filter(|s| s.at + slow_net().latency <= w.now())
        .count();
    assert_eq!(w.phone(p).packets_received(), arrived);
    assert!(w
        .phone(p)
        .received()
        .iter()
        .all(|h| h.from.port() == 20_000));
}

#[test]
fn without_symmetric_rtp_kefu_keeps_to_the_sdp_address() {
    let mut w = world(false);
    let p = w.add_phone(ScriptedPhone::new(PRIVATE).behind_nat(PUBLIC));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    w.run_for(Duration::from_secs(1));
    let sent = w.sent_rtp(call);
    assert!(sent.len() >= 49);
    assert!(sent.iter().all(|s| s.to == PRIVATE));
    assert_eq!(w.phone(p).packets_received(), 0);
}

#[test]
fn a_reoffer_with_the_same_sdp_keeps_the_latched_address() {
    let mut w = World::new(NetConfig {
        latency: Duration::from_millis(30),
        ..NetConfig::default()
    });
    let p = w.add_phone(ScriptedPhone::new(PRIVATE).behind_nat(PUBLIC));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    // Ticks fall on answer + 20k ms and the caller's packets arrive at
    // answer + 10 + 20k ms: re-offer between an arrival and a tick (a
    // session refresh carrying the same SDP).
    w.run_for(Duration::from_millis(515));
    let t = w.now();
    let sdp = w.phone_mut(p).offer();
    w.reoffer(call, sdp);
    w.run_for(Duration::from_millis(500));
    let after: Vec<_> = w.sent_rtp(call).into_iter().filter(|s| s.at > t).collect();
    assert!(after.len() >= 24);
    let misrouted: Vec<_> = after
        .iter()
        .filter(|s| s.to != PUBLIC)
        .map(|s| s.at - t)
        .collect();
    assert!(
        misrouted.is_empty(),
        "sent to {PRIVATE} at {misrouted:?} after the re-offer"
    );
}
