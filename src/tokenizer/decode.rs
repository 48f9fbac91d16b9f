//! Ids back to text: `llama_token_to_piece` and `llama_detokenize` semantics, and a streaming
//! decoder for generation that only ever hands out whole UTF-8 characters.

use super::byte_level;
use super::vocab::attr;
use super::Tokenizer;
use crate::error::{Error, Result};

impl Tokenizer {
    /// The bytes of one token (`llama_token_to_piece(id, special)` with `lstrip = 0`). NORMAL
    /// tokens are decoded from the byte-level alphabet; CONTROL, UNKNOWN and USER_DEFINED tokens
    /// are their text, except that CONTROL and UNKNOWN give nothing when `special` is false; UNUSED
    /// and UNDEFINED tokens give nothing.
    pub fn token_to_piece(&self, id: u32, special: bool) -> Result<Vec<u8>> {
        let a = self.attr(id)?;
        let text = &self.vocab.texts[id as usize];
        if !special && a & (attr::UNKNOWN | attr::CONTROL) != 0 {
            return Ok(Vec::new());
        }
        if a & (attr::UNKNOWN | attr::CONTROL | attr::USER_DEFINED) != 0 {
            return Ok(text.as_bytes().to_vec());
        }
        if a & attr::NORMAL != 0 {
            return Ok(decode_byte_level(text));
        }
        if a & attr::BYTE != 0 {
            // "<0xXX>"
            let byte = text
                .get(3..5)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::Tokenizer(format!("byte token {id} has text '{text}', not <0xXX>"))
                })?;
            return Ok(vec![byte]);
        }
        Ok(Vec::new())
    }

    /// The bytes of `llama_detokenize(ids, remove_special, unparse_special)`: a leading BOS (and a
    /// trailing EOS) is dropped when `remove_special` and the vocabulary adds it, pieces are
    /// concatenated, and GPT-2-style vocabularies get llama.cpp's `clean_spaces` passes.
    pub fn detokenize_bytes(
        &self,
        ids: &[u32],
        remove_special: bool,
        unparse_special: bool,
    ) -> Result<Vec<u8>> {
        let mut ids = ids;
        let mut remove_space = self.vocab.add_space_prefix;
        if remove_special && self.vocab.add_bos {
            if let (Some(&first), Some(bos)) = (ids.first(), self.vocab.special.bos) {
                if first == bos {
                    remove_space = false;
                    ids = &ids[1..];
                }
            }
        }
        if remove_special && self.vocab.add_eos {
            if let (Some(&last), Some(eos)) = (ids.last(), self.vocab.special.eos) {
                if last == eos {
                    ids = &ids[..ids.len() - 1];
                }
            }
        }
        let mut out = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let piece = self.token_to_piece(id, unparse_special)?;
            // lstrip: the first piece loses one leading space when the vocabulary adds a space
            // prefix
            let skip = usize::from(i == 0 && remove_space && piece.first() == Some(&b' '));
            out.extend_from_slice(&piece[skip..]);
        }
        if self.clean_spaces {
            let mut tracked: Vec<(u8, u32)> = out.iter().map(|&b| (b, 0)).collect();
            clean_spaces(&mut tracked);
            out = tracked.into_iter().map(|(b, _)| b).collect();
        }
        Ok(out)
    }

    /// `detokenize_bytes` as text; bytes that are not valid UTF-8 become U+FFFD.
    pub fn decode(
        &self,
        ids: &[u32],
        remove_special: bool,
        unparse_special: bool,
    ) -> Result<String> {
        let bytes = self.detokenize_bytes(ids, remove_special, unparse_special)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// llama.cpp's `llama_decode_text`: each codepoint of a NORMAL token stands for one byte; a
/// codepoint outside the byte-level alphabet is written as `[UNK_BYTE_0x<hex>` + the whole token
/// text + `]`.
fn decode_byte_level(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match byte_level::char_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(b"[UNK_BYTE_0x");
                for b in c.encode_utf8(&mut utf8).bytes() {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.extend_from_slice(text.as_bytes());
                out.push(b']');
            }
        }
    }
    out
}

/// llama.cpp's three `clean_spaces` passes (`clean_up_tokenization_spaces`), ported as written,
/// including the in-place reads of already compacted bytes and the NUL it writes over the space it
/// drops after a lone apostrophe. Each byte carries a tag (its position in the input) through, so
/// the streaming decoder can tell which output bytes came from which input bytes.
fn clean_spaces(text: &mut Vec<(u8, u32)>) {
    // pass 1: " ?", " !", " .", " ," lose the space
    let n = text.len();
    let mut total = usize::from(n > 0);
    for i in 1..n {
        let x = text[i];
        if text[i - 1].0 == b' ' && matches!(x.0, b'?' | b'!' | b'.' | b',') {
            total -= 1;
        }
        text[total] = x;
        total += 1;
    }
    text.truncate(total);

    // pass 2: " ' " loses both spaces
    let n = text.len();
    let mut total = usize::from(n > 0);
    let mut i = 1;
    while i < n {
        let x = text[i];
        if x.0 == b'\'' && i + 1 < n && text[i - 1].0 == b' ' && text[i + 1].0 == b' ' {
            total -= 1;
            i += 1;
            text[i].0 = 0;
        }
        text[total] = x;
        total += 1;
        i += 1;
    }
    text.truncate(total);

    // pass 3: " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it)
    let n = text.len();
    let mut total = usize::from(n > 0);
    for i in 1..n {
        let x = text[i];
        if text[i - 1].0 == b' ' && x.0 == b'\'' && i + 1 < n {
            let x1 = text[i + 1].0;
            if x1 == b's' || x1 == b'm' {
                total -= 1;
            } else if x1 != b't' && x1 != b'd' && i + 2 < n {
                let x2 = text[i + 2].0;
                if (x1 == b'r' || x1 == b'v') && x2 == b'e' {
                    total -= 1;
                }
            }
        }
        text[total] = x;
        total += 1;
    }
    text.truncate(total);
}

/// How many input bytes past a byte `clean_spaces` may look before deciding that byte's fate.
const CLEAN_SPACES_LOOKAHEAD: usize = 16;

/// Turns ids into text one id at a time, for streaming generated text. Fed a whole id sequence, the
/// concatenation of everything it returns (including `finish`) equals
/// `Tokenizer::decode(ids, remove_special, unparse_special)`. It never returns part of a UTF-8
/// character: an incomplete multi-byte sequence is held back until the next id completes it.
pub struct StreamDecoder<'a> {
    tok: &'a Tokenizer,
    remove_special: bool,
    unparse_special: bool,
    n_seen: usize,
    /// an EOS held back because `remove_special` drops it if it turns out to be the last id; the
    /// flag says whether it was the first id (the only one that may lose a leading space)
    held_eos: Option<bool>,
    /// bytes not yet final or not yet handed out (all bytes so far when `clean_spaces` applies)
    raw: Vec<u8>,
    /// for `clean_spaces` vocabularies: bytes of the cleaned output already taken from `raw`
    cleaned_taken: usize,
    /// final bytes that end in an incomplete UTF-8 sequence
    pending: Vec<u8>,
}

impl Tokenizer {
    /// A streaming decoder for generated ids with `decode(ids, false, false)` semantics: control
    /// tokens print nothing, everything else prints its bytes.
    pub fn stream_decoder(&self) -> StreamDecoder<'_> {
        StreamDecoder::new(self, false, false)
    }
}

impl<'a> StreamDecoder<'a> {
    /// A decoder whose output equals `tok.decode(ids, remove_special, unparse_special)`.
    pub fn new(
        tok: &'a Tokenizer,
        remove_special: bool,
        unparse_special: bool,
    ) -> StreamDecoder<'a> {
        StreamDecoder {
            tok,
            remove_special,
            unparse_special,
            n_seen: 0,
            held_eos: None,
            raw: Vec::new(),
            cleaned_taken: 0,
            pending: Vec::new(),
        }
    }

    /// Adds one id and returns the text that is now complete (often empty).
    pub fn push(&mut self, id: u32) -> Result<String> {
        let tok = self.tok;
        tok.attr(id)?; // range check before any state changes
        let first = self.n_seen == 0;
        self.n_seen += 1;
        let v = &tok.vocab;
        if first && self.remove_special && v.add_bos && v.special.bos == Some(id) {
            return Ok(String::new());
        }
        if let Some(was_first) = self.held_eos.take() {
            self.append_piece(v.special.eos.expect("held EOS exists"), was_first)?;
        }
        if self.remove_special && v.add_eos && v.special.eos == Some(id) {
            self.held_eos = Some(first);
        } else {
            // lstrip applies to the first piece only, and not after a removed BOS
            self.append_piece(id, first)?;
        }
        Ok(self.take_text(false))
    }

    /// Returns whatever is left, with an incomplete trailing sequence as U+FFFD. The decoder is
    /// then empty, as if new (a following `push` starts a new sequence).
    pub fn finish(&mut self) -> String {
        self.held_eos = None; // a trailing EOS is removed, as `decode` does
        let text = self.take_text(true);
        *self = StreamDecoder::new(self.tok, self.remove_special, self.unparse_special);
        text
    }

    fn append_piece(&mut self, id: u32, first: bool) -> Result<()> {
        let piece = self.tok.token_to_piece(id, self.unparse_special)?;
        let skip =
            usize::from(first && self.tok.vocab.add_space_prefix && piece.first() == Some(&b' '));
        self.raw.extend_from_slice(&piece[skip..]);
        Ok(())
    }

    /// Moves final bytes to `pending` and returns the complete UTF-8 text at its front.
    fn take_text(&mut self, at_end: bool) -> String {
        if self.tok.clean_spaces {
            // clean everything again and keep the bytes whose fate cannot change any more
            let mut tracked: Vec<(u8, u32)> = self
                .raw
                .iter()
                .enumerate()
                .map(|(i, &b)| (b, i as u32))
                .collect();
            clean_spaces(&mut tracked);
            let limit = if at_end {
                self.raw.len()
            } else {
                self.raw.len().saturating_sub(CLEAN_SPACES_LOOKAHEAD)
            };
            let n_final = tracked
                .iter()
                .take_while(|&&(_, src)| (src as usize) < limit)
                .count();
            if n_final > self.cleaned_taken {
                self.pending
                    .extend(tracked[self.cleaned_taken..n_final].iter().map(|&(b, _)| b));
                self.cleaned_taken = n_final;
            }
            // Keep the window short: restart it at a final byte `s` that survived every pass and
            // whose next byte did too. The passes look one byte back, the first byte of an input
            // always survives, and the only effect a byte has forward (pass 2 dropping and
            // overwriting the byte after a lone apostrophe) did not happen at `s`, so cleaning
            // the window gives the same bytes from `s` on.
            let restart = (1..n_final)
                .rev()
                .find(|&j| tracked[j].1 == tracked[j - 1].1 + 1)
                .map(|j| j - 1);
            if let Some(j) = restart.filter(|&j| tracked[j].1 > 0) {
                self.raw.drain(..tracked[j].1 as usize);
                self.cleaned_taken = n_final - j;
            }
        } else {
            self.pending.append(&mut self.raw);
        }
        take_complete_utf8(&mut self.pending, at_end)
    }
}

/// Removes and returns the longest front of `bytes` that ends on a UTF-8 sequence boundary, with
/// invalid sequences as U+FFFD (as `String::from_utf8_lossy` would write them); an incomplete
/// sequence at the end stays in `bytes` unless `at_end`.
fn take_complete_utf8(bytes: &mut Vec<u8>, at_end: bool) -> String {
    if at_end {
        let s = String::from_utf8_lossy(bytes).into_owned();
        bytes.clear();
        return s;
    }
    let mut out = String::new();
    let mut pos = 0;
    loop {
        match std::str::from_utf8(&bytes[pos..]) {
            Ok(s) => {
                out.push_str(s);
                pos = bytes.len();
                break;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(std::str::from_utf8(&bytes[pos..pos + valid]).expect("checked valid"));
                pos += valid;
                match e.error_len() {
                    Some(bad) => {
                        out.push('\u{FFFD}');
                        pos += bad;
                    }
                    None => break, // incomplete sequence at the end: wait for more bytes
                }
            }
        }
    }
    bytes.drain(..pos);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        let mut t: Vec<(u8, u32)> = s.bytes().map(|b| (b, 0)).collect();
        clean_spaces(&mut t);
        String::from_utf8(t.into_iter().map(|(b, _)| b).collect()).unwrap()
    }

    #[test]
    fn clean_spaces_follows_llama_cpp() {
        assert_eq!(clean("Hello , world !"), "Hello, world!");
        assert_eq!(clean("a ' b"), "a'b");
        assert_eq!(
            clean("it 's we 're I 'm they 've"),
            "it's we're I'm they've"
        );
        assert_eq!(clean("don 't we 'll he 'd"), "don 't we 'll he 'd");
        assert_eq!(clean(" ."), ".");
        assert_eq!(clean(""), "");
    }

    #[test]
    fn utf8_front_holds_back_incomplete_sequences() {
        let mut b = "h€".as_bytes()[..3].to_vec();
        assert_eq!(take_complete_utf8(&mut b, false), "h");
        assert_eq!(b, [0xE2, 0x82]);
        b.push(0xAC);
        assert_eq!(take_complete_utf8(&mut b, false), "€");
        let mut b = vec![b'a', 0xFF, b'b', 0xE2];
        assert_eq!(take_complete_utf8(&mut b, false), "a\u{FFFD}b");
        assert_eq!(take_complete_utf8(&mut b, true), "\u{FFFD}");
    }
}
