//! The tokenizer of GGUF files with `tokenizer.ggml.model = "gpt2"` (byte-level BPE), behaving
//! exactly like llama.cpp's (`llama-vocab.cpp`, `unicode.cpp`): same ids from `encode` as
//! `llama_tokenize`, same bytes from `decode` as `llama_detokenize`.
//!
//! Encoding a text:
//! 1. special tokens written in the text are cut out first ([`special`]);
//! 2. every remaining fragment is split into words by the pre-tokenizer that
//!    `tokenizer.ggml.pre` names ([`pretokenize`]: `deepseek-v3`, `deepseek-llm`, ...);
//! 3. each word is written in GPT-2's byte-level alphabet ([`byte_level`]) and merged by BPE
//!    ([`bpe`]);
//! 4. BOS is prepended when `add_special` and `tokenizer.ggml.add_bos_token` say so.
//!
//! Decoding ([`decode`]) maps every id to its bytes and joins them; [`StreamDecoder`] does it one
//! id at a time for generation. [`chat`] renders `tokenizer.chat_template`.

mod bpe;
mod byte_level;
mod chat;
mod decode;
mod pretokenize;
mod special;
mod unicode;
mod vocab;

pub use chat::{render_template, ChatMessage, TEMPLATE_FUEL, TEMPLATE_MAX_OUTPUT};
pub use decode::StreamDecoder;

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

use bpe::Merges;
use pretokenize::{PreTokenizer, PreType};
use special::Fragment;
use vocab::Vocab;

pub struct Tokenizer {
    vocab: Vocab,
    merges: Merges,
    /// `tokenizer.ggml.pre` as written in the file ("default" when absent)
    pre_name: String,
    pre: PreTokenizer,
    /// llama.cpp's `clean_spaces` (true for the GPT-2 and default pre-tokenizers, false for
    /// DeepSeek)
    clean_spaces: bool,
    chat_template: Option<String>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("n_vocab", &self.n_vocab())
            .field("n_merges", &self.n_merges())
            .field("pre", &self.pre_name)
            .field("bos", &self.bos())
            .field("eos", &self.eos())
            .finish()
    }
}

impl Tokenizer {
    /// Builds the tokenizer from a GGUF file's `tokenizer.*` metadata.
    pub fn from_gguf(file: &GgufFile) -> Result<Tokenizer> {
        match file.get_str("tokenizer.ggml.model")? {
            Some("gpt2") => {}
            Some(other) => {
                return Err(Error::Tokenizer(format!(
                    "tokenizer model '{other}' (tokenizer.ggml.model) is not supported; \
                     only byte-level BPE ('gpt2')"
                )))
            }
            None => return Err(Error::Tokenizer("tokenizer.ggml.model is missing".into())),
        }
        let merges = file
            .get_str_array("tokenizer.ggml.merges")?
            .ok_or_else(|| {
                Error::Tokenizer("cannot find tokenizer merges (tokenizer.ggml.merges)".into())
            })?;
        let pre_name = file.get_str("tokenizer.ggml.pre")?;
        let pre_type = PreType::from_name(pre_name)?;
        Ok(Tokenizer {
            merges: Merges::new(merges),
            vocab: Vocab::load(file)?,
            pre_name: pre_name.unwrap_or("default").to_string(),
            pre: PreTokenizer::new(pre_type)?,
            clean_spaces: pre_type.clean_spaces(),
            chat_template: file.get_str("tokenizer.chat_template")?.map(str::to_string),
        })
    }

    /// `llama_tokenize(text, add_special, parse_special)`: with `add_special`, BOS/EOS are added as
    /// the vocabulary asks; with `parse_special`, control tokens written in the text are
    /// recognised.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        if add_special && self.vocab.add_bos {
            out.extend(self.vocab.special.bos);
        }
        for fragment in special::partition(text, &self.vocab, parse_special) {
            match fragment {
                Fragment::Token(id) => out.push(id),
                Fragment::Text(range) => {
                    for word in self.pre.split(&text[range])? {
                        bpe::tokenize_word(word, &self.vocab, &self.merges, &mut out);
                    }
                }
            }
        }
        if add_special && self.vocab.add_eos {
            out.extend(self.vocab.special.eos);
        }
        Ok(out)
    }

    /// The words the pre-tokenizer makes of `text` (no special-token matching, no BPE): for tests
    /// and for finding out why a text tokenizes the way it does.
    pub fn pre_tokenize(&self, text: &str) -> Result<Vec<String>> {
        Ok(self
            .pre
            .split(text)?
            .into_iter()
            .map(str::to_string)
            .collect())
    }

    pub fn n_vocab(&self) -> usize {
        self.vocab.n_tokens()
    }
    /// Whether decoding what `encode(text, false, false)` gives returns `text` byte for byte:
    /// detokenization neither drops a space prefix nor cleans spaces (the DeepSeek vocabularies).
    pub fn round_trips(&self) -> bool {
        !self.clean_spaces && !self.vocab.add_space_prefix
    }
    pub fn n_merges(&self) -> usize {
        self.merges.len()
    }
    pub fn bos(&self) -> Option<u32> {
        self.vocab.special.bos
    }
    pub fn eos(&self) -> Option<u32> {
        self.vocab.special.eos
    }
    /// Padding id (`tokenizer.ggml.padding_token_id`), if any.
    pub fn pad(&self) -> Option<u32> {
        self.vocab.special.pad
    }
    /// Whether `id` ends generation (EOS, EOT, and the end tokens llama.cpp recognises by text).
    pub fn is_eog(&self, id: u32) -> bool {
        self.vocab.eog.contains(&id)
    }
    /// Whether `encode(.., add_special = true, ..)` prepends BOS.
    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos
    }
    /// Whether `encode(.., add_special = true, ..)` appends EOS.
    pub fn add_eos(&self) -> bool {
        self.vocab.add_eos
    }
    /// The pre-tokenizer name (`tokenizer.ggml.pre`, "default" when absent).
    pub fn pre(&self) -> &str {
        &self.pre_name
    }
    /// The stored text of a token (in the byte-level alphabet for normal tokens).
    pub fn token_text(&self, id: u32) -> Result<&str> {
        self.attr(id)?;
        Ok(&self.vocab.texts[id as usize])
    }
    /// The id of a token given its stored text.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.id_of(text)
    }
    /// Whether `id` is a control token (BOS, EOS, chat markers, ...), which decoding hides unless
    /// asked to render special tokens.
    pub fn is_control(&self, id: u32) -> Result<bool> {
        Ok(self.attr(id)? & vocab::attr::CONTROL != 0)
    }

    /// The attribute bits of a token, or an error naming an id outside the vocabulary.
    fn attr(&self, id: u32) -> Result<u32> {
        self.vocab.attrs.get(id as usize).copied().ok_or_else(|| {
            Error::Tokenizer(format!(
                "token id {id} is outside the vocabulary ({} tokens)",
                self.n_vocab()
            ))
        })
    }
}
