//! The simulated network: UDP datagrams with latency, jitter, loss,
//! duplication and reordering, all decided by a seeded PRNG.
//!
//! Sans-IO like the engine it carries traffic for (str0m's emulator is the
//! model): [`SimNetwork::send`] takes a datagram at a virtual time and
//! [`SimNetwork::poll`] hands back those whose delivery time has come, in
//! delivery-time order (ties in send order). Reordering arises from jitter
//! (a later packet drawing a smaller delay overtakes an earlier one) and,
//! with [`NetConfig::reorder`], from an extra delay on a few packets.
//!
//! Not here: addressing (the world decides who owns an address), MTU,
//! bandwidth or queueing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// How the network misbehaves.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Fixed one-way delay of every datagram.
    pub latency: Duration,
    /// Extra delay, uniform in `[0, jitter_max]`, drawn per datagram.
    pub jitter_max: Duration,
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// Probability that a datagram is delivered twice (the copy draws its
    /// own jitter).
    pub duplicate: f64,
    /// Probability that a datagram is held back by a further
    /// [`NetConfig::reorder_delay`], so later ones overtake it.
    pub reorder: f64,
    /// The hold-back of a reordered datagram.
    pub reorder_delay: Duration,
    /// Seed of the network's PRNG.
    pub seed: u64,
}

impl Default for NetConfig {
    /// A perfect LAN: 5 ms, no jitter, no loss.
    fn default() -> Self {
        NetConfig {
            latency: Duration::from_millis(5),
            jitter_max: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(40),
            seed: 1,
        }
    }
}

/// A datagram arriving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// When it arrives.
    pub at: Instant,
    /// Source address.
    pub from: SocketAddr,
    /// Destination address.
    pub to: SocketAddr,
    /// The datagram.
    pub data: Vec<u8>,
}

/// What the network did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams submitted.
    pub sent: u64,
    /// Datagrams dropped.
    pub lost: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Datagrams held back by the reorder delay.
    pub reordered: u64,
    /// Datagrams handed out by [`SimNetwork::poll`].
    pub delivered: u64,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Instant,
    order: u64,
    from: SocketAddr,
    to: SocketAddr,
    data: Vec<u8>,
}

/// The network: a delivery queue ordered by arrival time.
#[derive(Debug)]
pub struct SimNetwork {
    cfg: NetConfig,
    rng: Rng,
    queue: BinaryHeap<Reverse<Pending>>,
    order: u64,
    stats: NetStats,
}

impl SimNetwork {
    /// An empty network.
    pub fn new(cfg: NetConfig) -> Self {
        SimNetwork {
            rng: Rng::new(cfg.seed),
            cfg,
            queue: BinaryHeap::new(),
            order: 0,
            stats: NetStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// Changes the configuration from now on (datagrams in flight keep
    /// their delivery times); the PRNG stream continues.
    pub fn set_config(&mut self, cfg: NetConfig) {
        self.cfg = cfg;
    }

    /// Counters so far.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// Submits a datagram sent at `now`.
    pub fn send(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        self.stats.sent += 1;
        if self.rng.chance(self.cfg.loss) {
            self.stats.lost += 1;
            return;
        }
        if self.rng.chance(self.cfg.duplicate) {
            self.stats.duplicated += 1;
            let at = now + self.delay();
            self.push(at, from, to, data.clone());
        }
        let at = now + self.delay();
        self.push(at, from, to, data);
    }

    /// Submits a datagram that arrives exactly at `at`, bypassing loss,
    /// jitter and duplication (for injected traffic).
    pub fn inject(&mut self, at: Instant, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        self.stats.sent += 1;
        self.push(at, from, to, data);
    }

    fn delay(&mut self) -> Duration {
        let jitter_ns = self.cfg.jitter_max.as_nanos().min(u128::from(u64::MAX)) as u64;
        let mut d = self.cfg.latency + Duration::from_nanos(self.rng.up_to(jitter_ns));
        if self.rng.chance(self.cfg.reorder) {
            self.stats.reordered += 1;
            d += self.cfg.reorder_delay;
        }
        d
    }

    fn push(&mut self, at: Instant, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        self.order += 1;
        self.queue.push(Reverse(Pending {
            at,
            order: self.order,
            from,
            to,
            data,
        }));
    }

    /// When the next datagram arrives, if any is in flight.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(p)| p.at)
    }

    /// Datagrams in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// The next datagram due at or before `now`, earliest first.
    pub fn poll(&mut self, now: Instant) -> Option<Delivery> {
        if self.next_delivery()? > now {
            return None;
        }
        let Reverse(p) = self.queue.pop()?;
        self.stats.delivered += 1;
        Some(Delivery {
            at: p.at,
            from: p.from,
            to: p.to,
            data: p.data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 9], port))
    }

    /// Sends `n` numbered datagrams 20 ms apart; returns what arrived.
    fn run(cfg: NetConfig, n: u32) -> Vec<(Duration, u32)> {
        let t0 = Instant::now();
        let mut net = SimNetwork::new(cfg);
        for i in 0..n {
            let now = t0 + Duration::from_millis(20) * i;
            net.send(now, addr(1), addr(2), i.to_be_bytes().to_vec());
        }
        let mut got = Vec::new();
        let end = t0 + Duration::from_secs(3600);
        while let Some(d) = net.poll(end) {
            let b: [u8; 4] = d.data.as_slice().try_into().expect("4 bytes");
            got.push((d.at - t0, u32::from_be_bytes(b)));
        }
        got
    }

    #[test]
    fn loss_rate_is_close_to_configured() {
        let cfg = NetConfig {
            loss: 0.1,
            seed: 3,
            ..NetConfig::default()
        };
        let got = run(cfg, 20_000);
        let rate = 1.0 - got.len() as f64 / 20_000.0;
        assert!((rate - 0.1).abs() < 0.01, "loss rate {rate}");
    }

    #[test]
    fn deliveries_come_in_time_order_and_jitter_reorders() {
        let cfg = NetConfig {
            latency: Duration::from_millis(10),
            jitter_max: Duration::from_millis(60),
            seed: 5,
            ..NetConfig::default()
        };
        let got = run(cfg, 1000);
        assert_eq!(got.len(), 1000);
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
        let overtaken = got.windows(2).filter(|w| w[1].1 < w[0].1).count();
        assert!(overtaken > 50, "only {overtaken} reorderings");
    }

    #[test]
    fn no_jitter_keeps_send_order() {
        let got = run(NetConfig::default(), 100);
        let ids: Vec<u32> = got.iter().map(|g| g.1).collect();
        assert_eq!(ids, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn duplicates_are_extra_copies() {
        let cfg = NetConfig {
            duplicate: 0.2,
            seed: 9,
            ..NetConfig::default()
        };
        let got = run(cfg, 5000);
        let extra = got.len() as f64 / 5000.0 - 1.0;
        assert!((extra - 0.2).abs() < 0.03, "duplicate rate {extra}");
    }

    #[test]
    fn same_seed_same_schedule() {
        let cfg = NetConfig {
            latency: Duration::from_millis(10),
            jitter_max: Duration::from_millis(60),
            loss: 0.1,
            duplicate: 0.05,
            reorder: 0.05,
            seed: 11,
            ..NetConfig::default()
        };
        let a = run(cfg.clone(), 500);
        let b = run(cfg.clone(), 500);
        assert_eq!(a, b);
        let other = run(NetConfig { seed: 12, ..cfg }, 500);
        assert_ne!(a, other);
    }
}
