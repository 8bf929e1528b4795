//! The `kefu` subcommands that are more than a few lines: each module owns
//! one command's arguments (clap) and its `run`, which `main.rs` calls and
//! which returns the process exit code (2: bad arguments or missing models).

#[cfg(feature = "speech")]
pub mod say;
#[cfg(feature = "speech")]
pub mod transcribe;

pub mod apikey;
pub mod dialplan;
pub mod simulate;
