//! Elementwise ops of the graph (Slice, Add, SwiGlu, WeightedSum, Rope; RMSNorm is in
//! `gpu::norm`, the latent cache's kernels in `gpu::latent_cache`): one small kernel each, no
//! optional features. Each encoder
//! checks that its buffers hold the shapes it is told (a short buffer would be read as zeros by
//! wgpu's bounds checks, not fail) and encodes one compute pass.
//!
//! The flat kernels run one invocation per output element (per pair for rope) over a 2-D grid of
//! workgroups (`flat_grid`), so ~10^7 elements fit under the 65535-per-dimension limit.

use bytemuck::{Pod, Zeroable};
use wgpu::Buffer;

use super::context::GpuContext;
use super::kernels::Kernel;
use super::ops::{encode_op, grid};
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use crate::model::CacheType;

/// `const WG` of every shader in this module (tests/gpu_elementwise.rs checks it with naga).
pub const WG: usize = 256;

/// shaders/slice.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct SliceParams {
    pub n_rows: u32,
    pub stride_in: u32,
    pub offset: u32,
    pub width: u32,
}

/// shaders/binary.wgsl `Params` (add and swiglu, composed from shaders/binary/<op>.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BinaryParams {
    pub n: u32,
    pub pad0: u32,
    pub pad1: u32,
    pub pad2: u32,
}

/// shaders/weighted_sum.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct WeightedSumParams {
    pub n_tok: u32,
    pub k: u32,
    pub n: u32,
    pub n_add: u32,
}

/// shaders/rope.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct RopeParams {
    pub n_tok: u32,
    pub n_head: u32,
    pub n_dims: u32,
    pub x_stride: u32,
    pub x_offset: u32,
    pub y_stride: u32,
    pub y_offset: u32,
    /// 1: y holds halves, two per word (a latent cache in f16).
    pub y_f16: u32,
    /// 1: y is a latent cache, token t's rows at its place (the step table's places).
    pub y_cache: u32,
    /// Where the places start in the step table.
    pub places_at: u32,
    pub pad0: u32,
    pub pad1: u32,
}

/// Grid for `items` invocations in workgroups of WG, flattened as `(x + y · x_count) · WG + lid`.
pub(super) fn flat_grid(ctx: &GpuContext, items: usize) -> (u32, u32, u32) {
    let (x, y) = grid(ctx, items.div_ceil(WG));
    (x, y, 1)
}

/// Where an op's rows lie in a wider buffer: row i at `i · stride + offset` (the source of a Slice
/// the executor folded into its consumer, or latent-cache rows an op writes directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowView {
    pub stride: usize,
    pub offset: usize,
}

/// A size as the u32 the shaders index with; past u32 a kernel would wrap, so that is a bug.
pub(super) fn u32_of(what: &str, v: usize) -> u32 {
    u32::try_from(v)
        .unwrap_or_else(|_| panic!("{what} = {v} does not fit the shaders' u32 indices"))
}

/// Panics unless `buf` holds at least `n` f32.
pub(super) fn holds(buf: &Buffer, n: usize, what: &str) {
    holds_as(buf, n, CacheType::F32, what);
}

/// Panics unless `buf` holds at least `n` values of `ty` (f32, or halves two per word).
pub(super) fn holds_as(buf: &Buffer, n: usize, ty: CacheType, what: &str) {
    // Halves are stored two to a word.
    let words = match ty {
        CacheType::F32 => n,
        CacheType::F16 => n.div_ceil(2),
    };
    assert!(
        buf.size() >= (words * 4) as u64,
        "{what}: buffer of {} bytes for {n} {}",
        buf.size(),
        ty.name()
    );
}

/// y[r, 0..width] = x[r · stride_in + offset ..][..width]. x: [n_rows, stride_in]; y: [n_rows, width]
#[allow(clippy::too_many_arguments)]
pub fn encode_slice(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    x: &Buffer,
    y: &Buffer,
    n_rows: usize,
    stride_in: usize,
    offset: usize,
    width: usize,
) {
    assert!(
        offset + width <= stride_in,
        "slice {offset}+{width} of rows of {stride_in}"
    );
    holds(x, n_rows * stride_in, "slice x");
    holds(y, n_rows * width, "slice y");
    let p = SliceParams {
        n_rows: u32_of("slice rows", n_rows),
        stride_in: u32_of("slice stride", stride_in),
        offset: offset as u32,
        width: width as u32,
    };
    u32_of("slice elements", n_rows * stride_in);
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("slice"),
        &p,
        &[x, y],
        flat_grid(ctx, n_rows * width),
    );
}

/// y = a + b over n elements.
pub fn encode_add(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    a: &Buffer,
    b: &Buffer,
    y: &Buffer,
    n: usize,
) {
    encode_binary(ctx, pipes, enc, "add", a, b, y, n);
}

/// y = silu(gate) · up over n elements, silu(g) = g / (1 + exp(-g)).
pub fn encode_swiglu(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    gate: &Buffer,
    up: &Buffer,
    y: &Buffer,
    n: usize,
) {
    encode_binary(ctx, pipes, enc, "swiglu", gate, up, y, n);
}

/// One elementwise op `name` of two inputs (shaders/<name>.wgsl), flat over n elements.
#[allow(clippy::too_many_arguments)]
fn encode_binary(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    name: &'static str,
    a: &Buffer,
    b: &Buffer,
    y: &Buffer,
    n: usize,
) {
    for (buf, what) in [(a, "input a"), (b, "input b"), (y, "output")] {
        holds(buf, n, &format!("{name} {what}"));
    }
    let p = BinaryParams {
        n: u32_of(&format!("{name} n"), n),
        ..Default::default()
    };
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op(name),
        &p,
        &[a, b, y],
        flat_grid(ctx, n),
    );
}

/// y[t, :] = Σ_k w[t, k] · x[t, k, :] (+ addends[0] + addends[1], in that order: the Adds the
/// executor folds in). x: [n_tok, k, n]; w: [n_tok, k]; y and each addend: [n_tok, n]
#[allow(clippy::too_many_arguments)]
pub fn encode_weighted_sum(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    x: &Buffer,
    w: &Buffer,
    y: &Buffer,
    n_tok: usize,
    k: usize,
    n: usize,
    addends: &[&Buffer],
) {
    holds(x, n_tok * k * n, "weighted_sum x");
    holds(w, n_tok * k, "weighted_sum w");
    holds(y, n_tok * n, "weighted_sum y");
    assert!(
        addends.len() <= 2,
        "weighted_sum: {} addends",
        addends.len()
    );
    for a in addends {
        holds(a, n_tok * n, "weighted_sum addend");
    }
    u32_of("weighted_sum x elements", n_tok * k * n);
    let p = WeightedSumParams {
        n_tok: n_tok as u32,
        k: k as u32,
        n: n as u32,
        n_add: addends.len() as u32,
    };
    // Absent addends are bound to the placeholder, which the kernel then never reads.
    let a0 = addends
        .first()
        .copied()
        .unwrap_or_else(|| pipes.placeholder(ctx));
    let a1 = addends
        .get(1)
        .copied()
        .unwrap_or_else(|| pipes.placeholder(ctx));
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("weighted_sum"),
        &p,
        &[x, w, y, a0, a1],
        flat_grid(ctx, n_tok * n),
    );
}

/// RoPE, NORM mode: pairs (2i, 2i+1) of every head of token t rotate by table[t, i] = (cos, sin):
/// (x0·c − x1·s, x0·s + x1·c). x: [n_tok, n_head, n_dims], or those dims within wider head rows
/// (`x_view`); y: [n_tok, n_head, n_dims], or within rows of `y_view`; table: the step table
/// (`gpu::step_table`, [n_tok, n_dims / 2, 2] cos/sin first). With `y_cache` (the places' start
/// in the table) y is a latent cache and token t's heads go to the cache rows of its place
/// (`y_view`'s offset then a column).
#[allow(clippy::too_many_arguments)]
pub fn encode_rope(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    x: &Buffer,
    y: &Buffer,
    table: &Buffer,
    n_tok: usize,
    n_head: usize,
    n_dims: usize,
    (x_view, y_view): (Option<RowView>, Option<RowView>),
    y_ty: CacheType,
    y_cache: Option<usize>,
) {
    assert!(n_dims.is_multiple_of(2), "rope over an odd {n_dims} dims");
    let plain = RowView {
        stride: n_dims,
        offset: 0,
    };
    let (xv, yv) = (x_view.unwrap_or(plain), y_view.unwrap_or(plain));
    // Row i of a view at i · stride + offset; cache rows come from the table (places checked when
    // it was built).
    let rows = (n_tok * n_head).max(1) - 1;
    let y_rows = if y_cache.is_some() { n_head - 1 } else { rows };
    assert!(
        xv.stride >= n_dims && yv.stride >= n_dims,
        "rope: rows hold no {n_dims} dims"
    );
    holds(x, rows * xv.stride + xv.offset + n_dims, "rope x");
    holds_as(y, y_rows * yv.stride + yv.offset + n_dims, y_ty, "rope y");
    if y_ty == CacheType::F16 {
        assert!(
            yv.stride.is_multiple_of(2) && yv.offset.is_multiple_of(2),
            "rope: halves are written in pairs, so rows of y start at even elements"
        );
    }
    holds(
        table,
        n_tok * n_dims + y_cache.map_or(0, |_| 2 * n_tok),
        "rope table",
    );
    u32_of(
        "rope elements",
        rows * xv.stride.max(yv.stride) + xv.offset.max(yv.offset) + n_dims,
    );
    let p = RopeParams {
        n_tok: n_tok as u32,
        n_head: n_head as u32,
        n_dims: n_dims as u32,
        x_stride: xv.stride as u32,
        x_offset: xv.offset as u32,
        y_stride: yv.stride as u32,
        y_offset: yv.offset as u32,
        y_f16: (y_ty == CacheType::F16) as u32,
        y_cache: y_cache.is_some() as u32,
        places_at: y_cache.unwrap_or(0) as u32,
        pad0: 0,
        pad1: 0,
    };
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("rope"),
        &p,
        &[x, y, table],
        flat_grid(ctx, n_tok * n_head * n_dims / 2),
    );
}
