//! Absorbed MLA attention on the GPU, split over the cache length (flash-decoding):
//! `attn_absorbed.wgsl` scores one chunk of positions per workgroup and keeps an online softmax,
//! `attn_combine.wgsl` merges the chunks with the log-sum-exp rule. A decode step has few (token,
//! head) pairs (16 for V2-Lite, 128 for V3), so the cache is cut into enough chunks to give the
//! GPU about TARGET_GROUPS workgroups; with one chunk the first kernel writes the output itself.

use bytemuck::{Pod, Zeroable};
use wgpu::Buffer;

use super::context::GpuContext;
use super::kernels::Kernel;
use super::ops::encode_op;
use super::pipelines::Pipelines;
use super::recorder::Recorder;

/// attn_absorbed.wgsl's workgroup size (positions per tile), MAX_CPT (latent channels per
/// invocation: kv ≤ ATTN_WG · ATTN_MAX_CPT) and HG (heads per workgroup, sharing each cache row).
const ATTN_WG: usize = 64;
const ATTN_MAX_CPT: usize = 16;
pub const ATTN_HG: usize = 4;
/// Workgroups a split aims for: enough to fill a large GPU, few enough that the partials stay
/// small (at most 2 · TARGET_GROUPS · (kv + 2) floats, 4.2 MB for kv = 512).
const TARGET_GROUPS: usize = 1024;

/// shaders/attn_absorbed.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct AttnAbsorbedParams {
    pub n_tok: u32,
    pub n_head: u32,
    pub kv: u32,
    pub rope: u32,
    pub pos0: u32,
    /// Positions per chunk.
    pub chunk: u32,
    pub n_chunks: u32,
    /// 1: one chunk, the kernel writes the output; 0: it writes partials for attn_combine.
    pub direct: u32,
    pub scale: f32,
}

/// shaders/attn_combine.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct AttnCombineParams {
    pub n_tok: u32,
    pub n_head: u32,
    pub kv: u32,
    pub n_chunks: u32,
}

/// Positions per chunk for a step: the cache length split so that (chunks · tokens · head
/// groups) reaches about TARGET_GROUPS, in whole tiles of ATTN_WG positions.
pub fn attn_chunk(n_kv: usize, n_tok: usize, n_head: usize) -> usize {
    let want = TARGET_GROUPS
        .div_ceil(n_tok * n_head.div_ceil(ATTN_HG))
        .max(1);
    n_kv.div_ceil(want).next_multiple_of(ATTN_WG).max(ATTN_WG)
}

/// Encodes the absorbed attention of `n_tok` tokens at positions pos0 .. pos0 + n_tok over one
/// layer's latent cache (cpu::attention::attn_absorbed), causal: token t sees 0 ..= pos0 + t.
/// cache: [n_ctx ≥ pos0 + n_tok, kv + rope] f32 (c_kv then k_pe per position);
/// q_abs: [T, H, kv]; q_pe: [T, H, rope]; out: [T, H, kv] (the latent output, before W_UV).
#[allow(clippy::too_many_arguments)]
pub fn encode_attn_absorbed(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    cache: &Buffer,
    q_abs: &Buffer,
    q_pe: &Buffer,
    out: &Buffer,
    pos0: usize,
    n_tok: usize,
    n_head: usize,
    kv: usize,
    rope: usize,
    scale: f32,
) {
    let chunk = attn_chunk(pos0 + n_tok, n_tok, n_head);
    encode_attn_absorbed_chunked(
        ctx, pipes, enc, cache, q_abs, q_pe, out, pos0, n_tok, n_head, kv, rope, scale, chunk,
    );
}

/// [`encode_attn_absorbed`] with the chunk length given (tests use it to force many chunks).
#[allow(clippy::too_many_arguments)]
pub fn encode_attn_absorbed_chunked(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    cache: &Buffer,
    q_abs: &Buffer,
    q_pe: &Buffer,
    out: &Buffer,
    pos0: usize,
    n_tok: usize,
    n_head: usize,
    kv: usize,
    rope: usize,
    scale: f32,
    chunk: usize,
) {
    let n_kv = pos0 + n_tok;
    assert!(
        n_tok > 0 && n_head > 0 && chunk > 0,
        "attn_absorbed: empty step"
    );
    assert!(
        kv <= ATTN_WG * ATTN_MAX_CPT,
        "attn_absorbed: kv_lora {kv} > {}",
        ATTN_WG * ATTN_MAX_CPT
    );
    let f = |n: usize| (n * 4) as u64;
    assert!(
        cache.size() >= f(n_kv * (kv + rope))
            && q_abs.size() >= f(n_tok * n_head * kv)
            && q_pe.size() >= f(n_tok * n_head * rope)
            && out.size() >= f(n_tok * n_head * kv),
        "attn_absorbed: a buffer is smaller than its shape ({n_kv} positions, {n_tok} tokens, {n_head} heads, {kv} + {rope})"
    );
    let n_chunks = n_kv.div_ceil(chunk);
    let direct = n_chunks == 1;
    let p = AttnAbsorbedParams {
        n_tok: n_tok as u32,
        n_head: n_head as u32,
        kv: kv as u32,
        rope: rope as u32,
        pos0: pos0 as u32,
        chunk: chunk as u32,
        n_chunks: n_chunks as u32,
        direct: direct as u32,
        scale,
    };
    let groups = (
        n_chunks as u32,
        n_head.div_ceil(ATTN_HG) as u32,
        n_tok as u32,
    );
    if direct {
        encode_op(
            ctx,
            pipes,
            enc,
            Kernel::Op("attn_absorbed"),
            &p,
            &[cache, q_abs, q_pe, out],
            groups,
        );
        return;
    }
    // Partials [T, H, n_chunks, kv + 2]: (m, l, acc).
    let part_bytes = f(n_tok * n_head * n_chunks * (kv + 2));
    assert!(
        part_bytes <= ctx.max_binding(),
        "attn_absorbed: {n_chunks} chunks of partials exceed the binding limit"
    );
    // One scratch for every layer: each layer's combine runs before the next layer writes it.
    let part = pipes.scratch(ctx, "attn_absorbed partials", part_bytes);
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("attn_absorbed"),
        &p,
        &[cache, q_abs, q_pe, &part],
        groups,
    );
    let pc = AttnCombineParams {
        n_tok: n_tok as u32,
        n_head: n_head as u32,
        kv: kv as u32,
        n_chunks: n_chunks as u32,
    };
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("attn_combine"),
        &pc,
        &[&part, out],
        (n_head as u32, n_tok as u32, 1),
    );
}
