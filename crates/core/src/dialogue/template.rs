//! Text with `{variables}`: prompts, URLs, request bodies.
//!
//! `{name}` and `{profile.vip}` are replaced by the variable's value (empty
//! when unset); `{{` and `}}` stand for literal braces. A template is parsed
//! once when the dialplan loads, so a stray brace is an operator error shown
//! by `kefu dialplan check`, not a surprise during a call.

use std::fmt::Write;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
    /// `{name:digits}`: the value's characters one by one, so an order
    /// number is read digit by digit ("1 2 3"), not as a quantity.
    Spelled(String),
}

/// How substituted values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As they are (spoken text).
    None,
    /// Percent-encoded (URL path and query).
    Url,
    /// Escaped for the inside of a JSON string.
    Json,
}

/// A template that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

impl Template {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut spelled = false;
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(':') if !spelled => {
                                let format: String =
                                    chars.by_ref().take_while(|c| *c != '}').collect();
                                if format != "digits" {
                                    return Err(TemplateError(format!(
                                        "`{{{name}:{format}}}`: the only format is `:digits`"
                                    )));
                                }
                                spelled = true;
                                break;
                            }
                            Some(c) if c.is_alphanumeric() || c == '_' || c == '.' => {
                                name.push(c)
                            }
                            Some(c) => {
                                return Err(TemplateError(format!(
                                    "`{c}` inside {{...}}: a variable name has letters, digits, `_` and `.` (write {{{{ for a brace)"
                                )))
                            }
                            None => {
                                return Err(TemplateError(
                                    "a `{` is not closed (write {{ for a brace)".into(),
                                ))
                            }
                        }
                    }
                    if name.is_empty() || name.starts_with('.') || name.ends_with('.') {
                        return Err(TemplateError(format!(
                            "`{{{name}}}` is not a variable name"
                        )));
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(if spelled {
                        Part::Spelled(name)
                    } else {
                        Part::Var(name)
                    });
                }
                '}' => {
                    return Err(TemplateError(
                        "a `}` without `{` (write }} for a brace)".into(),
                    ))
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            parts,
            source: source.to_string(),
        })
    }

    /// A template without variables.
    pub fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Text(text.to_string())],
            source: text.replace('{', "{{").replace('}', "}}"),
        }
    }

    /// What the operator wrote.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables it uses, in order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) | Part::Spelled(v) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The text with every variable replaced by `lookup(name)` (empty when
    /// `None`), escaped as asked.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>, escape: Escape) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) | Part::Spelled(v) => {
                    let mut value = lookup(v).unwrap_or_default();
                    if matches!(p, Part::Spelled(_)) {
                        value = spell(&value);
                    }
                    match escape {
                        Escape::None => out.push_str(&value),
                        // The base of a URL (`{crm}/orders/...`: before
                        // its path starts) is taken as written.
                        Escape::Url if !path_started(&out) => out.push_str(&value),
                        Escape::Url => percent_encode(&value, &mut out),
                        Escape::Json => json_escape(&value, &mut out),
                    }
                }
            }
        }
        out
    }
}

/// `12345` -> `1 2 3 4 5` (letters too: `R12` -> `R 1 2`).
fn spell(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars().filter(|c| !c.is_whitespace()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Whether the URL written so far has reached its path (RFC 3986 §3:
/// a `/` after the `scheme://authority`).
fn path_started(url: &str) -> bool {
    match url.find("://") {
        Some(i) => url[i + 3..].contains('/'),
        None => url.contains('/'),
    }
}

/// RFC 3986 unreserved characters pass; everything else is `%XX` per byte.
fn percent_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// RFC 8259 §7: quote, backslash and control characters escaped.
pub(crate) fn json_escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "name" => Some("Li Lei".into()),
            "profile.vip" => Some("3".into()),
            "q" => Some("a/b \"c\"".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_escapes() {
        let t = Template::parse("Hello {name}, VIP {profile.vip}{missing}!").unwrap();
        assert_eq!(t.render(vars, Escape::None), "Hello Li Lei, VIP 3!");
        assert_eq!(
            t.vars().collect::<Vec<_>>(),
            ["name", "profile.vip", "missing"]
        );
        let u = Template::parse("http://h/x/{q}").unwrap();
        assert_eq!(u.render(vars, Escape::Url), "http://h/x/a%2Fb%20%22c%22");
        let base = |n: &str| (n == "crm").then(|| "http://10.0.0.1:80/api".to_string());
        let u = Template::parse("{crm}/orders/{crm}").unwrap();
        assert_eq!(
            u.render(base, Escape::Url),
            "http://10.0.0.1:80/api/orders/http%3A%2F%2F10.0.0.1%3A80%2Fapi"
        );
        let j = Template::parse("{\"q\":\"{q}\"}");
        assert!(j.is_err(), "a JSON brace must be doubled");
        let j = Template::parse("{{\"q\":\"{q}\"}}").unwrap();
        assert_eq!(j.render(vars, Escape::Json), "{\"q\":\"a/b \\\"c\\\"\"}");
    }

    #[test]
    fn digits_format_spells_the_value() {
        let t = Template::parse("Order {id:digits}, {name}").unwrap();
        let look = |n: &str| (n == "id").then(|| "12 34".to_string());
        assert_eq!(t.render(look, Escape::None), "Order 1 2 3 4, ");
        assert_eq!(t.vars().collect::<Vec<_>>(), ["id", "name"]);
        assert!(Template::parse("{id:money}").is_err());
    }

    #[test]
    fn chinese_and_literal_braces() {
        let t = Template::parse("您好{name}，{{不是变量}}").unwrap();
        assert_eq!(t.render(vars, Escape::None), "您好Li Lei，{不是变量}");
        let l = Template::literal("{x}");
        assert_eq!(l.render(vars, Escape::None), "{x}");
        assert_eq!(Template::parse(l.source()).unwrap(), l);
    }

    #[test]
    fn errors_are_clear() {
        for bad in ["{", "a}", "{a b}", "{}", "{.x}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
