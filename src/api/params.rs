//! Query-string parameters: percent-decoding, and typed values with
//! errors that name the parameter and say what was expected.
//!
//! Unknown parameters are refused (400) rather than ignored, so that a
//! misspelt filter (`?phone=` for `?number=`) cannot silently return every
//! call. An empty value counts as absent, as HTML forms send them.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate};

use super::error::{ApiError, ApiResult};
use crate::storage::Millis;

/// The query string of a request, decoded.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, ApiError> {
        Params::parse(parts.uri.query().unwrap_or(""))
    }
}

impl Params {
    /// Decodes `a=1&b=x%20y` (`+` is a space).
    pub fn parse(raw: &str) -> ApiResult<Params> {
        let mut pairs = Vec::new();
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k)?, decode(v)?));
        }
        Ok(Params(pairs))
    }

    /// Refuses parameters outside `known`.
    pub fn only(&self, known: &[&str]) -> ApiResult<()> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((k, _)) => Err(ApiError::bad_request(format!(
                "unknown parameter {k:?} (this route takes: {})",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The value of `key`, if given and not empty (the last one wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A text value of at most `max` characters.
    pub fn text(&self, key: &str, max: usize) -> ApiResult<Option<String>> {
        match self.get(key) {
            Some(v) if v.chars().count() > max => Err(ApiError::bad_request(format!(
                "{key}: at most {max} characters"
            ))),
            v => Ok(v.map(str::to_string)),
        }
    }

    /// One of `choices`, or `default`.
    pub fn choice(&self, key: &str, choices: &[&'static str]) -> ApiResult<&'static str> {
        match self.get(key) {
            None => Ok(choices.first().copied().unwrap_or("")),
            Some(v) => choices.iter().copied().find(|c| *c == v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{key}: expected one of {}, got {v:?}",
                    choices.join(", ")
                ))
            }),
        }
    }

    /// An integer in `lo..=hi`.
    pub fn int(&self, key: &str, lo: i64, hi: i64) -> ApiResult<Option<i64>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::bad_request(format!(
                "{key}: expected a whole number from {lo} to {hi}, got {v:?}"
            ))),
        }
    }

    /// A point in time: RFC 3339, a date `YYYY-MM-DD` (local midnight at
    /// `tz_offset_min`; with `end_of_day`, the midnight after it, so that
    /// `to=2024-11-11` includes that day) or milliseconds since 1970.
    pub fn time(
        &self,
        key: &str,
        end_of_day: bool,
        tz_offset_min: i32,
    ) -> ApiResult<Option<Millis>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        parse_time(v, end_of_day, tz_offset_min)
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{key}: expected RFC 3339 (2024-11-11T08:00:00+08:00), a date \
                     (2024-11-11) or milliseconds since 1970, got {v:?}"
                ))
            })
    }
}

/// Parses a time as [`Params::time`] describes.
pub fn parse_time(v: &str, end_of_day: bool, tz_offset_min: i32) -> Option<Millis> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<Millis>().ok();
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let d = if end_of_day { d.succ_opt()? } else { d };
        let utc = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        return Some(utc - i64::from(tz_offset_min) * 60_000);
    }
    DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// `%E5%AE%A2+x` -> `客 x`; malformed escapes are refused.
fn decode(s: &str) -> ApiResult<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("bad percent-escape in query: {s:?}"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::bad_request(format!("query is not UTF-8 after decoding: {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chinese_and_plus() {
        let p = Params::parse("text=%E5%BF%AB%E9%80%92&number=%2B86+1").unwrap();
        assert_eq!(p.get("text"), Some("快递"));
        assert_eq!(p.get("number"), Some("+86 1"));
        assert!(Params::parse("a=%zz").is_err());
        assert!(Params::parse("a=%ff").is_err());
        assert!(p.only(&["text"]).is_err());
        assert!(p.only(&["text", "number"]).is_ok());
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time("1700000000000", false, 0),
            Some(1_700_000_000_000)
        );
        let day = parse_time("2024-11-11", false, 0).unwrap();
        assert_eq!(parse_time("2024-11-11T00:00:00Z", false, 0), Some(day));
        assert_eq!(parse_time("2024-11-11", true, 0), Some(day + 86_400_000));
        assert_eq!(
            parse_time("2024-11-11", false, 480),
            Some(day - 480 * 60_000)
        );
        assert_eq!(parse_time("2024-11-11T08:00:00+08:00", false, 0), Some(day));
        assert_eq!(parse_time("yesterday", false, 0), None);
        assert_eq!(parse_time("2024-13-01", false, 0), None);
    }
}
