//! GPT-2's byte-level alphabet (`bytes_to_unicode` in the GPT-2 code, `unicode_byte_to_utf8` in
//! llama.cpp): every byte is written as one printable codepoint, so that BPE works on text and
//! every byte sequence is representable. Printable Latin-1 bytes map to themselves; the other 68
//! bytes (controls, space, DEL, NBSP, soft hyphen) map to U+0100.. in byte order. Space becomes
//! `Ġ` (U+0120) and `\n` becomes `Ċ` (U+010A).

use std::sync::OnceLock;

/// The highest codepoint the mapping produces is U+0143 (256 + 68 - 1).
const N_CODEPOINTS: usize = 256 + 68;

struct Tables {
    byte_to_char: [char; 256],
    char_to_byte: [Option<u8>; N_CODEPOINTS],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let printable = |b: u8| matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
        let mut byte_to_char = ['\0'; 256];
        let mut char_to_byte = [None; N_CODEPOINTS];
        let mut n = 0u32;
        for b in 0..=255u8 {
            let cp = if printable(b) {
                b as u32
            } else {
                n += 1;
                255 + n
            };
            let c = char::from_u32(cp).expect("GPT-2 byte map stays below U+0144");
            byte_to_char[b as usize] = c;
            char_to_byte[cp as usize] = Some(b);
        }
        Tables {
            byte_to_char,
            char_to_byte,
        }
    })
}

/// The codepoint that stands for byte `b`.
pub(crate) fn byte_to_char(b: u8) -> char {
    tables().byte_to_char[b as usize]
}

/// The byte a codepoint of the alphabet stands for; None for codepoints outside the alphabet.
pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    tables().char_to_byte.get(c as usize).copied().flatten()
}

/// A word's UTF-8 bytes written in the byte-level alphabet (llama.cpp's
/// `unicode_byte_encoding_process`), the form BPE merges and vocabulary entries use.
pub(crate) fn encode(word: &str) -> String {
    let mut out = String::with_capacity(word.len() * 2);
    for &b in word.as_bytes() {
        out.push(byte_to_char(b));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_a_bijection_with_gpt2_landmarks() {
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(byte_to_char(0xAD), '\u{143}');
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(byte_to_char(b)), Some(b));
        }
        assert_eq!(char_to_byte('\u{144}'), None);
        assert_eq!(char_to_byte('中'), None);
        assert_eq!(encode("a b\n"), "aĠbĊ");
    }
}
