//! Special tokens written in the raw text (llama.cpp's `tokenizer_st_partition`): before any
//! pre-tokenization, the text is cut at every occurrence of a special token's text, and the token
//! is emitted as is. Tokens are taken in the vocabulary's special cache order (longest first); each
//! one is searched for in every text fragment left by the earlier ones, left to right, without
//! overlap.
//!
//! With `parse_special == false`, CONTROL and UNKNOWN tokens are not matched (their text is plain
//! text), but USER_DEFINED tokens still are, as in Hugging Face tokenizers.

use std::ops::Range;

use super::vocab::{attr, Vocab};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fragment {
    Token(u32),
    /// A byte range of the raw text, not empty.
    Text(Range<usize>),
}

pub(crate) fn partition(text: &str, vocab: &Vocab, parse_special: bool) -> Vec<Fragment> {
    let mut fragments = vec![Fragment::Text(0..text.len())];
    if text.is_empty() {
        fragments.clear();
        return fragments;
    }
    for &id in &vocab.special_cache {
        if !parse_special && vocab.attrs[id as usize] & (attr::CONTROL | attr::UNKNOWN) != 0 {
            continue;
        }
        let needle = vocab.texts[id as usize].as_str();
        if !text.contains(needle) {
            continue;
        }
        let mut next = Vec::with_capacity(fragments.len() + 2);
        for fragment in fragments {
            let Fragment::Text(range) = fragment else {
                next.push(fragment);
                continue;
            };
            let mut rest = range.clone();
            while let Some(found) = text[rest.clone()].find(needle) {
                let at = rest.start + found;
                if at > rest.start {
                    next.push(Fragment::Text(rest.start..at));
                }
                next.push(Fragment::Token(id));
                rest.start = at + needle.len();
            }
            if !rest.is_empty() {
                next.push(Fragment::Text(rest));
            }
        }
        fragments = next;
    }
    fragments
}
