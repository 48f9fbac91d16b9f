//! The `tokenizer.*` GGUF keys from a Hugging Face byte-level BPE tokenizer (`tokenizer.json`,
//! `tokenizer_config.json`, `config.json`), as llama.cpp's converter writes them
//! (`TextModel._set_vocab_gpt2` / `get_vocab_base` and gguf-py's `SpecialVocab`):
//!
//! * `tokens`: `vocab_size` entries (from config.json), the model vocabulary plus added tokens by
//!   id, `[PAD{i}]` for ids nobody uses; `token_type`: 1 normal, 3 control (added tokens marked
//!   special or looking special, `<|…|>` / `<｜…｜>`), 4 user-defined (other added tokens, with
//!   `▁` turned into a space), 5 unused (the pads);
//! * `merges` as `"a b"` strings (pair-form merges joined, spaces inside a part written as `Ġ`);
//! * special ids from `tokenizer_config.json` `{bos,eos,unk,sep,pad,cls,mask}_token` looked up in
//!   the added tokens, then `config.json` `*_token_id` for the types still unset;
//! * `add_bos_token` / `add_eos_token` from `tokenizer_config.json` (after a simple
//!   `TemplateProcessing` post-processor), and the chat template (`tokenizer_config.json`,
//!   `chat_template.jinja` or `chat_template.json`).
//!
//! `tokenizer.ggml.pre`: llama.cpp identifies the pre-tokenizer by hashing how the HF tokenizer
//! splits a check text, which needs the Python tokenizer. We recognize DeepSeek's pre-tokenizer
//! regexes in `tokenizer.json` instead (`deepseek-v3`, `deepseek-llm`, `deepseek-coder`); any
//! other must be named with `--pre`.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::gguf::{Array, Value};

fn read_json(path: &Path) -> Result<Json> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Tokenizer(format!("{}: not valid JSON: {e}", path.display())))
}

/// Token types as GGUF stores them (llama_token_type).
pub mod token_type {
    pub const NORMAL: i32 = 1;
    pub const CONTROL: i32 = 3;
    pub const USER_DEFINED: i32 = 4;
    pub const UNUSED: i32 = 5;
}

/// gguf-py `TextModel.does_token_look_special`.
fn looks_special(t: &str) -> bool {
    matches!(t, "<pad>" | "<mask>" | "<2mass>" | "[@BOS@]")
        || (t.starts_with("<|") && t.ends_with("|>"))
        || (t.starts_with("<｜") && t.ends_with("｜>"))
        || (t.starts_with("<unused") && t.ends_with('>'))
}

/// Which llama.cpp pre-tokenizer a `tokenizer.json` pre_tokenizer is, recognized by its regexes.
pub fn detect_pre(tok: &Json) -> Option<&'static str> {
    fn regexes(v: &Json, out: &mut Vec<String>) {
        if let Some(r) = v
            .get("pattern")
            .and_then(|p| p.get("Regex"))
            .and_then(Json::as_str)
        {
            out.push(r.to_string());
        }
        for k in ["pretokenizers", "pre_tokenizers"] {
            if let Some(a) = v.get(k).and_then(Json::as_array) {
                a.iter().for_each(|x| regexes(x, out));
            }
        }
    }
    let mut r = Vec::new();
    regexes(tok.get("pre_tokenizer")?, &mut r);
    let has = |s: &str| r.iter().any(|x| x == s);
    let has_part = |s: &str| r.iter().any(|x| x.contains(s));
    if has("\\p{N}{1,3}") && has_part("[\\p{L}\\p{M}]+") && has_part("\\s+(?!\\S)") {
        return Some("deepseek-v3");
    }
    // V2 / V2-Lite and the coder models split digits with a `Digits` pre-tokenizer, not a regex.
    if has("[\r\n]") && has_part("\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}") && has("\\s+$") {
        return Some("deepseek-llm");
    }
    if has("[\r\n]") && has("\\s?\\p{L}+") && has("\\s?\\p{P}+") {
        return Some("deepseek-coder");
    }
    None
}

/// Everything the `tokenizer.*` keys need, read from the checkpoint folder.
pub struct HfTokenizer {
    pub dir: PathBuf,
    tokenizer: Json,
    config: Option<Json>,
    model_config: Option<Json>,
    chat_template: Option<Json>,
}

impl HfTokenizer {
    pub fn load(dir: &Path) -> Result<HfTokenizer> {
        let tokenizer = read_json(&dir.join("tokenizer.json"))?;
        let tc_path = dir.join("tokenizer_config.json");
        let config = if tc_path.is_file() {
            Some(read_json(&tc_path)?)
        } else {
            None
        };
        let mc_path = dir.join("config.json");
        let model_config = if mc_path.is_file() {
            Some(read_json(&mc_path)?)
        } else {
            None
        };
        let jinja = dir.join("chat_template.jinja");
        let json = dir.join("chat_template.json");
        let alt = if jinja.is_file() {
            Some(Json::String(
                std::fs::read_to_string(&jinja).map_err(|e| Error::io(&jinja, e))?,
            ))
        } else if json.is_file() {
            read_json(&json)?.get("chat_template").cloned()
        } else {
            None
        };
        let chat_template = config
            .as_ref()
            .and_then(|c| c.get("chat_template").cloned())
            .or(alt);
        Ok(HfTokenizer {
            dir: dir.to_path_buf(),
            tokenizer,
            config,
            model_config,
            chat_template,
        })
    }

    /// A tokenizer.json (and tokenizer_config.json) already parsed; `dir` is used in messages.
    pub fn from_json(dir: &Path, tokenizer: Json, config: Option<Json>) -> HfTokenizer {
        let chat_template = config
            .as_ref()
            .and_then(|c| c.get("chat_template").cloned());
        HfTokenizer {
            dir: dir.to_path_buf(),
            tokenizer,
            config,
            model_config: None,
            chat_template,
        }
    }

    fn err(&self, what: impl std::fmt::Display) -> Error {
        Error::Tokenizer(format!(
            "{}: {what}",
            self.dir.join("tokenizer.json").display()
        ))
    }

    /// The `tokenizer.*` keys, in the converter's order. `pre` overrides the detected
    /// pre-tokenizer name.
    pub fn gguf_metadata(
        &self,
        vocab_size: usize,
        pre: Option<&str>,
    ) -> Result<Vec<(String, Value)>> {
        let t = &self.tokenizer;
        let model = t.get("model").ok_or_else(|| self.err("no \"model\""))?;
        if model.get("type").and_then(Json::as_str) != Some("BPE")
            || model.get("byte_fallback").and_then(Json::as_bool) == Some(true)
            || t.get("decoder")
                .and_then(|d| d.get("type"))
                .and_then(Json::as_str)
                != Some("ByteLevel")
        {
            return Err(self.err(
                "not a byte-level BPE tokenizer (model type BPE without byte_fallback, ByteLevel decoder), which DeepSeek V2/V3 use",
            ));
        }
        let pre = match pre {
            Some(p) => p.to_string(),
            None => detect_pre(t)
                .ok_or_else(|| {
                    self.err(
                        "pre-tokenizer not recognized as deepseek-v3, deepseek-llm or deepseek-coder; name it with --pre",
                    )
                })?
                .to_string(),
        };

        // id → (text, type)
        let mut tokens: Vec<Option<(String, i32)>> = vec![None; vocab_size];
        let vocab = model
            .get("vocab")
            .and_then(Json::as_object)
            .ok_or_else(|| self.err("model.vocab is not an object"))?;
        let mut added: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
        let added_list = t.get("added_tokens").and_then(Json::as_array);
        for a in added_list.into_iter().flatten() {
            if let Some(c) = a.get("content").and_then(Json::as_str) {
                let special = a.get("special").and_then(Json::as_bool).unwrap_or(false);
                added.insert(c, special);
            }
        }
        let mut place = |id: u64, text: &str| -> Result<()> {
            let slot = tokens.get_mut(id as usize).ok_or_else(|| {
                self.err(format!(
                    "token {text:?} has id {id}, outside vocab_size {vocab_size} of config.json"
                ))
            })?;
            let ty = match added.get(text) {
                Some(&special) if special || looks_special(text) => {
                    (text.to_string(), token_type::CONTROL)
                }
                Some(_) => (text.replace('\u{2581}', " "), token_type::USER_DEFINED),
                None => (text.to_string(), token_type::NORMAL),
            };
            *slot = Some(ty);
            Ok(())
        };
        for (text, id) in vocab {
            let id = id
                .as_u64()
                .ok_or_else(|| self.err(format!("vocab id of {text:?} is not an integer")))?;
            place(id, text)?;
        }
        for a in added_list.into_iter().flatten() {
            let (Some(c), Some(id)) = (
                a.get("content").and_then(Json::as_str),
                a.get("id").and_then(Json::as_u64),
            ) else {
                return Err(self.err("an added token lacks content or id"));
            };
            place(id, c)?;
        }
        let (texts, types): (Vec<String>, Vec<i32>) = tokens
            .into_iter()
            .enumerate()
            .map(|(i, t)| t.unwrap_or_else(|| (format!("[PAD{i}]"), token_type::UNUSED)))
            .unzip();

        let merges: Vec<String> = match model.get("merges").and_then(Json::as_array) {
            None => Vec::new(),
            Some(m) => m
                .iter()
                .map(|x| match x {
                    Json::String(s) => Some(s.clone()),
                    Json::Array(p) if p.len() == 2 => {
                        let part = |v: &Json| v.as_str().map(|s| s.replace(' ', "\u{120}"));
                        Some(format!("{} {}", part(&p[0])?, part(&p[1])?))
                    }
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    self.err("model.merges entries must be \"a b\" strings or [a, b] pairs")
                })?,
        };

        let mut m: Vec<(String, Value)> = vec![
            ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
            ("tokenizer.ggml.pre".into(), Value::String(pre)),
            (
                "tokenizer.ggml.tokens".into(),
                Value::Array(Array::String(texts)),
            ),
            (
                "tokenizer.ggml.token_type".into(),
                Value::Array(Array::I32(types)),
            ),
        ];
        if !merges.is_empty() {
            m.push((
                "tokenizer.ggml.merges".into(),
                Value::Array(Array::String(merges)),
            ));
        }

        // SpecialVocab
        const TYPES: [&str; 7] = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"];
        let mut ids: Vec<(&str, u32)> = Vec::new();
        let mut add: Vec<(&str, bool)> = Vec::new();
        let set_id = |ids: &mut Vec<(&str, u32)>, typ: &'static str, id: Option<u64>| {
            if let Some(id) = id {
                if !ids.iter().any(|(t, _)| *t == typ) && id <= u32::MAX as u64 {
                    ids.push((typ, id as u32));
                }
            }
        };
        let set_add = |add: &mut Vec<(&str, bool)>, typ: &'static str, v: bool| match add
            .iter_mut()
            .find(|(t, _)| *t == typ)
        {
            Some(slot) => slot.1 = v,
            None => add.push((typ, v)),
        };
        let content = |v: Option<&Json>| -> Option<String> {
            match v? {
                Json::String(s) => Some(s.clone()),
                Json::Object(o) => o.get("content")?.as_str().map(str::to_string),
                _ => None,
            }
        };
        if let Some(tc) = &self.config {
            let special_bos = content(tc.get("bos_token")).or_else(|| content(tc.get("cls_token")));
            let special_eos = content(tc.get("eos_token")).or_else(|| content(tc.get("sep_token")));
            // A simple TemplateProcessing post-processor: BOS first / EOS last.
            if let Some(pp) = t.get("post_processor").filter(|p| !p.is_null()) {
                let procs: Vec<&Json> = match pp.get("processors").and_then(Json::as_array) {
                    Some(a) => a.iter().collect(),
                    None => vec![pp],
                };
                for p in procs {
                    if p.get("type").and_then(Json::as_str) != Some("TemplateProcessing") {
                        continue;
                    }
                    let single = p.get("single").and_then(Json::as_array);
                    let sid = |x: Option<&Json>| {
                        x?.get("SpecialToken")?
                            .get("id")?
                            .as_str()
                            .map(str::to_string)
                    };
                    if let Some(s) = single.filter(|s| s.len() > 1) {
                        if let Some(first) = sid(s.first()) {
                            set_add(&mut add, "bos", Some(&first) == special_bos.as_ref());
                        }
                        if let Some(last) = sid(s.last()) {
                            set_add(&mut add, "eos", Some(&last) == special_eos.as_ref());
                        }
                    }
                }
            }
            for typ in TYPES {
                if let Some(b) = tc.get(format!("add_{typ}_token")).and_then(Json::as_bool) {
                    set_add(&mut add, typ, b);
                }
                let key = format!("{typ}_token");
                let c = match typ {
                    "bos" => special_bos.clone(),
                    "eos" => special_eos.clone(),
                    _ => content(tc.get(&key)),
                };
                let Some(c) = c else { continue };
                let id = added_list
                    .into_iter()
                    .flatten()
                    .find(|a| a.get("content").and_then(Json::as_str) == Some(c.as_str()))
                    .and_then(|a| a.get("id").and_then(Json::as_u64));
                set_id(&mut ids, typ, id);
            }
        }
        if let Some(mc) = &self.model_config {
            for typ in TYPES {
                let id = mc
                    .get(format!("{typ}_token_id"))
                    .or_else(|| {
                        mc.get("text_config")
                            .and_then(|t| t.get(format!("{typ}_token_id")))
                    })
                    .and_then(Json::as_u64);
                set_id(&mut ids, typ, id);
            }
        }
        for (typ, id) in ids {
            let key = match typ {
                "bos" => "bos_token_id",
                "eos" => "eos_token_id",
                "unk" => "unknown_token_id",
                "sep" => "seperator_token_id",
                "pad" => "padding_token_id",
                "cls" => "cls_token_id",
                _ => "mask_token_id",
            };
            m.push((format!("tokenizer.ggml.{key}"), Value::U32(id)));
        }
        for (typ, v) in add {
            if matches!(typ, "bos" | "eos" | "sep") {
                m.push((format!("tokenizer.ggml.add_{typ}_token"), Value::Bool(v)));
            }
        }
        match &self.chat_template {
            None | Some(Json::Null) => {}
            Some(Json::String(s)) if s.is_empty() => {}
            Some(Json::String(s)) => {
                m.push(("tokenizer.chat_template".into(), Value::String(s.clone())))
            }
            Some(Json::Array(list)) => {
                // Named templates: "default" is the chat template, the others
                // tokenizer.chat_template.<name>, listed in tokenizer.chat_templates.
                let mut default = None;
                let mut names = Vec::new();
                for choice in list {
                    let name: String = choice
                        .get("name")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    let Some(tpl) = choice.get("template").and_then(Json::as_str) else {
                        continue;
                    };
                    if name.is_empty() {
                        continue;
                    }
                    if name == "default" {
                        default = Some(tpl.to_string());
                    } else {
                        m.push((
                            format!("tokenizer.chat_template.{name}"),
                            Value::String(tpl.into()),
                        ));
                        names.push(name);
                    }
                }
                if !names.is_empty() {
                    m.push((
                        "tokenizer.chat_templates".into(),
                        Value::Array(Array::String(names)),
                    ));
                }
                if let Some(d) = default {
                    m.push(("tokenizer.chat_template".into(), Value::String(d)));
                }
            }
            Some(other) => log::warn!("chat_template of type {other} ignored"),
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_the_deepseek_pre_tokenizers_and_nothing_else() {
        let v3 = serde_json::json!({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}},
            {"type": "Split", "pattern": {"Regex": "[一-龥぀-ゟ゠-ヿ]+"}},
            {"type": "Split", "pattern": {"Regex": "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}},
            {"type": "ByteLevel"}]}});
        assert_eq!(detect_pre(&v3), Some("deepseek-v3"));
        let coder = serde_json::json!({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "[\r\n]"}},
            {"type": "Split", "pattern": {"Regex": "\\s?\\p{L}+"}},
            {"type": "Split", "pattern": {"Regex": "\\s?\\p{P}+"}},
            {"type": "Split", "pattern": {"Regex": "[一-龥ࠀ-一가-퟿]+"}},
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel"}]}});
        assert_eq!(detect_pre(&coder), Some("deepseek-coder"));
        // DeepSeek-V2 / V2-Lite tokenizer.json (letter class shortened).
        let llm = serde_json::json!({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "[\r\n]"}},
            {"type": "Split", "pattern": {"Regex": "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓ]+"}},
            {"type": "Split", "pattern": {"Regex": "\\s?[!-/:-~！-／：-～‘-‟　-。]+"}},
            {"type": "Split", "pattern": {"Regex": "\\s+$"}},
            {"type": "Split", "pattern": {"Regex": "[一-龥ࠀ-一가-퟿]+"}},
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel"}]}});
        assert_eq!(detect_pre(&llm), Some("deepseek-llm"));
        let gpt2 = serde_json::json!({"pre_tokenizer": {"type": "ByteLevel", "use_regex": true}});
        assert_eq!(detect_pre(&gpt2), None);
    }

    #[test]
    fn special_looking_tokens() {
        assert!(looks_special("<｜begin▁of▁sentence｜>"));
        assert!(looks_special("<|im_start|>"));
        assert!(!looks_special("hello"));
    }
}
