//! Agents and queues in the configuration file: `[routing]`, `[[agents]]`
//! and `[[queues]]`, validated into [`RoutingConfig`].
//!
//! Agents register with kefu (kefu is their registrar) under their `id`,
//! with a `password` or its `ha1` (`hex MD5(id:realm:password)`, RFC 2617
//! §3.2.2.2), so passwords need not be stored in clear. Queues say which
//! skills they need and where callers go when nobody answers in time. Every
//! error names the file, the line and the key.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;

/// Agents, queues and the digest realm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingConfig {
    /// Digest realm of the registrar (default `kefu`).
    pub realm: String,
    /// The agents, in file order.
    pub agents: Vec<AgentConfig>,
    /// The queues, in file order.
    pub queues: Vec<QueueConfig>,
}

/// One human agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// Unique id, also the SIP user name it registers with.
    pub id: String,
    /// Display name (defaults to the id).
    pub name: String,
    /// Password for registering, in clear.
    pub password: Option<String>,
    /// Or its HA1, lower-case hex.
    pub ha1: Option<String>,
    /// A static SIP URI, used when the agent is not registered.
    pub uri: Option<String>,
    /// Skill levels, 1-10.
    pub skills: BTreeMap<String, u8>,
    /// Languages spoken.
    pub languages: Vec<String>,
    /// Region served, if any.
    pub region: Option<String>,
    /// Calls at once (at least 1).
    pub max_calls: u32,
    /// Rest after a call before the next one is offered.
    pub wrap_up_secs: u32,
}

impl AgentConfig {
    /// HA1 for `realm`, if the agent may register.
    pub fn ha1(&self, realm: &str) -> Option<String> {
        match (&self.ha1, &self.password) {
            (Some(h), _) => Some(h.clone()),
            (None, Some(p)) => Some(crate::signalling::digest::ha1(&self.id, realm, p)),
            (None, None) => None,
        }
    }
}

pub use kefu_core::acd::{Overflow, Strategy};

/// One queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Unique name (`queue:NAME` in dialplans).
    pub name: String,
    /// How agents are picked.
    pub strategy: Strategy,
    /// Minimum skill levels, 1-10.
    pub skills: BTreeMap<String, u8>,
    /// Whether the caller's language must be spoken by the agent.
    pub language_required: bool,
    /// Longest wait before the overflow.
    pub max_wait_secs: u32,
    /// Where callers go after `max_wait_secs` (`Overflow::None` keeps them
    /// waiting).
    pub overflow: Overflow,
    /// How often the caller hears the queue announcement.
    pub announce_secs: u32,
    /// How long an agent's phone rings before the next agent is tried.
    pub ring_secs: u32,
    /// Callers go back to the bot at once when no agent is online.
    pub empty_to_bot: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouting {
    realm: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
    id: Spanned<String>,
    name: Option<String>,
    password: Option<Spanned<String>>,
    ha1: Option<Spanned<String>>,
    uri: Option<Spanned<String>>,
    #[serde(default)]
    skills: BTreeMap<String, Spanned<i64>>,
    #[serde(default)]
    languages: Vec<String>,
    region: Option<String>,
    max_calls: Option<Spanned<i64>>,
    wrap_up_secs: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    name: Spanned<String>,
    strategy: Option<Spanned<String>>,
    #[serde(default)]
    skills: BTreeMap<String, Spanned<i64>>,
    language_required: Option<bool>,
    max_wait_secs: Option<Spanned<i64>>,
    overflow: Option<Spanned<String>>,
    announce_secs: Option<Spanned<i64>>,
    ring_secs: Option<Spanned<i64>>,
    empty_to_bot: Option<bool>,
}

/// Errors in `file` (whose text is `text`) name the line and key.
struct Cx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Cx<'_> {
    fn bad<T>(&self, key: &str, span: Range<usize>, message: String) -> Result<T, ConfigError> {
        let end = span.start.min(self.text.len());
        Err(ConfigError::Invalid {
            file: self.file.to_string(),
            line: self.text.as_bytes()[..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1,
            key: key.to_string(),
            message,
        })
    }

    fn int(
        &self,
        key: &str,
        v: &Option<Spanned<i64>>,
        default: u32,
        lo: u32,
        hi: u32,
    ) -> Result<u32, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) if (i64::from(lo)..=i64::from(hi)).contains(s.get_ref()) => {
                Ok(*s.get_ref() as u32)
            }
            Some(s) => self.bad(
                key,
                s.span(),
                format!("{} is outside {lo}..={hi}", s.get_ref()),
            ),
        }
    }

    fn skills(
        &self,
        key: &str,
        raw: &BTreeMap<String, Spanned<i64>>,
    ) -> Result<BTreeMap<String, u8>, ConfigError> {
        let mut out = BTreeMap::new();
        for (name, level) in raw {
            if !(1..=10).contains(level.get_ref()) {
                return self.bad(
                    &format!("{key}.{name}"),
                    level.span(),
                    format!("level {} is outside 1..=10", level.get_ref()),
                );
            }
            out.insert(name.clone(), *level.get_ref() as u8);
        }
        Ok(out)
    }
}

/// Validates the routing part of the file.
pub(super) fn validate(
    file: &str,
    text: &str,
    raw: &RawRouting,
    agents: &[RawAgent],
    queues: &[RawQueue],
) -> Result<RoutingConfig, ConfigError> {
    let cx = Cx { file, text };
    let realm = match &raw.realm {
        None => "kefu".to_string(),
        Some(r) if r.get_ref().is_empty() || r.get_ref().contains(['"', '\\']) => {
            return cx.bad(
                "routing.realm",
                r.span(),
                "must be non-empty, without quotes or backslashes".into(),
            )
        }
        Some(r) => r.get_ref().clone(),
    };
    let mut out = RoutingConfig {
        realm,
        agents: Vec::new(),
        queues: Vec::new(),
    };
    let mut ids = HashSet::new();
    for (i, a) in agents.iter().enumerate() {
        let agent = agent(&cx, i, a)?;
        if !ids.insert(agent.id.clone()) {
            return cx.bad(
                &format!("agents[{i}].id"),
                a.id.span(),
                format!("another agent is already {:?}", agent.id),
            );
        }
        out.agents.push(agent);
    }
    let names: Vec<&str> = queues.iter().map(|q| q.name.get_ref().as_str()).collect();
    for (i, q) in queues.iter().enumerate() {
        if names[..i].contains(&q.name.get_ref().as_str()) {
            return cx.bad(
                &format!("queues[{i}].name"),
                q.name.span(),
                format!("another queue is already {:?}", q.name.get_ref()),
            );
        }
        out.queues.push(queue(&cx, i, q, &names)?);
    }
    Ok(out)
}

fn agent(cx: &Cx<'_>, i: usize, a: &RawAgent) -> Result<AgentConfig, ConfigError> {
    let key = |k: &str| format!("agents[{i}].{k}");
    let id = a.id.get_ref().trim().to_string();
    let sip_user = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()+".contains(c);
    if id.is_empty() || !id.chars().all(sip_user) {
        return cx.bad(
            &key("id"),
            a.id.span(),
            format!("{id:?} is not a SIP user name (letters, digits, - _ . + only)"),
        );
    }
    if let (Some(_), Some(h)) = (&a.password, &a.ha1) {
        return cx.bad(
            &key("ha1"),
            h.span(),
            "give password or ha1, not both".into(),
        );
    }
    if let Some(p) = &a.password {
        if p.get_ref().is_empty() {
            return cx.bad(&key("password"), p.span(), "must not be empty".into());
        }
    }
    let ha1 = match &a.ha1 {
        Some(h)
            if h.get_ref().len() != 32 || !h.get_ref().chars().all(|c| c.is_ascii_hexdigit()) =>
        {
            return cx.bad(
                &key("ha1"),
                h.span(),
                "must be 32 hex digits: MD5(id:realm:password)".into(),
            )
        }
        Some(h) => Some(h.get_ref().to_ascii_lowercase()),
        None => None,
    };
    let uri = match &a.uri {
        Some(u)
            if !(u.get_ref().starts_with("sip:") || u.get_ref().starts_with("sips:"))
                || u.get_ref().len() < 6 =>
        {
            return cx.bad(
                &key("uri"),
                u.span(),
                format!("{:?} is not a sip: URI", u.get_ref()),
            )
        }
        Some(u) => Some(u.get_ref().clone()),
        None => None,
    };
    Ok(AgentConfig {
        name: a.name.clone().unwrap_or_else(|| id.clone()),
        password: a.password.as_ref().map(|p| p.get_ref().clone()),
        ha1,
        uri,
        skills: cx.skills(&key("skills"), &a.skills)?,
        languages: a.languages.clone(),
        region: a.region.clone(),
        max_calls: cx.int(&key("max_calls"), &a.max_calls, 1, 1, 100)?,
        wrap_up_secs: cx.int(&key("wrap_up_secs"), &a.wrap_up_secs, 15, 0, 3600)?,
        id,
    })
}

fn queue(cx: &Cx<'_>, i: usize, q: &RawQueue, names: &[&str]) -> Result<QueueConfig, ConfigError> {
    let key = |k: &str| format!("queues[{i}].{k}");
    let name = q.name.get_ref().clone();
    if name.trim().is_empty() || name.contains(char::is_whitespace) {
        return cx.bad(&key("name"), q.name.span(), "must be one word".into());
    }
    let strategy = match &q.strategy {
        None => Strategy::LongestIdle,
        Some(s) => match Strategy::parse(s.get_ref()) {
            Some(st) => st,
            None => {
                let names: Vec<&str> = Strategy::ALL.iter().map(|st| st.name()).collect();
                return cx.bad(
                    &key("strategy"),
                    s.span(),
                    format!("unknown strategy {:?} ({})", s.get_ref(), names.join(", ")),
                );
            }
        },
    };
    let overflow = match &q.overflow {
        None => Overflow::None,
        Some(o) if o.get_ref() == "bot" => Overflow::Bot,
        Some(o) => match o.get_ref().strip_prefix("queue:") {
            Some(n) if n == name => {
                return cx.bad(
                    &key("overflow"),
                    o.span(),
                    "a queue cannot overflow to itself".into(),
                )
            }
            Some(n) if names.contains(&n) => Overflow::Queue(n.to_string()),
            Some(n) => {
                return cx.bad(
                    &key("overflow"),
                    o.span(),
                    format!("no queue is named {n:?}"),
                )
            }
            None => {
                return cx.bad(
                    &key("overflow"),
                    o.span(),
                    format!("{:?}: expected \"bot\" or \"queue:NAME\"", o.get_ref()),
                )
            }
        },
    };
    Ok(QueueConfig {
        strategy,
        skills: cx.skills(&key("skills"), &q.skills)?,
        language_required: q.language_required.unwrap_or(false),
        max_wait_secs: cx.int(&key("max_wait_secs"), &q.max_wait_secs, 120, 1, 86_400)?,
        overflow,
        announce_secs: cx.int(&key("announce_secs"), &q.announce_secs, 30, 0, 3600)?,
        ring_secs: cx.int(&key("ring_secs"), &q.ring_secs, 20, 5, 600)?,
        empty_to_bot: q.empty_to_bot.unwrap_or(true),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Overrides, Settings};
    use super::*;

    fn load(text: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kefu.toml");
        std::fs::write(&p, text).expect("write");
        Settings::load(Some(&p), &Overrides::default())
    }

    fn err(text: &str) -> String {
        load(text).expect_err("must fail").to_string()
    }

    const FULL: &str = r#"
[routing]
realm = "shop"

[[agents]]
id = "alice"
name = "Alice Wang"
password = "s3cret"
uri = "sip:alice@10.0.0.5"
skills = { after_sales = 8, billing = 5 }
languages = ["mandarin", "cantonese"]
region = "guangdong"
max_calls = 2
wrap_up_secs = 10

[[agents]]
id = "bob"
ha1 = "0123456789ABCDEF0123456789abcdef"

[[queues]]
name = "after_sales"
strategy = "skill_level"
skills = { after_sales = 3 }
max_wait_secs = 60
overflow = "queue:billing"
ring_secs = 15

[[queues]]
name = "billing"
overflow = "bot"
"#;

    #[test]
    fn full_file() {
        let r = load(FULL).expect("valid").routing;
        assert_eq!(r.realm, "shop");
        let a = &r.agents[0];
        assert_eq!(
            (a.id.as_str(), a.name.as_str(), a.max_calls),
            ("alice", "Alice Wang", 2)
        );
        assert_eq!(a.skills.get("after_sales"), Some(&8));
        assert_eq!(
            a.ha1("shop"),
            Some(crate::signalling::digest::ha1("alice", "shop", "s3cret"))
        );
        let b = &r.agents[1];
        assert_eq!(
            (b.name.as_str(), b.max_calls, b.wrap_up_secs),
            ("bob", 1, 15)
        );
        assert_eq!(
            b.ha1("shop").as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        let q = &r.queues[0];
        assert_eq!(q.strategy, Strategy::SkillLevel);
        assert_eq!(q.overflow, Overflow::Queue("billing".into()));
        assert_eq!(
            (q.max_wait_secs, q.ring_secs, q.announce_secs),
            (60, 15, 30)
        );
        assert_eq!(r.queues[1].strategy, Strategy::LongestIdle);
        assert!(r.queues[1].empty_to_bot);
    }

    #[test]
    fn no_routing_means_no_agents() {
        let s = Settings::load(None, &Overrides::default()).expect("defaults");
        assert_eq!(s.routing.realm, "kefu");
        assert!(s.routing.agents.is_empty() && s.routing.queues.is_empty());
    }

    #[test]
    fn errors_name_line_and_key() {
        let m = err("[[agents]]\nid = \"a\"\nskills = { x = 11 }\n");
        assert!(
            m.ends_with("kefu.toml:3: agents[0].skills.x: level 11 is outside 1..=10"),
            "{m}"
        );
        let m = err("[[agents]]\nid = \"a\"\n[[agents]]\nid = \"a\"\n");
        assert!(
            m.ends_with(":4: agents[1].id: another agent is already \"a\""),
            "{m}"
        );
        let m = err("[[agents]]\nid = \"a\"\nmax_calls = 0\n");
        assert!(
            m.ends_with(":3: agents[0].max_calls: 0 is outside 1..=100"),
            "{m}"
        );
        let m = err("[[agents]]\nid = \"a\"\npassword = \"p\"\nha1 = \"00000000000000000000000000000000\"\n");
        assert!(
            m.contains("agents[0].ha1: give password or ha1, not both"),
            "{m}"
        );
        let m = err("[[agents]]\nid = \"a b\"\n");
        assert!(m.contains("agents[0].id:"), "{m}");
        let m = err("[[agents]]\nid = \"a\"\nuri = \"tel:123\"\n");
        assert!(m.contains("agents[0].uri:"), "{m}");
        let m = err("[[agents]]\nid = \"a\"\nha1 = \"xyz\"\n");
        assert!(m.contains("agents[0].ha1: must be 32 hex digits"), "{m}");
    }

    #[test]
    fn queue_errors() {
        let m = err("[[queues]]\nname = \"q\"\noverflow = \"queue:q\"\n");
        assert!(
            m.ends_with(":3: queues[0].overflow: a queue cannot overflow to itself"),
            "{m}"
        );
        let m = err("[[queues]]\nname = \"q\"\noverflow = \"queue:nope\"\n");
        assert!(
            m.ends_with("queues[0].overflow: no queue is named \"nope\""),
            "{m}"
        );
        let m = err("[[queues]]\nname = \"q\"\noverflow = \"agent\"\n");
        assert!(m.contains("expected \"bot\" or \"queue:NAME\""), "{m}");
        let m = err("[[queues]]\nname = \"q\"\nstrategy = \"random\"\n");
        assert!(
            m.contains("queues[0].strategy: unknown strategy \"random\""),
            "{m}"
        );
        let m = err("[[queues]]\nname = \"q\"\n[[queues]]\nname = \"q\"\n");
        assert!(m.contains(":4: queues[1].name: another queue"), "{m}");
        let m = err("[[queues]]\nname = \"q\"\nskills = { a = 0 }\n");
        assert!(
            m.contains("queues[0].skills.a: level 0 is outside 1..=10"),
            "{m}"
        );
        let m = err("[[queues]]\nname = \"q\"\ncolour = 1\n");
        assert!(m.contains("colour"), "{m}");
        let m = err("[routing]\nrealm = \"\"\n");
        assert!(m.contains(":2: routing.realm:"), "{m}");
    }
}
