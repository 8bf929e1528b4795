//! Webhook signatures: `Kefu-Signature: t=<unix seconds>,v1=<hex>` where
//! the hex is HMAC-SHA256 (RFC 2104) keyed with the endpoint's secret over
//! `"<t>.<body>"`.
//!
//! Signing the timestamp with the body lets a receiver refuse replays of an
//! old request; comparing in constant time keeps the MAC from leaking byte by
//! byte. A receiver checks a request in three steps, which [`verify`] does:
//! parse `t` and every `v1`, refuse a `t` too far from its own clock, then
//! recompute the MAC over the raw body bytes (before any JSON parsing) and
//! compare. More than one `v1` may appear so that a secret can be rotated.
//!
//! This module does not send anything; see `deliver` for the request.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The block size of SHA-256; HMAC keys are padded (or hashed) to it.
const BLOCK: usize = 64;

/// Why a signature was refused. All of these are the sender's fault (or an
/// attacker's): a receiver answers them with 400 or 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is not `t=<seconds>,v1=<hex>[,v1=<hex>…]`.
    #[error("malformed signature header: {0}")]
    Malformed(&'static str),
    /// The timestamp is further from the receiver's clock than allowed.
    #[error("signature timestamp {t} is {skew} s from now (tolerance {tolerance} s)")]
    Stale {
        /// The signed timestamp.
        t: i64,
        /// How far it is from now, in seconds.
        skew: i64,
        /// The allowed distance.
        tolerance: i64,
    },
    /// No `v1` value matches the body under this secret.
    #[error("signature does not match")]
    Mismatch,
}

/// The MAC state for `secret`. HMAC zero-pads keys up to the block size and
/// hashes longer ones first (RFC 2104 §2), so doing that here gives the same
/// MAC as any HMAC library while keeping key setup infallible.
fn mac(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    let mut key = [0u8; BLOCK];
    let bytes = secret.as_bytes();
    if bytes.len() > BLOCK {
        let hashed = Sha256::digest(bytes);
        key[..hashed.len()].copy_from_slice(&hashed);
    } else {
        key[..bytes.len()].copy_from_slice(bytes);
    }
    let mut mac = <HmacSha256 as KeyInit>::new(&key.into());
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` under `secret` (the `v1` value).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, t, body).finalize().into_bytes())
}

/// The `Kefu-Signature` header value for `body` sent at unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", signature(secret, t, body))
}

/// Checks a `Kefu-Signature` header against the raw request `body`: the
/// timestamp must be within `tolerance_secs` of `now_secs` and one `v1`
/// must equal the MAC (compared in constant time).
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed("expected name=value pairs"))?;
        match name {
            "t" if t.is_some() => return Err(SignatureError::Malformed("more than one t")),
            "t" => {
                let secs = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed("t is not a number"))?;
                t = Some(secs);
            }
            "v1" => {
                let tag =
                    hex::decode(value).map_err(|_| SignatureError::Malformed("v1 is not hex"))?;
                candidates.push(tag);
            }
            // Later schemes (v2…) are ignored so that a sender may add them.
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed("no t"))?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("no v1"));
    }
    let skew = now_secs.saturating_sub(t).saturating_abs();
    if skew > tolerance_secs {
        return Err(SignatureError::Stale {
            t,
            skew,
            tolerance: tolerance_secs,
        });
    }
    let matched = candidates
        .iter()
        .any(|tag| mac(secret, t, body).verify_slice(tag).is_ok());
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_0123456789abcdef";
    const BODY: &[u8] = br#"{"id":"call.ended:abc","type":"call.ended"}"#;

    // Computed independently with Python:
    // hmac.new(b'whsec_0123456789abcdef',
    //          b'1700000000.{"id":"call.ended:abc","type":"call.ended"}',
    //          hashlib.sha256).hexdigest()
    const KNOWN: &str = "0861a3be9b543ef1f4f0c57af30c1fe925961e77206540c28bd9736c8835650d";

    #[test]
    fn matches_an_independent_implementation() {
        assert_eq!(signature(SECRET, 1_700_000_000, BODY), KNOWN);
        assert_eq!(
            sign(SECRET, 1_700_000_000, BODY),
            format!("t=1700000000,v1={KNOWN}")
        );
    }

    #[test]
    fn keys_longer_and_equal_to_the_block_match_python() {
        // hmac.new(b'k'*100, b'42.hello', hashlib.sha256).hexdigest()
        assert_eq!(
            signature(&"k".repeat(100), 42, b"hello"),
            "600659150d4b57b9b16f490d05e004959e7a547f26e9a42b8f57dc34cbb16a30"
        );
        // hmac.new(b'k'*64, b'42.hello', hashlib.sha256).hexdigest()
        assert_eq!(
            signature(&"k".repeat(64), 42, b"hello"),
            "332b43fb085fa4a1cf9b31e603c45ad7b79f195a62bee429f395fe152d5e352b"
        );
    }

    #[test]
    fn verify_accepts_what_sign_produced() {
        let header = sign(SECRET, 1_000, BODY);
        assert_eq!(verify(SECRET, &header, BODY, 1_000, 300), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, 1_299, 300), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, 701, 300), Ok(()));
    }

    #[test]
    fn verify_refuses_a_changed_body_or_another_secret() {
        let header = sign(SECRET, 1_000, BODY);
        let changed = br#"{"id":"call.ended:abd","type":"call.ended"}"#;
        assert_eq!(
            verify(SECRET, &header, changed, 1_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("another-secret-entirely", &header, BODY, 1_000, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn verify_refuses_a_replayed_timestamp() {
        // The MAC covers t, so moving t invalidates it…
        let forged = format!("t=2000,v1={}", signature(SECRET, 1_000, BODY));
        assert_eq!(
            verify(SECRET, &forged, BODY, 2_000, 300),
            Err(SignatureError::Mismatch)
        );
        // …and an old, valid one is too old.
        let old = sign(SECRET, 1_000, BODY);
        assert_eq!(
            verify(SECRET, &old, BODY, 1_301, 300),
            Err(SignatureError::Stale {
                t: 1_000,
                skew: 301,
                tolerance: 300
            })
        );
    }

    #[test]
    fn verify_accepts_any_matching_v1_for_rotation() {
        let good = signature(SECRET, 5, BODY);
        let header = format!("t=5, v1={}, v1={good}", "00".repeat(32));
        assert_eq!(verify(SECRET, &header, BODY, 5, 10), Ok(()));
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        for header in [
            "",
            "t=5",
            "v1=00",
            "t=x,v1=00",
            "t=5,v1=zz",
            "t=5,t=6,v1=00",
            "garbage",
            "t=9223372036854775807,v1=00",
        ] {
            let r = verify(SECRET, header, BODY, i64::MIN, 300);
            assert!(r.is_err(), "{header:?} accepted");
        }
    }
}
