//! The Hugging Face `config.json` of a DeepSeek V2 / V2-Lite / V3 / R1 checkpoint, and the
//! `deepseek2.*` GGUF metadata llama.cpp's converter (`DeepseekV2Model.set_gguf_parameters` over
//! `TextModel.set_gguf_parameters`) derives from it.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::gguf::Value;

/// The hyperparameters the conversion needs, read from `config.json`.
#[derive(Clone, Debug)]
pub struct HfConfig {
    pub path: PathBuf,
    /// The whole JSON (with a `text_config` merged into the top level, as the converter does).
    pub json: Json,
    pub architecture: String,
    pub n_layer: usize,
    pub hidden: usize,
    pub n_head: usize,
    pub vocab_size: usize,
    pub intermediate: usize,
    pub q_lora_rank: Option<usize>,
    pub kv_lora_rank: usize,
    pub nope: usize,
    pub rope: usize,
    pub v_head: usize,
    /// None for a dense model.
    pub n_expert: Option<usize>,
    pub n_expert_used: Option<usize>,
    pub n_shared: usize,
    pub moe_ff: usize,
    pub first_dense: usize,
    pub tie_embeddings: bool,
}

impl HfConfig {
    pub fn load(dir: &Path) -> Result<HfConfig> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let json: Json = serde_json::from_str(&text)
            .map_err(|e| Error::Model(format!("{}: not valid JSON: {e}", path.display())))?;
        HfConfig::from_json(&path, json)
    }

    pub fn from_json(path: &Path, mut json: Json) -> Result<HfConfig> {
        if !json.is_object() {
            return Err(Error::Model(format!(
                "{}: not a JSON object",
                path.display()
            )));
        }
        // Multimodal wrappers (Kimi-VL) keep the language model's settings in text_config.
        if let Some(tc) = json.get("text_config").and_then(Json::as_object).cloned() {
            let obj = json.as_object_mut().unwrap();
            for (k, v) in tc {
                obj.insert(k, v);
            }
        }
        let j = &json;
        let key_err =
            |k: &str, what: &str| Error::Model(format!("{}: key \"{k}\": {what}", path.display()));
        let req = |k: &str| -> Result<usize> {
            match j.get(k) {
                None | Some(Json::Null) => Err(key_err(k, "missing")),
                Some(v) => v
                    .as_u64()
                    .map(|x| x as usize)
                    .ok_or_else(|| key_err(k, "must be a non-negative integer")),
            }
        };
        let opt = |k: &str| -> Result<Option<usize>> {
            match j.get(k) {
                None | Some(Json::Null) => Ok(None),
                Some(_) => req(k).map(Some),
            }
        };
        let architecture = j
            .get("architectures")
            .and_then(Json::as_array)
            .and_then(|a| a.first())
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        const KNOWN: &[&str] = &[
            "DeepseekV2ForCausalLM",
            "DeepseekV3ForCausalLM",
            "KimiVLForConditionalGeneration",
        ];
        if !KNOWN.contains(&architecture.as_str()) {
            return Err(Error::Model(format!(
                "{}: architecture {architecture:?} is not a DeepSeek V2/V3 model (expected one of {KNOWN:?})",
                path.display()
            )));
        }
        let n_expert = opt("n_routed_experts")?;
        if let Some(freq) = opt("moe_layer_freq")? {
            if freq != 1 {
                return Err(key_err(
                    "moe_layer_freq",
                    "only 1 is supported (the deepseek2 GGUF layout has MoE in every layer after the dense ones)",
                ));
            }
        }
        let c = HfConfig {
            path: path.to_path_buf(),
            architecture,
            n_layer: req("num_hidden_layers")?,
            hidden: req("hidden_size")?,
            n_head: req("num_attention_heads")?,
            vocab_size: req("vocab_size")?,
            intermediate: req("intermediate_size")?,
            q_lora_rank: opt("q_lora_rank")?.filter(|&r| r > 0),
            kv_lora_rank: opt("kv_lora_rank")?.unwrap_or(512),
            nope: req("qk_nope_head_dim")?,
            rope: req("qk_rope_head_dim")?,
            v_head: req("v_head_dim")?,
            n_expert,
            n_expert_used: opt("num_experts_per_tok")?,
            n_shared: opt("n_shared_experts")?.unwrap_or(0),
            moe_ff: match opt("moe_intermediate_size")? {
                Some(v) => v,
                None => req("intermediate_size")?,
            },
            first_dense: match opt("first_k_dense_replace")? {
                Some(v) => v,
                None if n_expert.is_none() => req("num_hidden_layers")?,
                None => 0,
            },
            tie_embeddings: j
                .get("tie_word_embeddings")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            json,
        };
        if c.n_head == 0 || c.hidden == 0 || c.n_layer == 0 {
            return Err(Error::Model(format!(
                "{}: hidden_size, num_attention_heads and num_hidden_layers must be positive",
                path.display()
            )));
        }
        Ok(c)
    }

    /// Whether layer `il` has a routed-expert FFN.
    pub fn is_moe_layer(&self, il: usize) -> bool {
        self.n_expert.is_some() && il >= self.first_dense
    }

    fn get(&self, k: &str) -> Option<&Json> {
        self.json.get(k).filter(|v| !v.is_null())
    }

    /// `rope_parameters` or `rope_scaling` (the converter's `self.rope_parameters`).
    fn rope_params(&self) -> Option<&Json> {
        self.get("rope_parameters")
            .or_else(|| self.get("rope_scaling"))
            .filter(|v| v.is_object())
    }

    /// The `deepseek2.*` keys in the order llama.cpp's converter first writes them. `file_type`
    /// is the `general.file_type` value, written among them as the converter does.
    pub fn gguf_metadata(&self, file_type: u32) -> Result<Vec<(String, Value)>> {
        let a = "deepseek2";
        let mut m: Vec<(String, Value)> = Vec::new();
        let mut put = |k: String, v: Value| match m.iter_mut().find(|(key, _)| *key == k) {
            // gguf-py overwrites a key written twice in place: the first write fixes its position.
            Some(slot) => slot.1 = v,
            None => m.push((k, v)),
        };
        let u32v = |x: u64, k: &str| -> Result<Value> {
            u32::try_from(x).map(Value::U32).map_err(|_| {
                Error::Model(format!(
                    "{}: {k} = {x} does not fit in u32",
                    self.path.display()
                ))
            })
        };
        let num = |v: &Json, k: &str| -> Result<f64> {
            v.as_f64().ok_or_else(|| {
                Error::Model(format!("{}: \"{k}\" must be a number", self.path.display()))
            })
        };
        let uint = |k: &str| -> Result<Option<u64>> {
            match self.get(k) {
                None => Ok(None),
                Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                    Error::Model(format!(
                        "{}: \"{k}\" must be a non-negative integer",
                        self.path.display()
                    ))
                }),
            }
        };

        // TextModel.set_gguf_parameters
        put(
            format!("{a}.block_count"),
            u32v(self.n_layer as u64, "num_hidden_layers")?,
        );
        for k in [
            "max_position_embeddings",
            "n_ctx",
            "n_positions",
            "max_length",
        ] {
            if let Some(v) = uint(k)? {
                put(format!("{a}.context_length"), u32v(v, k)?);
                break;
            }
        }
        put(
            format!("{a}.embedding_length"),
            u32v(self.hidden as u64, "hidden_size")?,
        );
        put(
            format!("{a}.feed_forward_length"),
            u32v(self.intermediate as u64, "intermediate_size")?,
        );
        put(
            format!("{a}.attention.head_count"),
            u32v(self.n_head as u64, "heads")?,
        );
        // MLA is written as MQA: one KV head of size kv_lora + rope.
        put(format!("{a}.attention.head_count_kv"), Value::U32(1));
        if let Some(rp) = self.rope_params() {
            let rp = rp.get("full_attention").unwrap_or(rp);
            let ty = rp
                .get("rope_type")
                .or_else(|| rp.get("type"))
                .and_then(Json::as_str);
            let factor = rp.get("factor").filter(|v| !v.is_null());
            match (ty, factor) {
                (Some("linear"), Some(f)) => {
                    put(
                        format!("{a}.rope.scaling.type"),
                        Value::String("linear".into()),
                    );
                    put(
                        format!("{a}.rope.scaling.factor"),
                        Value::F32(num(f, "factor")? as f32),
                    );
                }
                (Some("yarn"), Some(f)) => {
                    put(
                        format!("{a}.rope.scaling.type"),
                        Value::String("yarn".into()),
                    );
                    put(
                        format!("{a}.rope.scaling.factor"),
                        Value::F32(num(f, "factor")? as f32),
                    );
                    let orig = rp
                        .get("original_max_position_embeddings")
                        .and_then(Json::as_u64)
                        .ok_or_else(|| {
                            Error::Model(format!(
                                "{}: YaRN rope scaling needs original_max_position_embeddings",
                                self.path.display()
                            ))
                        })?;
                    put(
                        format!("{a}.rope.scaling.original_context_length"),
                        u32v(orig, "original_max_position_embeddings")?,
                    );
                    let opt_f32 = |k: &str| -> Result<Option<f32>> {
                        rp.get(k)
                            .filter(|v| !v.is_null())
                            .map(|v| num(v, k).map(|x| x as f32))
                            .transpose()
                    };
                    if let Some(x) = opt_f32("extrapolation_factor")? {
                        put(format!("{a}.rope.scaling.yarn_ext_factor"), Value::F32(x));
                    }
                    let attn = match opt_f32("attention_factor")? {
                        Some(x) => Some(x),
                        None => opt_f32("attn_factor")?,
                    };
                    if let Some(x) = attn {
                        put(format!("{a}.rope.scaling.yarn_attn_factor"), Value::F32(x));
                    }
                    if let Some(x) = opt_f32("beta_fast")? {
                        put(format!("{a}.rope.scaling.yarn_beta_fast"), Value::F32(x));
                    }
                    if let Some(x) = opt_f32("beta_slow")? {
                        put(format!("{a}.rope.scaling.yarn_beta_slow"), Value::F32(x));
                    }
                }
                (Some(other), _) if other != "default" => {
                    log::warn!("unknown RoPE scaling type {other:?}: not written");
                }
                _ => {}
            }
        }
        let theta = self
            .rope_params()
            .and_then(|rp| rp.get("rope_theta"))
            .or_else(|| self.get("rope_theta"))
            .filter(|v| !v.is_null());
        if let Some(t) = theta {
            put(
                format!("{a}.rope.freq_base"),
                Value::F32(num(t, "rope_theta")? as f32),
            );
        }
        let eps = match self.get("rms_norm_eps") {
            Some(v) => num(v, "rms_norm_eps")?,
            None => 1e-6,
        };
        put(
            format!("{a}.attention.layer_norm_rms_epsilon"),
            Value::F32(eps as f32),
        );
        if let Some(n) = self.n_expert_used {
            put(
                format!("{a}.expert_used_count"),
                u32v(n as u64, "num_experts_per_tok")?,
            );
        }
        if let Some(n) = uint("n_group")? {
            put(format!("{a}.expert_group_count"), u32v(n, "n_group")?);
        }
        if let Some(n) = uint("topk_group")? {
            put(
                format!("{a}.expert_group_used_count"),
                u32v(n, "topk_group")?,
            );
        }
        if let Some(f) = self.get("scoring_func") {
            let g = match f.as_str() {
                Some("softmax") => 1,
                Some("sigmoid") => 2,
                _ => {
                    return Err(Error::Model(format!(
                        "{}: scoring_func {f} is not softmax or sigmoid",
                        self.path.display()
                    )))
                }
            };
            put(format!("{a}.expert_gating_func"), Value::U32(g));
        }
        let kv = self.kv_lora_rank as u64;
        put(
            format!("{a}.attention.key_length"),
            u32v(kv + self.rope as u64, "key_length")?,
        );
        put(
            format!("{a}.attention.value_length"),
            u32v(kv, "kv_lora_rank")?,
        );
        put("general.file_type".into(), Value::U32(file_type));

        // DeepseekV2Model.set_gguf_parameters
        put(
            format!("{a}.leading_dense_block_count"),
            u32v(self.first_dense as u64, "first_k_dense_replace")?,
        );
        put(
            format!("{a}.vocab_size"),
            u32v(self.vocab_size as u64, "vocab_size")?,
        );
        if let Some(q) = self.q_lora_rank {
            put(
                format!("{a}.attention.q_lora_rank"),
                u32v(q as u64, "q_lora_rank")?,
            );
        }
        put(
            format!("{a}.attention.kv_lora_rank"),
            u32v(kv, "kv_lora_rank")?,
        );
        put(
            format!("{a}.attention.key_length_mla"),
            u32v((self.nope + self.rope) as u64, "key_length_mla")?,
        );
        put(
            format!("{a}.attention.value_length_mla"),
            u32v(self.v_head as u64, "v_head_dim")?,
        );
        put(
            format!("{a}.expert_feed_forward_length"),
            u32v(self.moe_ff as u64, "moe_intermediate_size")?,
        );
        if let Some(n) = self.n_expert {
            put(
                format!("{a}.expert_count"),
                u32v(n as u64, "n_routed_experts")?,
            );
        }
        put(
            format!("{a}.expert_shared_count"),
            u32v(self.n_shared as u64, "n_shared_experts")?,
        );
        if let Some(s) = self.get("routed_scaling_factor") {
            put(
                format!("{a}.expert_weights_scale"),
                Value::F32(num(s, "routed_scaling_factor")? as f32),
            );
        }
        if self.get("norm_topk_prob").and_then(Json::as_bool) == Some(true) {
            put(format!("{a}.expert_weights_norm"), Value::Bool(true));
        }
        put(
            format!("{a}.rope.dimension_count"),
            u32v(self.rope as u64, "qk_rope_head_dim")?,
        );
        if let Some(ms) = self.rope_params().and_then(|rp| rp.get("mscale_all_dim")) {
            if !ms.is_null() {
                // Stored as 0.1 × mscale_all_dim, for legacy reasons (llama.cpp PR 17945).
                let v = 0.1 * num(ms, "mscale_all_dim")?;
                put(
                    format!("{a}.rope.scaling.yarn_log_multiplier"),
                    Value::F32(v as f32),
                );
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_wrong_keys_name_the_key() {
        let p = Path::new("config.json");
        let base = serde_json::json!({
            "architectures": ["DeepseekV3ForCausalLM"], "num_hidden_layers": 2, "hidden_size": 32,
            "num_attention_heads": 4, "vocab_size": 8, "intermediate_size": 64,
            "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16,
        });
        let c = HfConfig::from_json(p, base.clone()).unwrap();
        assert_eq!(c.first_dense, 2);
        assert_eq!(c.kv_lora_rank, 512);
        let mut j = base.clone();
        j.as_object_mut().unwrap().remove("hidden_size");
        let e = HfConfig::from_json(p, j).unwrap_err().to_string();
        assert!(e.contains("hidden_size") && e.contains("missing"), "{e}");
        let mut j = base.clone();
        j["v_head_dim"] = serde_json::json!("x");
        let e = HfConfig::from_json(p, j).unwrap_err().to_string();
        assert!(e.contains("v_head_dim"), "{e}");
        let mut j = base;
        j["architectures"] = serde_json::json!(["LlamaForCausalLM"]);
        let e = HfConfig::from_json(p, j).unwrap_err().to_string();
        assert!(e.contains("LlamaForCausalLM"), "{e}");
    }
}
