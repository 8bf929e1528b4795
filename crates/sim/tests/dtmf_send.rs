//! kefu sending keys (RFC 4733) on an operator command: the caller's phone
//! decodes them once each, from a well-formed event train.

use std::net::SocketAddr;
use std::time::Duration;

use kefu_core::engine::Command;
use kefu_core::rtp::dtmf::DtmfReceiver;
use kefu_core::rtp::packet::RtpPacket;
use kefu_sim::net::NetConfig;
use kefu_sim::phone::{ScriptedPhone, PT_EVENT};
use kefu_sim::World;

fn send_keys(net: NetConfig, keys: &str) -> (World, kefu_core::CallId, kefu_sim::PhoneId) {
    let mut w = World::new(net);
    let p = w.add_phone(ScriptedPhone::new(SocketAddr::from((
        [192, 0, 2, 60],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    w.run_for(Duration::from_millis(200));
    w.command(call, Command::SendDigits(keys.into()));
    // 200 ms per key: 4 updates, 3 end packets, 3 frames of pause.
    w.run_for(Duration::from_millis(200) * keys.len() as u32 + Duration::from_millis(100));
    (w, call, p)
}

#[test]
fn phone_decodes_the_keys_sent() {
    let (w, call, p) = send_keys(NetConfig::default(), "42");
    assert_eq!(w.phone(p).digits_received(), "42");

    // The event train as sent (RFC 4733 §2.5): per key, updates then three
    // end packets, one timestamp per event, the first marked.
    let events: Vec<_> = w
        .sent_rtp(call)
        .into_iter()
        .filter_map(|s| {
            let pkt = RtpPacket::parse(&s.data).ok()?;
            (pkt.header.payload_type == PT_EVENT).then(|| (pkt.header, pkt.payload.to_vec()))
        })
        .collect();
    assert_eq!(events.len(), 2 * (4 + 3));
    let mut rx = DtmfReceiver::new();
    let mut keys = String::new();
    for (i, (h, payload)) in events.iter().enumerate() {
        let k = i % 7;
        assert_eq!(h.marker, k == 0, "marker on packet {i}");
        assert_eq!(payload[1] & 0x80 != 0, k >= 4, "end bit on packet {i}");
        assert_eq!(h.timestamp, events[i - k].0.timestamp);
        if let Ok(Some(d)) = rx.on_packet(h.marker, h.timestamp, payload) {
            keys.push(d.digit);
        }
    }
    assert_eq!(keys, "42");
    assert_ne!(events[0].0.timestamp, events[7].0.timestamp);
}

#[test]
fn keys_survive_a_lossy_network() {
    let net = NetConfig {
        loss: 0.2,
        jitter_max: Duration::from_millis(30),
        seed: 4,
        ..NetConfig::default()
    };
    let (w, _, p) = send_keys(net, "0123456789*#");
    assert_eq!(w.phone(p).digits_received(), "0123456789*#");
}
