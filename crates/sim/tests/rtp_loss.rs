//! Packets lost on the way in are counted from RTP sequence gaps: while the
//! call runs (`Engine::rtp_lost_live`) and after it ends (`Stats::rtp_lost`),
//! for `/metrics`.

use std::net::SocketAddr;
use std::time::Duration;

use kefu_sim::net::NetConfig;
use kefu_sim::phone::ScriptedPhone;
use kefu_sim::World;

fn lost_after_a_call(loss: f64) -> (u64, u64) {
    let net = NetConfig {
        loss,
        seed: 11,
        ..NetConfig::default()
    };
    let mut w = World::new(net);
    let p = w.add_phone(ScriptedPhone::new(SocketAddr::from((
        [192, 0, 2, 10],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), Duration::from_secs(2)));
    // Three seconds of caller audio: 150 packets.
    w.run_for(Duration::from_secs(3));
    let live = w.engine().rtp_lost_live();
    w.bye(call);
    assert_eq!(w.engine().calls(), 0);
    (live, w.engine().stats().rtp_lost)
}

#[test]
fn gaps_in_sequence_numbers_count_as_lost() {
    let (live, total) = lost_after_a_call(0.2);
    // About 30 of 150 packets; the seeded network drops the same ones
    // every run, so the bounds only guard against counting nothing or all.
    assert!((10..=60).contains(&live), "lost while live: {live}");
    assert!(
        total >= live,
        "ended calls keep their losses: {total} < {live}"
    );
}

#[test]
fn a_clean_line_loses_nothing() {
    assert_eq!(lost_after_a_call(0.0), (0, 0));
}
