//! # kefu: the tokio shell
//!
//! The binary around [`kefu_core`]: it reads the configuration, binds the
//! sockets, runs the media workers and SIP signalling, writes recordings and
//! serves the HTTP API. Nothing here decides how a call behaves; that is
//! `kefu_core`'s job.
//!
//! - [`config`], TOML + flags into validated settings.
//! - [`dialplan`], loads the dialplan and its prompts.
//! - [`logging`], log output (text or JSON lines) and PII redaction.
//! - [`runtime`], media worker threads, RTP port pool, recorder, metrics.
//! - [`signalling`], SIP via rsipstack, behind kefu's wire check.
//! - [`journal`], what happens on calls, on its way to the store.
//! - [`storage`], durable records (SQLite) behind the `Store` trait.
//! - [`api`], HTTP.
//! - [`webhooks`], signed, retried delivery of outbox events to endpoints.
//! - [`serve`], wires it all together (the `serve` command).

pub mod api;
pub mod cli;
pub mod config;
pub mod crm;
pub mod dialplan;
#[cfg(feature = "speech")]
pub mod engines;
pub mod handoff;
pub mod journal;
pub mod live;
pub mod logging;
pub mod runtime;
pub mod serve;
pub mod signalling;
pub mod storage;
pub mod wav;
pub mod webhooks;
