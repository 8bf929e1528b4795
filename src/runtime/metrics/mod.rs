//! Process-wide counters read by `/metrics`: calls and their rate, RTP and
//! its loss, speech latency and queues, named queue and webhook backlogs,
//! store writes, and the RTP send interval's deviation from 20 ms.
//!
//! Media workers publish their engine counters here once per second (plain
//! stores, no locks on the media path); the send-interval histogram is
//! updated per packet with relaxed atomics. The few values set by name
//! (queue and webhook backlogs) and the per-second INVITE ring take a short
//! lock that only their setters and the scrape contend for. Rendering to
//! the Prometheus text format lives in [`render`].

mod histogram;
mod render;

pub use histogram::{Histogram, Snapshot, LATENCY_BUCKETS};
pub use render::escape_label;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_core::call::media::Dropped;

/// Histogram buckets of |interval − 20 ms| in units of 0.1 ms; the last
/// bucket collects everything from 50 ms up.
const BUCKETS: usize = 501;

/// Seconds over which `kefu_calls_per_second` averages INVITEs.
pub const RATE_WINDOW_SECS: u64 = 10;

/// Most distinct names kept per labelled gauge; further names are not
/// shown (a bound on the scrape size whatever callers pass).
pub const MAX_LABELS: usize = 256;

/// One media worker's published counters.
#[derive(Debug, Default)]
pub struct WorkerCounters {
    /// RTP datagrams received and used.
    pub rtp_received: AtomicU64,
    /// RTP datagrams sent.
    pub rtp_sent: AtomicU64,
    /// Received RTP packets never seen: gaps in the sequence numbers
    /// (RFC 3550 A.3), summed over the worker's calls.
    pub rtp_lost: AtomicU64,
    /// Drops by reason, indexed like [`Dropped::ALL`].
    pub dropped: [AtomicU64; 9],
    /// Digits received.
    pub digits: AtomicU64,
    /// Clock slips.
    pub clock_slips: AtomicU64,
    /// Datagrams the socket refused to send.
    pub send_errors: AtomicU64,
    /// Calls on this worker.
    pub calls: AtomicU64,
}

/// Gauges set by name, e.g. one per routing queue.
#[derive(Debug, Default)]
struct Labelled {
    values: Mutex<BTreeMap<String, u64>>,
}

impl Labelled {
    fn set(&self, name: &str, n: u64) {
        let Ok(mut v) = self.values.lock() else {
            return;
        };
        if let Some(slot) = v.get_mut(name) {
            *slot = n;
        } else if v.len() < MAX_LABELS {
            v.insert(name.to_owned(), n);
        }
    }

    fn snapshot(&self) -> Vec<(String, u64)> {
        self.values
            .lock()
            .map(|v| v.iter().map(|(k, n)| (k.clone(), *n)).collect())
            .unwrap_or_default()
    }
}

/// INVITEs per whole second since the metrics were created, newest last.
#[derive(Debug, Default)]
struct Ring {
    seconds: VecDeque<(u64, u64)>,
}

/// All counters of the process.
#[derive(Debug)]
pub struct Metrics {
    /// INVITEs that created a call.
    pub calls_total: AtomicU64,
    /// Calls answered.
    pub calls_answered: AtomicU64,
    /// INVITEs rejected with 503 (capacity).
    pub calls_rejected_busy: AtomicU64,
    /// INVITEs rejected for their SDP.
    pub calls_rejected_sdp: AtomicU64,
    /// SIP messages answered or dropped by the wire check, by verdict.
    pub sip_bad_replied: AtomicU64,
    /// SIP messages dropped by the wire check.
    pub sip_bad_dropped: AtomicU64,
    /// Recordings that failed to write.
    pub recording_errors: AtomicU64,
    /// Per worker.
    pub workers: Vec<WorkerCounters>,
    interval: Vec<AtomicU64>,
    interval_sum_micros: AtomicU64,
    epoch: Instant,
    invites: Mutex<Ring>,
    asr: Histogram,
    tts_first_audio: Histogram,
    asr_queue: AtomicU64,
    tts_queue: AtomicU64,
    queue_waiting: Labelled,
    webhook_backlog: Labelled,
    store_writes: AtomicU64,
    store_write_errors: AtomicU64,
}

impl Metrics {
    /// Counters for `workers` media workers.
    pub fn new(workers: usize) -> Arc<Metrics> {
        Arc::new(Metrics {
            calls_total: AtomicU64::new(0),
            calls_answered: AtomicU64::new(0),
            calls_rejected_busy: AtomicU64::new(0),
            calls_rejected_sdp: AtomicU64::new(0),
            sip_bad_replied: AtomicU64::new(0),
            sip_bad_dropped: AtomicU64::new(0),
            recording_errors: AtomicU64::new(0),
            workers: (0..workers).map(|_| WorkerCounters::default()).collect(),
            interval: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            interval_sum_micros: AtomicU64::new(0),
            epoch: Instant::now(),
            invites: Mutex::new(Ring::default()),
            asr: Histogram::new(&LATENCY_BUCKETS),
            tts_first_audio: Histogram::new(&LATENCY_BUCKETS),
            asr_queue: AtomicU64::new(0),
            tts_queue: AtomicU64::new(0),
            queue_waiting: Labelled::default(),
            webhook_backlog: Labelled::default(),
            store_writes: AtomicU64::new(0),
            store_write_errors: AtomicU64::new(0),
        })
    }

    /// Records one RTP send interval, in microseconds.
    pub fn send_interval(&self, micros: u64) {
        let dev = micros.abs_diff(20_000);
        self.interval_sum_micros.fetch_add(dev, Relaxed);
        let i = ((dev / 100) as usize).min(BUCKETS - 1);
        if let Some(b) = self.interval.get(i) {
            b.fetch_add(1, Relaxed);
        }
    }

    /// The q-quantile (0..=1) of the send-interval deviation, in ms.
    pub fn send_deviation_quantile(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self.interval.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some((i as f64 + 1.0) / 10.0);
            }
        }
        None
    }

    /// Calls now active on all workers.
    pub fn calls_active(&self) -> u64 {
        self.workers.iter().map(|w| w.calls.load(Relaxed)).sum()
    }

    /// Counts an INVITE that created a call: `kefu_calls_total` and the
    /// window behind `kefu_calls_per_second`.
    pub fn call_offered(&self) {
        self.call_offered_at(Instant::now());
    }

    /// [`Metrics::call_offered`] at a given time.
    pub fn call_offered_at(&self, now: Instant) {
        self.calls_total.fetch_add(1, Relaxed);
        let sec = now.saturating_duration_since(self.epoch).as_secs();
        let Ok(mut ring) = self.invites.lock() else {
            return;
        };
        match ring.seconds.back_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => ring.seconds.push_back((sec, 1)),
        }
        while ring
            .seconds
            .front()
            .is_some_and(|(s, _)| *s + RATE_WINDOW_SECS < sec)
        {
            ring.seconds.pop_front();
        }
    }

    /// INVITEs per second over the last [`RATE_WINDOW_SECS`] seconds
    /// (the current second included), as of `now`.
    pub fn calls_per_second_at(&self, now: Instant) -> f64 {
        let sec = now.saturating_duration_since(self.epoch).as_secs();
        let Ok(ring) = self.invites.lock() else {
            return 0.0;
        };
        let recent: u64 = ring
            .seconds
            .iter()
            .filter(|(s, _)| *s <= sec && *s + RATE_WINDOW_SECS > sec)
            .map(|(_, n)| n)
            .sum();
        recent as f64 / RATE_WINDOW_SECS as f64
    }

    /// Received RTP packets lost: sequence gaps, plus packets that arrived
    /// too late to play or found the jitter buffer full.
    pub fn rtp_lost(&self) -> u64 {
        let dropped = |reason: Dropped| -> u64 {
            let Some(i) = Dropped::ALL.iter().position(|d| *d == reason) else {
                return 0;
            };
            self.workers
                .iter()
                .filter_map(|w| w.dropped.get(i))
                .map(|c| c.load(Relaxed))
                .sum()
        };
        let gaps: u64 = self.workers.iter().map(|w| w.rtp_lost.load(Relaxed)).sum();
        gaps + dropped(Dropped::Late) + dropped(Dropped::Overflow)
    }

    /// Lost packets over packets expected (received and used, plus lost);
    /// 0 before any packet.
    pub fn rtp_loss_ratio(&self) -> f64 {
        let lost = self.rtp_lost();
        let used: u64 = self
            .workers
            .iter()
            .map(|w| w.rtp_received.load(Relaxed))
            .sum();
        let expected = lost + used;
        if expected == 0 {
            0.0
        } else {
            lost as f64 / expected as f64
        }
    }

    /// Records a recognition: from the decoder taking the job to the
    /// transcript.
    pub fn observe_asr(&self, d: Duration) {
        self.asr.observe(d);
    }

    /// Records a synthesis: from the request to its first audio.
    pub fn observe_tts_first_audio(&self, d: Duration) {
        self.tts_first_audio.observe(d);
    }

    /// Sets the speech pool's backlog: transcriptions and syntheses queued
    /// and not yet started.
    pub fn set_speech_queues(&self, asr: u64, tts: u64) {
        self.asr_queue.store(asr, Relaxed);
        self.tts_queue.store(tts, Relaxed);
    }

    /// Sets `kefu_queue_waiting{queue="NAME"}`: callers waiting in a named
    /// queue. Past [`MAX_LABELS`] names, new names are not shown.
    pub fn set_queue_waiting(&self, name: &str, n: u64) {
        self.queue_waiting.set(name, n);
    }

    /// Sets `kefu_webhook_backlog{endpoint="NAME"}`: events not yet
    /// delivered to an endpoint. Past [`MAX_LABELS`] names, new names are
    /// not shown.
    pub fn set_webhook_backlog(&self, endpoint: &str, n: u64) {
        self.webhook_backlog.set(endpoint, n);
    }

    /// Counts one write to the store, and its failure when `ok` is false.
    pub fn store_write(&self, ok: bool) {
        self.store_writes.fetch_add(1, Relaxed);
        if !ok {
            self.store_write_errors.fetch_add(1, Relaxed);
        }
    }

    /// Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        render::render(self, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let m = Metrics::new(1);
        for _ in 0..99 {
            m.send_interval(20_000);
        }
        m.send_interval(23_000);
        assert_eq!(m.send_deviation_quantile(0.5), Some(0.1));
        assert_eq!(m.send_deviation_quantile(0.99), Some(0.1));
        assert_eq!(m.send_deviation_quantile(1.0), Some(3.1));
        assert!(m
            .render()
            .contains("kefu_rtp_dropped_total{reason=\"ssrc\"} 0"));
    }

    #[test]
    fn call_rate_covers_the_last_ten_seconds() {
        let m = Metrics::new(1);
        let t0 = m.epoch;
        let at = |s: u64| t0 + Duration::from_millis(s * 1000 + 500);
        for _ in 0..5 {
            m.call_offered_at(at(0));
        }
        for _ in 0..15 {
            m.call_offered_at(at(4));
        }
        assert_eq!(m.calls_total.load(Relaxed), 20);
        assert!((m.calls_per_second_at(at(4)) - 2.0).abs() < 1e-9);
        assert!((m.calls_per_second_at(at(9)) - 2.0).abs() < 1e-9);
        // Second 0 leaves the window at second 10.
        assert!((m.calls_per_second_at(at(10)) - 1.5).abs() < 1e-9);
        assert_eq!(m.calls_per_second_at(at(14)), 0.0);
        // Old seconds are dropped as new ones arrive.
        m.call_offered_at(at(30));
        assert!((m.calls_per_second_at(at(30)) - 0.1).abs() < 1e-9);
        assert_eq!(m.invites.lock().map(|r| r.seconds.len()).ok(), Some(1));
    }

    #[test]
    fn loss_counts_gaps_late_and_overflow_but_not_duplicates() {
        let m = Metrics::new(2);
        let idx = |d: Dropped| Dropped::ALL.iter().position(|x| *x == d).unwrap_or(99);
        m.workers[0].rtp_received.store(90, Relaxed);
        m.workers[0].rtp_lost.store(4, Relaxed);
        m.workers[1].dropped[idx(Dropped::Late)].store(3, Relaxed);
        m.workers[1].dropped[idx(Dropped::Overflow)].store(3, Relaxed);
        m.workers[1].dropped[idx(Dropped::Duplicate)].store(50, Relaxed);
        assert_eq!(m.rtp_lost(), 10);
        assert!((m.rtp_loss_ratio() - 0.1).abs() < 1e-9);
        assert_eq!(Metrics::new(1).rtp_loss_ratio(), 0.0);
    }

    #[test]
    fn named_gauges_keep_the_last_value_and_are_bounded() {
        let m = Metrics::new(1);
        m.set_queue_waiting("sales", 3);
        m.set_queue_waiting("sales", 1);
        for i in 0..(MAX_LABELS + 10) {
            m.set_webhook_backlog(&format!("hook-{i}"), 1);
        }
        assert_eq!(m.queue_waiting.snapshot(), vec![("sales".to_owned(), 1)]);
        assert_eq!(m.webhook_backlog.snapshot().len(), MAX_LABELS);
        // A name already shown is still updated at the bound.
        m.set_webhook_backlog("hook-0", 7);
        assert!(m
            .webhook_backlog
            .snapshot()
            .contains(&("hook-0".to_owned(), 7)));
    }

    #[test]
    fn store_writes_count_failures_apart() {
        let m = Metrics::new(1);
        m.store_write(true);
        m.store_write(false);
        m.store_write(true);
        assert_eq!(m.store_writes.load(Relaxed), 3);
        assert_eq!(m.store_write_errors.load(Relaxed), 1);
    }
}
