//! CSV (RFC 4180) for exports and contact-list uploads: fields quoted when
//! they hold a comma, quote or line break, quotes doubled, CRLF line ends.
//!
//! The reader takes what spreadsheets write (CRLF or LF, a UTF-8 byte-order
//! mark, quoted fields spanning lines) and reports malformed quoting with
//! the record number, counting the header as record 1.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Appends one record to `out`.
pub fn write_record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        if f.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

/// A JSON cell as CSV text: strings as they are, null empty, numbers and
/// booleans as JSON writes them, anything else as JSON.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A CSV download named `filename`.
pub fn attachment(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A record read from CSV, with its 1-based record number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Record number (the header is 1).
    pub number: usize,
    /// Its fields.
    pub fields: Vec<String>,
}

/// Reads every record of `text`; blank lines are skipped.
pub fn read(text: &str) -> Result<Vec<Record>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut number = 1;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            '"' => {
                return Err(format!(
                    "record {number}: a quote inside an unquoted field (quote the whole field and double the quote)"
                ))
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
                if !(fields.len() == 1 && fields.first().is_some_and(String::is_empty)) {
                    records.push(Record {
                        number,
                        fields: std::mem::take(&mut fields),
                    });
                    number += 1;
                }
                fields.clear();
            }
            c if was_quoted => {
                return Err(format!(
                    "record {number}: text {c:?} after a closing quote"
                ))
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err(format!("record {number}: a quoted field is never closed"));
    }
    if !field.is_empty() || !fields.is_empty() || was_quoted {
        fields.push(field);
        records.push(Record { number, fields });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let rows = [
            vec!["phone", "name", "note"],
            vec!["+861", "Wang, Li", "said \"hi\"\nthen left"],
            vec!["2", "", "客服"],
        ];
        let mut out = String::new();
        for r in &rows {
            write_record(&mut out, r);
        }
        assert!(out.contains("\"Wang, Li\""));
        assert!(out.ends_with("\r\n"));
        let back = read(&out).unwrap();
        let fields: Vec<Vec<String>> = back.iter().map(|r| r.fields.clone()).collect();
        let want: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(fields, want);
        assert_eq!(back.last().unwrap().number, 3);
    }

    #[test]
    fn lf_bom_blank_lines_and_errors() {
        let r = read("\u{feff}a,b\n\n1,2").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].number, 2);
        assert_eq!(r[1].fields, ["1", "2"]);
        assert!(read("a,b\n\"x,1").unwrap_err().contains("record 2"));
        assert!(read("a,b\nx\"y,1").unwrap_err().contains("record 2"));
        assert!(read("\"x\"y").is_err());
        assert_eq!(read("\"\"").unwrap()[0].fields, [""]);
    }

    #[test]
    fn cells() {
        assert_eq!(cell(&serde_json::json!(null)), "");
        assert_eq!(cell(&serde_json::json!(0.5)), "0.5");
        assert_eq!(cell(&serde_json::json!("x")), "x");
    }
}
