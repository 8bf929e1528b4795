//! Text folding before matching.

/// Lowercases, folds full-width ASCII forms (`ＡＢＣ１２３！`) to ASCII,
/// turns every character that is neither a letter nor a digit into a space
/// (punctuation in any script, symbols), drops apostrophes inside words
/// ("where's" → "wheres") and collapses runs of spaces.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars() {
        let c = fold_width(c);
        if c == '\'' || c == '’' {
            continue;
        }
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space to
/// their ASCII forms.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// True for the ideographs and syllabaries written without spaces between
/// words (CJK, kana, hangul).
pub(crate) fn is_unspaced(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // kana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}' // hangul syllables
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_width_and_punctuation() {
        assert_eq!(normalize("Where's my ORDER？"), "wheres my order");
        assert_eq!(normalize("  ＡＢＣ１２３！ok "), "abc123 ok");
        assert_eq!(normalize("我的快递，到哪了？"), "我的快递 到哪了");
        assert_eq!(normalize("...!?"), "");
        assert!(is_unspaced('快') && !is_unspaced('a'));
    }
}
