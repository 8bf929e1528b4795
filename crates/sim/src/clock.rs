//! The world's virtual clock: an epoch captured once, plus a virtual offset
//! that only moves forward when the world steps.
//!
//! Nothing in the world reads the real clock after creation; every `now`
//! handed to the engine, the network and the phones comes from here.

use std::time::{Duration, Instant};

/// Virtual time: `epoch + offset`, advanced explicitly.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    epoch: Instant,
    now: Instant,
}

impl VirtualClock {
    /// A clock at virtual time zero. The epoch is the one real clock read of
    /// the world; only differences from it matter.
    pub fn new() -> Self {
        Self::at(Instant::now())
    }

    /// A clock at virtual time zero with a given epoch.
    pub fn at(epoch: Instant) -> Self {
        VirtualClock { epoch, now: epoch }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The epoch (virtual time zero).
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Virtual time elapsed since the epoch.
    pub fn elapsed(&self) -> Duration {
        self.now - self.epoch
    }

    /// Moves the clock to `t`; a `t` in the past leaves it where it is (time
    /// never runs backwards).
    pub fn advance_to(&mut self, t: Instant) {
        if t > self.now {
            self.now = t;
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_moves_forward() {
        let mut c = VirtualClock::new();
        let t0 = c.now();
        c.advance(Duration::from_millis(20));
        assert_eq!(c.elapsed(), Duration::from_millis(20));
        c.advance_to(t0);
        assert_eq!(c.now(), t0 + Duration::from_millis(20));
        c.advance_to(t0 + Duration::from_secs(1));
        assert_eq!(c.elapsed(), Duration::from_secs(1));
    }
}
