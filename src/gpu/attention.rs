//! Absorbed MLA attention on the GPU, split over the cache length (flash-decoding):
//! `attn_absorbed.wgsl` scores one chunk of positions per workgroup and keeps an online softmax,
//! `attn_combine.wgsl` merges the chunks with the log-sum-exp rule. A decode step has few (token,
//! head) pairs (16 for V2-Lite, 128 for V3), so the cache is cut into enough chunks to give the
//! GPU about TARGET_GROUPS workgroups; with one chunk the first kernel writes the output itself.

use bytemuck::{Pod, Zeroable};
use wgpu::Buffer;

use super::context::GpuContext;
use super::elementwise::RowView;
use super::kernels::Kernel;
use super::ops::encode_op;
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use super::step_table::StepTable;
use crate::model::CacheType;

/// attn_absorbed.wgsl's workgroup size (positions per tile), MAX_CPT (latent channels per
/// invocation: kv ≤ ATTN_WG · ATTN_MAX_CPT) and HG (heads per workgroup, sharing each cache row).
const ATTN_WG: usize = 64;
const ATTN_MAX_CPT: usize = 16;
pub const ATTN_HG: usize = 4;
/// attn_absorbed.wgsl's MAX_ROPE: q_pe dims a workgroup keeps per head (64 in DeepSeek models).
pub const ATTN_MAX_ROPE: usize = 64;
/// Latent channels the kernel keeps per workgroup (ATTN_WG · ATTN_MAX_CPT; 512 in DeepSeek models).
pub const ATTN_MAX_LATENT: usize = ATTN_WG * ATTN_MAX_CPT;
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
    /// Where the places start in the step table.
    pub places_at: u32,
    /// Positions per chunk.
    pub chunk: u32,
    pub n_chunks: u32,
    /// 1: one chunk, the kernel writes the output; 0: it writes partials for attn_combine.
    pub direct: u32,
    pub scale: f32,
    /// Head th's q_pe at th · qp_stride + qp_offset.
    pub qp_stride: u32,
    pub qp_offset: u32,
    /// 1: rotate q_pe's pairs by the rope table on load (a folded RoPE).
    pub rope_q: u32,
    /// 1: the cache holds halves, two per word.
    pub cache_f16: u32,
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

/// Where attn_absorbed reads q_pe: [T, H, rope] itself, or (a folded RoPE) the rope part of
/// wider q rows, rotated on load.
#[derive(Clone, Copy)]
pub struct QPe<'a> {
    pub buf: &'a Buffer,
    /// Head th's rope dims at th · stride + offset (None: [T, H, rope] contiguous).
    pub view: Option<RowView>,
    /// Rotate the pairs by the step table's cos/sin as rope.wgsl would (false: already rotated).
    pub rotate: bool,
}

impl<'a> QPe<'a> {
    /// q_pe as its own [T, H, rope] node, already rotated.
    pub fn plain(buf: &'a Buffer) -> Self {
        QPe {
            buf,
            view: None,
            rotate: false,
        }
    }
}

/// The buffers and shape of one absorbed attention (`encode_attn_absorbed`): `n_tok` tokens,
/// each at its place in the step table, over one layer's latent cache
/// (cpu::attention::attn_absorbed), causal: a token at position p of a slot sees that slot's
/// positions 0 ..= p.
pub struct AttnAbsorbed<'a> {
    /// [n_slots · n_ctx, kv + rope] of `cache_ty` (c_kv then k_pe per position)
    pub cache: &'a Buffer,
    /// The step table: the places (and cos/sin when q_pe rotates on load).
    pub table: StepTable<'a>,
    /// The most positions a token of the step sees (the largest position + 1).
    pub n_kv: usize,
    pub cache_ty: CacheType,
    /// [T, H, kv]
    pub q_abs: &'a Buffer,
    pub q_pe: QPe<'a>,
    /// [T, H, kv] (the latent output, before W_UV)
    pub out: &'a Buffer,
    pub n_tok: usize,
    pub n_head: usize,
    pub kv: usize,
    pub rope: usize,
    pub scale: f32,
    /// Positions per chunk (None: `attn_chunk`'s choice; tests force many chunks).
    pub chunk: Option<usize>,
}

/// (positions per chunk, chunks) of a step's cache of `n_kv` positions: what the dispatches of
/// [`encode_attn_absorbed`] depend on besides the shape of the step (`GpuExecutor`'s replay).
pub fn attn_split(n_kv: usize, n_tok: usize, n_head: usize) -> (usize, usize) {
    let chunk = attn_chunk(n_kv, n_tok, n_head);
    (chunk, n_kv.div_ceil(chunk))
}

/// Encodes `a` (attn_absorbed.wgsl, then attn_combine.wgsl when the cache is split in chunks).
pub fn encode_attn_absorbed(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    a: &AttnAbsorbed,
) {
    let (n_kv, n_tok, n_head, kv, rope) = (a.n_kv, a.n_tok, a.n_head, a.kv, a.rope);
    let (cache, q_abs, out) = (a.cache, a.q_abs, a.out);
    let (chunk, n_chunks) = match a.chunk {
        Some(chunk) => (chunk, n_kv.div_ceil(chunk.max(1))),
        None => attn_split(n_kv, n_tok, n_head),
    };
    assert!(
        n_tok > 0 && n_head > 0 && chunk > 0,
        "attn_absorbed: empty step"
    );
    assert!(
        kv <= ATTN_WG * ATTN_MAX_CPT,
        "attn_absorbed: kv_lora {kv} > {}",
        ATTN_WG * ATTN_MAX_CPT
    );
    assert!(
        rope <= ATTN_MAX_ROPE && rope.is_multiple_of(2),
        "attn_absorbed: rope dims {rope} (at most {ATTN_MAX_ROPE}, even)"
    );
    let f = |n: usize| (n * 4) as u64;
    let qv = a.q_pe.view.unwrap_or(RowView {
        stride: rope,
        offset: 0,
    });
    assert!(
        qv.offset + rope <= qv.stride,
        "attn_absorbed: q_pe view {qv:?}"
    );
    a.table.check(n_tok, "attn_absorbed");
    if a.q_pe.rotate {
        assert!(
            a.table.places_at >= n_tok * rope,
            "attn_absorbed: rope table shorter than [{n_tok}, {rope}]"
        );
    }
    assert!(
        cache.size() >= (n_kv * (kv + rope) * a.cache_ty.bytes()) as u64
            && q_abs.size() >= f(n_tok * n_head * kv)
            && a.q_pe.buf.size() >= f((n_tok * n_head - 1) * qv.stride + qv.offset + rope)
            && out.size() >= f(n_tok * n_head * kv),
        "attn_absorbed: a buffer is smaller than its shape ({n_kv} positions, {n_tok} tokens, {n_head} heads, {kv} + {rope})"
    );
    let direct = n_chunks == 1;
    let p = AttnAbsorbedParams {
        n_tok: n_tok as u32,
        n_head: n_head as u32,
        kv: kv as u32,
        rope: rope as u32,
        places_at: a.table.places_at as u32,
        chunk: chunk as u32,
        n_chunks: n_chunks as u32,
        direct: direct as u32,
        scale: a.scale,
        qp_stride: qv.stride as u32,
        qp_offset: qv.offset as u32,
        rope_q: a.q_pe.rotate as u32,
        cache_f16: (a.cache_ty == CacheType::F16) as u32,
    };
    let (q_pe, table) = (a.q_pe.buf, a.table.buf);
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
            &[cache, q_abs, q_pe, table, out],
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
        &[cache, q_abs, q_pe, table, &part],
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
