//! Automatic quality inspection of every call: did kefu and the agents
//! say what they must (a greeting, an identity check) and nothing they
//! must not, how much dead air, talk-over and hold the caller endured,
//! whether the caller ended calmer or more upset than they began, and
//! whether the bot handled the call itself.
//!
//! - [`TalkMeter`] accumulates a call's [`Talk`] figures frame by frame
//!   (the call feeds it; hold, silence, talk-over, barge-ins).
//! - [`Rules`] is what a dialplan expects, from its `[quality]` table,
//!   with per-queue overrides for calls transferred to `queue:NAME`.
//! - [`inspect`] turns a finished call's [`Facts`] into an
//!   [`Inspection`]: every check run, the flags (stable codes, severity,
//!   which phrase, line or figure tripped them) and a score of 100 less
//!   the penalties of the flags' severities.
//!
//! Phrases match whatever the case, punctuation, spacing or full-width
//! forms, in English (whole words) and Chinese (any substring).
//!
//! Not here: storing results or reviews (the shell's storage), measuring
//! speech (`vad`), estimating emotion (`dialogue::emotion`).

mod inspect;
mod phrase;
mod rules;
pub(crate) mod table;
mod talk;

pub use inspect::{inspect, Check, Facts, Flag, Inspection, Line};
pub use rules::{
    Forbidden, Party, Penalties, Required, Rules, RulesOverride, Severity, Speaker, Thresholds,
};
pub use talk::{Talk, TalkMeter};

#[cfg(test)]
mod tests;
