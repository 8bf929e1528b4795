//! The retry schedule of a failing delivery: the wait doubles from
//! `first` with each failed attempt, up to `max`, spread by ±20% jitter so
//! that endpoints failing together do not retry in lockstep.
//!
//! Pure functions of the attempt count and a jitter draw; the caller owns
//! the clock and the random source.

use std::time::Duration;

use crate::config::WebhookRetrySettings;

/// How far jitter moves a wait, as a fraction of it.
pub const JITTER: f64 = 0.2;

/// The wait before the next attempt after `attempts` failed ones (1 for
/// the first failure): `first * 2^(attempts-1)` capped at `max`, moved by
/// `jitter * 20%` where `jitter` is a draw in `-1.0..=1.0` (clamped), and
/// never more than `max`.
pub fn delay(retry: &WebhookRetrySettings, attempts: u32, jitter: f64) -> Duration {
    let nominal = nominal(retry, attempts);
    let jitter = if jitter.is_finite() {
        jitter.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    nominal
        .mul_f64(1.0 + JITTER * jitter)
        .min(retry.max.max(retry.first))
}

/// The wait without jitter.
pub fn nominal(retry: &WebhookRetrySettings, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(40);
    let factor = 1u64 << doublings;
    let first_ms = u64::try_from(retry.first.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(first_ms.saturating_mul(factor)).min(retry.max.max(retry.first))
}

/// The time the waits after `attempts` failures add up to, without jitter:
/// how long ago the first failure was when only the attempt count survived
/// (a restart keeps the count, not the time of the first failure).
pub fn elapsed(retry: &WebhookRetrySettings, attempts: u32) -> Duration {
    (1..=attempts.min(10_000)).fold(Duration::ZERO, |sum, n| {
        sum.saturating_add(nominal(retry, n))
    })
}

/// A jitter draw in `-1.0..=1.0`.
pub fn draw() -> f64 {
    rand::random_range(-1.0..=1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(first_ms: u64, max_secs: u64) -> WebhookRetrySettings {
        WebhookRetrySettings {
            first: Duration::from_millis(first_ms),
            max: Duration::from_secs(max_secs),
            give_up: Duration::from_secs(72 * 3600),
        }
    }

    #[test]
    fn doubles_from_first_up_to_max() {
        let r = retry(1000, 300);
        let waits: Vec<u64> = (1..=11).map(|n| delay(&r, n, 0.0).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn jitter_moves_at_most_twenty_percent_and_never_past_max() {
        let r = retry(1000, 300);
        assert_eq!(delay(&r, 3, -1.0), Duration::from_millis(3200));
        assert_eq!(delay(&r, 3, 1.0), Duration::from_millis(4800));
        assert_eq!(delay(&r, 3, 7.0), Duration::from_millis(4800));
        assert_eq!(delay(&r, 3, f64::NAN), Duration::from_secs(4));
        assert_eq!(delay(&r, 20, 1.0), Duration::from_secs(300));
        assert_eq!(delay(&r, 20, -1.0), Duration::from_secs(240));
        for _ in 0..1000 {
            let d = delay(&r, 2, draw());
            assert!(d >= Duration::from_millis(1600) && d <= Duration::from_millis(2400));
        }
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let r = retry(3_600_000, 86_400);
        assert_eq!(delay(&r, u32::MAX, 0.0), Duration::from_secs(86_400));
        assert_eq!(nominal(&r, 0), Duration::from_secs(3600));
    }

    #[test]
    fn elapsed_sums_the_waits() {
        let r = retry(1000, 300);
        assert_eq!(elapsed(&r, 0), Duration::ZERO);
        assert_eq!(elapsed(&r, 3), Duration::from_secs(1 + 2 + 4));
        assert_eq!(elapsed(&r, 12), Duration::from_secs(511 + 3 * 300));
    }
}
