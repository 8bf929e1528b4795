//! Handing a caller to a human: the handoff package made from the call's
//! records at the moment routing hands the call over.
//!
//! [`package::build`] reads what the journal has stored about a live call
//! (transcript, intents, emotion, the transfer request) and the caller's
//! customer record, makes a [`kefu_core::handoff::Package`] with its
//! summary, stores it under a fresh unguessable id and returns it; the id
//! travels with the transfer so the agent's console can show the package
//! at pickup. What goes into the package and its summary is decided in
//! `kefu_core::handoff`; this module only gathers the facts.

pub mod package;

pub use package::{build, new_handoff_id, HandoffError};
