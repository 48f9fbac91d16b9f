//! Byte-level BPE on one pre-tokenized word, as llama.cpp's `llm_tokenizer_bpe_session` does it:
//! start from one symbol per codepoint of the byte-encoded word, repeatedly merge the adjacent pair
//! with the lowest merge rank (ties: leftmost first), then look every final symbol up in the
//! vocabulary; a symbol that is not a token falls back to its single bytes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::byte_level;
use super::vocab::Vocab;

/// `tokenizer.ggml.merges` ranked by position: "a b" means symbols `a` and `b` merge, earlier wins.
pub(crate) struct Merges {
    /// key: "left right" (the merge line, split at its first space after position 0); value: rank.
    ranks: HashMap<Box<str>, u32>,
}

impl Merges {
    pub(crate) fn new(lines: &[String]) -> Merges {
        let mut ranks = HashMap::with_capacity(lines.len());
        for (rank, line) in lines.iter().enumerate() {
            // llama.cpp: `pos = word.find(' ', 1)`; a line without one becomes the pair ("", "")
            let has_space = line.bytes().skip(1).any(|b| b == b' ');
            let key: Box<str> = if has_space {
                line.as_str().into()
            } else {
                " ".into()
            };
            // `emplace` keeps the first rank of a duplicated pair
            ranks.entry(key).or_insert(rank as u32);
        }
        Merges { ranks }
    }

    /// Number of distinct pairs (llama.cpp's `n_merges`).
    pub(crate) fn len(&self) -> usize {
        self.ranks.len()
    }

    fn rank(&self, key: &mut String, left: &str, right: &str) -> Option<u32> {
        key.clear();
        key.push_str(left);
        key.push(' ');
        key.push_str(right);
        self.ranks.get(key.as_str()).copied()
    }
}

/// One symbol of the word being merged: a byte range of the encoded word, linked to its neighbours.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge. Ordered for a min-heap by (rank, left); the lengths identify the pair as it
/// was when queued, so a candidate whose symbols have changed since is skipped.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    rank: u32,
    left: usize,
    right: usize,
    left_len: usize,
    right_len: usize,
}

/// Tokenizes one pre-tokenized word (raw UTF-8) and appends its ids to `out`.
pub(crate) fn tokenize_word(word: &str, vocab: &Vocab, merges: &Merges, out: &mut Vec<u32>) {
    let encoded = byte_level::encode(word);
    let mut symbols: Vec<Symbol> = Vec::with_capacity(encoded.len());
    for (i, (start, c)) in encoded.char_indices().enumerate() {
        symbols.push(Symbol {
            start,
            len: c.len_utf8(),
            prev: i.checked_sub(1),
            next: (start + c.len_utf8() < encoded.len()).then_some(i + 1),
        });
    }

    let mut key = String::new();
    let mut queue = BinaryHeap::new();
    let text = |s: &Symbol| &encoded[s.start..s.start + s.len];
    let mut try_pair = |symbols: &[Symbol],
                        queue: &mut BinaryHeap<Reverse<Candidate>>,
                        left: Option<usize>,
                        right: Option<usize>| {
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let (l, r) = (&symbols[left], &symbols[right]);
        if let Some(rank) = merges.rank(&mut key, text(l), text(r)) {
            queue.push(Reverse(Candidate {
                rank,
                left,
                right,
                left_len: l.len,
                right_len: r.len,
            }));
        }
    };
    for i in 1..symbols.len() {
        try_pair(&symbols, &mut queue, Some(i - 1), Some(i));
    }

    while let Some(Reverse(c)) = queue.pop() {
        let (l, r) = (symbols[c.left], symbols[c.right]);
        if l.len == 0 || r.len == 0 || l.len != c.left_len || r.len != c.right_len {
            continue; // outdated
        }
        symbols[c.left].len += r.len;
        symbols[c.right].len = 0;
        symbols[c.left].next = r.next;
        if let Some(next) = r.next {
            symbols[next].prev = Some(c.left);
        }
        try_pair(&symbols, &mut queue, l.prev, Some(c.left));
        try_pair(&symbols, &mut queue, Some(c.left), r.next);
    }

    for s in symbols.iter().filter(|s| s.len > 0) {
        let piece = text(s);
        match vocab.id_of(piece) {
            Some(id) => out.push(id),
            // llama.cpp looks up each *byte* of the encoded symbol as a one-byte string
            None => {
                for b in piece.bytes() {
                    if let Some(id) = std::str::from_utf8(&[b]).ok().and_then(|t| vocab.id_of(t)) {
                        out.push(id);
                    }
                }
            }
        }
    }
}
