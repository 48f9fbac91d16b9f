//! HF checkpoints made from the oracle's GGUFs for tests/convert.rs: the oracle's config and
//! tokenizer files plus the F16 GGUF's weights under their HF names (the inverse of the
//! converter's name map, written out independently of it), split over two safetensors parts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use wgpu_ds::convert::safetensors::{self, Dtype, WriteTensor};
use wgpu_ds::gguf::GgufFile;
use wgpu_ds::quant::{dequantize, QuantType};

pub fn oracle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle")
}

pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wgpu-ds-convert-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub struct HfTensor {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub data: Vec<u8>,
}

pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn f16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes())
        .collect()
}

/// The HF name of a (non-expert, non-k_b/v_b) GGUF tensor: the inverse of the converter's map,
/// written out independently of `wgpu_ds::convert::names`.
pub fn hf_name(g: &str) -> String {
    match g {
        "token_embd.weight" => return "model.embed_tokens.weight".into(),
        "output.weight" => return "lm_head.weight".into(),
        "output_norm.weight" => return "model.norm.weight".into(),
        _ => {}
    }
    let rest = g.strip_prefix("blk.").unwrap();
    let (il, t) = rest.split_once('.').unwrap();
    let hf = match t {
        "attn_norm.weight" => "input_layernorm.weight",
        "ffn_norm.weight" => "post_attention_layernorm.weight",
        "attn_q.weight" => "self_attn.q_proj.weight",
        "attn_q_a.weight" => "self_attn.q_a_proj.weight",
        "attn_q_a_norm.weight" => "self_attn.q_a_layernorm.weight",
        "attn_q_b.weight" => "self_attn.q_b_proj.weight",
        "attn_kv_a_mqa.weight" => "self_attn.kv_a_proj_with_mqa.weight",
        "attn_kv_a_norm.weight" => "self_attn.kv_a_layernorm.weight",
        "attn_output.weight" => "self_attn.o_proj.weight",
        "ffn_gate.weight" => "mlp.gate_proj.weight",
        "ffn_up.weight" => "mlp.up_proj.weight",
        "ffn_down.weight" => "mlp.down_proj.weight",
        "ffn_gate_inp.weight" => "mlp.gate.weight",
        "exp_probs_b.bias" => "mlp.gate.e_score_correction_bias",
        "ffn_gate_shexp.weight" => "mlp.shared_experts.gate_proj.weight",
        "ffn_up_shexp.weight" => "mlp.shared_experts.up_proj.weight",
        "ffn_down_shexp.weight" => "mlp.shared_experts.down_proj.weight",
        other => panic!("no HF name for {g} ({other})"),
    };
    format!("model.layers.{il}.{hf}")
}

/// The weights of `<stem>-F16.gguf` as an HF checkpoint: F16 tensors as F16, F32 ones as F32.
pub fn hf_tensors(stem: &str) -> Vec<HfTensor> {
    let f = GgufFile::open(oracle().join(format!("models/{stem}-F16.gguf"))).unwrap();
    let vals = |name: &str| -> Vec<f32> {
        let t = f.tensor(name).unwrap();
        dequantize(
            t.ty,
            f.tensor_data(t),
            t.ne.iter().product::<u64>() as usize,
        )
        .unwrap()
    };
    let store = |v: &[f32], ty: QuantType| match ty {
        QuantType::F16 => (Dtype::F16, f16_bytes(v)),
        QuantType::F32 => (Dtype::F32, f32_bytes(v)),
        other => panic!("{other} in an F16 oracle file"),
    };
    let mut out = Vec::new();
    for t in f.tensors() {
        let g = t.name.as_str();
        let rev: Vec<u64> = t.ne.iter().rev().copied().collect();
        if g.ends_with("attn_v_b.weight") {
            continue; // joined with attn_k_b
        }
        if let Some(il) = g.strip_suffix(".attn_k_b.weight") {
            let il = il.strip_prefix("blk.").unwrap();
            let (nope, kv, h) = (t.ne[0] as usize, t.ne[1] as usize, t.ne[2] as usize);
            let vb_name = format!("blk.{il}.attn_v_b.weight");
            let vt = f.tensor(&vb_name).unwrap();
            assert_eq!((vt.ne[0] as usize, vt.ne[2] as usize), (kv, h));
            let v = vt.ne[1] as usize;
            let (kb, vb) = (vals(g), vals(&vb_name));
            let mut kvb = vec![0f32; h * (nope + v) * kv];
            for hd in 0..h {
                for j in 0..kv {
                    for i in 0..nope {
                        kvb[(hd * (nope + v) + i) * kv + j] = kb[(hd * kv + j) * nope + i];
                    }
                    for i in 0..v {
                        kvb[(hd * (nope + v) + nope + i) * kv + j] = vb[(hd * v + i) * kv + j];
                    }
                }
            }
            let (dtype, data) = store(&kvb, t.ty);
            out.push(HfTensor {
                name: format!("model.layers.{il}.self_attn.kv_b_proj.weight"),
                dtype,
                shape: vec![(h * (nope + v)) as u64, kv as u64],
                data,
            });
            continue;
        }
        if g.contains("_exps.") {
            let (il, kind) = g.strip_prefix("blk.").unwrap().split_once('.').unwrap();
            let proj = match kind {
                "ffn_gate_exps.weight" => "gate_proj",
                "ffn_up_exps.weight" => "up_proj",
                _ => "down_proj",
            };
            let x = vals(g);
            let per = (t.ne[0] * t.ne[1]) as usize;
            for e in 0..t.ne[2] as usize {
                let (dtype, data) = store(&x[e * per..(e + 1) * per], t.ty);
                out.push(HfTensor {
                    name: format!("model.layers.{il}.mlp.experts.{e}.{proj}.weight"),
                    dtype,
                    shape: vec![t.ne[1], t.ne[0]],
                    data,
                });
            }
            continue;
        }
        let (dtype, data) = store(&vals(g), t.ty);
        out.push(HfTensor {
            name: hf_name(g),
            dtype,
            shape: rev,
            data,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Writes an HF checkpoint folder: the oracle's config and tokenizer files plus `tensors` split
/// over two safetensors parts with an index.
pub fn write_hf(dir: &Path, stem: &str, tensors: &[HfTensor]) {
    std::fs::create_dir_all(dir).unwrap();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(oracle().join(format!("models/hf/{stem}/{f}")), dir.join(f)).unwrap();
    }
    let half = tensors.len() / 2;
    let mut weight_map = serde_json::Map::new();
    for (i, part) in [&tensors[..half], &tensors[half..]].iter().enumerate() {
        let fname = format!("model-{:05}-of-00002.safetensors", i + 1);
        let list: Vec<WriteTensor> = part
            .iter()
            .map(|t| WriteTensor {
                name: &t.name,
                dtype: t.dtype,
                shape: t.shape.clone(),
                data: &t.data,
            })
            .collect();
        safetensors::write(dir.join(&fname), &list).unwrap();
        for t in part.iter() {
            weight_map.insert(t.name.clone(), fname.clone().into());
        }
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": weight_map});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
}
