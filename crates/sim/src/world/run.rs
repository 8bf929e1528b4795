//! Stepping the world on virtual time (quinn's `Pair::step`): jump to the
//! earliest scheduled thing, do everything due then, route arrivals.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kefu_core::engine::Input;

use super::World;
use crate::net::Delivery;
use crate::phone::ScriptedPhone;

impl World {
    /// When the next thing happens, if anything is scheduled.
    pub fn next_time(&self) -> Option<Instant> {
        let engine = self.engine_timeout.filter(|_| self.engine.calls() > 0);
        let phones = self.phones.iter().filter_map(ScriptedPhone::next_send);
        [engine, self.net.next_delivery(), self.services.next_due()]
            .into_iter()
            .flatten()
            .chain(phones)
            .min()
    }

    /// Advances to the next scheduled time and does everything due then:
    /// arrivals first, then phone sends, then speech services' answers, then
    /// the engine's tick. Returns
    /// false when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_time() else {
            return false;
        };
        self.clock.advance_to(t);
        let now = self.now();
        while let Some(d) = self.net.poll(now) {
            self.deliver(d);
        }
        for p in &mut self.phones {
            while let Some((from, to, data)) = p.poll_transmit(now) {
                self.net.send(now, from, to, data);
            }
        }
        self.answer_due(now);
        if self.engine.calls() > 0 && self.engine_timeout.is_some_and(|t| t <= now) {
            self.engine.handle_input(Input::Timeout(now));
            self.drain();
        }
        true
    }

    /// Steps until `pred` holds (true) or `max` of virtual time has passed
    /// (false; the clock is then at the deadline).
    pub fn run_until(&mut self, mut pred: impl FnMut(&World) -> bool, max: Duration) -> bool {
        let deadline = self.now() + max;
        loop {
            if pred(self) {
                return true;
            }
            match self.next_time() {
                Some(t) if t <= deadline => {
                    self.step();
                }
                _ => {
                    self.clock.advance_to(deadline);
                    return pred(self);
                }
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(|_| false, d);
    }

    fn deliver(&mut self, d: Delivery) {
        if let Some(&(call, rtcp)) = self.by_addr.get(&d.to) {
            self.engine.handle_input(Input::Rtp {
                now: d.at,
                call,
                rtcp,
                from: d.from,
                data: &d.data,
            });
            self.drain();
            return;
        }
        for p in &mut self.phones {
            if p.addr() == d.to {
                p.on_datagram(d.at, d.from, &d.data);
                return;
            }
            if SocketAddr::new(p.addr().ip(), p.addr().port().wrapping_add(1)) == d.to {
                p.on_rtcp();
                return;
            }
        }
        self.undelivered.push(d);
    }
}
