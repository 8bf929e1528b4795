//! The TOML file: its raw shape (every value keeps its position, for error
//! messages), and validation into [`Settings`].

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{
    parse_port_range, parse_socket_addr, Overrides, Settings, WebhookRetrySettings, WebhookSettings,
};

/// A configuration error; whose fault: the operator's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a wrong type.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{file}:{line}: {key}: {message}")]
    Invalid {
        /// The file, or `command line` for a flag.
        file: String,
        /// 1-based line (0 for flags and defaults).
        line: usize,
        /// The dotted key, or the flag.
        key: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    #[serde(default)]
    sip: Sip,
    #[serde(default)]
    rtp: Rtp,
    #[serde(default)]
    storage: Storage,
    #[serde(default)]
    http: Http,
    #[serde(default)]
    dialplan: Dialplan,
    #[serde(default)]
    log: Log,
    #[serde(default)]
    webhooks: Vec<Webhook>,
    #[serde(default)]
    webhook_retry: WebhookRetry,
    #[serde(default)]
    routing: super::routing::RawRouting,
    #[serde(default)]
    agents: Vec<super::routing::RawAgent>,
    #[serde(default)]
    queues: Vec<super::routing::RawQueue>,
    #[serde(skip)]
    text: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sip {
    listen: Option<Spanned<String>>,
    transports: Option<Spanned<Vec<String>>>,
    public_address: Option<Spanned<String>>,
    max_calls: Option<Spanned<i64>>,
    retry_after_secs: Option<Spanned<i64>>,
    user_agent: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rtp {
    ports: Option<Spanned<String>>,
    jitter_ms: Option<Spanned<i64>>,
    symmetric: Option<bool>,
    media_timeout_secs: Option<Spanned<i64>>,
    workers: Option<Spanned<i64>>,
    realtime: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Storage {
    data_dir: Option<String>,
    database: Option<String>,
    record: Option<bool>,
    recordings_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Http {
    listen: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dialplan {
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Log {
    level: Option<String>,
    pii: Option<bool>,
    format: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Webhook {
    name: Option<Spanned<String>>,
    url: Spanned<String>,
    secret: Spanned<String>,
    events: Option<Spanned<Vec<String>>>,
    timeout_secs: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookRetry {
    first_ms: Option<Spanned<i64>>,
    max_secs: Option<Spanned<i64>>,
    give_up_hours: Option<Spanned<i64>>,
}

pub(super) fn read(path: &Path) -> Result<Raw, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    let mut raw: Raw = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        line: e.span().map(|s| line_of(&text, s)).unwrap_or(0),
        message: e.message().trim().to_string(),
        file,
    })?;
    raw.text = text;
    Ok(raw)
}

fn line_of(text: &str, span: Range<usize>) -> usize {
    let end = span.start.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

struct Ctx<'a> {
    file: String,
    text: &'a str,
}

impl Ctx<'_> {
    fn bad<T>(
        &self,
        key: &str,
        span: Option<Range<usize>>,
        message: String,
    ) -> Result<T, ConfigError> {
        Err(ConfigError::Invalid {
            file: self.file.clone(),
            line: span.map(|s| line_of(self.text, s)).unwrap_or(0),
            key: key.to_string(),
            message,
        })
    }

    fn flag<T>(flag: &str, message: String) -> Result<T, ConfigError> {
        Err(ConfigError::Invalid {
            file: "command line".into(),
            line: 0,
            key: flag.to_string(),
            message,
        })
    }

    fn int(
        &self,
        key: &str,
        v: &Option<Spanned<i64>>,
        default: i64,
        lo: i64,
        hi: i64,
    ) -> Result<i64, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) if (lo..=hi).contains(s.get_ref()) => Ok(*s.get_ref()),
            Some(s) => self.bad(
                key,
                Some(s.span()),
                format!("{} is outside {lo}..={hi}", s.get_ref()),
            ),
        }
    }
}

pub(super) fn validate(
    raw: Raw,
    path: Option<&Path>,
    o: &Overrides,
) -> Result<Settings, ConfigError> {
    let cx = Ctx {
        file: path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "defaults".into()),
        text: &raw.text,
    };
    let sip_listen = match (&o.sip_listen, &raw.sip.listen) {
        (Some(s), _) => parse_socket_addr(s).or_else(|m| Ctx::flag("--sip-listen", m))?,
        (None, Some(s)) => {
            parse_socket_addr(s.get_ref()).or_else(|m| cx.bad("sip.listen", Some(s.span()), m))?
        }
        (None, None) => ([0, 0, 0, 0], 5060).into(),
    };
    let (mut sip_udp, mut sip_tcp) = (true, true);
    if let Some(t) = &raw.sip.transports {
        sip_udp = false;
        sip_tcp = false;
        for name in t.get_ref() {
            match name.to_ascii_lowercase().as_str() {
                "udp" => sip_udp = true,
                "tcp" => sip_tcp = true,
                other => {
                    return cx.bad(
                        "sip.transports",
                        Some(t.span()),
                        format!("unknown transport {other:?} (udp, tcp)"),
                    )
                }
            }
        }
        if !sip_udp && !sip_tcp {
            return cx.bad(
                "sip.transports",
                Some(t.span()),
                "at least one transport is needed".into(),
            );
        }
    }
    let public_ip = match &raw.sip.public_address {
        None => None,
        Some(s) => Some(s.get_ref().parse().or_else(|_| {
            cx.bad(
                "sip.public_address",
                Some(s.span()),
                format!("{:?} is not an IP address", s.get_ref()),
            )
        })?),
    };
    let max_calls = match o.max_calls {
        Some(0) => return Ctx::flag("--max-calls", "must be at least 1".into()),
        Some(n) => n,
        None => cx.int("sip.max_calls", &raw.sip.max_calls, 1000, 1, 100_000)? as usize,
    };
    let retry_after_secs = cx.int(
        "sip.retry_after_secs",
        &raw.sip.retry_after_secs,
        5,
        1,
        3600,
    )? as u32;
    let user_agent = raw
        .sip
        .user_agent
        .map(|s| s.into_inner())
        .unwrap_or_else(|| format!("kefu/{}", env!("CARGO_PKG_VERSION")));
    let rtp_ports = match (&o.rtp_ports, &raw.rtp.ports) {
        (Some(s), _) => parse_port_range(s).or_else(|m| Ctx::flag("--rtp-ports", m))?,
        (None, Some(s)) => {
            parse_port_range(s.get_ref()).or_else(|m| cx.bad("rtp.ports", Some(s.span()), m))?
        }
        (None, None) => (20000, 30000),
    };
    let jitter =
        Duration::from_millis(cx.int("rtp.jitter_ms", &raw.rtp.jitter_ms, 60, 20, 1000)? as u64);
    let media_timeout = Duration::from_secs(cx.int(
        "rtp.media_timeout_secs",
        &raw.rtp.media_timeout_secs,
        60,
        5,
        86_400,
    )? as u64);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as i64;
    let media_workers = cx.int("rtp.workers", &raw.rtp.workers, cores, 1, 256)? as usize;
    let data_dir = o
        .data_dir
        .clone()
        .or(raw.storage.data_dir.map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("data"));
    let recordings_dir = raw
        .storage
        .recordings_dir
        .map(PathBuf::from)
        .map(|p| if p.is_relative() { data_dir.join(p) } else { p })
        .unwrap_or_else(|| data_dir.join("recordings"));
    let database = o
        .database
        .clone()
        .or(raw.storage.database.map(PathBuf::from))
        .map(|p| {
            if p.is_relative() && o.database.is_none() {
                data_dir.join(p)
            } else {
                p
            }
        })
        .unwrap_or_else(|| data_dir.join("kefu.db"));
    let log_json = match &raw.log.format {
        _ if o.log_json => true,
        None => false,
        Some(f) => match f.get_ref().as_str() {
            "text" => false,
            "json" => true,
            other => {
                return cx.bad(
                    "log.format",
                    Some(f.span()),
                    format!("unknown format {other:?} (text, json)"),
                )
            }
        },
    };
    let mut webhooks = Vec::new();
    for (i, w) in raw.webhooks.iter().enumerate() {
        webhooks.push(webhook(&cx, i, w, &webhooks)?);
    }
    let retry = &raw.webhook_retry;
    let webhook_retry = WebhookRetrySettings {
        first: Duration::from_millis(cx.int(
            "webhook_retry.first_ms",
            &retry.first_ms,
            1000,
            10,
            3_600_000,
        )? as u64),
        max: Duration::from_secs(cx.int(
            "webhook_retry.max_secs",
            &retry.max_secs,
            300,
            1,
            86_400,
        )? as u64),
        give_up: Duration::from_secs(
            cx.int(
                "webhook_retry.give_up_hours",
                &retry.give_up_hours,
                72,
                1,
                24 * 365,
            )? as u64
                * 3600,
        ),
    };
    let routing =
        super::routing::validate(&cx.file, cx.text, &raw.routing, &raw.agents, &raw.queues)?;
    let http_listen = match (&o.http_listen, &raw.http.listen) {
        (Some(s), _) => parse_socket_addr(s).or_else(|m| Ctx::flag("--http-listen", m))?,
        (None, Some(s)) => {
            parse_socket_addr(s.get_ref()).or_else(|m| cx.bad("http.listen", Some(s.span()), m))?
        }
        (None, None) => ([127, 0, 0, 1], 8080).into(),
    };
    Ok(Settings {
        sip_listen,
        sip_udp,
        sip_tcp,
        public_ip,
        max_calls,
        retry_after_secs,
        user_agent,
        rtp_ports,
        jitter,
        symmetric_rtp: raw.rtp.symmetric.unwrap_or(true),
        media_timeout,
        media_workers,
        realtime_media: raw.rtp.realtime.unwrap_or(true),
        data_dir,
        record: raw.storage.record.unwrap_or(true),
        recordings_dir,
        http_listen,
        dialplan: o
            .dialplan
            .clone()
            .or(raw.dialplan.name)
            .unwrap_or_else(|| "default".into()),
        log_pii: o.log_pii || raw.log.pii.unwrap_or(false),
        log_level: raw.log.level.unwrap_or_else(|| "info".into()),
        log_json,
        database,
        webhooks,
        webhook_retry,
        routing,
    })
}

/// Event kinds a webhook may subscribe to.
pub const WEBHOOK_EVENTS: [&str; 5] = [
    "call.started",
    "call.ended",
    "call.transferred",
    "disposition",
    "qa.result",
];

fn webhook(
    cx: &Ctx<'_>,
    i: usize,
    w: &Webhook,
    earlier: &[WebhookSettings],
) -> Result<WebhookSettings, ConfigError> {
    let key = |k: &str| format!("webhooks[{i}].{k}");
    let url = w.url.get_ref().trim().to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
        return cx.bad(
            &key("url"),
            Some(w.url.span()),
            format!("{url:?} is not an http:// or https:// URL"),
        );
    }
    if w.secret.get_ref().len() < 16 {
        return cx.bad(
            &key("secret"),
            Some(w.secret.span()),
            "the signing secret needs at least 16 characters".into(),
        );
    }
    let name = match &w.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            return cx.bad(&key("name"), Some(n.span()), "must not be empty".into())
        }
        Some(n) => n.get_ref().trim().to_string(),
        None => url.clone(),
    };
    if earlier.iter().any(|e| e.name == name) {
        return cx.bad(
            &key("name"),
            w.name.as_ref().map(|n| n.span()).or(Some(w.url.span())),
            format!("another webhook is already named {name:?}"),
        );
    }
    let events = match &w.events {
        None => WEBHOOK_EVENTS.iter().map(|e| e.to_string()).collect(),
        Some(ev) => {
            for e in ev.get_ref() {
                if !WEBHOOK_EVENTS.contains(&e.as_str()) {
                    return cx.bad(
                        &key("events"),
                        Some(ev.span()),
                        format!("unknown event {e:?} ({})", WEBHOOK_EVENTS.join(", ")),
                    );
                }
            }
            ev.get_ref().clone()
        }
    };
    let timeout =
        Duration::from_secs(cx.int(&key("timeout_secs"), &w.timeout_secs, 10, 1, 300)? as u64);
    Ok(WebhookSettings {
        name,
        url,
        secret: w.secret.get_ref().clone(),
        events,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kefu.toml");
        std::fs::write(&p, text).expect("write");
        Settings::load(Some(&p), &Overrides::default())
    }

    #[test]
    fn defaults_without_file() {
        let s = Settings::load(None, &Overrides::default()).expect("defaults");
        assert_eq!(s.sip_listen.port(), 5060);
        assert_eq!(s.rtp_ports, (20000, 30000));
        assert!(s.record);
    }

    #[test]
    fn error_names_line_and_key() {
        let e =
            load("[sip]\nlisten = \"127.0.0.1:5070\"\n\n[rtp]\nports = \"300-200\"\n").unwrap_err();
        let m = e.to_string();
        assert!(
            m.ends_with("kefu.toml:5: rtp.ports: need 0 < LOW < HIGH, got 300-200"),
            "{m}"
        );
    }

    #[test]
    fn unknown_key_is_an_error_with_line() {
        let e = load("[sip]\nlisten = \"127.0.0.1:5070\"\nlisen = 3\n").unwrap_err();
        let m = e.to_string();
        assert!(m.contains("kefu.toml:3:") && m.contains("lisen"), "{m}");
    }

    #[test]
    fn wrong_type_is_an_error_with_line() {
        let e = load("[sip]\nmax_calls = \"many\"\n").unwrap_err();
        assert!(e.to_string().contains("kefu.toml:2:"), "{e}");
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kefu.toml");
        std::fs::write(&p, "[sip]\nlisten = \"127.0.0.1:5070\"\n").expect("write");
        let o = Overrides {
            sip_listen: Some("127.0.0.1:5999".into()),
            ..Overrides::default()
        };
        let s = Settings::load(Some(&p), &o).expect("load");
        assert_eq!(s.sip_listen.port(), 5999);
        let bad = Overrides {
            rtp_ports: Some("x".into()),
            ..Overrides::default()
        };
        let e = Settings::load(Some(&p), &bad).unwrap_err().to_string();
        assert!(e.contains("--rtp-ports"), "{e}");
    }
}
