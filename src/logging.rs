//! Log output and PII redaction.
//!
//! [`init`] installs the process's `tracing` subscriber: text for people,
//! or with `json` one JSON object per line for log shippers, carrying
//! `timestamp`, `level`, `target`, `fields` (with `message`), and the
//! current `span` and its parents (`spans`) with their fields. The filter
//! is `KEFU_LOG` when set (tracing env-filter syntax), else the configured
//! level with the SIP stack at `warn` and whisper.cpp off.
//!
//! Phone numbers and transcript text are personal data: at info level and
//! above they are logged redacted unless `--log-pii` is given. [`phone`]
//! and [`Redacted`] do that for numbers and SIP URIs; transcript text is
//! replaced by its length.

use std::fmt;

use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The filter used when `KEFU_LOG` is unset, for a configured `level`.
pub fn default_filter(level: &str) -> String {
    format!("{level},rsipstack=warn,whisper_rs=off")
}

/// Installs the subscriber for `kefu serve`: `level_filter` (e.g. `info`,
/// or any env-filter directive) unless `KEFU_LOG` overrides it; JSON lines
/// when `json`. Logs go to standard output; colours only on a terminal.
/// A second call keeps the first subscriber.
pub fn init(level_filter: &str, json: bool) {
    let wanted = std::env::var("KEFU_LOG").unwrap_or_else(|_| default_filter(level_filter));
    let filter =
        EnvFilter::try_new(&wanted).unwrap_or_else(|_| EnvFilter::new(default_filter("info")));
    // Colours only on a terminal: logs written to files stay plain text.
    let ansi = !json && std::io::IsTerminal::is_terminal(&std::io::stdout());
    install(dispatch(filter, json, ansi, std::io::stdout));
}

/// Installs a warnings-only text subscriber on standard error, for commands
/// whose standard output is their result (the simulator's conversation).
/// `KEFU_LOG` overrides the filter.
pub fn init_quiet() {
    let wanted = std::env::var("KEFU_LOG").unwrap_or_else(|_| "warn,whisper_rs=off".into());
    let filter = EnvFilter::try_new(&wanted).unwrap_or_else(|_| EnvFilter::new("warn"));
    install(dispatch(filter, false, false, std::io::stderr));
}

fn install(dispatch: Dispatch) {
    if let Err(e) = dispatch.try_init() {
        eprintln!("kefu: logging already set up ({e})");
    }
}

/// The subscriber: text (no target, colours when `ansi`) or JSON lines
/// with the current span and its parents, written to `writer`.
fn dispatch<W>(filter: EnvFilter, json: bool, ansi: bool, writer: W) -> Dispatch
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        Dispatch::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        )
    } else {
        Dispatch::new(builder.with_target(false).with_ansi(ansi).finish())
    }
}

/// A phone number or SIP address that displays redacted: `***` and the
/// last two digits of its user part (`sip:+8613812345600@pbx` shows as
/// `***00`), or `***` when it has fewer than two digits. `Debug` redacts
/// too, so `?field` cannot leak it.
#[derive(Clone, Copy)]
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits: Vec<char> = user_part(self.0)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        f.write_str("***")?;
        if let [.., a, b] = digits.as_slice() {
            write!(f, "{a}{b}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `number` as it may be logged: whole with `pii` (`--log-pii`), else
/// [`Redacted`].
pub fn phone(number: &str, pii: bool) -> String {
    if pii {
        number.to_owned()
    } else {
        Redacted(number).to_string()
    }
}

/// Transcript text as it may be logged: whole with `pii`, else only its
/// length (`[12 chars]`).
pub fn text(text: &str, pii: bool) -> String {
    if pii {
        text.to_owned()
    } else {
        format!("[{} chars]", text.chars().count())
    }
}

/// The user part of a SIP or tel URI (`sip:1001@host;x=y` → `1001`), or
/// the whole input when it is not a URI. The host is never part of it, so
/// its digits (an IP address) are not mistaken for the number's.
fn user_part(s: &str) -> &str {
    let s = s.trim().trim_start_matches('<');
    let lower = s.get(..5).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("sips:") {
        &s[5..]
    } else if lower.starts_with("sip:") || lower.starts_with("tel:") {
        &s[4..]
    } else {
        s
    };
    let end = rest.find(['@', ';', '>', '?']).unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_only_their_last_two_digits() {
        assert_eq!(phone("+8613812345600", false), "***00");
        assert_eq!(phone("13812345678", false), "***78");
        assert_eq!(phone("138-1234-5678", false), "***78");
        assert_eq!(phone("13812345678", true), "13812345678");
        assert_eq!(format!("{}", Redacted("+86 138 1234 5600")), "***00");
        assert_eq!(format!("{:?}", Redacted("13812345678")), "***78");
    }

    #[test]
    fn uris_are_redacted_by_their_user_part() {
        assert_eq!(phone("sip:13812345678@10.0.0.1:5060", false), "***78");
        assert_eq!(phone("<sips:+8613812345699@pbx.example>", false), "***99");
        assert_eq!(
            phone("tel:+86-138-1234-5601;phone-context=x", false),
            "***01"
        );
        assert_eq!(phone("SIP:4321@192.168.1.9", false), "***21");
    }

    #[test]
    fn short_or_named_users_show_nothing_of_themselves() {
        assert_eq!(phone("alice", false), "***");
        assert_eq!(phone("sip:alice@10.0.0.19", false), "***");
        assert_eq!(phone("7", false), "***");
        assert_eq!(phone("", false), "***");
        assert_eq!(phone("sip:", false), "***");
    }

    #[test]
    fn transcript_text_becomes_its_length() {
        assert_eq!(text("我的包裹还没到", false), "[7 chars]");
        assert_eq!(text("hello", true), "hello");
    }

    /// Everything written, shared with the test.
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Sink {
        type Writer = Sink;
        fn make_writer(&'w self) -> Sink {
            self.clone()
        }
    }

    /// The lines an answered call and a debug line write through the
    /// subscriber `init` would install.
    fn logged(json: bool) -> Vec<String> {
        let sink = Sink::default();
        let d = dispatch(
            EnvFilter::new(default_filter("info")),
            json,
            false,
            sink.clone(),
        );
        tracing::dispatcher::with_default(&d, || {
            let span = tracing::info_span!("call", id = 7);
            span.in_scope(|| {
                tracing::info!(who = "caller", chars = 12, "transcript");
                tracing::debug!(text = "hidden at info", "transcript");
            });
            tracing::warn!("outside any call");
        });
        let bytes = sink.0.lock().map(|v| v.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn json_lines_carry_level_message_fields_and_span() {
        let lines = logged(true);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        let v: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_default())
            .collect();
        assert_eq!(v[0]["level"], "INFO");
        assert_eq!(v[0]["fields"]["message"], "transcript");
        assert_eq!(v[0]["fields"]["who"], "caller");
        assert_eq!(v[0]["fields"]["chars"], 12);
        assert_eq!(v[0]["target"], module_path!());
        assert_eq!(v[0]["span"]["name"], "call");
        assert_eq!(v[0]["span"]["id"], 7);
        assert_eq!(v[0]["spans"][0]["id"], 7);
        assert!(v[0]["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert_eq!(v[1]["level"], "WARN");
        assert_eq!(v[1]["fields"]["message"], "outside any call");
        assert!(v[1].get("span").is_none(), "{}", lines[1]);
    }

    #[test]
    fn text_lines_are_plain_with_the_span() {
        let lines = logged(false);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].contains("INFO call{id=7}: transcript who=\"caller\" chars=12"),
            "{}",
            lines[0]
        );
        assert!(!lines
            .iter()
            .any(|l| l.contains('\u{1b}') || l.contains("hidden")));
    }

    #[test]
    fn default_filter_quiets_the_sip_stack() {
        assert_eq!(
            default_filter("debug"),
            "debug,rsipstack=warn,whisper_rs=off"
        );
    }
}
