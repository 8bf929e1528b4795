//! HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 2617 §3, RFC 8760
//! for the `algorithm` names): the challenge kefu sends, and the check of the
//! `Authorization` a peer answers with.
//!
//! Only `MD5` and `MD5-sess` with `qop=auth` are accepted: that is what every
//! softphone implements. Nonces are stateless (`<time>.<HMAC-SHA256(secret,
//! time.n)>`, `n` a per-process counter so that every challenge has its own nonce),
//! valid for [`NONCE_LIFETIME_SECS`]; an expired one earns a
//! challenge with `stale=true` (RFC 2617 §3.2.1), so the phone retries with
//! the same credentials. Replay is refused by the nonce count: the highest
//! `nc` seen per recent nonce is remembered, in bounded memory.
//!
//! Time enters as `now` (seconds since the Unix epoch); nothing here reads a
//! clock. Passwords are not needed in clear: [`Credentials`] hands out HA1.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;

/// How long a nonce is accepted after it was issued.
pub const NONCE_LIFETIME_SECS: u64 = 300;

/// How many nonces the replay check remembers at most.
const MAX_TRACKED: usize = 10_000;

/// Where HA1 values come from (`hex MD5(user:realm:password)`).
pub trait Credentials: Send + Sync {
    /// HA1 of `user` in `realm`, or `None` for an unknown user.
    fn ha1(&self, user: &str, realm: &str) -> Option<String>;
}

/// `hex MD5(user:realm:password)` (RFC 2617 §3.2.2.2).
pub fn ha1(user: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{user}:{realm}:{password}"))
}

/// Lower-case hex MD5 of `s`.
pub fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// The expected `response` for `qop=auth` (RFC 2617 §3.2.2.1); `ha1` is
/// already the session HA1 for `MD5-sess`.
pub fn response(ha1: &str, nonce: &str, nc: &str, cnonce: &str, method: &str, uri: &str) -> String {
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
}

/// Why an `Authorization` was not accepted; whose fault: the peer's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The header is not a Digest credential, or cannot be parsed.
    #[error("malformed Authorization: {0}")]
    Malformed(String),
    /// A required parameter is absent.
    #[error("Authorization lacks `{0}`")]
    Missing(&'static str),
    /// The realm is not ours.
    #[error("wrong realm")]
    Realm,
    /// The nonce was not issued by us.
    #[error("unknown nonce")]
    Nonce,
    /// The nonce was ours but has expired: challenge again with `stale=true`.
    #[error("stale nonce")]
    Stale,
    /// Algorithm or qop we do not support.
    #[error("unsupported {0}")]
    Unsupported(&'static str),
    /// The digest `uri` is not the request's URI.
    #[error("digest uri does not match the request")]
    Uri,
    /// The user is not known.
    #[error("unknown user")]
    User,
    /// The response does not match (wrong password).
    #[error("wrong response")]
    Response,
    /// The nonce count was not above the last one seen: a replay.
    #[error("nonce count replayed")]
    Replay,
}

/// Parses the parameters of a `Digest` credential or challenge:
/// `name=token` or `name="quoted \" string"`, comma separated, any order,
/// names case-insensitive (returned lower-case), spaces allowed around `=`
/// and `,`. The scheme (`Digest`) must come first.
pub fn parse_params(header: &str) -> Result<Vec<(String, String)>, DigestError> {
    let h = header.trim_start();
    let scheme_end = h.find(|c: char| c.is_whitespace()).unwrap_or(h.len());
    if !h[..scheme_end].eq_ignore_ascii_case("digest") {
        return Err(DigestError::Malformed("scheme is not Digest".into()));
    }
    let mut out = Vec::new();
    let mut chars = h[scheme_end..].chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            name.push(c);
            chars.next();
        }
        while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || name.is_empty() {
            return Err(DigestError::Malformed(format!(
                "expected name=value near {name:?}"
            )));
        }
        while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some(e) => value.push(e),
                        None => break,
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(DigestError::Malformed(format!(
                    "unterminated quote in {name}"
                )));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name.to_ascii_lowercase(), value));
    }
    Ok(out)
}

/// Issues challenges and verifies credentials for one realm.
pub struct Digest {
    realm: String,
    secret: Vec<u8>,
    seen: Mutex<Seen>,
    issued: std::sync::atomic::AtomicU64,
}

/// The replay memory: highest nc per nonce, and the issue time below which
/// forgotten nonces are treated as stale.
#[derive(Default)]
struct Seen {
    nc: HashMap<String, (u64, u32)>,
    floor: u64,
}

impl Digest {
    /// A verifier for `realm` whose nonces are signed with `secret` (random
    /// per process: nonces do not survive a restart, phones retry).
    pub fn new(realm: &str, secret: &[u8]) -> Digest {
        Digest {
            realm: realm.to_string(),
            secret: secret.to_vec(),
            seen: Mutex::new(Seen::default()),
            issued: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    fn mac(&self, stamp: &str) -> String {
        // HMAC takes keys of any length (RFC 2104 §2).
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(stamp.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// A fresh nonce issued at `now`.
    pub fn nonce(&self, now: u64) -> String {
        let n = self
            .issued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stamp = format!("{now}.{n}");
        format!("{stamp}.{}", self.mac(&stamp))
    }

    /// The `WWW-Authenticate` value for a challenge at `now`.
    pub fn challenge(&self, now: u64, stale: bool) -> String {
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"{}",
            self.realm,
            self.nonce(now),
            if stale { ", stale=true" } else { "" }
        )
    }

    /// The issue time of a nonce we made, if it is ours.
    fn issued(&self, nonce: &str) -> Option<u64> {
        let (stamp, mac) = nonce.rsplit_once('.')?;
        let time: u64 = stamp.split_once('.')?.0.parse().ok()?;
        let want = self.mac(stamp);
        // Both are ASCII hex of the same length when genuine.
        let same = want.len() == mac.len()
            && want
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then_some(time)
    }

    /// Checks an `Authorization` header value for a request with `method`
    /// and request-URI `uri`; returns the authenticated user name.
    pub fn verify(
        &self,
        header: &str,
        method: &str,
        uri: &str,
        creds: &dyn Credentials,
        now: u64,
    ) -> Result<String, DigestError> {
        let params = parse_params(header)?;
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let username = get("username").ok_or(DigestError::Missing("username"))?;
        let realm = get("realm").ok_or(DigestError::Missing("realm"))?;
        let nonce = get("nonce").ok_or(DigestError::Missing("nonce"))?;
        let duri = get("uri").ok_or(DigestError::Missing("uri"))?;
        let resp = get("response").ok_or(DigestError::Missing("response"))?;
        if realm != self.realm {
            return Err(DigestError::Realm);
        }
        let sess = match get("algorithm").map(|a| a.to_ascii_uppercase()).as_deref() {
            None | Some("MD5") => false,
            Some("MD5-SESS") => true,
            Some(_) => return Err(DigestError::Unsupported("algorithm")),
        };
        match get("qop") {
            Some(q) if q.eq_ignore_ascii_case("auth") => {}
            // Without qop there is no nonce count, so no replay check.
            None => return Err(DigestError::Missing("qop")),
            Some(_) => return Err(DigestError::Unsupported("qop")),
        }
        let nc_text = get("nc").ok_or(DigestError::Missing("nc"))?;
        let cnonce = get("cnonce").ok_or(DigestError::Missing("cnonce"))?;
        let nc = u32::from_str_radix(nc_text, 16)
            .ok()
            .filter(|_| nc_text.len() == 8)
            .ok_or_else(|| DigestError::Malformed("nc is not 8 hex digits".into()))?;
        // The digest `uri` names the request-URI (RFC 2617 §3.2.2.5).
        if !super::headers::same_uri(duri, uri) {
            return Err(DigestError::Uri);
        }
        let issued = self.issued(nonce).ok_or(DigestError::Nonce)?;
        if issued > now + 5 {
            return Err(DigestError::Nonce);
        }
        let mut ha1 = creds
            .ha1(username, &self.realm)
            .ok_or(DigestError::User)?
            .to_ascii_lowercase();
        if sess {
            ha1 = md5_hex(&format!("{ha1}:{nonce}:{cnonce}"));
        }
        let want = response(&ha1, nonce, nc_text, cnonce, method, duri);
        if !want.eq_ignore_ascii_case(resp) {
            return Err(DigestError::Response);
        }
        if now.saturating_sub(issued) > NONCE_LIFETIME_SECS {
            return Err(DigestError::Stale);
        }
        self.count(nonce, issued, nc, now)?;
        Ok(username.to_string())
    }

    /// Records `nc` for `nonce`; refuses a count not above the last one.
    fn count(&self, nonce: &str, issued: u64, nc: u32, now: u64) -> Result<(), DigestError> {
        let mut seen = self.seen.lock().map_err(|_| DigestError::Stale)?;
        if let Some((_, last)) = seen.nc.get(nonce) {
            if nc <= *last {
                return Err(DigestError::Replay);
            }
        } else if issued <= seen.floor {
            // Forgotten to keep memory bounded: the phone must take a new one.
            return Err(DigestError::Stale);
        }
        let horizon = now.saturating_sub(NONCE_LIFETIME_SECS);
        if seen.nc.len() >= MAX_TRACKED {
            seen.nc.retain(|_, (t, _)| *t >= horizon);
        }
        if seen.nc.len() >= MAX_TRACKED {
            let oldest = seen.nc.values().map(|(t, _)| *t).min().unwrap_or(issued);
            seen.nc.retain(|_, (t, _)| *t > oldest);
            seen.floor = seen.floor.max(oldest);
        }
        seen.nc.insert(nonce.to_string(), (issued, nc));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One(&'static str, &'static str);
    impl Credentials for One {
        fn ha1(&self, user: &str, realm: &str) -> Option<String> {
            (user == self.0).then(|| ha1(user, realm, self.1))
        }
    }

    #[test]
    fn rfc2617_example() {
        // RFC 2617 §3.5.
        let h = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        let r = response(
            &h,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "00000001",
            "0a4f113b",
            "GET",
            "/dir/index.html",
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn parses_quoted_escaped_any_order() {
        let p =
            parse_params(r#"Digest  Realm = "a \"b\", c" ,nc=00000001,USERNAME="x\\y", qop=auth"#)
                .unwrap();
        assert_eq!(p[0], ("realm".into(), "a \"b\", c".into()));
        assert_eq!(p[1], ("nc".into(), "00000001".into()));
        assert_eq!(p[2], ("username".into(), "x\\y".into()));
        assert_eq!(p[3], ("qop".into(), "auth".into()));
        assert!(parse_params("Basic abc").is_err());
        assert!(parse_params("Digest realm=\"open").is_err());
        assert!(parse_params("Digest =x").is_err());
    }

    fn auth(d: &Digest, nonce: &str, nc: &str, pw: &str, alg: &str) -> String {
        let mut h = ha1("alice", "kefu", pw);
        if alg == "MD5-sess" {
            h = md5_hex(&format!("{h}:{nonce}:cn1"));
        }
        let r = response(&h, nonce, nc, "cn1", "REGISTER", "sip:127.0.0.1");
        format!(
            "Digest username=\"alice\", realm=\"{}\", nonce=\"{nonce}\", uri=\"sip:127.0.0.1\", \
             response=\"{r}\", algorithm={alg}, qop=auth, nc={nc}, cnonce=\"cn1\"",
            d.realm()
        )
    }

    #[test]
    fn accepts_then_refuses_replay() {
        let d = Digest::new("kefu", b"secret");
        let creds = One("alice", "pw");
        let n = d.nonce(1000);
        let ok = |h: &str, now| d.verify(h, "REGISTER", "sip:127.0.0.1", &creds, now);
        assert_eq!(
            ok(&auth(&d, &n, "00000001", "pw", "MD5"), 1001),
            Ok("alice".into())
        );
        assert_eq!(
            ok(&auth(&d, &n, "00000001", "pw", "MD5"), 1002),
            Err(DigestError::Replay)
        );
        assert_eq!(
            ok(&auth(&d, &n, "00000002", "pw", "MD5-sess"), 1003),
            Ok("alice".into())
        );
        assert_eq!(
            ok(&auth(&d, &n, "00000003", "bad", "MD5"), 1003),
            Err(DigestError::Response)
        );
    }

    #[test]
    fn stale_forged_and_foreign() {
        let d = Digest::new("kefu", b"secret");
        let creds = One("alice", "pw");
        let n = d.nonce(1000);
        let v = |h: &str, now| d.verify(h, "REGISTER", "sip:127.0.0.1", &creds, now);
        let late = 1000 + NONCE_LIFETIME_SECS + 1;
        assert_eq!(
            v(&auth(&d, &n, "00000001", "pw", "MD5"), late),
            Err(DigestError::Stale)
        );
        let forged = "1000.0.00000000000000000000000000000000";
        assert_eq!(
            v(&auth(&d, forged, "00000001", "pw", "MD5"), 1001),
            Err(DigestError::Nonce)
        );
        let other = Digest::new("kefu", b"other");
        let theirs = other.nonce(1000);
        assert_eq!(
            v(&auth(&d, &theirs, "00000001", "pw", "MD5"), 1001),
            Err(DigestError::Nonce)
        );
        let h = auth(&d, &n, "00000001", "pw", "MD5").replace("sip:127.0.0.1\"", "sip:x\"");
        assert_eq!(v(&h, 1001), Err(DigestError::Uri));
        let h = auth(&d, &n, "00000001", "pw", "SHA-512");
        assert_eq!(v(&h, 1001), Err(DigestError::Unsupported("algorithm")));
        assert!(d.challenge(5, true).ends_with("stale=true"));
        assert!(d.challenge(5, false).contains("qop=\"auth\""));
    }

    #[test]
    fn memory_is_bounded_and_forgotten_nonces_are_stale() {
        let d = Digest::new("kefu", b"s");
        let now = 1_000_000;
        for i in 0..(MAX_TRACKED as u64 + 10) {
            d.count(&format!("n{i}"), now - 250 + i / 50, 1, now)
                .unwrap();
        }
        let seen = d.seen.lock().unwrap();
        assert!(seen.nc.len() <= MAX_TRACKED);
        assert!(seen.floor > 0);
        drop(seen);
        assert_eq!(d.count("n0", now - 250, 2, now), Err(DigestError::Stale));
    }
}
