//! Datagrams that are not the caller's RTP (truncated, wrong version,
//! malformed, unnegotiated payload type, another source, random bytes) are
//! dropped and counted under the right reason, and the call's audio goes on.

use std::net::SocketAddr;
use std::time::Duration;

use kefu_core::call::media::Dropped;
use kefu_core::engine::Stats;
use kefu_core::rtp::packet::{self, RtpHeader, RtpPacket};
use kefu_core::rtp::{SeqNo, Ssrc};
use kefu_core::CallId;
use kefu_sim::audio::{rms, split_stereo};
use kefu_sim::net::NetConfig;
use kefu_sim::phone::{ScriptedPhone, PT_EVENT, PT_PCMU};
use kefu_sim::{PhoneId, World};

const PHONE: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 40)),
    4000,
);
const STRANGER: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7)),
    5555,
);

fn counts(stats: &Stats) -> [u64; 9] {
    stats.dropped
}

fn index(reason: Dropped) -> usize {
    Dropped::ALL
        .iter()
        .position(|d| *d == reason)
        .expect("listed reason")
}

fn rtp(pt: u8, ssrc: u32, len: usize) -> Vec<u8> {
    let h = RtpHeader {
        marker: false,
        payload_type: pt,
        seq: SeqNo(7),
        timestamp: 1234,
        ssrc: Ssrc(ssrc),
    };
    let mut out = Vec::new();
    packet::write(&h, &vec![0xFF; len], &mut out);
    out
}

/// An answered call with the phone talking for half a second.
fn talking_call() -> (World, CallId, PhoneId) {
    let mut w = World::new(NetConfig::default());
    let p = w.add_phone(ScriptedPhone::new(PHONE));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    w.run_for(Duration::from_millis(500));
    (w, call, p)
}

/// Injects `data` from `from`, lets it arrive, and returns the drop counters'
/// change.
fn drops_of(w: &mut World, call: CallId, from: SocketAddr, data: Vec<u8>) -> [u64; 9] {
    let before = counts(w.engine().stats());
    w.inject(call, from, data);
    w.step();
    let after = counts(w.engine().stats());
    std::array::from_fn(|i| after[i] - before[i])
}

fn only(reason: Dropped) -> [u64; 9] {
    let mut c = [0; 9];
    c[index(reason)] = 1;
    c
}

/// The call still carries audio both ways over the next second.
fn assert_audio_goes_on(w: &mut World, call: CallId, p: PhoneId) {
    let from = w.now() + Duration::from_millis(100);
    let heard = w.phone(p).packets_received();
    w.run_for(Duration::from_secs(1));
    assert!(w.ended(call).is_none());
    let (caller, agent) = split_stereo(&w.recording_since(call, from));
    assert!(rms(&caller) > 1000.0, "caller channel {}", rms(&caller));
    assert!(rms(&agent) > 1000.0, "agent channel {}", rms(&agent));
    assert!(w.phone(p).packets_received() - heard >= 49);
}

#[test]
fn each_kind_of_garbage_is_counted_under_its_reason() {
    let (mut w, call, p) = talking_call();
    let ssrc = w.phone(p).ssrc();
    let cases: Vec<(&str, SocketAddr, Vec<u8>, Dropped)> = vec![
        ("empty", PHONE, vec![], Dropped::Short),
        ("3 bytes", PHONE, vec![0x80, 0, 1], Dropped::Short),
        (
            "version 1",
            PHONE,
            {
                let mut v = rtp(PT_PCMU, ssrc, 160);
                v[0] = 0x40;
                v
            },
            Dropped::Version,
        ),
        (
            "15 CSRCs in 20 bytes",
            PHONE,
            {
                let mut v = rtp(PT_PCMU, ssrc, 8);
                v[0] = 0x8F;
                v
            },
            Dropped::Malformed,
        ),
        (
            "padding longer than payload",
            PHONE,
            {
                let mut v = rtp(PT_PCMU, ssrc, 4);
                v[0] |= 0x20;
                *v.last_mut().expect("payload") = 200;
                v
            },
            Dropped::Malformed,
        ),
        (
            "unnegotiated PT 96",
            PHONE,
            rtp(96, ssrc, 160),
            Dropped::PayloadType,
        ),
        (
            "other SSRC, other address",
            STRANGER,
            rtp(PT_PCMU, 0xBAD, 160),
            Dropped::Ssrc,
        ),
        (
            "other SSRC events",
            STRANGER,
            rtp(PT_EVENT, 0xBAD, 4),
            Dropped::Ssrc,
        ),
    ];
    for (name, from, data, reason) in cases {
        assert_eq!(drops_of(&mut w, call, from, data), only(reason), "{name}");
    }
    assert_audio_goes_on(&mut w, call, p);
}

#[test]
fn a_few_packets_of_another_ssrc_from_the_caller_do_not_take_over() {
    let (mut w, call, p) = talking_call();
    // Fewer than the switch-over threshold, interleaved with the real
    // stream: each is dropped and the session keeps the caller's SSRC.
    for _ in 0..4 {
        let d = drops_of(&mut w, call, PHONE, rtp(PT_PCMU, 0xBAD, 160));
        assert_eq!(d, only(Dropped::Ssrc));
    }
    assert_audio_goes_on(&mut w, call, p);
}

#[test]
fn rtp_for_a_ringing_or_ended_call_has_no_session() {
    let mut w = World::new(NetConfig::default());
    let p = w.add_phone(ScriptedPhone::new(PHONE));
    let call = w.dial(p);
    let ssrc = w.phone(p).ssrc();
    let d = drops_of(&mut w, call, PHONE, rtp(PT_PCMU, ssrc, 160));
    assert_eq!(d, only(Dropped::NoSession));
    w.bye(call);
    let d = drops_of(&mut w, call, PHONE, rtp(PT_PCMU, ssrc, 160));
    assert_eq!(d, only(Dropped::NoSession));
}

/// What the engine should make of a datagram from a stranger, judged from
/// the bytes alone (RFC 3550 §5.1 layout).
fn expected_reason(data: &[u8]) -> Dropped {
    if data.len() < 12 {
        return Dropped::Short;
    }
    if data[0] >> 6 != 2 {
        return Dropped::Version;
    }
    let Ok(p) = RtpPacket::parse(data) else {
        return Dropped::Malformed;
    };
    if ![PT_PCMU, PT_EVENT].contains(&p.header.payload_type) {
        return Dropped::PayloadType;
    }
    Dropped::Ssrc
}

#[test]
fn ten_thousand_random_datagrams_are_all_dropped() {
    let (mut w, call, p) = talking_call();
    let received = w.engine().stats().rtp_received;
    let before = counts(w.engine().stats());
    let mut expected = [0u64; 9];
    for i in 0..10_000 {
        let len = w.rng().up_to(if i % 2 == 0 { 16 } else { 200 }) as usize;
        let mut data = w.rng().bytes(len);
        if i % 3 == 0 && len > 0 {
            // Give a third of them a plausible first byte (version 2).
            data[0] = 0x80 | (data[0] & 0x3F);
        }
        expected[index(expected_reason(&data))] += 1;
        w.inject(call, STRANGER, data);
    }
    w.step();
    let after = counts(w.engine().stats());
    let got: [u64; 9] = std::array::from_fn(|i| after[i] - before[i]);
    assert_eq!(got, expected);
    assert_eq!(got.iter().sum::<u64>(), 10_000);
    for reason in [
        Dropped::Short,
        Dropped::Version,
        Dropped::Malformed,
        Dropped::PayloadType,
    ] {
        assert!(got[index(reason)] > 0, "no {reason:?} among random data");
    }
    // Nothing random was taken for the caller's audio.
    assert!(w.engine().stats().rtp_received - received <= 1);
    assert_audio_goes_on(&mut w, call, p);
}
