//! The handoff package: what an agent sees of a call the bot hands over.
//!
//! When a caller leaves the bot for a human, the agent's screen shows at
//! pickup everything the caller already said and what the bot made of it:
//! who is calling (the customer record), what they want (intent and slot
//! values), how they feel over time (the emotion timeline), the whole
//! transcript with times from the call's start, why the bot handed over,
//! and a 1 to 3 sentence [`summary`](Package::summarize) to read first.
//!
//! This module owns the package's shape (stable snake_case JSON field
//! names, read by the console and stored as is) and the summary, which is
//! extractive and rule-based: no model, the same facts always give the
//! same text, in English or in Simplified Chinese after the dialplan's
//! language. Gathering the facts from the call's records is the shell's
//! job; nothing here reads a store or a clock.

mod summary;
mod text;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use text::language_of;

/// Everything an agent is shown of a call handed to them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// The package's id (short, URL-safe; carried in the transfer).
    pub id: String,
    /// The call handed over.
    pub call_id: String,
    /// When the package was made, milliseconds since the Unix epoch.
    pub created_at: u64,
    /// The caller's number.
    pub caller: String,
    /// The dialplan the caller talked to.
    pub dialplan: String,
    /// Language of the call (`en`, `zh`), which the summary is written in.
    pub language: String,
    /// The queue the caller was sent to, if any.
    pub queue: Option<String>,
    /// The agent the call is offered to, if chosen.
    pub agent: Option<String>,
    /// Why the bot handed over: `asked`, `emotion`, `failures`,
    /// `intent:NAME`, `step:NAME`.
    pub reason: Option<String>,
    /// What is on record about the caller.
    pub customer: Customer,
    /// The caller's latest understood intent.
    pub intent: Option<String>,
    /// Slot values collected (`order_no` -> `12345`).
    pub slots: BTreeMap<String, String>,
    /// The caller's emotion after each utterance, in order.
    pub emotion: Vec<EmotionPoint>,
    /// The conversation so far, in order.
    pub transcript: Vec<Line>,
    /// 1 to 3 sentences for the agent to read first.
    pub summary: String,
}

/// What is on record about the caller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Name, empty when unknown.
    pub name: String,
    /// VIP level, 0 for none.
    pub vip_level: u32,
    /// Region or dialect, empty when unknown.
    pub region: String,
    /// Tags on the customer record.
    pub tags: Vec<String>,
    /// Previous calls on record (this one not counted).
    pub calls: u32,
}

/// The caller's emotion at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmotionPoint {
    /// Milliseconds from the call's start.
    pub at_ms: u64,
    /// `neutral`, `concerned`, `upset` or `angry`.
    pub level: String,
    /// The estimate behind the level, 0 to 1.
    pub score: f32,
}

/// One transcript line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Milliseconds from the call's start.
    pub at_ms: u64,
    /// `caller`, `bot` or `agent`.
    pub speaker: String,
    /// What was said.
    pub text: String,
}

impl Package {
    /// The 1 to 3 sentence summary of the package's facts, in its
    /// language (Chinese for `zh…`, English otherwise); never empty.
    ///
    /// Who (name, VIP level, earlier calls), what they want (the intent
    /// with its main slots, else their longest meaningful sentence quoted
    /// and cut to about 100 characters), how they feel (the emotion trend,
    /// when not calm) and why the bot handed over (the reason).
    pub fn summarize(&self) -> String {
        summary::summarize(self)
    }

    /// The package with [`Package::summary`] filled from its facts.
    pub fn with_summary(mut self) -> Package {
        self.summary = self.summarize();
        self
    }
}
