//! Whole calls over a bad network (10 % loss, 60 ms jitter, reordering,
//! duplication): the DTMF flow still completes, no key is ever reported
//! twice, kefu's send clock stays exactly 20 ms, the caller's audio is
//! recorded with about as much concealment as was lost, and every dropped
//! packet is counted under its reason.

use std::net::SocketAddr;
use std::time::Duration;

use kefu_core::call::media::Dropped;
use kefu_core::engine::{EndReason, Stats};
use kefu_core::rtp::packet::RtpPacket;
use kefu_sim::audio::{split_stereo, zero_frames};
use kefu_sim::fixture::GREETING;
use kefu_sim::net::NetConfig;
use kefu_sim::phone::{ScriptedPhone, PT_PCMU};
use kefu_sim::World;

const KEYS: &str = "123#";
const SEEDS: u64 = 20;

fn bad_network(seed: u64) -> NetConfig {
    NetConfig {
        latency: Duration::from_millis(20),
        jitter_max: Duration::from_millis(60),
        loss: 0.10,
        duplicate: 0.02,
        reorder: 0.05,
        reorder_delay: Duration::from_millis(40),
        seed,
    }
}

fn dropped(stats: &Stats, reason: Dropped) -> u64 {
    Dropped::ALL
        .iter()
        .position(|d| *d == reason)
        .map_or(0, |i| stats.dropped[i])
}

/// What one call over the bad network came to.
struct Outcome {
    digits: String,
    ended: Option<EndReason>,
    caller_frames: usize,
    caller_zero_frames: usize,
    stats: Stats,
}

fn lossy_call(seed: u64, depth: u32) -> Outcome {
    let mut cfg = kefu_sim::fixture::engine_config();
    cfg.seed = seed;
    cfg.call.jitter_depth_frames = depth;
    let mut w = World::with_config(cfg, kefu_sim::fixture::prompts(), bad_network(seed));
    let p = w.add_phone(ScriptedPhone::new(SocketAddr::from((
        [192, 0, 2, 30],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
    // The caller talks through the greeting, then keys in.
    let talk_from = w.now() + Duration::from_millis(300);
    w.run_for(GREETING + Duration::from_millis(500));
    let talk = w.recording_since(call, talk_from);
    w.phone_mut(p).press(KEYS);
    w.run_until(|w| w.ended(call).is_some(), Duration::from_secs(12));

    let (caller, _) = split_stereo(&talk);
    // Stop at the first key press: events are not audio.
    let caller = &caller[..caller.len() - caller.len() % 160];
    check_send_clock(&w, call);
    check_received_timing(&w, p);
    Outcome {
        digits: w.digits(call),
        ended: w.ended(call),
        caller_frames: caller.len() / 160,
        caller_zero_frames: zero_frames(caller, 160),
        stats: w.engine().stats().clone(),
    }
}

/// kefu's side: one packet per 20 ms tick exactly, contiguous sequence
/// numbers, audio timestamps advancing 160 per packet.
fn check_send_clock(w: &World, call: kefu_core::CallId) {
    let sent = w.sent_rtp(call);
    assert!(sent.len() > 100, "only {} packets sent", sent.len());
    let mut prev: Option<(std::time::Instant, u16, u32, u8)> = None;
    for s in &sent {
        let pkt = RtpPacket::parse(&s.data).expect("kefu sends valid RTP");
        let h = pkt.header;
        if let Some((at, seq, ts, pt)) = prev {
            assert_eq!(s.at - at, Duration::from_millis(20), "send interval");
            assert_eq!(h.seq.0, seq.wrapping_add(1), "sequence gap on send");
            if pt == PT_PCMU && h.payload_type == PT_PCMU {
                assert_eq!(h.timestamp.wrapping_sub(ts), 160, "timestamp step");
            }
        }
        prev = Some((s.at, h.seq.0, h.timestamp, h.payload_type));
    }
}

/// The phone's side: whatever was lost or reordered, audio timestamps are
/// 160 per sequence number apart.
fn check_received_timing(w: &World, p: kefu_sim::PhoneId) {
    let audio: Vec<_> = w
        .phone(p)
        .received()
        .iter()
        .filter(|h| h.pt == PT_PCMU)
        .collect();
    let first = audio.first().expect("phone heard audio");
    for h in &audio {
        let dseq = h.seq.wrapping_sub(first.seq) as i16 as i32;
        let dts = h.ts.wrapping_sub(first.ts) as i32;
        assert_eq!(dts, dseq * 160, "packet seq {} ts {}", h.seq, h.ts);
    }
    assert!(w.phone(p).seq_gaps() > 0, "a lossy network left no gaps");
}

#[test]
fn dtmf_flow_survives_loss_jitter_and_reordering() {
    // 100 ms of playout delay for up to 60 ms of jitter plus reordering.
    let depth = 5;
    let mut delivered = 0;
    let mut completed = 0;
    let (mut frames, mut zero) = (0, 0);
    let (mut late, mut dup) = (0, 0);
    for seed in 0..SEEDS {
        let o = lossy_call(seed, depth);
        // Never a key twice, never one out of order: what arrived is a
        // subsequence of what was pressed.
        let mut rest = KEYS.chars();
        assert!(
            o.digits.chars().all(|d| rest.any(|k| k == d)),
            "seed {seed}: pressed {KEYS}, got {:?}",
            o.digits
        );
        delivered += o.digits.len();
        if o.digits == KEYS && o.ended == Some(EndReason::Hangup) {
            completed += 1;
        }
        frames += o.caller_frames;
        zero += o.caller_zero_frames;
        late += dropped(&o.stats, Dropped::Late);
        dup += dropped(&o.stats, Dropped::Duplicate);
    }
    let total = SEEDS as usize * KEYS.len();
    assert!(delivered * 100 >= total * 95, "{delivered}/{total} keys");
    assert!(
        completed * 100 >= SEEDS * 90,
        "{completed}/{SEEDS} calls completed"
    );
    // Concealed frames: about the loss rate plus what came too late.
    let concealed = zero as f64 / frames as f64;
    eprintln!(
        "{delivered}/{total} keys, {completed} calls; concealed {concealed:.3} of {frames} \
         frames; late {late}, duplicate {dup}"
    );
    assert!((0.06..=0.16).contains(&concealed), "concealed {concealed}");
    assert!(dup > 0, "duplicates not counted");
}

#[test]
fn shallow_jitter_buffer_drops_late_packets_and_conceals_them() {
    // 40 ms of playout delay cannot absorb 60 ms of jitter.
    let (mut frames, mut zero, mut late, mut received) = (0, 0, 0, 0);
    for seed in 0..SEEDS {
        let o = lossy_call(100 + seed, 2);
        frames += o.caller_frames;
        zero += o.caller_zero_frames;
        late += dropped(&o.stats, Dropped::Late);
        received += o.stats.rtp_received;
    }
    let concealed = zero as f64 / frames as f64;
    let late_rate = late as f64 / (late + received) as f64;
    eprintln!("concealed {concealed:.3}; late {late} ({late_rate:.3})");
    assert!(late_rate > 0.01, "late {late_rate}");
    // Each late packet leaves a hole on top of the lost ones.
    let expected = 0.10 + late_rate;
    assert!(
        (concealed - expected).abs() < 0.06,
        "concealed {concealed}, expected {expected}"
    );
}
