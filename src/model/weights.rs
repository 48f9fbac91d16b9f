//! Per-layer tensor handles, named as llama.cpp names them, with every shape checked against the
//! config at load. Weights stay in their GGUF block format; the only tensors made at load are
//! `attn_k_b` / `attn_v_b` of legacy files, split out of `attn_kv_b`.

use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::model::config::{Config, KvLayout};
use crate::quant::{self, QuantType};

/// Index into [`Weights::tensors`].
pub type WeightId = usize;

pub struct Weight {
    pub name: String,
    pub ty: QuantType,
    /// ggml order: `ne[0]` is the row length.
    pub ne: Vec<usize>,
    pub data: WeightData,
}

pub enum WeightData {
    /// Index of the tensor in the GGUF file; bytes are read from the mapping.
    File(usize),
    /// Bytes made at load (legacy `attn_kv_b` split).
    Owned(Vec<u8>),
}

/// The query projection: direct (V2-Lite) or through a low-rank bottleneck (V2, V3).
pub enum QProj {
    /// `attn_q`: [n_embd] → [n_head × (nope + rope)].
    Direct { q: WeightId },
    /// `attn_q_a` [n_embd] → [q_lora], `attn_q_a_norm` [q_lora], `attn_q_b` [q_lora] → [n_head × (nope + rope)].
    Lora {
        q_a: WeightId,
        q_a_norm: WeightId,
        q_b: WeightId,
    },
}

pub struct DenseFfn {
    pub gate: WeightId, // [n_embd] → [ff]
    pub up: WeightId,   // [n_embd] → [ff]
    pub down: WeightId, // [ff] → [n_embd]
}

pub enum Ffn {
    Dense(DenseFfn),
    Moe {
        gate_inp: WeightId,            // F32 [n_embd] → [n_expert] router
        exp_probs_b: Option<WeightId>, // F32 [n_expert] selection bias (V3)
        gate_exps: WeightId,           // [n_embd, n_ff_exp, n_expert]
        up_exps: WeightId,             // [n_embd, n_ff_exp, n_expert]
        down_exps: WeightId,           // [n_ff_exp, n_embd, n_expert]
        shared: Option<DenseFfn>,      // width n_expert_shared × n_ff_exp
    },
}

pub struct LayerWeights {
    pub attn_norm: WeightId, // [n_embd]
    pub q: QProj,
    pub kv_a_mqa: WeightId,    // [n_embd] → [kv_lora + rope]
    pub kv_a_norm: WeightId,   // [kv_lora]
    pub k_b: WeightId,         // [nope, kv_lora, n_head]: per head, kv_lora rows of nope
    pub v_b: WeightId,         // [kv_lora, v, n_head]: per head, v rows of kv_lora
    pub attn_output: WeightId, // [n_head × v] → [n_embd]
    pub ffn_norm: WeightId,    // [n_embd]
    pub ffn: Ffn,
}

pub struct Weights {
    pub tensors: Vec<Weight>,
    pub token_embd: WeightId,  // [n_embd, n_vocab]
    pub output_norm: WeightId, // [n_embd]
    pub output: WeightId,      // [n_embd, n_vocab] (token_embd when the file ties them)
    pub layers: Vec<LayerWeights>,
}

struct Loader<'a> {
    file: &'a GgufFile,
    tensors: Vec<Weight>,
}

impl Loader<'_> {
    /// A tensor that must exist with exactly this shape.
    fn get(&mut self, name: &str, ne: &[usize]) -> Result<WeightId> {
        self.find(name, ne)?
            .ok_or_else(|| Error::gguf(self.file.path(), name, "tensor not found"))
    }

    fn find(&mut self, name: &str, ne: &[usize]) -> Result<Option<WeightId>> {
        let Some(index) = self.file.tensor_position(name) else {
            return Ok(None);
        };
        let t = &self.file.tensors()[index];
        let have: Vec<usize> = t.ne.iter().map(|&d| d as usize).collect();
        if have != ne {
            return Err(Error::gguf(
                self.file.path(),
                name,
                format!("shape {have:?}, the config needs {ne:?}"),
            ));
        }
        self.tensors.push(Weight {
            name: name.to_string(),
            ty: t.ty,
            ne: have,
            data: WeightData::File(index),
        });
        Ok(Some(self.tensors.len() - 1))
    }

    fn owned(&mut self, name: String, ty: QuantType, ne: Vec<usize>, bytes: Vec<u8>) -> WeightId {
        self.tensors.push(Weight {
            name,
            ty,
            ne,
            data: WeightData::Owned(bytes),
        });
        self.tensors.len() - 1
    }

    fn dense(&mut self, il: usize, suffix: &str, n_embd: usize, ff: usize) -> Result<DenseFfn> {
        Ok(DenseFfn {
            gate: self.get(&format!("blk.{il}.ffn_gate{suffix}.weight"), &[n_embd, ff])?,
            up: self.get(&format!("blk.{il}.ffn_up{suffix}.weight"), &[n_embd, ff])?,
            down: self.get(&format!("blk.{il}.ffn_down{suffix}.weight"), &[ff, n_embd])?,
        })
    }

    /// Splits a legacy `attn_kv_b` [kv_lora, n_head × (nope + v)] into `attn_k_b` and `attn_v_b`.
    /// Rows of head h: nope rows of K, then v rows of V. `v_b` keeps the stored blocks (rows are
    /// copied); `k_b` needs the transpose, so it is dequantized (exactly) to F32.
    fn split_kv_b(&mut self, il: usize, c: &Config) -> Result<(WeightId, WeightId)> {
        let (h, nope, v, r) = (
            c.n_head,
            c.n_embd_head_qk_nope,
            c.n_embd_head_v,
            c.kv_lora_rank,
        );
        let name = format!("blk.{il}.attn_kv_b.weight");
        let id = self.get(&name, &[r, h * (nope + v)])?;
        let ty = self.tensors[id].ty;
        if !quant::is_supported(ty) {
            return Err(Error::UnsupportedType {
                tensor: name,
                type_name: ty.name().into(),
            });
        }
        let bytes = self.file.tensor_data(self.file.require_tensor(&name)?);
        let row_bytes = ty.row_bytes(r as u64).expect("shape checked") as usize;
        let row = |i: usize| &bytes[i * row_bytes..(i + 1) * row_bytes];
        let mut v_b = Vec::with_capacity(h * v * row_bytes);
        let mut k_b = vec![0f32; h * r * nope];
        let mut tmp = vec![0f32; r];
        for head in 0..h {
            let base = head * (nope + v);
            for d in 0..nope {
                quant::dequantize_row(ty, row(base + d), &mut tmp)?;
                for (ci, &x) in tmp.iter().enumerate() {
                    k_b[(head * r + ci) * nope + d] = x;
                }
            }
            for j in 0..v {
                v_b.extend_from_slice(row(base + nope + j));
            }
        }
        self.tensors.pop(); // attn_kv_b itself is not used by the graph
        let k = self.owned(
            format!("blk.{il}.attn_k_b.weight"),
            QuantType::F32,
            vec![nope, r, h],
            bytemuck::cast_slice(&k_b).to_vec(),
        );
        let vv = self.owned(format!("blk.{il}.attn_v_b.weight"), ty, vec![r, v, h], v_b);
        Ok((k, vv))
    }
}

impl Weights {
    pub fn load(file: &GgufFile, c: &Config) -> Result<Weights> {
        let mut l = Loader {
            file,
            tensors: Vec::new(),
        };
        let (e, h) = (c.n_embd, c.n_head);
        let qk = c.n_embd_head_qk();
        let token_embd = l.get("token_embd.weight", &[e, c.n_vocab])?;
        let output_norm = l.get("output_norm.weight", &[e])?;
        let output = l
            .find("output.weight", &[e, c.n_vocab])?
            .unwrap_or(token_embd);
        let mut layers = Vec::with_capacity(c.n_layer);
        for il in 0..c.n_layer {
            let name = |s: &str| format!("blk.{il}.{s}.weight");
            let q = match c.q_lora_rank {
                None => QProj::Direct {
                    q: l.get(&name("attn_q"), &[e, h * qk])?,
                },
                Some(r) => QProj::Lora {
                    q_a: l.get(&name("attn_q_a"), &[e, r])?,
                    q_a_norm: l.get(&name("attn_q_a_norm"), &[r])?,
                    q_b: l.get(&name("attn_q_b"), &[r, h * qk])?,
                },
            };
            let attn_norm = l.get(&name("attn_norm"), &[e])?;
            let kv_a_mqa = l.get(&name("attn_kv_a_mqa"), &[e, c.n_embd_latent()])?;
            let kv_a_norm = l.get(&name("attn_kv_a_norm"), &[c.kv_lora_rank])?;
            let (k_b, v_b) = match c.kv_layout {
                KvLayout::Split => (
                    l.get(
                        &name("attn_k_b"),
                        &[c.n_embd_head_qk_nope, c.kv_lora_rank, h],
                    )?,
                    l.get(&name("attn_v_b"), &[c.kv_lora_rank, c.n_embd_head_v, h])?,
                ),
                KvLayout::Legacy => l.split_kv_b(il, c)?,
            };
            let attn_output = l.get(&name("attn_output"), &[h * c.n_embd_head_v, e])?;
            let ffn_norm = l.get(&name("ffn_norm"), &[e])?;
            let ffn = if !c.is_moe_layer(il) {
                Ffn::Dense(l.dense(il, "", e, c.n_ff)?)
            } else {
                let (ne, ff) = (c.n_expert, c.n_ff_exp);
                Ffn::Moe {
                    gate_inp: l.get(&name("ffn_gate_inp"), &[e, ne])?,
                    exp_probs_b: l.find(&format!("blk.{il}.exp_probs_b.bias"), &[ne])?,
                    gate_exps: l.get(&name("ffn_gate_exps"), &[e, ff, ne])?,
                    up_exps: l.get(&name("ffn_up_exps"), &[e, ff, ne])?,
                    down_exps: l.get(&name("ffn_down_exps"), &[ff, e, ne])?,
                    shared: match c.n_expert_shared {
                        0 => None,
                        n => Some(l.dense(il, "_shexp", e, n * ff)?),
                    },
                }
            };
            layers.push(LayerWeights {
                attn_norm,
                q,
                kv_a_mqa,
                kv_a_norm,
                k_b,
                v_b,
                attn_output,
                ffn_norm,
                ffn,
            });
        }
        for w in &l.tensors {
            if !quant::is_supported(w.ty) {
                return Err(Error::UnsupportedType {
                    tensor: w.name.clone(),
                    type_name: w.ty.name().into(),
                });
            }
        }
        Ok(Weights {
            tensors: l.tensors,
            token_embd,
            output_norm,
            output,
            layers,
        })
    }

    /// The stored bytes of a weight.
    pub fn bytes<'a>(&'a self, file: &'a GgufFile, id: WeightId) -> &'a [u8] {
        match &self.tensors[id].data {
            WeightData::File(i) => file.tensor_data(&file.tensors()[*i]),
            WeightData::Owned(v) => v,
        }
    }
}
