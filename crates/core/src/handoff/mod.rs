//! The handoff package: what an agent sees of a call the bot hands over.
//!
//! (Contract skeleton: filled in by the handoff implementation.)
