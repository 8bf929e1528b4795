//! Process-wide counters read by `/metrics`: calls, RTP, drops, and the
//! histogram of the RTP send interval's deviation from 20 ms.
//!
//! Media workers publish their engine counters here once per second (plain
//! stores, no locks on the media path); the send-interval histogram is
//! updated per packet with relaxed atomics.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use kefu_core::call::media::Dropped;

/// Histogram buckets of |interval − 20 ms| in units of 0.1 ms; the last
/// bucket collects everything from 50 ms up.
const BUCKETS: usize = 501;

/// One media worker's published counters.
#[derive(Debug, Default)]
pub struct WorkerCounters {
    /// RTP datagrams received and used.
    pub rtp_received: AtomicU64,
    /// RTP datagrams sent.
    pub rtp_sent: AtomicU64,
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
        })
    }

    /// Records one RTP send interval, in microseconds.
    pub fn send_interval(&self, micros: u64) {
        let dev = micros.abs_diff(20_000) / 100;
        let i = (dev as usize).min(BUCKETS - 1);
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

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(4096);
        let sum = |f: &dyn Fn(&WorkerCounters) -> u64| self.workers.iter().map(f).sum::<u64>();
        let mut line = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        line(
            "kefu_calls_total",
            "counter",
            "Calls offered and accepted for negotiation.",
            self.calls_total.load(Relaxed),
        );
        line(
            "kefu_calls_answered_total",
            "counter",
            "Calls answered.",
            self.calls_answered.load(Relaxed),
        );
        line(
            "kefu_calls_active",
            "gauge",
            "Calls ringing or active.",
            self.calls_active(),
        );
        line(
            "kefu_calls_rejected_busy_total",
            "counter",
            "INVITEs rejected with 503 at capacity.",
            self.calls_rejected_busy.load(Relaxed),
        );
        line(
            "kefu_calls_rejected_sdp_total",
            "counter",
            "INVITEs rejected for their SDP.",
            self.calls_rejected_sdp.load(Relaxed),
        );
        line(
            "kefu_sip_invalid_replied_total",
            "counter",
            "SIP requests answered by the wire check (malformed, unknown method).",
            self.sip_bad_replied.load(Relaxed),
        );
        line(
            "kefu_sip_invalid_dropped_total",
            "counter",
            "Malformed SIP messages discarded.",
            self.sip_bad_dropped.load(Relaxed),
        );
        line(
            "kefu_recording_errors_total",
            "counter",
            "Recording write failures.",
            self.recording_errors.load(Relaxed),
        );
        line(
            "kefu_rtp_packets_received_total",
            "counter",
            "RTP packets received and used.",
            sum(&|w| w.rtp_received.load(Relaxed)),
        );
        line(
            "kefu_rtp_packets_sent_total",
            "counter",
            "RTP packets sent.",
            sum(&|w| w.rtp_sent.load(Relaxed)),
        );
        line(
            "kefu_rtp_send_errors_total",
            "counter",
            "RTP packets the socket refused.",
            sum(&|w| w.send_errors.load(Relaxed)),
        );
        line(
            "kefu_dtmf_digits_total",
            "counter",
            "RFC 4733 key presses received.",
            sum(&|w| w.digits.load(Relaxed)),
        );
        line(
            "kefu_media_clock_slips_total",
            "counter",
            "Media ticks more than one period late.",
            sum(&|w| w.clock_slips.load(Relaxed)),
        );
        let _ = writeln!(s, "# HELP kefu_rtp_dropped_total Received datagrams dropped, by reason.\n# TYPE kefu_rtp_dropped_total counter");
        for (i, d) in Dropped::ALL.iter().enumerate() {
            let v = sum(&|w| w.dropped[i].load(Relaxed));
            let _ = writeln!(s, "kefu_rtp_dropped_total{{reason=\"{}\"}} {v}", d.as_str());
        }
        let _ = writeln!(s, "# HELP kefu_rtp_send_interval_deviation_ms Deviation of the RTP send interval from 20 ms.\n# TYPE kefu_rtp_send_interval_deviation_ms summary");
        for q in [0.5, 0.9, 0.99, 0.999] {
            let v = self.send_deviation_quantile(q).unwrap_or(0.0);
            let _ = writeln!(
                s,
                "kefu_rtp_send_interval_deviation_ms{{quantile=\"{q}\"}} {v:.1}"
            );
        }
        let count: u64 = self.interval.iter().map(|b| b.load(Relaxed)).sum();
        let _ = writeln!(s, "kefu_rtp_send_interval_deviation_ms_count {count}");
        s
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
}
