//! Every DeepSeek hyperparameter, read from GGUF metadata keys (never guessed from tensor shapes).
//! One architecture, `deepseek2`, covers V2, V2-Lite, V3 and R1; the differences are keys:
//! gating function, selection bias, weight normalization and scale, expert groups, q-LoRA.

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

/// How router logits become expert scores (`expert_gating_func`: 1 softmax, 2 sigmoid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gating {
    Softmax,
    Sigmoid,
}

/// YaRN context extension (`rope.scaling.*`). Absent when `rope.scaling.type` is not "yarn".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Yarn {
    pub factor: f32,
    pub original_context: usize,
    pub beta_fast: f32,
    pub beta_slow: f32,
    /// `rope.scaling.yarn_log_multiplier` = 0.1 × mscale_all_dim.
    pub log_multiplier: f32,
}

/// Which tensors carry the attention up-projections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvLayout {
    /// `attn_k_b` + `attn_v_b` (llama.cpp conversions since its MLA change; `*_mla` keys present).
    Split,
    /// One `attn_kv_b` (older conversions); split at load.
    Legacy,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub n_vocab: usize,
    pub n_ctx_train: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    /// Layers 0..n_layer_dense_lead use a dense FFN, the rest MoE.
    pub n_layer_dense_lead: usize,
    /// Dense FFN width (`feed_forward_length`).
    pub n_ff: usize,
    pub n_head: usize,
    /// None: a direct `attn_q` (V2-Lite); Some(r): `attn_q_a` → norm → `attn_q_b` (V2, V3).
    pub q_lora_rank: Option<usize>,
    pub kv_lora_rank: usize,
    pub n_embd_head_qk_nope: usize,
    pub n_embd_head_qk_rope: usize,
    pub n_embd_head_v: usize,
    pub n_expert: usize,
    pub n_expert_used: usize,
    pub n_expert_shared: usize,
    /// Width of one routed expert (`expert_feed_forward_length`); shared experts are
    /// `n_expert_shared` × this wide.
    pub n_ff_exp: usize,
    pub n_expert_groups: usize,
    pub n_group_used: usize,
    pub gating: Gating,
    pub expert_weights_norm: bool,
    pub expert_weights_scale: f32,
    pub rms_eps: f32,
    pub rope_freq_base: f32,
    pub yarn: Option<Yarn>,
    pub kv_layout: KvLayout,
}

/// Upper bound for any dimension read from a file; real models are far below it.
const MAX_DIM: usize = 1 << 24;

impl Config {
    pub fn from_gguf(f: &GgufFile) -> Result<Config> {
        let arch = f.architecture()?;
        if arch != "deepseek2" {
            return Err(Error::Model(format!(
                "{}: architecture '{arch}' is not supported; wgpu-ds runs 'deepseek2' (DeepSeek V2, V2-Lite, V3, R1)",
                f.path().display()
            )));
        }
        let k = |name: &str| format!("deepseek2.{name}");
        let req = |name: &str| f.require_usize(&k(name), MAX_DIM);
        let opt = |name: &str| f.get_usize(&k(name), MAX_DIM);

        let n_layer = req("block_count")?;
        let n_head = req("attention.head_count")?;
        let n_rope = req("rope.dimension_count")?;
        // MLA files store key/value lengths of the latent form and the per-head sizes in *_mla.
        let (kv_layout, qk_len, v_len) = match (
            opt("attention.key_length_mla")?,
            opt("attention.value_length_mla")?,
        ) {
            (Some(qk), Some(v)) => (KvLayout::Split, qk, v),
            _ => (
                KvLayout::Legacy,
                req("attention.key_length")?,
                req("attention.value_length")?,
            ),
        };
        if qk_len <= n_rope {
            return Err(Error::metadata(
                f.path(),
                k("attention.key_length"),
                format!("{qk_len} leaves no room for the {n_rope} rope dimensions"),
            ));
        }
        let gating = match opt("expert_gating_func")? {
            None | Some(0) | Some(1) => Gating::Softmax,
            Some(2) => Gating::Sigmoid,
            Some(g) => {
                return Err(Error::metadata(
                    f.path(),
                    k("expert_gating_func"),
                    format!("unknown gating function {g} (1 softmax, 2 sigmoid)"),
                ))
            }
        };
        let yarn = match f.get_str(&k("rope.scaling.type"))? {
            Some("yarn") => Some(Yarn {
                factor: f.require_f32(&k("rope.scaling.factor"))?,
                original_context: req("rope.scaling.original_context_length")?,
                beta_fast: f
                    .get_f32(&k("rope.scaling.yarn_beta_fast"))?
                    .unwrap_or(32.0),
                beta_slow: f.get_f32(&k("rope.scaling.yarn_beta_slow"))?.unwrap_or(1.0),
                log_multiplier: f
                    .get_f32(&k("rope.scaling.yarn_log_multiplier"))?
                    .unwrap_or(0.0),
            }),
            None | Some("none") => None,
            Some(other) => {
                return Err(Error::metadata(
                    f.path(),
                    k("rope.scaling.type"),
                    format!("unsupported rope scaling '{other}'"),
                ))
            }
        };
        let n_vocab = match opt("vocab_size")? {
            Some(v) => v,
            None => f
                .get_str_array("tokenizer.ggml.tokens")?
                .map(|t| t.len())
                .ok_or_else(|| {
                    Error::metadata(
                        f.path(),
                        "deepseek2.vocab_size",
                        "missing, and no tokenizer.ggml.tokens to count",
                    )
                })?,
        };
        let n_expert_groups = opt("expert_group_count")?.unwrap_or(1).max(1);
        let c = Config {
            n_vocab,
            n_ctx_train: req("context_length")?,
            n_embd: req("embedding_length")?,
            n_layer,
            n_layer_dense_lead: opt("leading_dense_block_count")?.unwrap_or(0),
            n_ff: req("feed_forward_length")?,
            n_head,
            // Written only when the model has a q-LoRA; 0 also means "direct attn_q".
            q_lora_rank: opt("attention.q_lora_rank")?.filter(|&r| r > 0),
            kv_lora_rank: req("attention.kv_lora_rank")?,
            n_embd_head_qk_nope: qk_len - n_rope,
            n_embd_head_qk_rope: n_rope,
            n_embd_head_v: v_len,
            n_expert: opt("expert_count")?.unwrap_or(0),
            n_expert_used: opt("expert_used_count")?.unwrap_or(0),
            n_expert_shared: opt("expert_shared_count")?.unwrap_or(0),
            n_ff_exp: opt("expert_feed_forward_length")?.unwrap_or(0),
            n_expert_groups,
            n_group_used: opt("expert_group_used_count")?.unwrap_or(n_expert_groups),
            gating,
            // Written only when true.
            expert_weights_norm: f.get_bool(&k("expert_weights_norm"))?.unwrap_or(false),
            expert_weights_scale: f.get_f32(&k("expert_weights_scale"))?.unwrap_or(1.0),
            rms_eps: f.require_f32(&k("attention.layer_norm_rms_epsilon"))?,
            rope_freq_base: f.get_f32(&k("rope.freq_base"))?.unwrap_or(10000.0),
            yarn,
            kv_layout,
        };
        c.validate()
            .map_err(|m| Error::Model(format!("{}: {m}", f.path().display())))?;
        Ok(c)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.n_layer == 0 || self.n_head == 0 || self.n_embd == 0 || self.n_vocab == 0 {
            return Err(
                "block_count, head_count, embedding_length and vocab_size must be non-zero".into(),
            );
        }
        if self.n_layer_dense_lead > self.n_layer {
            return Err(format!(
                "{} leading dense layers of {}",
                self.n_layer_dense_lead, self.n_layer
            ));
        }
        if !self.n_embd_head_qk_rope.is_multiple_of(2) {
            return Err(format!(
                "rope dimension {} is odd",
                self.n_embd_head_qk_rope
            ));
        }
        if self.n_layer > self.n_layer_dense_lead {
            if self.n_expert == 0 || self.n_expert_used == 0 || self.n_expert_used > self.n_expert {
                return Err(format!(
                    "{} experts used of {}",
                    self.n_expert_used, self.n_expert
                ));
            }
            if !self.n_expert.is_multiple_of(self.n_expert_groups)
                || self.n_group_used == 0
                || self.n_group_used > self.n_expert_groups
            {
                return Err(format!(
                    "{} experts in {} groups, {} used",
                    self.n_expert, self.n_expert_groups, self.n_group_used
                ));
            }
            let per_group_kept = self.n_expert / self.n_expert_groups * self.n_group_used;
            if self.n_expert_used > per_group_kept {
                return Err(format!(
                    "{} experts used but the kept groups hold only {per_group_kept}",
                    self.n_expert_used
                ));
            }
        }
        Ok(())
    }

    pub fn is_moe_layer(&self, il: usize) -> bool {
        il >= self.n_layer_dense_lead
    }

    /// q/k head size: nope + rope.
    pub fn n_embd_head_qk(&self) -> usize {
        self.n_embd_head_qk_nope + self.n_embd_head_qk_rope
    }

    /// Values cached per token per layer: the latent `kv_cmpr` and the shared `k_pe`.
    pub fn n_embd_latent(&self) -> usize {
        self.kv_lora_rank + self.n_embd_head_qk_rope
    }

    /// YaRN attention-temperature factor: 1 + yarn_log_multiplier · ln(factor) (1 without YaRN).
    pub fn yarn_mscale(&self) -> f32 {
        match self.yarn {
            Some(y) if y.factor > 1.0 => 1.0 + y.log_multiplier * y.factor.ln(),
            _ => 1.0,
        }
    }

    /// Attention scale: mscale² / sqrt(nope + rope), as DeepSeek's reference and llama.cpp use.
    pub fn kq_scale(&self) -> f32 {
        let m = self.yarn_mscale();
        m * m / (self.n_embd_head_qk() as f32).sqrt()
    }
}
