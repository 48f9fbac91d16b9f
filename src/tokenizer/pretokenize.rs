//! Pre-tokenization: splitting a text fragment into words before BPE, exactly as llama.cpp's
//! `unicode_regex_split` does it.
//!
//! A pre-tokenizer is a list of regexes applied in turn. Each regex splits every current piece into
//! its matches and the gaps between them (both are kept), so later regexes only refine earlier
//! splits. How llama.cpp runs a regex decides the result, so we run it the same way:
//!
//! * The GPT-2 regex has a hand-written matcher in llama.cpp (`unicode_regex_split_custom_gpt2`),
//!   driven by codepoint classes; [`split_gpt2`] is a port of it.
//! * A regex that uses Unicode classes (`\p{L}`, `\p{N}`, `\p{P}`, `\p{M}`, `\p{S}`) runs with
//!   `std::regex` on a *collapsed* text: ASCII stays as it is, every other codepoint becomes one
//!   representative byte for its class (0xD1 number, 0xD2 letter, 0xD3 punctuation, 0xD4 mark,
//!   0xD5 symbol, 0xD0 anything else, 0x0B for whitespace), and each `\p{X}` in the regex becomes
//!   `[<representative><ASCII members of X>]`. The ASCII members are llama.cpp's hand-written
//!   lists, which leave `~` out of `\p{S}`: under llama.cpp, `~` is neither punctuation nor symbol.
//!   We do the same with codepoints U+00D0..U+00D5 as representatives and fancy-regex as the engine
//!   (leftmost-first alternation and greedy repetition, like ECMAScript).
//! * Any other regex runs with `std::wregex` on the codepoints, with non-ASCII whitespace replaced
//!   by U+000B first (so `\s` sees it, and a class such as `[　-。]` no longer contains U+3000).

use fancy_regex::{Regex, RegexBuilder};

use super::unicode::{classify, Class};
use crate::error::{Error, Result};

/// The GPT-2 split regex, which llama.cpp recognises by its text and runs with a custom matcher.
const GPT2_REGEX: &str =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

/// DeepSeek-V3 / R1 (`deepseek-v3`): numbers in groups of up to 3 digits, runs of CJK ideographs
/// and kana, then words (letters with their combining marks), punctuation runs and whitespace.
const DEEPSEEK3_REGEXES: &[&str] = &[
    "\\p{N}{1,3}",
    "[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+",
    concat!(
        "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+",
        "|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+",
        "| ?[\\p{P}\\p{S}]+[\r\n]*",
        "|\\s*[\r\n]+",
        "|\\s+(?!\\S)",
        "|\\s+",
    ),
];

/// DeepSeek LLM / V2 / V2-Lite (`deepseek-llm`): newlines alone, letter words of an explicit list
/// of alphabets, ASCII and full-width punctuation runs, trailing whitespace, CJK/Hangul runs,
/// numbers. Written with escapes: several of these codepoints have look-alikes in other blocks.
const DEEPSEEK_LLM_REGEXES: &[&str] = &[
    "[\r\n]",
    concat!(
        "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}",
        "\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}",
        "\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}",
        "\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}",
        "\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}",
        "\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}",
        "\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}",
        "\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}",
        "\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}",
        "\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}",
        "\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}",
        "\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}",
        "\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}",
        "\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}",
        "\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}",
        "\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+",
    ),
    "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+",
    "\\s+$",
    "[\u{4E00}-\u{9FA5}\u{0800}-\u{4E00}\u{AC00}-\u{D7FF}]+",
    "\\p{N}+",
];

/// DeepSeek Coder (`deepseek-coder`).
const DEEPSEEK_CODER_REGEXES: &[&str] = &[
    "[\r\n]",
    "\\s?\\p{L}+",
    "\\s?\\p{P}+",
    "[\u{4E00}-\u{9FA5}\u{0800}-\u{4E00}\u{AC00}-\u{D7FF}]+",
    "\\p{N}",
];

/// llama.cpp's fallback for a missing `tokenizer.ggml.pre` or `default`.
const DEFAULT_REGEXES: &[&str] = &[
    "[\\p{P}\\$\\+<=>\\^~\\|]+",
    GPT2_REGEX,
    "\\p{N}+",
    "[0-9][0-9][0-9]",
];

/// `tokenizer.ggml.pre` names for which llama.cpp uses the plain GPT-2 regex.
const GPT2_NAMES: &[&str] = &[
    "gpt-2",
    "phi-2",
    "jina-es",
    "jina-de",
    "gigachat",
    "jina-v2-es",
    "jina-v2-de",
    "a.x-4.0",
    "mellum",
    "modern-bert",
    "exaone4",
    "mpt",
    "olmo",
    "jais",
];

/// The pre-tokenizer families this runtime implements, named by `tokenizer.ggml.pre`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PreType {
    Default,
    Gpt2,
    DeepseekLlm,
    DeepseekCoder,
    Deepseek3,
}

impl PreType {
    /// Maps a `tokenizer.ggml.pre` value the way llama.cpp's `llama_vocab::impl::load` does
    /// (absent means `default`); names of other model families are refused.
    pub(crate) fn from_name(name: Option<&str>) -> Result<PreType> {
        Ok(match name {
            None | Some("default") => PreType::Default,
            Some(name) if GPT2_NAMES.contains(&name) => PreType::Gpt2,
            Some("deepseek-llm") => PreType::DeepseekLlm,
            Some("deepseek-coder") => PreType::DeepseekCoder,
            Some("deepseek-v3") => PreType::Deepseek3,
            Some(other) => {
                return Err(Error::Tokenizer(format!(
                    "unknown or unsupported pre-tokenizer type '{other}' (tokenizer.ggml.pre); \
                     supported: deepseek-v3, deepseek-llm, deepseek-coder, gpt-2, default"
                )))
            }
        })
    }

    pub(crate) fn regexes(self) -> &'static [&'static str] {
        match self {
            PreType::Default => DEFAULT_REGEXES,
            PreType::Gpt2 => &[GPT2_REGEX],
            PreType::DeepseekLlm => DEEPSEEK_LLM_REGEXES,
            PreType::DeepseekCoder => DEEPSEEK_CODER_REGEXES,
            PreType::Deepseek3 => DEEPSEEK3_REGEXES,
        }
    }

    /// Whether detokenization applies llama.cpp's `clean_spaces` passes
    /// (`clean_up_tokenization_spaces`).
    pub(crate) fn clean_spaces(self) -> bool {
        matches!(self, PreType::Default | PreType::Gpt2)
    }
}

/// How one regex of the list is run (see the module comment).
enum Step {
    Gpt2,
    Collapsed(Regex),
    Codepoints(Regex),
}

pub(crate) struct PreTokenizer {
    steps: Vec<Step>,
}

/// The text a regex step runs on: one char per codepoint of the original, so char positions agree.
struct Haystack {
    text: String,
    /// byte offset of each char, plus the total length
    char_byte: Vec<usize>,
}

impl Haystack {
    fn new(chars: impl Iterator<Item = char>) -> Haystack {
        let mut text = String::new();
        let mut char_byte = Vec::new();
        for c in chars {
            char_byte.push(text.len());
            text.push(c);
        }
        char_byte.push(text.len());
        Haystack { text, char_byte }
    }

    fn char_index(&self, byte: usize) -> usize {
        self.char_byte.partition_point(|&b| b < byte)
    }
}

impl PreTokenizer {
    pub(crate) fn new(pre: PreType) -> Result<PreTokenizer> {
        let steps = pre
            .regexes()
            .iter()
            .map(|expr| Step::new(expr))
            .collect::<Result<_>>()?;
        Ok(PreTokenizer { steps })
    }

    /// Splits `text` into words (slices of `text`, in order, covering all of it).
    pub(crate) fn split<'t>(&self, text: &'t str) -> Result<Vec<&'t str>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let chars: Vec<char> = text.chars().collect();
        let classes = classify(text);
        let mut collapsed: Option<Haystack> = None;
        let mut codepoints: Option<Haystack> = None;

        // pieces as lengths in codepoints, like llama.cpp's `bpe_offsets`
        let mut pieces = vec![chars.len()];
        for step in &self.steps {
            pieces = match step {
                Step::Gpt2 => split_gpt2(&chars, &classes, &pieces),
                Step::Collapsed(re) => {
                    let hay = collapsed.get_or_insert_with(|| {
                        Haystack::new(
                            chars
                                .iter()
                                .zip(&classes)
                                .map(|(&c, &k)| collapse_char(c, k)),
                        )
                    });
                    split_regex(re, hay, &pieces)?
                }
                Step::Codepoints(re) => {
                    let hay = codepoints.get_or_insert_with(|| {
                        Haystack::new(chars.iter().zip(&classes).map(|(&c, &k)| {
                            if !c.is_ascii() && k.is_whitespace() {
                                '\u{0B}'
                            } else {
                                c
                            }
                        }))
                    });
                    split_regex(re, hay, &pieces)?
                }
            };
        }

        let mut char_byte: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        char_byte.push(text.len());
        let mut words = Vec::with_capacity(pieces.len());
        let mut start = 0;
        for len in pieces {
            words.push(&text[char_byte[start]..char_byte[start + len]]);
            start += len;
        }
        Ok(words)
    }
}

impl Step {
    fn new(expr: &str) -> Result<Step> {
        if expr == GPT2_REGEX {
            return Ok(Step::Gpt2);
        }
        let build = |pattern: &str| {
            RegexBuilder::new(pattern)
                .backtrack_limit(100_000_000)
                .build()
                .map_err(|e| Error::Tokenizer(format!("pre-tokenizer regex '{expr}': {e}")))
        };
        if uses_unicode_classes(expr) {
            Ok(Step::Collapsed(build(&collapse_regex(expr)?)?))
        } else {
            Ok(Step::Codepoints(build(expr)?))
        }
    }
}

/// The Unicode classes llama.cpp knows how to collapse, and the class each stands for.
const UNICODE_CLASSES: &[(&str, Class)] = &[
    ("\\p{N}", Class::Number),
    ("\\p{L}", Class::Letter),
    ("\\p{P}", Class::Punctuation),
    ("\\p{M}", Class::Mark),
    ("\\p{S}", Class::Symbol),
    ("\\p{Lu}", Class::Letter),
    ("\\p{Ll}", Class::Letter),
    ("\\p{Lt}", Class::Letter),
    ("\\p{Lm}", Class::Letter),
    ("\\p{Lo}", Class::Letter),
];

fn uses_unicode_classes(expr: &str) -> bool {
    UNICODE_CLASSES.iter().any(|(p, _)| expr.contains(p))
}

/// The representative of a non-ASCII codepoint's class in the collapsed text.
fn representative(class: Class) -> char {
    match class {
        Class::Whitespace => '\u{0B}',
        Class::Number => '\u{D1}',
        Class::Letter => '\u{D2}',
        Class::Punctuation => '\u{D3}',
        Class::Mark => '\u{D4}',
        Class::Symbol => '\u{D5}',
        Class::Other => '\u{D0}',
    }
}

/// The ASCII members llama.cpp lists for each class (`k_ucat_map`), in regex-class syntax.
fn ascii_members(class: Class) -> &'static str {
    match class {
        Class::Number => "0-9",
        Class::Letter => "A-Za-z",
        Class::Punctuation => "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}",
        Class::Mark => "",
        Class::Symbol => "\\$\\+<->^`\\|",
        Class::Whitespace | Class::Other => unreachable!("not a regex class"),
    }
}

fn collapse_char(c: char, class: Class) -> char {
    if c.is_ascii() {
        c
    } else {
        representative(class)
    }
}

/// Rewrites `\p{X}` into the collapsed form, tracking `[...]` like llama.cpp does (a bracket
/// preceded by a backslash is a literal).
fn collapse_regex(expr: &str) -> Result<String> {
    if !expr.is_ascii() {
        return Err(Error::Tokenizer(format!(
            "pre-tokenizer regex '{expr}' mixes Unicode classes and non-ASCII characters \
             (llama.cpp cannot run it either)"
        )));
    }
    let b = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() * 2);
    let mut inside = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'[' && (i == 0 || b[i - 1] != b'\\') {
            out.push('[');
            inside = true;
            i += 1;
            continue;
        }
        if inside && b[i] == b']' && b[i - 1] != b'\\' {
            out.push(']');
            inside = false;
            i += 1;
            continue;
        }
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'p' && b[i + 2] == b'{' {
            if let Some(close) = expr[i + 3..].find('}').map(|k| k + i + 3) {
                let class = UNICODE_CLASSES
                    .iter()
                    .find(|(p, _)| *p == &expr[i..=close])
                    .map(|(_, c)| *c);
                if let (true, Some(class)) = (close <= i + 10, class) {
                    if !inside {
                        out.push('[');
                    }
                    out.push(representative(class));
                    out.push_str(ascii_members(class));
                    if !inside {
                        out.push(']');
                    }
                    i = close + 1;
                    continue;
                }
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    Ok(out)
}

/// Splits each piece into regex matches and the gaps between them.
fn split_regex(re: &Regex, hay: &Haystack, pieces: &[usize]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut start = 0;
    for &len in pieces {
        let (b0, b1) = (hay.char_byte[start], hay.char_byte[start + len]);
        let mut done = 0; // codepoints of this piece already emitted
        for m in re.find_iter(&hay.text[b0..b1]) {
            let m = m.map_err(|e| Error::Tokenizer(format!("pre-tokenizer regex failed: {e}")))?;
            let m_start = hay.char_index(b0 + m.start()) - start;
            let m_end = hay.char_index(b0 + m.end()) - start;
            if m_start > done {
                out.push(m_start - done);
            }
            if m_end > m_start {
                out.push(m_end - m_start);
            }
            done = m_end;
        }
        if done < len {
            out.push(len - done);
        }
        start += len;
    }
    Ok(out)
}

/// Port of llama.cpp's `unicode_regex_split_custom_gpt2`: the GPT-2 regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (a trailing `\s+` is
/// implied: anything left over becomes a piece of its own).
fn split_gpt2(chars: &[char], classes: &[Class], pieces: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut start = 0;
    for &len in pieces {
        let (ini, end) = (start, start + len);
        start = end;
        // out-of-piece positions read as "no codepoint" (llama.cpp's OUT_OF_RANGE, flags 0)
        let cpt = |p: usize| if p < end { Some(chars[p]) } else { None };
        let class = |p: usize| if p < end { Some(classes[p]) } else { None };
        let letter = |p: usize| class(p).is_some_and(Class::is_letter);
        let number = |p: usize| class(p).is_some_and(Class::is_number);
        let space = |p: usize| class(p).is_some_and(Class::is_whitespace);
        let other = |p: usize| {
            class(p).is_some_and(|k| !k.is_whitespace() && !k.is_letter() && !k.is_number())
        };

        let mut prev_end = ini;
        let mut add = |e: usize, out: &mut Vec<usize>| {
            if e > prev_end {
                out.push(e - prev_end);
            }
            prev_end = e;
        };
        let mut pos = ini;
        while pos < end {
            let c = chars[pos];
            // 's 't 're 've 'm 'll 'd
            if c == '\'' && pos + 1 < end {
                let next = chars[pos + 1];
                if matches!(next, 's' | 't' | 'm' | 'd') {
                    pos += 2;
                    add(pos, &mut out);
                    continue;
                }
                if pos + 2 < end {
                    let pair = (next, chars[pos + 2]);
                    if matches!(pair, ('r', 'e') | ('v', 'e') | ('l', 'l')) {
                        pos += 3;
                        add(pos, &mut out);
                        continue;
                    }
                }
            }
            // the class tests look one past an optional leading space
            let probe = if c == ' ' { pos + 1 } else { pos };
            let lead = usize::from(c == ' ');
            if letter(probe) {
                pos += lead;
                while letter(pos) {
                    pos += 1;
                }
                add(pos, &mut out);
                continue;
            }
            if number(probe) {
                pos += lead;
                while number(pos) {
                    pos += 1;
                }
                add(pos, &mut out);
                continue;
            }
            if other(probe) {
                pos += lead;
                while other(pos) {
                    pos += 1;
                }
                add(pos, &mut out);
                continue;
            }
            let mut n_space = 0;
            while space(pos + n_space) {
                n_space += 1;
            }
            // \s+(?!\S): leave the last whitespace for the word that follows
            if n_space > 1 && cpt(pos + n_space).is_some() {
                pos += n_space - 1;
                add(pos, &mut out);
                continue;
            }
            if n_space > 0 {
                pos += n_space;
                add(pos, &mut out);
                continue;
            }
            pos += 1;
            add(pos, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(pre: PreType, text: &str) -> Vec<String> {
        PreTokenizer::new(pre)
            .unwrap()
            .split(text)
            .unwrap()
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn collapsed_regex_matches_llama_cpp_rewrite() {
        assert_eq!(collapse_regex("\\p{N}{1,3}").unwrap(), "[\u{D1}0-9]{1,3}");
        assert_eq!(
            collapse_regex("[^\r\n\\p{L}\\p{P}]?[\\p{L}\\p{M}]+").unwrap(),
            "[^\r\n\u{D2}A-Za-z\u{D3}!-#%-*,-/:-;?-@\\[-\\]_\\{\\}]?[\u{D2}A-Za-z\u{D4}]+"
        );
        assert!(collapse_regex("\\p{L}é").is_err());
    }

    #[test]
    fn every_supported_regex_compiles() {
        for pre in [
            PreType::Default,
            PreType::Gpt2,
            PreType::DeepseekLlm,
            PreType::DeepseekCoder,
            PreType::Deepseek3,
        ] {
            PreTokenizer::new(pre).unwrap();
        }
    }

    #[test]
    fn deepseek3_splits_numbers_cjk_words_and_spaces() {
        assert_eq!(
            words(PreType::Deepseek3, "Hello  world 12345"),
            ["Hello", " ", " world", " ", "123", "45"]
        );
        assert_eq!(words(PreType::Deepseek3, "深度求索ab"), ["深度求索", "ab"]);
        // `~` is not \p{S} under llama.cpp's collapse, so " ~" is not one punctuation word
        assert_eq!(words(PreType::Deepseek3, "a ~~ b"), ["a", " ", "~~", " b"]);
        assert_eq!(words(PreType::Deepseek3, "a !! b"), ["a", " !!", " b"]);
    }

    #[test]
    fn gpt2_custom_split_matches_regex() {
        assert_eq!(
            words(PreType::Gpt2, "I'm  fine, 42x"),
            ["I", "'m", " ", " fine", ",", " 42", "x"]
        );
        assert_eq!(words(PreType::Gpt2, "a  \n"), ["a", "  \n"]);
    }
}
