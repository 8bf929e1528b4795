//! A fixed-bucket latency histogram with lock-free updates, shaped for the
//! Prometheus text exposition (`_bucket{le=…}` cumulative, `+Inf`, `_sum`,
//! `_count`).
//!
//! Buckets hold plain (not cumulative) counts so one observation is one
//! relaxed add; [`Histogram::snapshot`] accumulates them, reading every
//! bucket once, so the `+Inf` bucket always equals `_count` in what is
//! rendered even while observations arrive.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds, in seconds, of the speech latency histograms
/// (`kefu_asr_seconds`, `kefu_tts_first_audio_seconds`).
pub const LATENCY_BUCKETS: [f64; 12] =
    [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0];

/// Observations of a duration, counted into buckets by upper bound.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One count per bound, then the overflow (above the last bound).
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
}

/// What a histogram held at one moment, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `(upper bound in seconds, observations ≤ bound)`, cumulative, in
    /// increasing order of bound; `+Inf` is not listed (it is `count`).
    pub buckets: Vec<(f64, u64)>,
    /// Every observation (the `+Inf` bucket).
    pub count: u64,
    /// Sum of the observations, in seconds.
    pub sum: f64,
}

impl Histogram {
    /// An empty histogram over `bounds` (seconds, increasing).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one observation. A value equal to a bound counts in that
    /// bound's bucket (`le` is "less than or equal").
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = self
            .bounds
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Relaxed);
        }
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Relaxed);
    }

    /// The cumulative counts now.
    pub fn snapshot(&self) -> Snapshot {
        let mut seen = 0u64;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (bound, c) in self.bounds.iter().zip(&self.counts) {
            seen = seen.saturating_add(c.load(Relaxed));
            buckets.push((*bound, seen));
        }
        let overflow = self.counts.last().map_or(0, |c| c.load(Relaxed));
        Snapshot {
            buckets,
            count: seen.saturating_add(overflow),
            sum: self.sum_micros.load(Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::new(&LATENCY_BUCKETS);
        for d in [ms(10), ms(50), ms(51), ms(300), ms(2500), ms(9000)] {
            h.observe(d);
        }
        let s = h.snapshot();
        let at = |le: f64| {
            s.buckets
                .iter()
                .find(|(b, _)| *b == le)
                .map(|(_, c)| *c)
                .unwrap_or(u64::MAX)
        };
        assert_eq!(at(0.05), 2, "10 ms and exactly 50 ms");
        assert_eq!(at(0.1), 3);
        assert_eq!(at(0.3), 4, "300 ms is in le=0.3");
        assert_eq!(at(2.0), 4);
        assert_eq!(at(3.0), 5);
        assert_eq!(at(8.0), 5, "9 s is only in +Inf");
        assert_eq!(s.count, 6);
        assert!((s.sum - 11.911).abs() < 1e-9, "{}", s.sum);
        assert!(s.buckets.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    #[test]
    fn empty_histogram_has_every_bucket_at_zero() {
        let s = Histogram::new(&LATENCY_BUCKETS).snapshot();
        assert_eq!(s.buckets.len(), LATENCY_BUCKETS.len());
        assert!(s.buckets.iter().all(|(_, c)| *c == 0));
        assert_eq!((s.count, s.sum), (0, 0.0));
    }
}
