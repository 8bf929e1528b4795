//! # kefu-sim: the deterministic test world for kefu-core
//!
//! A whole call — ringing, answer, prompts, key presses, hold, hangup — runs
//! here in milliseconds of real time, on virtual time only: no tokio, no
//! sockets, no clock reads after the world is created, and every random
//! choice drawn from a seeded PRNG, so a failing run replays exactly.
//!
//! ## Pieces
//! - [`clock::VirtualClock`]: an epoch plus a virtual offset; only
//!   [`world::World::step`] moves it.
//! - [`net::SimNetwork`]: sans-IO UDP with latency, jitter, loss,
//!   duplication and reordering ([`net::NetConfig`]).
//! - [`phone::ScriptedPhone`]: a caller's RTP side, like SIPp: SDP offers
//!   (initial, hold, resume), G.711 µ-law every 20 ms, RFC 4733 key presses,
//!   and a log of everything it heard.
//! - [`world::World`]: owns a [`kefu_core::Engine`], the network, the clock
//!   and the phones, and plays the shell's part of the run-loop contract.
//! - [`world::SpeechServices`]: a scripted recogniser and synthesizer that
//!   answer the engine's `Transcribe`/`Synthesize` after virtual delays;
//!   phones "say" words as tones ([`world::World::say`]) that the
//!   recogniser turns back into the words.
//! - [`fixture`]: an engine config with short timers and prompts made of
//!   tones (and [`fixture::speech_config`] for the speech dialplan);
//!   [`audio`]: loudness and silence measurements for assertions.
//!
//! ## Stepping
//! Like quinn's test `Pair`, [`world::World::step`] jumps the clock to the
//! earliest of the engine's timeout, the next datagram arrival, the next
//! phone packet and the next scripted speech answer, then handles
//! everything due at that instant: arrivals first, then phone sends, then
//! speech answers, then the engine tick, draining the engine's outputs
//! after every input. [`world::World::run_until`] steps until a
//! predicate holds or a virtual deadline passes.
//!
//! ```
//! use std::time::Duration;
//! use kefu_sim::{net::NetConfig, phone::ScriptedPhone, world::World};
//!
//! let mut w = World::new(NetConfig::default());
//! let alice = w.add_phone(ScriptedPhone::new("192.0.2.10:4000".parse().unwrap()));
//! let call = w.dial(alice);
//! assert!(w.run_until(|w| w.answered(call), Duration::from_secs(1)));
//! ```
//!
//! ## Addresses
//! kefu's media lives at [`world::KEFU_IP`], one even RTP port per call from
//! [`world::FIRST_PORT`] (RTCP on the next odd port). Phones own whatever
//! address they were created with; datagrams to nobody are kept in
//! [`world::World::undelivered`].

pub mod audio;
pub mod clock;
pub mod fixture;
pub mod net;
pub mod phone;
pub mod rng;
pub mod speech;
pub mod world;

pub use world::{PhoneId, World};
