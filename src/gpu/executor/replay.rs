//! Replaying a recorded step. The dispatches a step records (kernels, buffers, parameters,
//! workgroup counts) depend on its shape, not on its tokens or places, with one exception: the
//! split of the cache into chunks for absorbed attention, which changes every ATTN_WG positions
//! or so. Decode steps of one sequence therefore record the same list token after token; the
//! executor keeps the last step's [`Recorder`] under a [`ReplayKey`] and submits it again when
//! the next step's key is equal, skipping the encoders. The tokens and the step table (positions,
//! places) are buffer contents, written per step as before.

use super::{GpuExecutor, Readback};
use crate::gpu::attention::attn_split;
use crate::model::graph::Graph;
use crate::model::{AttnForm, StepSpec};

/// Everything the recorded dispatches of a step depend on besides the contents of the buffers
/// they bind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReplayKey {
    spec: StepSpec,
    n_ops: usize,
    n_nodes: usize,
    read: Readback,
    /// The lowering's settings (`GpuExecutor::lowering_for`'s key besides the spec).
    mul_mm_min: usize,
    moe_grouped: bool,
    /// `Pipelines::generation`: a buffer the dispatches bind was replaced when it moves.
    generation: u64,
    /// Absorbed attention's (positions per chunk, chunks) for this step's cache length.
    attn_split: (usize, usize),
}

impl ReplayKey {
    /// The key of step `g` read back as `read`; None for a step that is never replayed: one that
    /// reads back every node (`check`, unfused) or runs the materialized attention (its scratch
    /// is sized by the cache length).
    pub fn of(ex: &GpuExecutor, g: &Graph, read: Readback) -> Option<ReplayKey> {
        if read == Readback::Everything || g.spec.attn != AttnForm::Absorbed {
            return None;
        }
        let n_head = ex.model.config.n_head;
        Some(ReplayKey {
            spec: g.spec,
            n_ops: g.ops.len(),
            n_nodes: g.nodes.len(),
            read,
            mul_mm_min: ex.mul_mm_min,
            moe_grouped: ex.moe_grouped,
            generation: ex.pipes.generation(),
            attn_split: attn_split(n_kv(g), g.spec.n_tokens, n_head),
        })
    }

    /// The same key as of buffer generation `generation` (after a step that replaced a buffer).
    pub fn at_generation(self, generation: u64) -> ReplayKey {
        ReplayKey { generation, ..self }
    }
}

/// The cache length absorbed attention reads in step `g`: through the furthest position.
pub(super) fn n_kv(g: &Graph) -> usize {
    g.places.iter().map(|p| p.pos + 1).max().unwrap_or(0)
}
