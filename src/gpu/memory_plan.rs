//! What a model will take on the GPU, computed before anything is uploaded so `run`, `chat` and
//! `bench` can print it: the weights as stored, the latent cache for the context, and the node
//! buffers of the largest step (a prefill chunk).

use super::node_slots::NodeSlots;
use crate::model::{AttnForm, CacheShape, Model, StepSpec};

/// Bytes the GPU executor allocates for a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Every tensor as stored (the grid i-quants' tables and padding aside).
    pub weights: u64,
    /// The latent cache: n_layer × n_slots × n_ctx × (kv_lora + rope) values of the cache type.
    pub cache: u64,
    /// Node buffers of a step of `step_tokens` tokens (the larger attention form's), the layers
    /// of one parity sharing them (`gpu::node_slots`).
    pub activations: u64,
    pub step_tokens: usize,
}

impl MemoryPlan {
    pub fn total(&self) -> u64 {
        self.weights + self.cache + self.activations
    }
}

impl std::fmt::Display for MemoryPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: u64| b as f64 / 1e6;
        write!(
            f,
            "weights {:.1} MB, latent cache {:.1} MB, activations of a {}-token step {:.1} MB; {:.1} MB in all",
            mb(self.weights),
            mb(self.cache),
            self.step_tokens,
            mb(self.activations),
            mb(self.total())
        )
    }
}

/// The plan for `model` with a cache of `shape` and steps of at most `step_tokens` tokens (the
/// prefill chunk; at most `n_ctx`).
pub fn memory_plan(model: &Model, shape: CacheShape, step_tokens: usize) -> MemoryPlan {
    let c = &model.config;
    let (n_ctx, cache) = (shape.n_ctx, shape.ty);
    let weights = (0..model.weights.tensors.len())
        .map(|id| model.weight_bytes(id).len() as u64)
        .sum();
    let per_layer =
        ((shape.n_slots * n_ctx * c.n_embd_latent()).next_multiple_of(2) * cache.bytes()) as u64;
    let t = step_tokens.clamp(1, n_ctx.max(1));
    let activations = [AttnForm::Absorbed, AttnForm::Materialized]
        .into_iter()
        .map(|attn| NodeSlots::shared(&model.graph(StepSpec::run(t, false, attn))).total())
        .max()
        .unwrap_or(0);
    MemoryPlan {
        weights,
        cache: per_layer * c.n_layer as u64,
        activations,
        step_tokens: t,
    }
}
