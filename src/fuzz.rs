//! The bodies of the fuzz targets under `fuzz/`, in the library so that `cargo test` replays the
//! committed crash inputs (`fuzz/regressions/<target>/`) through exactly the code the fuzzer runs.
//! Each takes arbitrary bytes; any panic is a bug, errors are the expected outcome for almost
//! every input.

use crate::gguf::{Bytes, GgufFile};

/// `gguf_parse`: the GGUF parser and, when the bytes parse, everything that reads a parsed file:
/// tensor data, the model config, the weight loader and the tokenizer.
pub fn gguf_parse(data: &[u8]) {
    let Ok(file) = GgufFile::from_bytes("fuzz.gguf", Bytes::Owned(data.to_vec())) else {
        return;
    };
    for t in file.tensors() {
        assert_eq!(file.tensor_data(t).len() as u64, t.n_bytes);
    }
    if let Ok(config) = crate::model::Config::from_gguf(&file) {
        let _ = crate::model::Weights::load(&file, &config);
    }
    let _ = crate::tokenizer::Tokenizer::from_gguf(&file);
}

/// `tokenizer`: arbitrary bytes as text through `encode` (with and without special-token
/// parsing, with and without BOS) and back through `decode`, and as token ids through `decode`.
/// Text made of whole UTF-8 characters, encoded without special parsing, must come back byte for
/// byte from a byte-level vocabulary that neither adds a space prefix nor cleans spaces (the
/// DeepSeek vocabularies).
pub fn tokenizer(tok: &crate::tokenizer::Tokenizer, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for (add_special, parse_special) in [(false, false), (true, true), (false, true)] {
        let Ok(ids) = tok.encode(&text, add_special, parse_special) else {
            continue;
        };
        let back = tok.detokenize_bytes(&ids, false, parse_special);
        if !add_special && !parse_special && tok.round_trips() {
            let back = back.expect("ids from encode decode");
            assert_eq!(back, text.as_bytes(), "round trip of {text:?}");
        }
    }
    // The bytes as ids (4 per id), every id whether in the vocabulary or not.
    let ids: Vec<u32> = data
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) % (tok.n_vocab() as u32 + 8))
        .collect();
    for (remove, unparse) in [(false, false), (true, true)] {
        let _ = tok.decode(&ids, remove, unparse);
    }
}

/// `chat_template`: the bytes up to the first NUL as a Jinja chat template, the rest as the
/// contents of alternating user and assistant messages (split at NULs), rendered within the
/// renderer's limits (`TEMPLATE_FUEL`, `TEMPLATE_MAX_OUTPUT`).
pub fn chat_template(data: &[u8]) {
    use crate::tokenizer::{render_template, ChatMessage};
    let mut parts = data.split(|&b| b == 0);
    let template = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let messages: Vec<ChatMessage> = parts
        .take(64)
        .enumerate()
        .map(|(i, m)| {
            let role = ["system", "user", "assistant", "tool"][i % 4];
            ChatMessage::new(role, String::from_utf8_lossy(m))
        })
        .collect();
    for add_generation_prompt in [false, true] {
        if let Ok(out) = render_template(&template, &messages, add_generation_prompt, "<s>", "</s>")
        {
            assert!(out.len() <= crate::tokenizer::TEMPLATE_MAX_OUTPUT);
        }
    }
}

/// `hf_config`: arbitrary bytes as a Hugging Face config.json through `convert`'s reader and its
/// GGUF metadata.
pub fn hf_config(data: &[u8]) {
    use crate::convert::hf_config::HfConfig;
    let Ok(json) = serde_json::from_slice(data) else {
        return;
    };
    if let Ok(c) = HfConfig::from_json(std::path::Path::new("config.json"), json) {
        let _ = c.gguf_metadata(crate::quant::QuantType::F16.id());
        for il in 0..c.n_layer.min(4096) {
            let _ = c.is_moe_layer(il);
        }
    }
}

/// `safetensors`: arbitrary bytes as a safetensors file through `convert`'s reader, every tensor
/// read back (its first row as f32).
pub fn safetensors(data: &[u8]) {
    use crate::convert::safetensors::SafeTensors;
    let Ok(st) = SafeTensors::from_bytes("fuzz.safetensors", Bytes::Owned(data.to_vec())) else {
        return;
    };
    for (name, t) in st.tensors() {
        assert_eq!(
            st.data(t).len() as u64,
            t.n_elements() * t.dtype.size() as u64
        );
        let n = t.row_len().min(1 << 16) as usize;
        let _ = st.read_f32(name, 0, n);
    }
}

/// `tokenizer_json`: the bytes up to the first NUL as tokenizer.json, the rest (if any) as
/// tokenizer_config.json, through `convert`'s reader and its GGUF tokenizer metadata; the first
/// two bytes of the rest also give the model's vocabulary size.
pub fn tokenizer_json(data: &[u8]) {
    use crate::convert::tokenizer_json::HfTokenizer;
    let mut parts = data.splitn(2, |&b| b == 0);
    let Ok(tokenizer) = serde_json::from_slice(parts.next().unwrap_or_default()) else {
        return;
    };
    let rest = parts.next().unwrap_or_default();
    let config = serde_json::from_slice(rest).ok();
    let vocab_size = rest
        .iter()
        .take(2)
        .fold(0usize, |v, &b| v * 256 + b as usize);
    let t = HfTokenizer::from_json(std::path::Path::new("fuzz"), tokenizer, config);
    let _ = t.gguf_metadata(vocab_size, None);
}
