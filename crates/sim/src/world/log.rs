//! Reading back what the world saw of each call: SIP actions, events, the
//! recording and kefu's RTP as sent.

use std::time::Instant;

use kefu_core::engine::{CallEvent, CallId, EndReason, SignalAction};

use super::{CallLog, SentRtp, World};
use crate::net::Delivery;

impl World {
    /// Datagrams that reached no one (e.g. sent to a NATed phone's private
    /// address).
    pub fn undelivered(&self) -> &[Delivery] {
        &self.undelivered
    }

    /// SIP actions the engine took on `call`, in order.
    pub fn signals(&self, call: CallId) -> Vec<SignalAction> {
        self.log(call, |l| l.signals.iter().map(|s| s.1.clone()).collect())
    }

    /// SIP actions with the time each was taken.
    pub fn signals_timed(&self, call: CallId) -> Vec<(Instant, SignalAction)> {
        self.log(call, |l| l.signals.clone())
    }

    /// Events the engine reported for `call`, in order.
    pub fn events(&self, call: CallId) -> Vec<CallEvent> {
        self.log(call, |l| l.events.iter().map(|e| e.1.clone()).collect())
    }

    /// Events with the time each was reported.
    pub fn events_timed(&self, call: CallId) -> Vec<(Instant, CallEvent)> {
        self.log(call, |l| l.events.clone())
    }

    /// Keys reported by [`CallEvent::Digit`], in order.
    pub fn digits(&self, call: CallId) -> String {
        self.log(call, |l| {
            l.events
                .iter()
                .filter_map(|(_, e)| match e {
                    CallEvent::Digit(d) => Some(*d),
                    _ => None,
                })
                .collect()
        })
    }

    /// True once the call was answered.
    pub fn answered(&self, call: CallId) -> bool {
        self.events(call).contains(&CallEvent::Answered)
    }

    /// Why the call ended, once it has.
    pub fn ended(&self, call: CallId) -> Option<EndReason> {
        self.events(call).iter().find_map(|e| match e {
            CallEvent::Ended(r) => Some(*r),
            _ => None,
        })
    }

    /// The call's recording: interleaved stereo, caller left, agent right.
    pub fn recording(&self, call: CallId) -> Vec<i16> {
        self.recording_since(call, self.clock.epoch())
    }

    /// The recording's frames written at or after `t`.
    pub fn recording_since(&self, call: CallId, t: Instant) -> Vec<i16> {
        self.log(call, |l| {
            l.frames
                .iter()
                .filter(|f| f.0 >= t)
                .flat_map(|f| f.1.iter().copied())
                .collect()
        })
    }

    /// Whether the recording was started and stopped.
    pub fn recording_bounds(&self, call: CallId) -> (bool, bool) {
        self.log(call, |l| (l.recording_started, l.recording_stopped))
    }

    /// RTP datagrams the engine sent on `call`, as sent.
    pub fn sent_rtp(&self, call: CallId) -> Vec<SentRtp> {
        self.log(call, |l| l.sent.clone())
    }

    fn log<T: Default>(&self, call: CallId, f: impl FnOnce(&CallLog) -> T) -> T {
        self.calls.get(&call).map(f).unwrap_or_default()
    }
}
