//! The receive jitter buffer: reorders RTP audio frames by timestamp and
//! releases one frame per playout tick after a fixed playout delay.
//!
//! Owns one design: a ring of `max_frames` slots, each holding one frame of
//! `frame_samples` timestamp units; slot `k` after the playout point holds the
//! frame whose RTP timestamp (RFC 3550 §5.1) is `k` frames ahead. Timestamp
//! arithmetic is modulo 2^32, so wraparound is ordinary. Play starts once
//! `depth_frames` worth of timeline is buffered; a hole at the playout point
//! is [`Playout::Lost`]; after `depth_frames` holes with nothing buffered
//! (end of a talkspurt, RFC 3551 §4.1) the buffer re-buffers and re-anchors
//! on the next packet, so silence suppression needs no special case.
//!
//! Steady state allocates nothing: slot buffers are reused. It does not
//! adapt its depth, decode, conceal, or demultiplex SSRCs or payload types:
//! the owner sends telephone-events (RFC 4733) elsewhere and calls
//! [`JitterBuffer::reset`] when the SSRC changes.

use super::SeqNo;
use crate::media::Hz;

/// Largest ring the buffer will allocate, in frames (20 s of 20 ms frames).
pub const MAX_CAPACITY: u32 = 1000;

/// Jitter buffer configuration; [`JitterBuffer::new`] clamps it to sane values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JitterConfig {
    /// RTP clock rate of the stream (8000 for G.711).
    pub clock_rate: Hz,
    /// Timestamp units per frame (160 = 20 ms at 8 kHz); at least 1.
    pub frame_samples: u32,
    /// Playout delay in frames (3 = 60 ms of 20 ms frames); 1..=max_frames.
    pub depth_frames: u32,
    /// Capacity in frames; 1..=[`MAX_CAPACITY`].
    pub max_frames: u32,
}

impl Default for JitterConfig {
    /// G.711 defaults: 8 kHz, 20 ms frames, 60 ms delay, 1 s capacity.
    fn default() -> Self {
        Self {
            clock_rate: Hz(8000),
            frame_samples: 160,
            depth_frames: 3,
            max_frames: 50,
        }
    }
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PushOutcome {
    /// Stored for playout.
    Accepted,
    /// A frame with this timestamp is already buffered; dropped.
    Duplicate,
    /// Its playout time has passed; dropped.
    Late,
    /// Too far ahead of the playout point for the ring; dropped.
    Overflow,
    /// The timeline jumped (confirmed by two consecutive sequence numbers):
    /// the buffer was reset and re-anchored on this packet, which is stored.
    Resync,
}

/// What to play for one tick, from [`JitterBuffer::pop`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The frame's payload, exactly as pushed.
    Frame(&'a [u8]),
    /// The frame is missing: conceal (e.g. with silence).
    Lost,
    /// Not playing: not started, filling to depth, or idle after a talkspurt.
    Buffering,
}

/// Counters since creation (not cleared by [`JitterBuffer::reset`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct JitterStats {
    /// Every packet pushed.
    pub received: u64,
    /// Packets dropped as [`PushOutcome::Duplicate`].
    pub duplicates: u64,
    /// Packets dropped as [`PushOutcome::Late`].
    pub late: u64,
    /// Ticks that returned [`Playout::Lost`].
    pub lost: u64,
    /// Packets dropped as [`PushOutcome::Overflow`].
    pub overflows: u64,
    /// Resets, from a timeline jump or the owner's [`JitterBuffer::reset`].
    pub resyncs: u64,
}

#[derive(Clone, Debug, Default)]
struct Slot {
    filled: bool,
    data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No playout point: the next packet anchors one.
    Idle,
    /// Anchored, filling up to `depth_frames`.
    Filling,
    /// Releasing one frame per pop.
    Playing,
}

/// A fixed-delay jitter buffer for one RTP source. See the module docs.
#[derive(Clone, Debug)]
pub struct JitterBuffer {
    cfg: JitterConfig,
    slots: Vec<Slot>,
    /// Slot index of the playout point.
    head: usize,
    /// RTP timestamp of the frame at the playout point.
    next_ts: u32,
    /// Newest timestamp buffered since anchoring.
    newest_ts: u32,
    /// Filled slots.
    count: usize,
    state: State,
    /// Timestamp of the last frame whose turn passed, once playing started.
    last_played: Option<u32>,
    /// Consecutive holes with nothing buffered.
    dry: u32,
    /// Sequence number that would confirm a timeline jump.
    jump_confirm: Option<SeqNo>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer; `cfg` is clamped (frame size >= 1, capacity
    /// 1..=[`MAX_CAPACITY`], depth 1..=capacity).
    pub fn new(cfg: JitterConfig) -> Self {
        let max_frames = cfg.max_frames.clamp(1, MAX_CAPACITY);
        let cfg = JitterConfig {
            clock_rate: cfg.clock_rate,
            frame_samples: cfg.frame_samples.max(1),
            depth_frames: cfg.depth_frames.clamp(1, max_frames),
            max_frames,
        };
        let hint = cfg.frame_samples.min(1500) as usize;
        let slots = (0..max_frames)
            .map(|_| Slot {
                filled: false,
                data: Vec::with_capacity(hint),
            })
            .collect();
        Self {
            cfg,
            slots,
            head: 0,
            next_ts: 0,
            newest_ts: 0,
            count: 0,
            state: State::Idle,
            last_played: None,
            dry: 0,
            jump_confirm: None,
            stats: JitterStats::default(),
        }
    }

    /// The configuration in force (after clamping).
    pub fn config(&self) -> JitterConfig {
        self.cfg
    }

    /// Counters since creation.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Frames currently buffered.
    pub fn buffered(&self) -> usize {
        self.count
    }

    /// Drops everything buffered and forgets the playout point, e.g. when
    /// the SSRC changes. Counted in [`JitterStats::resyncs`].
    pub fn reset(&mut self) {
        for s in &mut self.slots {
            s.filled = false;
        }
        self.count = 0;
        self.state = State::Idle;
        self.last_played = None;
        self.dry = 0;
        self.jump_confirm = None;
        self.stats.resyncs += 1;
    }

    fn cap(&self) -> i64 {
        self.slots.len() as i64
    }

    /// Whole frames from `base` to `ts` (floor), wrap-aware.
    fn frames(&self, base: u32, ts: u32) -> i64 {
        i64::from(ts.wrapping_sub(base) as i32).div_euclid(i64::from(self.cfg.frame_samples))
    }

    fn slot_index(&self, offset: i64) -> usize {
        (self.head as i64 + offset).rem_euclid(self.cap()) as usize
    }

    fn anchor(&mut self, ts: u32, payload: &[u8]) {
        self.state = State::Filling;
        self.next_ts = ts;
        self.newest_ts = ts;
        self.dry = 0;
        self.store(0, payload);
    }

    fn store(&mut self, offset: i64, payload: &[u8]) -> PushOutcome {
        let i = self.slot_index(offset);
        let Some(slot) = self.slots.get_mut(i) else {
            return PushOutcome::Overflow;
        };
        if slot.filled {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        slot.filled = true;
        slot.data.clear();
        slot.data.extend_from_slice(payload);
        self.count += 1;
        PushOutcome::Accepted
    }

    /// A packet far off the current timeline: two in a row (consecutive
    /// sequence numbers) re-anchor the buffer, a single stray one is dropped.
    fn jump(&mut self, seq: SeqNo, ts: u32, payload: &[u8], ahead: bool) -> PushOutcome {
        if self.jump_confirm == Some(seq) {
            self.reset();
            self.anchor(ts, payload);
            return PushOutcome::Resync;
        }
        self.jump_confirm = Some(seq.next());
        if ahead {
            self.stats.overflows += 1;
            PushOutcome::Overflow
        } else {
            self.stats.late += 1;
            PushOutcome::Late
        }
    }

    /// Offers one packet's payload for playout.
    pub fn push(&mut self, seq: SeqNo, timestamp: u32, payload: &[u8]) -> PushOutcome {
        self.stats.received += 1;
        let cap = self.cap();
        if self.state != State::Playing {
            if let Some(last) = self.last_played {
                // After a talkspurt: anything at or before what was already
                // played is late, unless it is a whole new timeline.
                let since = self.frames(last, timestamp);
                if since <= 0 && since > -2 * cap {
                    self.stats.late += 1;
                    return PushOutcome::Late;
                }
            }
        }
        if self.state == State::Idle {
            self.anchor(timestamp, payload);
            return PushOutcome::Accepted;
        }
        let offset = self.frames(self.next_ts, timestamp);
        if offset >= 2 * cap || offset < -2 * cap {
            return self.jump(seq, timestamp, payload, offset > 0);
        }
        self.jump_confirm = None;
        if offset < 0 {
            // Before playing, an earlier frame moves the playout point back
            // if the buffered span still fits.
            let span = self.frames(timestamp, self.newest_ts);
            if self.state == State::Filling && span < cap {
                let back = -offset;
                self.head = self.slot_index(-back);
                self.next_ts = self
                    .next_ts
                    .wrapping_sub((back as u32).wrapping_mul(self.cfg.frame_samples));
                return self.store(0, payload);
            }
            self.stats.late += 1;
            return PushOutcome::Late;
        }
        if offset >= cap {
            self.stats.overflows += 1;
            return PushOutcome::Overflow;
        }
        let outcome = self.store(offset, payload);
        if outcome == PushOutcome::Accepted && self.frames(self.newest_ts, timestamp) > 0 {
            self.newest_ts = timestamp;
        }
        outcome
    }

    /// The playout for one tick; call exactly once per frame duration.
    pub fn pop(&mut self) -> Playout<'_> {
        match self.state {
            State::Idle => return Playout::Buffering,
            State::Filling => {
                let span = self.frames(self.next_ts, self.newest_ts) + 1;
                if span < i64::from(self.cfg.depth_frames) {
                    return Playout::Buffering;
                }
                self.state = State::Playing;
            }
            State::Playing => {}
        }
        let i = self.head;
        self.head = self.slot_index(1);
        self.last_played = Some(self.next_ts);
        self.next_ts = self.next_ts.wrapping_add(self.cfg.frame_samples);
        let filled = self.slots.get(i).is_some_and(|s| s.filled);
        if filled {
            self.count -= 1;
            self.dry = 0;
            return match self.slots.get_mut(i) {
                Some(slot) => {
                    slot.filled = false;
                    Playout::Frame(&slot.data)
                }
                None => Playout::Lost,
            };
        }
        self.stats.lost += 1;
        if self.count == 0 {
            self.dry += 1;
            if self.dry >= self.cfg.depth_frames {
                // The gap outlasted the buffer: re-buffer on the next packet.
                self.state = State::Idle;
                self.dry = 0;
            }
        }
        Playout::Lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FS: u32 = 160;

    fn jb(depth: u32) -> JitterBuffer {
        JitterBuffer::new(JitterConfig {
            depth_frames: depth,
            ..JitterConfig::default()
        })
    }

    /// Pushes frame `i` of a stream starting at (`seq0`, `ts0`); payload = i.
    fn push(b: &mut JitterBuffer, seq0: u16, ts0: u32, i: u32) -> PushOutcome {
        b.push(
            SeqNo(seq0.wrapping_add(i as u16)),
            ts0.wrapping_add(i.wrapping_mul(FS)),
            &i.to_be_bytes(),
        )
    }

    /// What one pop yields: Some(Some(i)) frame i, Some(None) lost, None buffering.
    fn pop(b: &mut JitterBuffer) -> Option<Option<u32>> {
        match b.pop() {
            Playout::Frame(p) => Some(Some(u32::from_be_bytes(p.try_into().expect("4 bytes")))),
            Playout::Lost => Some(None),
            Playout::Buffering => None,
        }
    }

    #[test]
    fn in_order_starts_at_depth_and_plays_each_frame() {
        let mut b = jb(3);
        let mut played = Vec::new();
        for i in 0..10 {
            assert_eq!(push(&mut b, 1, 1000, i), PushOutcome::Accepted);
            played.push(pop(&mut b));
        }
        assert_eq!(played[..2], [None, None]);
        assert_eq!(
            played[2..],
            (0..8).map(|i| Some(Some(i))).collect::<Vec<_>>()
        );
    }

    #[test]
    fn reordered_within_depth_is_restored() {
        let mut b = jb(3);
        let mut played = Vec::new();
        for i in [1, 0, 3, 2, 5, 4, 7, 6, 8, 9] {
            assert_eq!(push(&mut b, 0, 0, i), PushOutcome::Accepted);
            played.extend(pop(&mut b).flatten());
        }
        assert_eq!(played, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped() {
        let mut b = jb(2);
        push(&mut b, 0, 0, 0);
        assert_eq!(push(&mut b, 0, 0, 0), PushOutcome::Duplicate);
        push(&mut b, 0, 0, 1);
        assert_eq!(pop(&mut b), Some(Some(0)));
        assert_eq!(push(&mut b, 0, 0, 0), PushOutcome::Late);
        let s = b.stats();
        assert_eq!((s.received, s.duplicates, s.late), (4, 1, 1));
    }

    #[test]
    fn loss_is_reported_then_play_continues() {
        let mut b = jb(2);
        for i in [0, 1, 3, 4] {
            push(&mut b, 0, 0, i);
        }
        let played: Vec<_> = (0..5).map(|_| pop(&mut b)).collect();
        assert_eq!(
            played,
            [
                Some(Some(0)),
                Some(Some(1)),
                Some(None),
                Some(Some(3)),
                Some(Some(4))
            ]
        );
        assert_eq!(b.stats().lost, 1);
    }

    #[test]
    fn seq_and_timestamp_wrap() {
        let mut b = jb(3);
        let ts0 = u32::MAX - 2 * FS + 1;
        let mut played = Vec::new();
        for i in 0..8 {
            assert_eq!(push(&mut b, 65534, ts0, i), PushOutcome::Accepted);
            played.extend(pop(&mut b).flatten());
        }
        assert_eq!(played, (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn rebuffers_after_a_talkspurt() {
        let mut b = jb(2);
        for i in 0..3 {
            push(&mut b, 0, 0, i);
        }
        let first: Vec<_> = (0..6).map(|_| pop(&mut b)).collect();
        assert_eq!(
            first,
            [
                Some(Some(0)),
                Some(Some(1)),
                Some(Some(2)),
                Some(None),
                Some(None),
                None
            ]
        );
        // A straggler from before the silence is late; the next talkspurt,
        // 100 frames later on the same clock, re-anchors and plays after depth.
        assert_eq!(push(&mut b, 0, 0, 2), PushOutcome::Late);
        assert_eq!(push(&mut b, 0, 0, 100), PushOutcome::Accepted);
        assert_eq!(pop(&mut b), None);
        assert_eq!(push(&mut b, 0, 0, 101), PushOutcome::Accepted);
        assert_eq!(pop(&mut b), Some(Some(100)));
        assert_eq!(pop(&mut b), Some(Some(101)));
    }

    #[test]
    fn overflow_and_confirmed_jump() {
        let mut b = jb(2);
        push(&mut b, 0, 0, 0);
        assert_eq!(push(&mut b, 0, 0, 50), PushOutcome::Overflow);
        // A stray packet far away is dropped; two consecutive ones resync.
        assert_eq!(push(&mut b, 500, 0, 5000), PushOutcome::Overflow);
        assert_eq!(push(&mut b, 0, 0, 1), PushOutcome::Accepted);
        assert_eq!(push(&mut b, 500, 0, 5000), PushOutcome::Overflow);
        assert_eq!(push(&mut b, 500, 0, 5001), PushOutcome::Resync);
        assert_eq!(pop(&mut b), None);
        assert_eq!(push(&mut b, 500, 0, 5002), PushOutcome::Accepted);
        assert_eq!(pop(&mut b), Some(Some(5001)));
        assert_eq!(pop(&mut b), Some(Some(5002)));
        let s = b.stats();
        assert_eq!((s.overflows, s.resyncs), (3, 1));
    }

    #[test]
    fn reset_forgets_the_stream() {
        let mut b = jb(1);
        push(&mut b, 0, 0, 0);
        b.reset();
        assert_eq!(b.buffered(), 0);
        assert_eq!(pop(&mut b), None);
        assert_eq!(push(&mut b, 9, 12345, 0), PushOutcome::Accepted);
        assert_eq!(pop(&mut b), Some(Some(0)));
    }

    #[test]
    fn config_is_clamped() {
        let b = JitterBuffer::new(JitterConfig {
            clock_rate: Hz(0),
            frame_samples: 0,
            depth_frames: 99,
            max_frames: 0,
        });
        let c = b.config();
        assert_eq!((c.frame_samples, c.depth_frames, c.max_frames), (1, 1, 1));
    }

    proptest! {
        /// Each frame arrives `delay <= depth - 1` ticks after its send tick,
        /// possibly duplicated; every frame plays exactly once, in order.
        #[test]
        fn bounded_jitter_plays_every_frame_once_in_order(
            depth in 1u32..8,
            delays in proptest::collection::vec((0u32..8, any::<u8>(), any::<bool>()), 8..120),
            seq0 in any::<u16>(), ts0 in any::<u32>(),
        ) {
            let mut b = jb(depth);
            let n = delays.len() as u32;
            let mut arrivals: Vec<(u32, u8, u32)> = Vec::new();
            for (i, (d, key, dup)) in delays.iter().enumerate() {
                let i = i as u32;
                arrivals.push((i + d % depth, *key, i));
                if *dup {
                    arrivals.push((i + (d + 3) % 10, key.wrapping_add(1), i));
                }
            }
            arrivals.sort();
            let mut played = Vec::new();
            let mut next = arrivals.iter().peekable();
            for tick in 0..n + 2 * depth + 12 {
                while let Some(&&(at, _, i)) = next.peek() {
                    if at > tick {
                        break;
                    }
                    let outcome = push(&mut b, seq0, ts0, i);
                    prop_assert!(matches!(outcome, PushOutcome::Accepted | PushOutcome::Duplicate | PushOutcome::Late));
                    next.next();
                }
                if let Some(Some(i)) = pop(&mut b) {
                    played.push(i);
                }
            }
            prop_assert_eq!(played, (0..n).collect::<Vec<_>>());
            prop_assert_eq!(b.stats().lost, u64::from(depth));
        }

        #[test]
        fn arbitrary_input_never_panics(
            cfg in (any::<u32>(), 0u32..400, 0u32..60, 0u32..80),
            ops in proptest::collection::vec((any::<u16>(), any::<u32>(), 0usize..200, any::<bool>()), 0..200),
        ) {
            let mut b = JitterBuffer::new(JitterConfig {
                clock_rate: Hz(cfg.0), frame_samples: cfg.1, depth_frames: cfg.2, max_frames: cfg.3,
            });
            let payload = [0x55u8; 200];
            for (seq, ts, len, do_pop) in ops {
                let _ = b.push(SeqNo(seq), ts, &payload[..len]);
                if do_pop {
                    let _ = b.pop();
                }
                prop_assert!(b.buffered() <= b.config().max_frames as usize);
            }
        }
    }
}
