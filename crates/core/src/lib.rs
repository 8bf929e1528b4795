//! # kefu-core: everything kefu decides, nothing it does
//!
//! This crate owns the behaviour of the telephone agent: call state, RTP
//! media (packets, jitter buffer, DTMF, codecs, resampling, playout), SDP
//! offer/answer and the dialogue that runs on each call. It performs no I/O:
//! no sockets, no files, no threads and no clock reads. Time enters as a
//! `now: Instant` argument on every input, so a whole call can run on a
//! virtual clock in a test (see `kefu-sim`).
//!
//! ## The run-loop contract
//!
//! The shell (the `kefu` binary) feeds [`engine::Engine::handle_input`] with
//! what happened (an RTP datagram arrived, the SIP layer offered a call, a
//! timer fired) and then drains [`engine::Engine::poll_output`] until it
//! returns [`engine::Output::Timeout`], performing each output: send an RTP
//! datagram, answer or end a call in SIP, append a frame to a recording.
//!
//! ```text
//!            +-------------------- kefu (tokio shell) ------------------+
//!  SIP  ---> | signalling --SignalEvent--> +--------+ --Output--> send  |
//!  RTP  ---> | rtp socket --Input::Rtp---> | Engine | --Record--> WAV   |
//!  time ---> | timer ------Input::Timeout> +--------+ --Timeout--> sleep |
//!            +----------------------------------------------------------+
//! ```
//!
//! ## Modules
//! - [`media`], G.711, resampling, tones: sample-level signal processing.
//! - [`rtp`], RTP/RTCP packets, jitter buffer, RFC 4733 telephone events.
//! - [`sdp`], session descriptions and the offer/answer negotiation.
//! - [`call`], one call: media session, playout clock, dialogue, recording.
//! - [`dialogue`], what the agent says and does on a call.
//! - [`vad`], endpointing and barge-in from per-frame speech probabilities.
//! - [`quality`], automatic quality inspection of every call: talk
//!   figures, required and forbidden phrases, a score per dialplan rules.
//! - [`acd`], agents, queues and who takes which waiting caller.
//! - [`handoff`], what an agent is told about a call handed over.
//! - [`engine`], many calls keyed by [`CallId`]; the input/output contract.

pub mod acd;
pub mod call;
pub mod dialogue;
pub mod engine;
pub mod handoff;
pub mod media;
pub mod nlu;
pub mod playout;
pub mod quality;
pub mod rtp;
pub mod sdp;
pub mod vad;

pub use engine::{CallId, Engine, Input, Output};
