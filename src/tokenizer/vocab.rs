//! The vocabulary as llama.cpp's `llama_vocab::impl::load` builds it from `tokenizer.ggml.*`:
//! token texts and attributes, the special token ids, the end-of-generation set, and the list of
//! special tokens matched in raw text. Attribute fix-ups that llama.cpp applies by token text
//! (control-looking tokens made CONTROL, "unused" control tokens marked UNUSED, ...) are applied
//! here too, because they change what decoding prints.

use std::collections::{BTreeSet, HashMap};

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

/// Token attributes (`llama_token_attr`), a bit set.
pub(crate) mod attr {
    pub const UNKNOWN: u32 = 1 << 0;
    pub const UNUSED: u32 = 1 << 1;
    pub const NORMAL: u32 = 1 << 2;
    pub const CONTROL: u32 = 1 << 3;
    pub const USER_DEFINED: u32 = 1 << 4;
    pub const BYTE: u32 = 1 << 5;
}

/// `tokenizer.ggml.token_type` values (`llama_token_type`) to attributes.
fn attr_of_type(t: i64) -> u32 {
    match t {
        1 => attr::NORMAL,
        2 => attr::UNKNOWN,
        3 => attr::CONTROL,
        4 => attr::USER_DEFINED,
        5 => attr::UNUSED,
        6 => attr::BYTE,
        _ => 0, // UNDEFINED
    }
}

/// Special token ids; None is llama.cpp's LLAMA_TOKEN_NULL.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    pub sep: Option<u32>,
    pub pad: Option<u32>,
    pub mask: Option<u32>,
    pub fim_pre: Option<u32>,
    pub fim_suf: Option<u32>,
    pub fim_mid: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
}

/// Metadata keys of the special ids, in llama.cpp's order (the last three are deprecated names of
/// the FIM ids; llama.cpp spells "seperator" this way).
const SPECIAL_ID_KEYS: [&str; 17] = [
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.eot_token_id",
    "tokenizer.ggml.eom_token_id",
    "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.seperator_token_id",
    "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.mask_token_id",
    "tokenizer.ggml.fim_pre_token_id",
    "tokenizer.ggml.fim_suf_token_id",
    "tokenizer.ggml.fim_mid_token_id",
    "tokenizer.ggml.fim_pad_token_id",
    "tokenizer.ggml.fim_rep_token_id",
    "tokenizer.ggml.fim_sep_token_id",
    "tokenizer.ggml.prefix_token_id",
    "tokenizer.ggml.suffix_token_id",
    "tokenizer.ggml.middle_token_id",
];

impl SpecialIds {
    fn slot(&mut self, key: &str) -> &mut Option<u32> {
        match key
            .trim_start_matches("tokenizer.ggml.")
            .trim_end_matches("_token_id")
        {
            "bos" => &mut self.bos,
            "eos" => &mut self.eos,
            "eot" => &mut self.eot,
            "eom" => &mut self.eom,
            "unknown" => &mut self.unk,
            "seperator" => &mut self.sep,
            "padding" => &mut self.pad,
            "mask" => &mut self.mask,
            "fim_pre" | "prefix" => &mut self.fim_pre,
            "fim_suf" | "suffix" => &mut self.fim_suf,
            "fim_mid" | "middle" => &mut self.fim_mid,
            "fim_pad" => &mut self.fim_pad,
            "fim_rep" => &mut self.fim_rep,
            "fim_sep" => &mut self.fim_sep,
            _ => unreachable!("not a special id key: {key}"),
        }
    }
}

pub(crate) struct Vocab {
    pub texts: Vec<String>,
    pub attrs: Vec<u32>,
    pub ids: HashMap<String, u32>,
    pub special: SpecialIds,
    pub add_bos: bool,
    pub add_eos: bool,
    /// `tokenizer.ggml.add_space_prefix`; for BPE it only makes detokenization drop one leading
    /// space.
    pub add_space_prefix: bool,
    /// Tokens that end generation.
    pub eog: BTreeSet<u32>,
    /// CONTROL, USER_DEFINED and UNKNOWN tokens, longest text first: the order in which
    /// `tokenizer_st_partition` looks for them in raw text.
    pub special_cache: Vec<u32>,
}

const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";

impl Vocab {
    pub(crate) fn load(file: &GgufFile) -> Result<Vocab> {
        let tokens = file.get_str_array(KEY_TOKENS)?.ok_or_else(|| {
            Error::Tokenizer(format!(
                "{KEY_TOKENS} is missing: the file has no vocabulary"
            ))
        })?;
        let n = tokens.len();
        if n == 0 || n > u32::MAX as usize / 2 {
            return Err(Error::Tokenizer(format!("{KEY_TOKENS} has {n} tokens")));
        }
        let types = file.get_int_array(KEY_TOKEN_TYPE)?;
        if let Some(t) = &types {
            if t.len() < n {
                return Err(Error::Tokenizer(format!(
                    "{KEY_TOKEN_TYPE} has {} entries for {n} tokens",
                    t.len()
                )));
            }
        }

        let mut texts = Vec::with_capacity(n);
        let mut attrs = Vec::with_capacity(n);
        let mut ids = HashMap::with_capacity(n);
        for (i, text) in tokens.iter().enumerate() {
            let text = if text.is_empty() {
                format!("[EMPTY_{i}]")
            } else {
                text.clone()
            };
            if let Some(prev) = ids.insert(text.clone(), i as u32) {
                return Err(Error::Tokenizer(format!(
                    "duplicate token in vocabulary: '{text}' has ids {prev} and {i}"
                )));
            }
            texts.push(text);
            attrs.push(types.as_ref().map_or(attr::NORMAL, |t| attr_of_type(t[i])));
        }

        let mut vocab = Vocab {
            texts,
            attrs,
            ids,
            special: SpecialIds::default(),
            add_bos: false,
            add_eos: false,
            add_space_prefix: file
                .get_bool("tokenizer.ggml.add_space_prefix")?
                .unwrap_or(false),
            eog: BTreeSet::new(),
            special_cache: Vec::new(),
        };
        vocab.load_special_ids(file)?;
        vocab.detect_special_tokens_by_text();
        vocab.build_special_cache();
        Ok(vocab)
    }

    pub(crate) fn n_tokens(&self) -> usize {
        self.texts.len()
    }

    pub(crate) fn id_of(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// Special ids from metadata over the BPE defaults (BOS = EOS = 11), with llama.cpp's checks:
    /// a default outside the vocabulary is disabled, an out-of-range key keeps the default.
    fn load_special_ids(&mut self, file: &GgufFile) -> Result<()> {
        let n = self.n_tokens() as u64;
        let mut s = SpecialIds {
            bos: Some(11),
            eos: Some(11),
            ..SpecialIds::default()
        };
        for key in SPECIAL_ID_KEYS {
            let slot = s.slot(key);
            if slot.is_some_and(|id| id as u64 >= n) {
                *slot = None;
            }
            if let Some(v) = file.get_u64(key)? {
                if v < n {
                    *slot = Some(v as u32);
                } else {
                    log::warn!(
                        "tokenizer: {key} = {v} is outside the vocabulary ({n} tokens); ignored"
                    );
                }
            }
        }
        self.special = s;

        self.add_bos = file
            .get_bool("tokenizer.ggml.add_bos_token")?
            .unwrap_or(false);
        self.add_eos = file
            .get_bool("tokenizer.ggml.add_eos_token")?
            .unwrap_or(false);
        let add_sep = file
            .get_bool("tokenizer.ggml.add_sep_token")?
            .unwrap_or(false);
        for (add, id, what) in [
            (
                self.add_bos,
                self.special.bos,
                "add_bos_token is true, but bos_token_id is not set",
            ),
            (
                self.add_eos,
                self.special.eos,
                "add_eos_token is true, but eos_token_id is not set",
            ),
            (
                add_sep,
                self.special.sep,
                "add_sep_token is true, but seperator_token_id is not set",
            ),
        ] {
            if add && id.is_none() {
                return Err(Error::Tokenizer(what.to_string()));
            }
        }
        Ok(())
    }

    /// llama.cpp's text-based detection of EOT/EOM/FIM tokens and end-of-generation tokens.
    /// llama.cpp walks an unordered map, so with several candidates its choice is unspecified; we
    /// take the lowest id. Every detected token is made CONTROL.
    fn detect_special_tokens_by_text(&mut self) {
        const EOT: &[&str] = &[
            "<|eot_id|>",
            "<|im_end|>",
            "<|end|>",
            "<end_of_turn>",
            "<|endoftext|>",
            "<|end_of_text|>",
            "<EOT>",
            "_<EOT>",
            "[EOT]",
            "<｜end▁of▁sentence｜>",
            "<end_of_utterance>",
        ];
        const EOM: &[&str] = &["<|eom_id|>"];
        const FIM_PRE: &[&str] = &[
            "<|fim_prefix|>",
            "<fim-prefix>",
            "<fim_prefix>",
            "<｜fim▁begin｜>",
            "<PRE>",
            "▁<PRE>",
            "<|code_prefix|>",
            "<|prefix|>",
        ];
        const FIM_SUF: &[&str] = &[
            "<|fim_suffix|>",
            "<fim-suffix>",
            "<fim_suffix>",
            "<｜fim▁hole｜>",
            "<SUF>",
            "▁<SUF>",
            "<|code_suffix|>",
            "<|suffix|>",
        ];
        const FIM_MID: &[&str] = &[
            "<|fim_middle|>",
            "<fim-middle>",
            "<fim_middle>",
            "<｜fim▁end｜>",
            "<MID>",
            "▁<MID>",
            "<|code_middle|>",
            "<|middle|>",
        ];
        const FIM_PAD: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
        const FIM_REP: &[&str] = &[
            "<|fim_repo|>",
            "<|repo_name|>",
            "<fim-repo>",
            "<REPO>",
            "<reponame>",
        ];
        const FIM_SEP: &[&str] = &["<|file_sep|>"];
        const EOG: &[&str] = &[
            "<|eot_id|>",
            "<|im_end|>",
            "<|end|>",
            "<|return|>",
            "<|call|>",
            "<|flush|>",
            "<|calls|>",
            "<end_of_turn>",
            "<|endoftext|>",
            "</s>",
            "<|eom_id|>",
            "<EOT>",
            "_<EOT>",
            "[EOT]",
            "[EOS]",
            "<|end_of_text|>",
            "<end_of_utterance>",
            "<eos>",
            "<turn|>",
            "<|tool_response>",
            "<｜end▁of▁sentence｜>",
            "[e~[",
        ];

        let first_of =
            |names: &[&str]| -> Option<u32> { names.iter().filter_map(|t| self.id_of(t)).min() };
        let found = [
            EOT, EOM, FIM_PRE, FIM_SUF, FIM_MID, FIM_PAD, FIM_REP, FIM_SEP,
        ]
        .map(first_of);
        let s = &mut self.special;
        let slots = [
            &mut s.eot,
            &mut s.eom,
            &mut s.fim_pre,
            &mut s.fim_suf,
            &mut s.fim_mid,
            &mut s.fim_pad,
            &mut s.fim_rep,
            &mut s.fim_sep,
        ];
        let mut made_control = Vec::new();
        for (slot, found) in slots.into_iter().zip(found) {
            if slot.is_none() {
                *slot = found;
                made_control.extend(found);
            }
        }
        for id in made_control {
            self.attrs[id as usize] |= attr::CONTROL;
        }

        // control tokens with "unused" in their text are unused
        for (text, a) in self.texts.iter().zip(self.attrs.iter_mut()) {
            if *a & attr::CONTROL != 0 && text.contains("unused") {
                *a |= attr::UNUSED;
            }
        }

        let s = &self.special;
        let mut eog: BTreeSet<u32> = [s.fim_pad, s.fim_rep, s.fim_sep]
            .into_iter()
            .flatten()
            .collect();
        for name in EOG {
            if let Some(id) = self.id_of(name) {
                eog.insert(id);
                self.attrs[id as usize] |= attr::CONTROL;
            }
        }
        // gpt-oss: always render these
        for name in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(id) = self.id_of(name) {
                self.attrs[id as usize] = attr::USER_DEFINED;
            }
        }
        let s = &self.special;
        eog.extend([s.eos, s.eot, s.eom].into_iter().flatten());

        // o200k_harmony / solar-open: "<|end|>" is not EOG when "<|return|>"+"<|call|>" (or
        // "<|calls|>"+"<|flush|>") are
        let in_eog = |t: &str| self.id_of(t).filter(|id| eog.contains(id));
        let has_call = in_eog("<|call|>").is_some() || in_eog("<|calls|>").is_some();
        let has_return = in_eog("<|return|>").is_some();
        let has_flush = in_eog("<|flush|>").is_some();
        let end = in_eog("<|end|>");
        // gemma4 / paddleocr: "</s>" is not EOG next to "<|tool_response>"
        let tool_response = in_eog("<|tool_response>").is_some();
        let eos_text = in_eog("</s>");
        if let Some(end) = end.filter(|_| has_call && (has_return || has_flush)) {
            eog.remove(&end);
            self.attrs[end as usize] = attr::USER_DEFINED;
        }
        if let Some(s_id) = eos_text.filter(|_| tool_response) {
            eog.remove(&s_id);
            self.attrs[s_id as usize] = attr::NORMAL;
        }
        self.eog = eog;
    }

    /// llama.cpp sorts with `std::sort` by length only, which leaves equal-length tokens in an
    /// unspecified order; we break ties by id. The order matters only for two special tokens of the
    /// same length that overlap in a text.
    fn build_special_cache(&mut self) {
        let wanted = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;
        let mut cache: Vec<u32> = (0..self.n_tokens() as u32)
            .filter(|&id| self.attrs[id as usize] & wanted != 0)
            .collect();
        cache.sort_by(|&a, &b| {
            self.texts[b as usize]
                .len()
                .cmp(&self.texts[a as usize].len())
                .then(a.cmp(&b))
        });
        self.special_cache = cache;
    }
}
