//! Hugging Face DeepSeek tensor names → GGUF names (gguf-py `tensor_mapping.py` for
//! `MODEL_ARCH.DEEPSEEK2`), with the shape each tensor must have (PyTorch order, outermost first).

use super::hf_config::HfConfig;

/// What an HF tensor becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One GGUF tensor of the same data: `name` (with `.weight` / `.bias`).
    Plain { name: String, shape: Vec<u64> },
    /// `kv_b_proj`: split into `attn_k_b` (transposed per head) and `attn_v_b`.
    KvB { layer: usize, shape: Vec<u64> },
    /// Expert `e` of `proj` (`gate_proj`, `up_proj`, `down_proj`) in MoE layer `layer`, stacked
    /// into `blk.N.ffn_{gate,up,down}_exps.weight`.
    Expert {
        layer: usize,
        expert: usize,
        proj: &'static str,
        shape: Vec<u64>,
    },
    /// Dropped, as llama.cpp's converter drops it (multi-token-prediction layers, rotary
    /// caches, a tied `lm_head`).
    Skip(&'static str),
}

/// The GGUF name of a stacked expert tensor.
pub fn exps_name(layer: usize, proj: &str) -> String {
    let short = match proj {
        "gate_proj" => "gate",
        "up_proj" => "up",
        _ => "down",
    };
    format!("blk.{layer}.ffn_{short}_exps.weight")
}

/// Maps one HF tensor name, or returns None if the name is unknown.
pub fn map(c: &HfConfig, hf: &str) -> Option<Target> {
    let (h, v) = (c.hidden as u64, c.vocab_size as u64);
    let plain = |name: &str, shape: Vec<u64>| {
        Some(Target::Plain {
            name: name.to_string(),
            shape,
        })
    };
    if hf.ends_with(".rotary_emb.inv_freq")
        || hf.ends_with(".attention.masked_bias")
        || hf.ends_with(".attention.bias")
    {
        return Some(Target::Skip("rotary/attention cache"));
    }
    // Kimi-VL keeps the language model under language_model.
    let hf = hf.strip_prefix("language_model.").unwrap_or(hf);
    match hf {
        "model.embed_tokens.weight" => return plain("token_embd.weight", vec![v, h]),
        "model.norm.weight" => return plain("output_norm.weight", vec![h]),
        "lm_head.weight" | "model.lm_head.weight" => {
            if c.tie_embeddings {
                return Some(Target::Skip("tied output (token_embd is used)"));
            }
            return plain("output.weight", vec![v, h]);
        }
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (il, rest) = rest.split_once('.')?;
    let il: usize = il.parse().ok()?;
    if il >= c.n_layer {
        return Some(Target::Skip("multi-token-prediction layer"));
    }
    let b = |s: &str| format!("blk.{il}.{s}");
    let (nh, nope, rope, vd) = (
        c.n_head as u64,
        c.nope as u64,
        c.rope as u64,
        c.v_head as u64,
    );
    let (kv, ff, mff) = (
        c.kv_lora_rank as u64,
        c.intermediate as u64,
        c.moe_ff as u64,
    );
    let q = c.q_lora_rank.map(|r| r as u64);
    let moe = c.is_moe_layer(il);
    let n_exp = c.n_expert.unwrap_or(0) as u64;
    let sh = c.n_shared as u64 * mff;
    match rest {
        "input_layernorm.weight" => plain(&b("attn_norm.weight"), vec![h]),
        "post_attention_layernorm.weight" => plain(&b("ffn_norm.weight"), vec![h]),
        "self_attn.q_proj.weight" if q.is_none() => {
            plain(&b("attn_q.weight"), vec![nh * (nope + rope), h])
        }
        "self_attn.q_a_proj.weight" => plain(&b("attn_q_a.weight"), vec![q?, h]),
        "self_attn.q_a_layernorm.weight" => plain(&b("attn_q_a_norm.weight"), vec![q?]),
        "self_attn.q_b_proj.weight" => plain(&b("attn_q_b.weight"), vec![nh * (nope + rope), q?]),
        "self_attn.kv_a_proj_with_mqa.weight" => {
            plain(&b("attn_kv_a_mqa.weight"), vec![kv + rope, h])
        }
        "self_attn.kv_a_layernorm.weight" => plain(&b("attn_kv_a_norm.weight"), vec![kv]),
        "self_attn.kv_b_proj.weight" => Some(Target::KvB {
            layer: il,
            shape: vec![nh * (nope + vd), kv],
        }),
        "self_attn.o_proj.weight" => plain(&b("attn_output.weight"), vec![h, nh * vd]),
        "mlp.gate_proj.weight" if !moe => plain(&b("ffn_gate.weight"), vec![ff, h]),
        "mlp.up_proj.weight" if !moe => plain(&b("ffn_up.weight"), vec![ff, h]),
        "mlp.down_proj.weight" if !moe => plain(&b("ffn_down.weight"), vec![h, ff]),
        "mlp.gate.weight" if moe => plain(&b("ffn_gate_inp.weight"), vec![n_exp, h]),
        "mlp.gate.e_score_correction_bias" if moe => plain(&b("exp_probs_b.bias"), vec![n_exp]),
        "mlp.shared_experts.gate_proj.weight" if moe && sh > 0 => {
            plain(&b("ffn_gate_shexp.weight"), vec![sh, h])
        }
        "mlp.shared_experts.up_proj.weight" if moe && sh > 0 => {
            plain(&b("ffn_up_shexp.weight"), vec![sh, h])
        }
        "mlp.shared_experts.down_proj.weight" if moe && sh > 0 => {
            plain(&b("ffn_down_shexp.weight"), vec![h, sh])
        }
        _ => {
            let e = rest.strip_prefix("mlp.experts.").filter(|_| moe)?;
            let (e, proj) = e.split_once('.')?;
            let e: usize = e.parse().ok()?;
            let proj = proj.strip_suffix(".weight")?;
            let (proj, shape) = match proj {
                "gate_proj" => ("gate_proj", vec![mff, h]),
                "up_proj" => ("up_proj", vec![mff, h]),
                "down_proj" => ("down_proj", vec![h, mff]),
                _ => return None,
            };
            if e as u64 >= n_exp {
                return None;
            }
            Some(Target::Expert {
                layer: il,
                expert: e,
                proj,
                shape,
            })
        }
    }
}

/// Every HF tensor a checkpoint of this config must hold (experts and `kv_b_proj` included),
/// in sorted order. `e_score_correction_bias` is optional (V3 has it, V2 does not) and not listed.
pub fn required(c: &HfConfig) -> Vec<String> {
    let mut v = vec![
        "model.embed_tokens.weight".to_string(),
        "model.norm.weight".to_string(),
    ];
    if !c.tie_embeddings {
        v.push("lm_head.weight".into());
    }
    for il in 0..c.n_layer {
        let l = |s: &str| format!("model.layers.{il}.{s}");
        v.push(l("input_layernorm.weight"));
        v.push(l("post_attention_layernorm.weight"));
        if c.q_lora_rank.is_some() {
            v.push(l("self_attn.q_a_proj.weight"));
            v.push(l("self_attn.q_a_layernorm.weight"));
            v.push(l("self_attn.q_b_proj.weight"));
        } else {
            v.push(l("self_attn.q_proj.weight"));
        }
        v.push(l("self_attn.kv_a_proj_with_mqa.weight"));
        v.push(l("self_attn.kv_a_layernorm.weight"));
        v.push(l("self_attn.kv_b_proj.weight"));
        v.push(l("self_attn.o_proj.weight"));
        if c.is_moe_layer(il) {
            v.push(l("mlp.gate.weight"));
            for e in 0..c.n_expert.unwrap_or(0) {
                for p in ["gate_proj", "up_proj", "down_proj"] {
                    v.push(l(&format!("mlp.experts.{e}.{p}.weight")));
                }
            }
            if c.n_shared > 0 {
                for p in ["gate_proj", "up_proj", "down_proj"] {
                    v.push(l(&format!("mlp.shared_experts.{p}.weight")));
                }
            }
        } else {
            for p in ["gate_proj", "up_proj", "down_proj"] {
                v.push(l(&format!("mlp.{p}.weight")));
            }
        }
    }
    v.sort();
    v
}
