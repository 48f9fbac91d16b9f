//! Codepoint classes as llama.cpp's `unicode_cpt_flags` sees them. llama.cpp generates its table
//! with Python's `regex` module (`\p{N}`, `\p{L}`, `\p{P}`, `\p{M}`, `\p{S}`, and `\s` for
//! whitespace, i.e. the Unicode White_Space property); we ask the same questions of the regex
//! crate's Unicode tables, so the two agree except for codepoints assigned in a newer Unicode
//! version than one side knows.

use std::sync::OnceLock;

use fancy_regex::Regex;

/// One class per codepoint. Whitespace wins over the general category (U+0085 is Cc and
/// whitespace; U+00A0 is Zs and whitespace), as in llama.cpp where `is_whitespace` is checked
/// first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Whitespace,
    Letter,
    Number,
    Punctuation,
    Mark,
    Symbol,
    /// Separators that are not whitespace, controls, format, private use, unassigned.
    Other,
}

impl Class {
    pub(crate) fn is_whitespace(self) -> bool {
        self == Class::Whitespace
    }
    pub(crate) fn is_letter(self) -> bool {
        self == Class::Letter
    }
    pub(crate) fn is_number(self) -> bool {
        self == Class::Number
    }
}

/// ASCII without a regex: the Unicode categories of the 128 ASCII codepoints.
fn ascii_class(b: u8) -> Class {
    match b {
        b'\t'..=b'\r' | b' ' => Class::Whitespace,
        b'0'..=b'9' => Class::Number,
        b'A'..=b'Z' | b'a'..=b'z' => Class::Letter,
        b'$' | b'+' | b'<' | b'=' | b'>' | b'^' | b'`' | b'|' | b'~' => Class::Symbol,
        0x21..=0x7E => Class::Punctuation,
        _ => Class::Other,
    }
}

/// The class regexes, whitespace first so that it takes precedence.
fn class_regexes() -> &'static [(Class, Regex)] {
    static REGEXES: OnceLock<Vec<(Class, Regex)>> = OnceLock::new();
    REGEXES.get_or_init(|| {
        [
            (Class::Whitespace, r"\s+"),
            (Class::Letter, r"\p{L}+"),
            (Class::Number, r"\p{N}+"),
            (Class::Punctuation, r"\p{P}+"),
            (Class::Mark, r"\p{M}+"),
            (Class::Symbol, r"\p{S}+"),
        ]
        .into_iter()
        .map(|(class, pattern)| (class, Regex::new(pattern).expect("valid class regex")))
        .collect()
    })
}

/// The class of every codepoint of `text`, in order (one entry per `char`).
pub(crate) fn classify(text: &str) -> Vec<Class> {
    let mut classes = Vec::with_capacity(text.len());
    if text.is_ascii() {
        classes.extend(text.bytes().map(ascii_class));
        return classes;
    }
    // byte offset of a char start -> char index, for mapping regex matches back to codepoints
    let mut char_at_byte = vec![0u32; text.len() + 1];
    for (ci, (bi, c)) in text.char_indices().enumerate() {
        char_at_byte[bi] = ci as u32;
        classes.push(if c.is_ascii() {
            ascii_class(c as u8)
        } else {
            Class::Other
        });
    }
    char_at_byte[text.len()] = classes.len() as u32;
    for (class, re) in class_regexes() {
        // these patterns have no look-around, so matching cannot fail
        for m in re.find_iter(text).flatten() {
            let (first, end) = (
                char_at_byte[m.start()] as usize,
                char_at_byte[m.end()] as usize,
            );
            for slot in &mut classes[first..end] {
                if *slot == Class::Other {
                    *slot = *class;
                }
            }
        }
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_unicode_categories_with_whitespace_first() {
        let text = "a1!$ \u{a0}\u{85}é٣\u{301}€\u{e000}\u{200b}\u{3000}";
        use Class::*;
        assert_eq!(
            classify(text),
            vec![
                Letter,
                Number,
                Punctuation,
                Symbol,
                Whitespace,
                Whitespace,
                Whitespace,
                Letter,
                Number,
                Mark,
                Symbol,
                Other,
                Other,
                Whitespace
            ]
        );
        assert_eq!(classify("~\u{7f}\t"), vec![Symbol, Other, Whitespace]);
    }
}
