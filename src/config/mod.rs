//! kefu's configuration: the TOML file (optional), bundled defaults and the
//! command-line overrides, validated into [`Settings`].
//!
//! Errors name the file, the line and the key (`kefu.toml:12: rtp.ports:
//! low port must be below high port`), so an operator can fix them without
//! reading code. Validation happens once, here; the rest of kefu takes
//! `Settings` as correct.

mod file;
mod routing;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use file::{ConfigError, WEBHOOK_EVENTS};
pub use routing::{AgentConfig, Overflow, QueueConfig, RoutingConfig, Strategy};

/// Command-line overrides of `kefu serve`; each `Some` replaces the file's
/// value. The flag names are a stable interface.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// SIP address for UDP and TCP (default 0.0.0.0:5060).
    #[arg(long, value_name = "ADDR:PORT")]
    pub sip_listen: Option<String>,
    /// RTP port range (default 20000-30000).
    #[arg(long, value_name = "LOW-HIGH")]
    pub rtp_ports: Option<String>,
    /// Data folder: recordings, speech cache (default ./data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Dialplan: `default`, `speech`, or a dialplan file.
    #[arg(long, value_name = "NAME_OR_FILE")]
    pub dialplan: Option<String>,
    /// HTTP API address (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    pub http_listen: Option<String>,
    /// Concurrent calls before 503 (default 1000).
    #[arg(long, value_name = "N")]
    pub max_calls: Option<usize>,
    /// Log phone numbers and transcripts at info level.
    #[arg(long)]
    pub log_pii: bool,
    /// Log one JSON object per line.
    #[arg(long)]
    pub log_json: bool,
    /// SQLite database file (default DATA_DIR/kefu.db).
    #[arg(long, value_name = "FILE")]
    pub database: Option<PathBuf>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// SIP address for UDP and TCP.
    pub sip_listen: SocketAddr,
    /// Listen on UDP.
    pub sip_udp: bool,
    /// Listen on TCP.
    pub sip_tcp: bool,
    /// Address put in Contact and SDP when the listen address is a wildcard.
    pub public_ip: Option<IpAddr>,
    /// Concurrent calls before new INVITEs get 503.
    pub max_calls: usize,
    /// Retry-After seconds sent with 503.
    pub retry_after_secs: u32,
    /// Server / User-Agent header value.
    pub user_agent: String,
    /// RTP port range (even RTP ports, RTCP on the next odd port).
    pub rtp_ports: (u16, u16),
    /// Jitter buffer playout delay.
    pub jitter: Duration,
    /// Send RTP back to where the caller's RTP comes from.
    pub symmetric_rtp: bool,
    /// Hang up when no RTP arrives for this long.
    pub media_timeout: Duration,
    /// Media worker threads (each owns a share of the calls).
    pub media_workers: usize,
    /// Run media threads with real-time priority when permitted.
    pub realtime_media: bool,
    /// Where kefu keeps its data.
    pub data_dir: PathBuf,
    /// Record calls.
    pub record: bool,
    /// Where recordings go.
    pub recordings_dir: PathBuf,
    /// HTTP API address.
    pub http_listen: SocketAddr,
    /// `default` or a dialplan file.
    pub dialplan: String,
    /// Log phone numbers and transcripts at info level.
    pub log_pii: bool,
    /// Log filter (tracing env-filter syntax).
    pub log_level: String,
    /// Log one JSON object per line instead of text.
    pub log_json: bool,
    /// The SQLite database file.
    pub database: PathBuf,
    /// Where events are delivered.
    pub webhooks: Vec<WebhookSettings>,
    /// How failed deliveries are retried.
    pub webhook_retry: WebhookRetrySettings,
    /// Agents, queues and the registrar's realm.
    pub routing: RoutingConfig,
}

/// One webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Unique name (defaults to the URL); delivery progress is kept under it.
    pub name: String,
    /// Where events are POSTed.
    pub url: String,
    /// HMAC-SHA256 signing secret.
    pub secret: String,
    /// Event kinds delivered (see [`WEBHOOK_EVENTS`]).
    pub events: Vec<String>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Retry schedule of webhook deliveries: the wait doubles from `first`
/// up to `max`; an event still failing after `give_up` is set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookRetrySettings {
    /// First wait.
    pub first: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Give up on an event this long after its first failure.
    pub give_up: Duration,
}

impl Settings {
    /// Loads `path` (if any), applies `overrides`, validates.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let raw = match path {
            Some(p) => file::read(p)?,
            None => file::Raw::default(),
        };
        file::validate(raw, path, overrides)
    }
}

/// Parses `LOW-HIGH`.
pub fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = s
        .split_once('-')
        .ok_or_else(|| format!("expected LOW-HIGH, got {s:?}"))?;
    let lo: u16 = lo
        .trim()
        .parse()
        .map_err(|_| format!("bad low port {lo:?}"))?;
    let hi: u16 = hi
        .trim()
        .parse()
        .map_err(|_| format!("bad high port {hi:?}"))?;
    if lo == 0 || lo >= hi {
        return Err(format!("need 0 < LOW < HIGH, got {lo}-{hi}"));
    }
    if hi - lo < 3 {
        return Err(format!("range {lo}-{hi} holds no RTP/RTCP port pair"));
    }
    Ok((lo, hi))
}

/// Parses `ADDR:PORT` (IPv6 as `[::1]:5060`).
pub fn parse_socket_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .map_err(|_| format!("expected ADDR:PORT, got {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("20000-30000"), Ok((20000, 30000)));
        assert!(parse_port_range("30000-20000").is_err());
        assert!(parse_port_range("20000").is_err());
        assert!(parse_port_range("0-10").is_err());
        assert!(parse_port_range("100-101").is_err());
    }
}
