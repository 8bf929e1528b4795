//! kefu as the registrar of its agents (RFC 3261 §10.3): REGISTER requests
//! from configured agents, authenticated by Digest ([`super::digest`]), bind
//! contact URIs to the agent's address-of-record `sip:<agent id>@…`.
//!
//! [`Registrar::register`] takes a request already read off the wire
//! ([`RegisterRequest`]) and `now`, and returns the reply to send
//! ([`RegisterReply`]); nothing here touches a socket or a clock, so every
//! rule is unit tested. Presence changes (first binding of an agent appears,
//! last one goes) are sent as [`Binding`] events for agent routing; bindings
//! expire in [`Registrar::sweep`], which the shell calls every few seconds.
//!
//! Not done: throttling sources that fail authentication repeatedly; the
//! `Path` and `GRUU` extensions. Behind NAT, REFER targets the contact as
//! the phone gave it; the source address is kept with the binding for
//! diagnosis.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use tokio::sync::mpsc::UnboundedSender;

use super::digest::{Credentials, Digest, DigestError};
use super::headers::{same_uri, split_commas};

/// Expiry when the phone asks for none (RFC 3261 §10.2.1.1 leaves it to us).
pub const DEFAULT_EXPIRES: u32 = 3600;
/// Longest expiry granted; longer asks are shortened.
pub const MAX_EXPIRES: u32 = 7200;
/// Shortest expiry accepted; shorter asks get 423 (RFC 3261 §10.3 step 7).
pub const MIN_EXPIRES: u32 = 60;

/// An agent's presence as seen by the registrar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The agent's first contact was bound.
    Online {
        /// Agent id.
        agent: String,
        /// Its contact URI.
        contact: String,
    },
    /// The agent's last contact was removed or expired.
    Offline {
        /// Agent id.
        agent: String,
    },
}

/// The parts of a REGISTER the registrar reads.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// The request-URI as sent.
    pub uri: String,
    /// The To header value (the address-of-record).
    pub to: String,
    /// The From header value.
    pub from: String,
    /// Every Contact header value (each may list several, comma separated).
    pub contacts: Vec<String>,
    /// The Expires header value.
    pub expires: Option<String>,
    /// The Call-ID.
    pub call_id: String,
    /// The CSeq number.
    pub cseq: u32,
    /// The Authorization header value.
    pub authorization: Option<String>,
    /// Where the request came from.
    pub source: SocketAddr,
}

/// The reply to a REGISTER: status and extra headers (name, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterReply {
    /// SIP status code.
    pub status: u16,
    /// Headers to add.
    pub headers: Vec<(String, String)>,
}

impl RegisterReply {
    fn bare(status: u16) -> RegisterReply {
        RegisterReply {
            status,
            headers: Vec::new(),
        }
    }

    fn with(status: u16, name: &str, value: String) -> RegisterReply {
        RegisterReply {
            status,
            headers: vec![(name.to_string(), value)],
        }
    }
}

/// One current binding of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The contact URI.
    pub uri: String,
    /// When it expires (seconds since the epoch).
    pub expires_at: u64,
    /// Where the REGISTER came from.
    pub source: SocketAddr,
    call_id: String,
    cseq: u32,
    order: u64,
}

struct Agents(HashMap<String, Option<String>>);

impl Credentials for Agents {
    fn ha1(&self, user: &str, _realm: &str) -> Option<String> {
        self.0.get(user).cloned().flatten()
    }
}

/// The registrar: configured agents and their current bindings.
pub struct Registrar {
    digest: Digest,
    agents: Agents,
    bindings: Mutex<Bindings>,
    events: Option<UnboundedSender<Binding>>,
}

#[derive(Default)]
struct Bindings {
    by_agent: HashMap<String, Vec<Contact>>,
    order: u64,
}

/// A Contact header entry: `*`, or a URI with its `expires` parameter.
#[derive(Debug, PartialEq, Eq)]
enum ContactEntry {
    Star,
    Uri { uri: String, expires: Option<u32> },
}

impl Registrar {
    /// A registrar for `agents` (id, HA1 in `realm`; `None` = may not
    /// register), whose nonces are signed with `secret`.
    pub fn new(
        realm: &str,
        agents: impl IntoIterator<Item = (String, Option<String>)>,
        secret: &[u8],
        events: Option<UnboundedSender<Binding>>,
    ) -> Registrar {
        Registrar {
            digest: Digest::new(realm, secret),
            agents: Agents(agents.into_iter().collect()),
            bindings: Mutex::new(Bindings::default()),
            events,
        }
    }

    /// Handles one REGISTER at `now` (seconds since the epoch).
    pub fn register(&self, req: &RegisterRequest, now: u64) -> RegisterReply {
        let challenge =
            |stale| RegisterReply::with(401, "WWW-Authenticate", self.digest.challenge(now, stale));
        let Some(auth) = req.authorization.as_deref() else {
            return challenge(false);
        };
        let user = match self
            .digest
            .verify(auth, "REGISTER", &req.uri, &self.agents, now)
        {
            Ok(u) => u,
            Err(DigestError::Stale) => return challenge(true),
            Err(DigestError::User | DigestError::Response) => {
                tracing::info!(source = %req.source, "REGISTER refused: wrong credentials");
                return RegisterReply::bare(403);
            }
            Err(e) => {
                tracing::debug!(source = %req.source, error = %e, "REGISTER challenged");
                return challenge(false);
            }
        };
        // RFC 3261 §10.3 steps 5-6: the AOR is the agent the phone proved to be.
        let aor = super::uas::user_part(&req.to);
        if aor != user || super::uas::user_part(&req.from) != user {
            return RegisterReply::bare(403);
        }
        let entries = match parse_contacts(&req.contacts) {
            Ok(e) => e,
            Err(why) => return RegisterReply::with(400, "Warning", warning(&why)),
        };
        let header_expires = match req.expires.as_deref().map(|e| e.trim().parse::<u32>()) {
            None => None,
            Some(Ok(e)) => Some(e),
            Some(Err(_)) => return RegisterReply::with(400, "Warning", warning("bad Expires")),
        };
        self.apply(&user, req, entries, header_expires, now)
    }

    fn apply(
        &self,
        agent: &str,
        req: &RegisterRequest,
        entries: Vec<ContactEntry>,
        header_expires: Option<u32>,
        now: u64,
    ) -> RegisterReply {
        let Ok(mut all) = self.bindings.lock() else {
            return RegisterReply::bare(500);
        };
        let was_online = all.by_agent.get(agent).is_some_and(|v| !v.is_empty());
        if entries.contains(&ContactEntry::Star) {
            // §10.3 step 6: `*` only alone and with Expires: 0.
            if entries.len() != 1 || header_expires != Some(0) {
                return RegisterReply::with(
                    400,
                    "Warning",
                    warning("Contact: * needs Expires: 0 and no other contact"),
                );
            }
            let current = all.by_agent.entry(agent.to_string()).or_default();
            if current
                .iter()
                .any(|c| c.call_id == req.call_id && req.cseq <= c.cseq)
            {
                return RegisterReply::bare(500);
            }
            current.clear();
        } else {
            // Checked for every entry before any is applied (step 7).
            let mut plan = Vec::new();
            for e in &entries {
                let ContactEntry::Uri { uri, expires } = e else {
                    continue;
                };
                let want = expires.or(header_expires).unwrap_or(DEFAULT_EXPIRES);
                if want != 0 && want < MIN_EXPIRES {
                    return RegisterReply::with(423, "Min-Expires", MIN_EXPIRES.to_string());
                }
                let current = all.by_agent.get(agent).map(Vec::as_slice).unwrap_or(&[]);
                if let Some(c) = current.iter().find(|c| same_uri(&c.uri, uri)) {
                    if c.call_id == req.call_id && req.cseq <= c.cseq {
                        return RegisterReply::bare(500);
                    }
                }
                plan.push((uri.clone(), want.min(MAX_EXPIRES)));
            }
            for (uri, expires) in plan {
                all.order += 1;
                let order = all.order;
                let current = all.by_agent.entry(agent.to_string()).or_default();
                current.retain(|c| !same_uri(&c.uri, &uri));
                if expires > 0 {
                    current.push(Contact {
                        uri,
                        expires_at: now + u64::from(expires),
                        source: req.source,
                        call_id: req.call_id.clone(),
                        cseq: req.cseq,
                        order,
                    });
                }
            }
        }
        let current = all.by_agent.get(agent).cloned().unwrap_or_default();
        drop(all);
        self.presence(agent, was_online, &current);
        let mut headers: Vec<(String, String)> = current
            .iter()
            .map(|c| {
                (
                    "Contact".to_string(),
                    format!("<{}>;expires={}", c.uri, c.expires_at.saturating_sub(now)),
                )
            })
            .collect();
        headers.push(("Date".into(), http_date(now)));
        RegisterReply {
            status: 200,
            headers,
        }
    }

    fn presence(&self, agent: &str, was_online: bool, current: &[Contact]) {
        let event = match (was_online, newest(current)) {
            (false, Some(c)) => Binding::Online {
                agent: agent.to_string(),
                contact: c.uri.clone(),
            },
            (true, None) => Binding::Offline {
                agent: agent.to_string(),
            },
            _ => return,
        };
        tracing::info!(agent = %agent, online = matches!(event, Binding::Online { .. }), "agent presence");
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }

    /// Removes bindings expired at `now`; agents left with none go offline.
    pub fn sweep(&self, now: u64) {
        let mut gone = Vec::new();
        if let Ok(mut all) = self.bindings.lock() {
            for (agent, list) in all.by_agent.iter_mut() {
                let before = list.len();
                list.retain(|c| c.expires_at > now);
                if before > 0 && list.is_empty() {
                    gone.push(agent.clone());
                }
            }
        }
        for agent in gone {
            self.presence(&agent, true, &[]);
        }
    }

    /// The newest live contact of `agent`: where a transfer to it goes.
    pub fn contact(&self, agent: &str) -> Option<String> {
        let all = self.bindings.lock().ok()?;
        newest(all.by_agent.get(agent)?).map(|c| c.uri.clone())
    }

    /// How many agents have at least one binding.
    pub fn online(&self) -> u32 {
        self.bindings
            .lock()
            .map(|all| all.by_agent.values().filter(|v| !v.is_empty()).count() as u32)
            .unwrap_or(0)
    }

    /// Every current binding of `agent`, oldest first.
    pub fn bindings(&self, agent: &str) -> Vec<Contact> {
        self.bindings
            .lock()
            .ok()
            .and_then(|all| all.by_agent.get(agent).cloned())
            .unwrap_or_default()
    }
}

fn newest(list: &[Contact]) -> Option<&Contact> {
    list.iter().max_by_key(|c| c.order)
}

fn warning(text: &str) -> String {
    format!("399 kefu \"{}\"", text.replace('"', "'"))
}

/// Splits Contact values on commas outside quotes and `<…>`, and reads each
/// entry's URI and `expires` parameter.
fn parse_contacts<S: AsRef<str>>(values: &[S]) -> Result<Vec<ContactEntry>, String> {
    let mut out = Vec::new();
    for value in values {
        for part in split_commas(value.as_ref().as_bytes()) {
            // Split at ASCII commas: every part is still UTF-8.
            let part = std::str::from_utf8(part).unwrap_or_default().trim();
            if part.is_empty() {
                continue;
            }
            if part == "*" {
                out.push(ContactEntry::Star);
                continue;
            }
            let (uri, params) = match (part.find('<'), part.find('>')) {
                (Some(l), Some(r)) if l < r => (&part[l + 1..r], &part[r + 1..]),
                (None, None) => match part.split_once(';') {
                    Some((u, p)) => (u, p),
                    None => (part, ""),
                },
                _ => return Err(format!("bad Contact {part:?}")),
            };
            let uri = uri.trim();
            if !(uri.starts_with("sip:") || uri.starts_with("sips:")) || uri.len() < 5 {
                return Err(format!("Contact {uri:?} is not a sip: URI"));
            }
            let mut expires = None;
            for p in params.split(';') {
                if let Some((k, v)) = p.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("expires") {
                        expires = Some(
                            v.trim()
                                .trim_matches('"')
                                .parse::<u32>()
                                .map_err(|_| format!("bad expires in {part:?}"))?,
                        );
                    }
                }
            }
            out.push(ContactEntry::Uri {
                uri: uri.to_string(),
                expires,
            });
        }
    }
    Ok(out)
}

/// An RFC 1123 date for the Date header (RFC 3261 §20.17).
fn http_date(now: u64) -> String {
    chrono::DateTime::from_timestamp(now as i64, 0)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// Reads a REGISTER off the stack's request, lets `registrar` decide, and
/// sends the reply (the shell side: the only clock read of registration).
pub(super) async fn answer(
    registrar: &Registrar,
    tx: &mut rsipstack::transaction::transaction::Transaction,
) {
    use rsipstack::sip::prelude::HeadersExt;
    let req = &tx.original;
    let values = |name: &str| -> Vec<String> {
        req.headers
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case(name))
            .map(|h| h.value().trim().to_string())
            .collect()
    };
    let source = req
        .via_header()
        .ok()
        .and_then(|v| rsipstack::transport::SipConnection::parse_target_from_via(v).ok())
        .and_then(|(_, hp)| SocketAddr::try_from(hp).ok())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let Some(cseq) = req.cseq_header().ok().and_then(|c| c.seq().ok()) else {
        let _ = tx.reply(rsipstack::sip::StatusCode::BadRequest).await;
        return;
    };
    let request = RegisterRequest {
        uri: req.uri.to_string(),
        to: req.header_value("To").unwrap_or_default(),
        from: req.header_value("From").unwrap_or_default(),
        contacts: values("Contact"),
        expires: req.header_value("Expires"),
        call_id: req.header_value("Call-ID").unwrap_or_default(),
        cseq,
        authorization: req.header_value("Authorization"),
        source,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let reply = registrar.register(&request, now);
    let headers = reply
        .headers
        .into_iter()
        .map(|(n, v)| rsipstack::sip::Header::Other(n, v))
        .collect();
    if let Err(e) = tx
        .reply_with(
            rsipstack::sip::StatusCode::from(reply.status),
            headers,
            None,
        )
        .await
    {
        tracing::debug!(error = %e, "REGISTER reply failed");
    }
}

#[cfg(test)]
mod tests {
    use super::super::digest::{ha1, response};
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn registrar() -> (Registrar, tokio::sync::mpsc::UnboundedReceiver<Binding>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let agents = [
            ("alice".to_string(), Some(ha1("alice", "kefu", "pw-a"))),
            ("bob".to_string(), None),
        ];
        (Registrar::new("kefu", agents, b"k", Some(tx)), rx)
    }

    struct Phone {
        nonce: String,
        nc: u32,
        call_id: String,
        cseq: u32,
    }

    impl Phone {
        fn new(r: &Registrar) -> Phone {
            Phone {
                nonce: r.digest.nonce(NOW),
                nc: 0,
                call_id: "c1".into(),
                cseq: 0,
            }
        }

        fn send(
            &mut self,
            r: &Registrar,
            user: &str,
            contacts: &[&str],
            expires: Option<&str>,
        ) -> RegisterReply {
            self.nc += 1;
            self.cseq += 1;
            let nc = format!("{:08x}", self.nc);
            let uri = "sip:127.0.0.1";
            let h = ha1(user, "kefu", "pw-a");
            let resp = response(&h, &self.nonce, &nc, "cn", "REGISTER", uri);
            let auth = format!(
                "Digest username=\"{user}\",realm=\"kefu\",nonce=\"{}\",uri=\"{uri}\",\
                 response=\"{resp}\",qop=auth,nc={nc},cnonce=\"cn\"",
                self.nonce
            );
            let to = format!("<sip:{user}@127.0.0.1>");
            let req = RegisterRequest {
                uri: uri.into(),
                to: to.clone(),
                from: to,
                contacts: contacts.iter().map(|c| c.to_string()).collect(),
                expires: expires.map(String::from),
                call_id: self.call_id.clone(),
                cseq: self.cseq,
                authorization: Some(auth),
                source: ([127, 0, 0, 1], 5070).into(),
            };
            r.register(&req, NOW + 1)
        }
    }

    #[test]
    fn challenge_then_bind_and_presence() {
        let (r, mut rx) = registrar();
        let to = "<sip:alice@127.0.0.1>".to_string();
        let req = RegisterRequest {
            uri: "sip:127.0.0.1".into(),
            to: to.clone(),
            from: to,
            contacts: vec!["<sip:alice@10.0.0.5:5070>".into()],
            expires: None,
            call_id: "c1".into(),
            cseq: 1,
            authorization: None,
            source: ([127, 0, 0, 1], 5070).into(),
        };
        let first = r.register(&req, NOW);
        assert_eq!(first.status, 401);
        assert!(first.headers[0].1.starts_with("Digest realm=\"kefu\""));
        let mut p = Phone::new(&r);
        let ok = p.send(
            &r,
            "alice",
            &["<sip:alice@10.0.0.5:5070>;expires=120"],
            None,
        );
        assert_eq!(ok.status, 200, "{ok:?}");
        assert_eq!(
            ok.headers[0],
            (
                "Contact".into(),
                "<sip:alice@10.0.0.5:5070>;expires=120".into()
            )
        );
        assert_eq!(ok.headers[1].0, "Date");
        assert_eq!(
            r.contact("alice").as_deref(),
            Some("sip:alice@10.0.0.5:5070")
        );
        assert!(matches!(rx.try_recv(), Ok(Binding::Online { .. })));
        // A second contact: the newest is where transfers go.
        let ok = p.send(&r, "alice", &["sip:alice@10.0.0.6"], Some("600"));
        assert_eq!(ok.headers.len(), 3);
        assert_eq!(r.contact("alice").as_deref(), Some("sip:alice@10.0.0.6"));
        assert!(rx.try_recv().is_err());
        // Removing one keeps the agent online; `*` removes all.
        assert_eq!(
            p.send(&r, "alice", &["sip:alice@10.0.0.6;expires=0"], None)
                .status,
            200
        );
        assert!(rx.try_recv().is_err());
        assert_eq!(p.send(&r, "alice", &["*"], Some("0")).status, 200);
        assert_eq!(r.contact("alice"), None);
        assert!(matches!(rx.try_recv(), Ok(Binding::Offline { .. })));
    }

    #[test]
    fn refusals() {
        let (r, _rx) = registrar();
        let mut p = Phone::new(&r);
        let short = p.send(&r, "alice", &["<sip:a@h>"], Some("10"));
        assert_eq!(short.status, 423);
        assert_eq!(short.headers, vec![("Min-Expires".into(), "60".into())]);
        assert_eq!(p.send(&r, "alice", &["*"], None).status, 400);
        assert_eq!(p.send(&r, "alice", &["http://x"], None).status, 400);
        assert_eq!(p.send(&r, "carol", &["<sip:c@h>"], None).status, 403);
        assert_eq!(p.send(&r, "bob", &["<sip:b@h>"], None).status, 403);
        // Long asks are shortened to the maximum.
        let long = p.send(&r, "alice", &["<sip:a@h>"], Some("99999"));
        assert_eq!(long.headers[0].1, "<sip:a@h>;expires=7200");
        // An older CSeq of the same Call-ID (§10.3 step 7).
        p.cseq -= 2;
        assert_eq!(p.send(&r, "alice", &["<sip:a@h>"], None).status, 500);
    }

    #[test]
    fn lists_without_contact_and_expires_in_sweep() {
        let (r, mut rx) = registrar();
        let mut p = Phone::new(&r);
        assert_eq!(p.send(&r, "alice", &["<sip:a@h>"], Some("60")).status, 200);
        let list = p.send(&r, "alice", &[], None);
        assert_eq!(
            list.headers[0],
            ("Contact".into(), "<sip:a@h>;expires=60".into())
        );
        assert!(matches!(rx.try_recv(), Ok(Binding::Online { .. })));
        r.sweep(NOW + 30);
        assert!(r.contact("alice").is_some());
        r.sweep(NOW + 62);
        assert!(r.contact("alice").is_none());
        assert_eq!(
            rx.try_recv(),
            Ok(Binding::Offline {
                agent: "alice".into()
            })
        );
    }

    #[test]
    fn contact_lists_split_outside_quotes() {
        let e = parse_contacts(&["\"a, b\" <sip:a@h>;expires=5, sip:b@h;expires=0"]).unwrap();
        assert_eq!(
            e,
            vec![
                ContactEntry::Uri {
                    uri: "sip:a@h".into(),
                    expires: Some(5)
                },
                ContactEntry::Uri {
                    uri: "sip:b@h".into(),
                    expires: Some(0)
                },
            ]
        );
        assert!(parse_contacts(&["<sip:a@h;expires=x"]).is_err());
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
