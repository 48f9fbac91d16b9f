//! Random-weight models at the real widths of DeepSeek-V2-Lite and V3, built in memory, so anyone
//! can measure their GPU without a download (`wgpu-ds bench --shape v2-lite`). The metadata is what
//! `wgpu-ds convert` writes for the model's own config.json (with the layer and expert counts
//! overridable), every matrix gets the type llama-quantize's rules give it for `--type`, and the
//! weights are valid blocks: a few random rows per tensor are quantized and repeated, which keeps
//! building a 2 GB model to a few seconds.

use std::path::Path;

use serde_json::{json, Value as Json};

use crate::convert::hf_config::HfConfig;
use crate::convert::{choose_type, file_type};
use crate::error::{Error, Result};
use crate::gguf::{Bytes, GgufFile, GgufWriter, Value};
use crate::model::Model;
use crate::quant::{self, QuantType};

/// The architectures `--shape` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// DeepSeek-V2-Lite: hidden 2048, 27 layers, 16 heads, kv_lora 512, 64 experts top-6 + 2 shared.
    #[value(name = "v2-lite")]
    V2Lite,
    /// DeepSeek-V3 / R1: hidden 7168, 61 layers, 128 heads, q_lora 1536, 256 experts top-8 + 1.
    V3,
}

/// What to build.
#[derive(Clone, Copy, Debug)]
pub struct SyntheticSpec {
    pub shape: Shape,
    /// Layers (None: the model's own count).
    pub layers: Option<usize>,
    /// Routed experts per MoE layer (None: the model's own count).
    pub experts: Option<usize>,
    /// The `--type` of `wgpu-ds convert` (norms and the router stay F32, `output.weight` Q6_K).
    pub ty: QuantType,
}

/// The model's config.json, as published, with the requested layer and expert counts.
pub fn hf_config(spec: &SyntheticSpec) -> Json {
    let mut j = match spec.shape {
        Shape::V2Lite => json!({
            "architectures": ["DeepseekV2ForCausalLM"],
            "vocab_size": 102400, "hidden_size": 2048, "intermediate_size": 10944,
            "moe_intermediate_size": 1408, "num_hidden_layers": 27, "num_attention_heads": 16,
            "num_key_value_heads": 16, "n_shared_experts": 2, "n_routed_experts": 64,
            "num_experts_per_tok": 6, "first_k_dense_replace": 1, "moe_layer_freq": 1,
            "kv_lora_rank": 512, "q_lora_rank": null, "qk_nope_head_dim": 128,
            "qk_rope_head_dim": 64, "v_head_dim": 128, "n_group": 1, "topk_group": 1,
            "topk_method": "greedy", "scoring_func": "softmax", "norm_topk_prob": false,
            "routed_scaling_factor": 1.0, "rms_norm_eps": 1e-6, "rope_theta": 10000,
            "max_position_embeddings": 163840,
            "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                "beta_fast": 32, "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707}
        }),
        Shape::V3 => json!({
            "architectures": ["DeepseekV3ForCausalLM"],
            "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432,
            "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
            "num_key_value_heads": 128, "n_shared_experts": 1, "n_routed_experts": 256,
            "num_experts_per_tok": 8, "first_k_dense_replace": 3, "moe_layer_freq": 1,
            "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
            "qk_rope_head_dim": 64, "v_head_dim": 128, "n_group": 8, "topk_group": 4,
            "topk_method": "noaux_tc", "scoring_func": "sigmoid", "norm_topk_prob": true,
            "routed_scaling_factor": 2.5, "rms_norm_eps": 1e-6, "rope_theta": 10000,
            "max_position_embeddings": 163840,
            "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0}
        }),
    };
    if let Some(n) = spec.layers {
        j["num_hidden_layers"] = json!(n);
        let dense = j["first_k_dense_replace"].as_u64().unwrap_or(0) as usize;
        j["first_k_dense_replace"] = json!(dense.min(n.saturating_sub(1)));
    }
    if let Some(n) = spec.experts {
        j["n_routed_experts"] = json!(n);
        let used = j["num_experts_per_tok"].as_u64().unwrap_or(1) as usize;
        j["num_experts_per_tok"] = json!(used.min(n));
        // Fewer experts than the published grouping allows: one group.
        j["n_group"] = json!(1);
        j["topk_group"] = json!(1);
    }
    j
}

/// (name, ggml ne) of every tensor, in the order llama.cpp's converter writes them.
fn tensor_list(c: &HfConfig) -> Vec<(String, Vec<u64>)> {
    let (e, h) = (c.hidden as u64, c.n_head as u64);
    let (kv, rope) = (c.kv_lora_rank as u64, c.rope as u64);
    let (nope, v) = (c.nope as u64, c.v_head as u64);
    let mut t: Vec<(String, Vec<u64>)> =
        vec![("token_embd.weight".into(), vec![e, c.vocab_size as u64])];
    for il in 0..c.n_layer {
        let mut add = |s: &str, ne: &[u64]| t.push((format!("blk.{il}.{s}"), ne.to_vec()));
        add("attn_norm.weight", &[e]);
        match c.q_lora_rank {
            None => add("attn_q.weight", &[e, h * (nope + rope)]),
            Some(r) => {
                let r = r as u64;
                add("attn_q_a.weight", &[e, r]);
                add("attn_q_a_norm.weight", &[r]);
                add("attn_q_b.weight", &[r, h * (nope + rope)]);
            }
        }
        add("attn_kv_a_mqa.weight", &[e, kv + rope]);
        add("attn_kv_a_norm.weight", &[kv]);
        add("attn_k_b.weight", &[nope, kv, h]);
        add("attn_v_b.weight", &[kv, v, h]);
        add("attn_output.weight", &[h * v, e]);
        add("ffn_norm.weight", &[e]);
        if !c.is_moe_layer(il) {
            let ff = c.intermediate as u64;
            add("ffn_gate.weight", &[e, ff]);
            add("ffn_up.weight", &[e, ff]);
            add("ffn_down.weight", &[ff, e]);
            continue;
        }
        let (n, ff) = (c.n_expert.unwrap_or(0) as u64, c.moe_ff as u64);
        add("ffn_gate_inp.weight", &[e, n]);
        if c.json["topk_method"] == "noaux_tc" {
            add("exp_probs_b.bias", &[n]);
        }
        add("ffn_gate_exps.weight", &[e, ff, n]);
        add("ffn_up_exps.weight", &[e, ff, n]);
        add("ffn_down_exps.weight", &[ff, e, n]);
        if c.n_shared > 0 {
            let sh = ff * c.n_shared as u64;
            add("ffn_gate_shexp.weight", &[e, sh]);
            add("ffn_up_shexp.weight", &[e, sh]);
            add("ffn_down_shexp.weight", &[sh, e]);
        }
    }
    t.push(("output_norm.weight".into(), vec![e]));
    t.push(("output.weight".into(), vec![e, c.vocab_size as u64]));
    t
}

/// Uniform values in [-a, a) from a xorshift64 stream.
fn random_row(n: usize, a: f32, seed: &mut u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            ((*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a
        })
        .collect()
}

/// Distinct random rows quantized per tensor; the rest repeat them.
const DISTINCT_ROWS: usize = 16;

/// The bytes of a tensor of `ne` in `ty`: norms 1 ± 0.1, biases 0, matrices uniform with
/// variance 1/cols (so activations keep their scale through the layers).
fn tensor_bytes(name: &str, ne: &[u64], ty: QuantType, seed: &mut u64) -> Result<Vec<u8>> {
    let cols = ne[0] as usize;
    let rows: usize = ne[1..].iter().product::<u64>() as usize;
    let distinct: Vec<Vec<u8>> = (0..rows.clamp(1, DISTINCT_ROWS))
        .map(|_| {
            let row = if name.ends_with(".bias") {
                vec![0.0; cols]
            } else if ne.len() == 1 {
                random_row(cols, 0.1, seed)
                    .iter()
                    .map(|x| 1.0 + x)
                    .collect()
            } else if !quant::quantizes(ty) {
                // Grid i-quants have no quantizer: random blocks at the same scale.
                *seed = seed.wrapping_add(1);
                let n_blocks = cols / ty.info().blck_size;
                let rms = (1.0 / cols as f32).sqrt();
                return Ok(quant::iq_grid::random_blocks_rms(ty, n_blocks, rms, *seed));
            } else {
                random_row(cols, (3.0 / cols as f32).sqrt(), seed)
            };
            quant::quantize_row(ty, &row)
        })
        .collect::<Result<_>>()?;
    let row_bytes = distinct[0].len();
    let mut out = Vec::with_capacity(rows * row_bytes);
    for r in 0..rows.max(1) {
        out.extend_from_slice(&distinct[r % distinct.len()]);
    }
    Ok(out)
}

/// A random `rows` × `cols` matrix in `ty` (GGUF ne = [cols, rows]) with the same values as the
/// synthetic models' matrices, for kernel benchmarks.
pub fn matrix_bytes(rows: usize, cols: usize, ty: QuantType, seed: u64) -> Result<Vec<u8>> {
    let mut seed = seed.max(1);
    tensor_bytes("matrix", &[cols as u64, rows as u64], ty, &mut seed)
}

/// Builds the model in memory.
pub fn build(spec: &SyntheticSpec) -> Result<Model> {
    let (label, bytes) = gguf_bytes(spec)?;
    Model::from_file(GgufFile::from_bytes(&label, Bytes::Owned(bytes))?)
}

/// The GGUF file of the model (its label, its bytes): what `build` opens, and what
/// `bench --save` writes to disk.
pub fn gguf_bytes(spec: &SyntheticSpec) -> Result<(String, Vec<u8>)> {
    if !crate::convert::OUT_TYPES.contains(&spec.ty) {
        return Err(Error::Usage(format!(
            "--type {} is not a convert output type",
            spec.ty
        )));
    }
    if spec.layers == Some(0) || spec.experts == Some(0) {
        return Err(Error::Usage(
            "--layers and --experts must be at least 1".into(),
        ));
    }
    let label = format!("{:?} (synthetic)", spec.shape);
    let hf = HfConfig::from_json(Path::new(&label), hf_config(spec))?;
    let opts = crate::convert::Options {
        out_type: spec.ty,
        ..Default::default()
    };
    let mut w = GgufWriter::new();
    w.set("general.architecture", Value::String("deepseek2".into()));
    w.set("general.name", Value::String(label.clone()));
    for (k, v) in hf.gguf_metadata(file_type(spec.ty))? {
        w.set(&k, v);
    }
    let mut seed = 0x5eed_u64;
    for (name, ne) in tensor_list(&hf) {
        let (ty, _) = choose_type(&name, &ne, false, &opts);
        let data = tensor_bytes(&name, &ne, ty, &mut seed)?;
        w.add_tensor(&name, ty, &ne, data)?;
    }
    Ok((label, w.to_bytes()))
}
