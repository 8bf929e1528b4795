//! What the agent says and does on a call.
//!
//! A dialogue reacts to [`Event`]s (the call was answered, a digit arrived, a
//! prompt finished, its timer expired) by acting through a [`Ctx`] (queue a
//! prompt, silence the agent, end the call). It never touches RTP or SIP.
//! This issue ships one dialogue, [`digits::Digits`]: greet, collect DTMF
//! digits, read them back. Speech dialplans plug in as further dialogues
//! behind the same two types.

pub mod digits;

use std::time::{Duration, Instant};

/// Something that happened on the call, as a dialogue sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The call was answered; media flows from now on.
    Answered,
    /// The caller pressed a key (RFC 4733 event or in-band, already decoded).
    Digit(char),
    /// A prompt queued with [`Ctx::play`] played to its end.
    PlayoutFinished(u64),
    /// The deadline set with [`Ctx::set_timer`] passed.
    Timer,
}

/// What a dialogue may do to its call.
pub trait Ctx {
    /// Queues the named prompt after what is already queued and returns its
    /// playout id. An unknown prompt queues nothing and returns `None`.
    fn play(&mut self, prompt: &str) -> Option<u64>;
    /// Stops the agent's audio within one frame.
    fn flush(&mut self);
    /// Ends the call (kefu sends BYE).
    fn hangup(&mut self);
    /// Sets the dialogue's single timer to fire `after` from now, replacing
    /// any earlier one.
    fn set_timer(&mut self, after: Duration);
    /// Clears the dialogue's timer.
    fn cancel_timer(&mut self);
    /// The current time.
    fn now(&self) -> Instant;
}

/// A dialogue: the behaviour behind one call.
pub trait Dialogue: std::fmt::Debug + Send {
    /// Reacts to one event.
    fn on_event(&mut self, event: Event, ctx: &mut dyn Ctx);
}
