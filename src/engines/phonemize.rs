//! Text -> Piper phoneme ids: clause splitting, espeak-ng IPA, NFD and the
//! voice's `phoneme_id_map`.
//!
//! Piper voices with `"phoneme_type": "espeak"` were trained on espeak-ng's
//! IPA with the clause punctuation put back after each clause (espeak drops
//! it), normalized to Unicode NFD, each code point mapped through
//! `phoneme_id_map`, framed as `^ _ p1 _ p2 _ … pn _ $` (BOS, pad after every
//! symbol, EOS). `piper-rs` lost the punctuation, which flattens the prosody;
//! keeping it is the point of this module.
//!
//! espeak-ng is GPL-3 and is run as a separate program (`espeak-ng -q --ipa`),
//! never linked. One process handles all clauses of a text: clauses go in one
//! per line and espeak-ng writes one line of phonemes per clause; if its
//! clause boundaries disagree with ours (an abbreviation, an over-long
//! clause), each clause is phonemized alone instead.
//!
//! Not here: number or date expansion (espeak-ng does it), SSML, other
//! phoneme types (`text`, `pinyin`).

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use super::tts::TtsError;

/// Punctuation that ends a clause; it is kept and spoken by the voice.
const CLAUSE_END: [char; 6] = [',', '.', '!', '?', ';', ':'];

/// Abbreviations whose period does not end an English clause.
const ABBREVIATIONS: [&str; 12] = [
    "mr", "mrs", "ms", "dr", "st", "prof", "jr", "sr", "vs", "e.g", "i.e", "mt",
];

/// One clause of the input text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The words, without the final punctuation.
    pub text: String,
    /// The punctuation that ended it, if any (the last clause may have none).
    pub punct: Option<char>,
}

/// Splits `text` into clauses at `, . ! ? ; :` followed by a space or the
/// end. Em dashes count as commas and ellipses as periods; full-width CJK
/// punctuation counts as its ASCII twin. Clauses without a letter or digit
/// are dropped (they have nothing to say).
pub fn split_clauses(text: &str) -> Vec<Clause> {
    let mut chars = Vec::with_capacity(text.len());
    for c in text.chars() {
        let n = normalize_char(c);
        chars.push(n);
        // CJK text has no space after its punctuation.
        if n != c && CLAUSE_END.contains(&n) {
            chars.push(' ');
        }
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        if !CLAUSE_END.contains(&c) {
            cur.push(c);
            continue;
        }
        // A run of punctuation ("?!", "...") ends at most one clause.
        let mut j = i;
        while chars.get(j).is_some_and(|n| CLAUSE_END.contains(n)) {
            j += 1;
        }
        let at_break = chars.get(j).is_none_or(|n| n.is_whitespace());
        if !at_break || (c == '.' && j == i && ends_with_abbreviation(&cur)) {
            cur.extend(chars.get(i - 1..j).unwrap_or_default());
            i = j;
            continue;
        }
        i = j;
        push_clause(&mut out, &cur, Some(c));
        cur.clear();
    }
    push_clause(&mut out, &cur, None);
    out
}

fn push_clause(out: &mut Vec<Clause>, text: &str, punct: Option<char>) {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().any(char::is_alphanumeric) {
        out.push(Clause { text, punct });
    }
}

fn normalize_char(c: char) -> char {
    match c {
        '\u{2014}' | '\u{FF0C}' | '\u{3001}' => ',',
        '\u{2026}' | '\u{3002}' | '\u{FF0E}' => '.',
        '\u{FF01}' => '!',
        '\u{FF1F}' => '?',
        '\u{FF1B}' => ';',
        '\u{FF1A}' => ':',
        c if c.is_whitespace() => ' ',
        c => c,
    }
}

/// True for "Dr" or an initial ("J"), whose period does not end a clause.
fn ends_with_abbreviation(clause: &str) -> bool {
    let last = clause.rsplit(' ').next().unwrap_or("");
    let initial = last.chars().count() == 1 && last.chars().all(|c| c.is_uppercase() && c != 'I');
    initial || ABBREVIATIONS.contains(&last.to_lowercase().as_str())
}

/// Runs `espeak-ng` in IPA mode for one espeak voice.
#[derive(Debug, Clone)]
pub struct Espeak {
    voice: String,
    program: String,
}

impl Espeak {
    /// For the espeak voice `voice` (the `espeak.voice` of a Piper voice,
    /// e.g. `en-us`). The program is `$KEFU_ESPEAK` or `espeak-ng`.
    pub fn new(voice: &str) -> Self {
        let program = std::env::var("KEFU_ESPEAK").unwrap_or_else(|_| "espeak-ng".into());
        Self {
            voice: voice.to_owned(),
            program,
        }
    }

    /// The phonemes of each clause, its punctuation appended (and a space
    /// after `, : ;`), as Piper's training saw them: the concatenation of a
    /// sentence's clauses is what Piper's own phonemizer gives for it.
    /// Always one string per clause.
    pub fn phonemize(&self, clauses: &[Clause]) -> Result<Vec<String>, TtsError> {
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let input: Vec<String> = clauses.iter().map(clause_line).collect();
        let lines = self.run(&input.join("\n"))?;
        let per_clause = if lines.len() == clauses.len() {
            lines
        } else {
            // Boundaries differ: one process per clause, lines joined.
            let mut v = Vec::with_capacity(input.len());
            for line in &input {
                v.push(self.run(line)?.join(" "));
            }
            v
        };
        Ok(per_clause
            .into_iter()
            .zip(clauses)
            .map(|(ph, c)| {
                let mut s = ph;
                s.extend(c.punct);
                // Inside a sentence Piper puts a space after these.
                if matches!(c.punct, Some(',' | ':' | ';')) {
                    s.push(' ');
                }
                s
            })
            .collect())
    }

    /// Non-empty output lines of `espeak-ng -q --ipa` for `text`, with
    /// espeak's language-switch marks such as `(fr)` removed.
    fn run(&self, text: &str) -> Result<Vec<String>, TtsError> {
        let stdout = run_espeak(&self.program, &["-q", "--ipa"], &self.voice, text)?;
        Ok(String::from_utf8_lossy(&stdout)
            .lines()
            .map(strip_language_marks)
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect())
    }
}

/// Runs `program` (espeak-ng) with `args`, the voice, and `text` on stdin;
/// returns its stdout. `-b 1`: the input is UTF-8; `--stdin`: text that
/// starts with '-' is not taken for an option.
pub(crate) fn run_espeak(
    program: &str,
    args: &[&str],
    voice: &str,
    text: &str,
) -> Result<Vec<u8>, TtsError> {
    let mut child = Command::new(program)
        .args(args)
        .args(["-b", "1", "--stdin", "-v", voice])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| TtsError::Espeak(format!("cannot run `{program}`: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| TtsError::Espeak("no stdin".into()))?;
    let text = format!("{text}\n");
    // Written from another thread: espeak may fill its stdout pipe before it
    // has read all of its input.
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| TtsError::Espeak(e.to_string()))?;
    let _ = writer.join();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(TtsError::Espeak(format!(
            "voice `{voice}`: {} {}",
            out.status,
            err.trim()
        )));
    }
    Ok(out.stdout)
}

fn clause_line(c: &Clause) -> String {
    let mut s = c.text.clone();
    s.extend(c.punct);
    s
}

/// Removes `(en)`, `(fr)` … that espeak-ng writes when it switches language
/// for a foreign word; Piper's training text had none.
fn strip_language_marks(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('(') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(')') {
            Some(close)
                if after[..close]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                rest = &after[close + 1..];
            }
            _ => {
                out.push('(');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A voice's `phoneme_id_map` and framing symbols.
#[derive(Debug, Clone)]
pub struct PhonemeIds {
    map: HashMap<char, Vec<i64>>,
    pad: Vec<i64>,
    bos: Vec<i64>,
    eos: Vec<i64>,
}

impl PhonemeIds {
    /// From the `phoneme_id_map` object of a voice's `.onnx.json`. Keys must
    /// be single code points; `_`, `^` and `$` must be present.
    pub fn from_json(map: &serde_json::Value) -> Result<Self, String> {
        let obj = map.as_object().ok_or("phoneme_id_map is not an object")?;
        let mut out = HashMap::with_capacity(obj.len());
        for (k, v) in obj {
            let mut cs = k.chars();
            let (Some(c), None) = (cs.next(), cs.next()) else {
                return Err(format!("phoneme_id_map key {k:?} is not one character"));
            };
            let ids = v
                .as_array()
                .ok_or_else(|| format!("phoneme_id_map[{k:?}] is not a list"))?
                .iter()
                .map(|x| {
                    x.as_i64()
                        .ok_or_else(|| format!("phoneme_id_map[{k:?}]: bad id"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(c, ids);
        }
        Self::new(out)
    }

    /// From a map; `_` (pad), `^` (BOS) and `$` (EOS) must be present.
    pub fn new(map: HashMap<char, Vec<i64>>) -> Result<Self, String> {
        let get = |c: char| {
            map.get(&c)
                .cloned()
                .ok_or_else(|| format!("phoneme_id_map has no {c:?}"))
        };
        Ok(Self {
            pad: get('_')?,
            bos: get('^')?,
            eos: get('$')?,
            map,
        })
    }

    /// `^ _ p1 _ p2 _ … pn _ $` for the NFD form of `phonemes`; symbols the
    /// voice does not know are skipped (as Piper does).
    pub fn ids(&self, phonemes: &str) -> Vec<i64> {
        let mut ids = Vec::with_capacity(2 * phonemes.len() + 3);
        ids.extend(&self.bos);
        ids.extend(&self.pad);
        for c in nfd(phonemes).chars() {
            if let Some(v) = self.map.get(&c) {
                ids.extend(v);
                ids.extend(&self.pad);
            }
        }
        ids.extend(&self.eos);
        ids
    }

    /// The number of ids that [`Self::ids`] gives for no phonemes at all.
    pub fn frame_len(&self) -> usize {
        self.bos.len() + self.pad.len() + self.eos.len()
    }
}

/// Canonical decomposition (NFD) of the precomposed letters that espeak-ng's
/// IPA can contain; everything else passes through. espeak-ng writes most
/// diacritics as combining marks already, so this short table is enough.
pub fn nfd(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match decompose(c) {
            Some((base, mark)) => {
                out.push(base);
                out.push(mark);
            }
            None => out.push(c),
        }
    }
    out
}

fn decompose(c: char) -> Option<(char, char)> {
    const GRAVE: char = '\u{300}';
    const ACUTE: char = '\u{301}';
    const CIRCUMFLEX: char = '\u{302}';
    const TILDE: char = '\u{303}';
    const MACRON: char = '\u{304}';
    const DIAERESIS: char = '\u{308}';
    const RING: char = '\u{30A}';
    const CARON: char = '\u{30C}';
    const CEDILLA: char = '\u{327}';
    Some(match c {
        'ç' => ('c', CEDILLA),
        'ş' => ('s', CEDILLA),
        'ã' => ('a', TILDE),
        'ẽ' => ('e', TILDE),
        'ĩ' => ('i', TILDE),
        'õ' => ('o', TILDE),
        'ũ' => ('u', TILDE),
        'ỹ' => ('y', TILDE),
        'ñ' => ('n', TILDE),
        'à' => ('a', GRAVE),
        'è' => ('e', GRAVE),
        'ì' => ('i', GRAVE),
        'ò' => ('o', GRAVE),
        'ù' => ('u', GRAVE),
        'á' => ('a', ACUTE),
        'é' => ('e', ACUTE),
        'í' => ('i', ACUTE),
        'ó' => ('o', ACUTE),
        'ú' => ('u', ACUTE),
        'ý' => ('y', ACUTE),
        'â' => ('a', CIRCUMFLEX),
        'ê' => ('e', CIRCUMFLEX),
        'î' => ('i', CIRCUMFLEX),
        'ô' => ('o', CIRCUMFLEX),
        'û' => ('u', CIRCUMFLEX),
        'ā' => ('a', MACRON),
        'ē' => ('e', MACRON),
        'ī' => ('i', MACRON),
        'ō' => ('o', MACRON),
        'ū' => ('u', MACRON),
        'ä' => ('a', DIAERESIS),
        'ë' => ('e', DIAERESIS),
        'ï' => ('i', DIAERESIS),
        'ö' => ('o', DIAERESIS),
        'ü' => ('u', DIAERESIS),
        'ÿ' => ('y', DIAERESIS),
        'å' => ('a', RING),
        'ǎ' => ('a', CARON),
        'ě' => ('e', CARON),
        'ǐ' => ('i', CARON),
        'ǒ' => ('o', CARON),
        'ǔ' => ('u', CARON),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &[Clause]) -> Vec<(String, Option<char>)> {
        v.iter().map(|c| (c.text.clone(), c.punct)).collect()
    }

    #[test]
    fn splits_at_clause_punctuation_and_keeps_it() {
        let c = split_clauses("Hello, world. How are you? Fine; thanks: really!");
        assert_eq!(
            texts(&c),
            vec![
                ("Hello".into(), Some(',')),
                ("world".into(), Some('.')),
                ("How are you".into(), Some('?')),
                ("Fine".into(), Some(';')),
                ("thanks".into(), Some(':')),
                ("really".into(), Some('!')),
            ]
        );
    }

    #[test]
    fn numbers_abbreviations_and_runs_do_not_split() {
        let c = split_clauses("Dr. Smith paid $5,000.50 at 10:30... Really?! yes");
        assert_eq!(
            texts(&c),
            vec![
                ("Dr. Smith paid $5,000.50 at 10:30".into(), Some('.')),
                ("Really".into(), Some('?')),
                ("yes".into(), None),
            ]
        );
    }

    #[test]
    fn empty_and_punctuation_only_text_has_no_clauses() {
        assert!(split_clauses("").is_empty());
        assert!(split_clauses("  ... ?! — ").is_empty());
    }

    #[test]
    fn cjk_punctuation_and_dashes_split() {
        let c = split_clauses("你好，世界。 wait — what");
        let got: Vec<_> = c.iter().map(|c| (c.text.as_str(), c.punct)).collect();
        assert_eq!(
            got,
            vec![
                ("你好", Some(',')),
                ("世界", Some('.')),
                ("wait", Some(',')),
                ("what", None)
            ]
        );
        // An en dash in a range is not a clause break.
        assert_eq!(split_clauses("pages 10–20").len(), 1);
    }

    #[test]
    fn language_marks_are_removed() {
        assert_eq!(strip_language_marks("(fr)kafe(en) ok"), "kafe ok");
        assert_eq!(strip_language_marks("a (b c) d"), "a (b c) d");
    }

    #[test]
    fn nfd_decomposes_cedilla_and_tilde() {
        assert_eq!(nfd("çõx"), "c\u{327}o\u{303}x");
    }
}
