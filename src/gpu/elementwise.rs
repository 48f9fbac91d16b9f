//! Elementwise and normalization ops of the graph (RmsNorm, Slice, Add, SwiGlu, WeightedSum,
//! Rope, KvStore): one small kernel each, f32 in and out, no optional features. Each encoder
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

/// shaders/rms_norm.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct RmsNormParams {
    pub n_rows: u32,
    pub n: u32,
    pub eps: f32,
    pub x_stride: u32,
    pub y_stride: u32,
    pub y_offset: u32,
    /// Addends folded into the row: 0, 1 (B) or 2 (B, then A1).
    pub n_add: u32,
    /// Expert slots of a folded MoE mix (0: the row is X's).
    pub k: u32,
    /// RoPE pairs after the norm (0: none), read from x at rope_x and written to y at rope_y
    /// within each row.
    pub rope_pairs: u32,
    pub rope_x: u32,
    pub rope_y: u32,
    /// 1: y holds halves, two per word (a latent cache in f16).
    pub y_f16: u32,
}

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
}

/// shaders/kv_store.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct KvStoreParams {
    pub n_tok: u32,
    pub pos0: u32,
    pub kv: u32,
    pub rope: u32,
    /// 1: the cache holds halves, two per word.
    pub y_f16: u32,
    pub pad0: u32,
    pub pad1: u32,
    pub pad2: u32,
}

/// shaders/cache_f32.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct CacheF32Params {
    pub n: u32,
    pub f16: u32,
    pub pad0: u32,
    pub pad1: u32,
}

/// Grid for `items` invocations in workgroups of WG, flattened as `(x + y · x_count) · WG + lid`.
fn flat_grid(ctx: &GpuContext, items: usize) -> (u32, u32, u32) {
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
fn u32_of(what: &str, v: usize) -> u32 {
    u32::try_from(v)
        .unwrap_or_else(|_| panic!("{what} = {v} does not fit the shaders' u32 indices"))
}

/// Panics unless `buf` holds at least `n` f32.
fn holds(buf: &Buffer, n: usize, what: &str) {
    holds_as(buf, n, CacheType::F32, what);
}

/// Panics unless `buf` holds at least `n` values of `ty` (f32, or halves two per word).
fn holds_as(buf: &Buffer, n: usize, ty: CacheType, what: &str) {
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

/// The buffers and shape of one RMSNorm (`encode_rms_norm`).
pub struct RmsNorm<'a> {
    /// [n_rows, n], or the first n of rows of `x_stride` elements.
    pub x: &'a Buffer,
    /// [n]
    pub w: &'a Buffer,
    /// [n_rows, n], or rows of `y_view` (the latent cache).
    pub y: &'a Buffer,
    pub n_rows: usize,
    pub n: usize,
    pub eps: f32,
    pub x_stride: Option<usize>,
    pub y_view: Option<RowView>,
    /// Normalize a row computed from folded ops instead of x's, and store it.
    pub sum: Option<RowSum<'a>>,
    /// RoPE the rest of each row after the norm (a folded Rope).
    pub rope: Option<RopeTail<'a>>,
    /// What y holds: f32, or halves (y the latent cache in f16; even row starts and n).
    pub y_ty: CacheType,
}

/// The RoPE part of the rows an RMSNorm normalizes (k_pe after kv_cmpr in kv_a_mqa's output),
/// rotated as `encode_rope` would with one head per row and written to the same rows of y.
pub struct RopeTail<'a> {
    /// [n_rows, n_dims / 2, 2] (cos, sin) for each row's token.
    pub table: &'a Buffer,
    pub n_dims: usize,
    /// Where the part starts in a row of x (after its x_stride) and of y (after its y_view).
    pub x_col: usize,
    pub y_col: usize,
}

/// The row an RMSNorm computes before normalizing it, when it is not `x`'s own: (the MoE mix
/// Σ_k mix[r, k] · x[r, k, :], or x[r, :]) + addends[0] + addends[1], each an f32 add in that
/// order (the Adds and the WeightedSum the executor folded into the norm), stored to `s`.
pub struct RowSum<'a> {
    /// [n_rows, n]
    pub s: &'a Buffer,
    /// (weights [n_rows, k], k): x is [n_rows, k, n], the outputs of k expert slots.
    pub mix: Option<(&'a Buffer, usize)>,
    /// Up to two [n_rows, n].
    pub addends: Vec<&'a Buffer>,
}

impl<'a> RmsNorm<'a> {
    /// y = rms_norm(x) · w over contiguous rows.
    pub fn plain(
        x: &'a Buffer,
        w: &'a Buffer,
        y: &'a Buffer,
        n_rows: usize,
        n: usize,
        eps: f32,
    ) -> Self {
        RmsNorm {
            x,
            w,
            y,
            n_rows,
            n,
            eps,
            x_stride: None,
            y_view: None,
            sum: None,
            rope: None,
            y_ty: CacheType::F32,
        }
    }
}

/// y[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) · w, with the views and the folded Add of `a`.
pub fn encode_rms_norm(ctx: &GpuContext, pipes: &Pipelines, enc: &mut Recorder, a: &RmsNorm) {
    let (n_rows, n) = (a.n_rows, a.n);
    let x_stride = a.x_stride.unwrap_or(n);
    let yv = a.y_view.unwrap_or(RowView {
        stride: n,
        offset: 0,
    });
    assert!(
        x_stride >= n && yv.stride >= n,
        "rms_norm: rows hold no {n} elements"
    );
    holds(a.x, (n_rows.max(1) - 1) * x_stride + n, "rms_norm x");
    holds(a.w, n, "rms_norm w");
    let last_y = (n_rows.max(1) - 1) * yv.stride + yv.offset;
    holds_as(a.y, last_y + n, a.y_ty, "rms_norm y");
    if a.y_ty == CacheType::F16 {
        assert!(
            n.is_multiple_of(2) && yv.stride.is_multiple_of(2) && yv.offset.is_multiple_of(2),
            "rms_norm: halves are written in pairs, so rows of y start at even elements"
        );
    }
    let k = a.sum.as_ref().and_then(|m| m.mix).map_or(0, |(_, k)| k);
    if let Some(sum) = &a.sum {
        assert!(sum.addends.len() <= 2, "rms_norm: at most two addends");
        for b in &sum.addends {
            holds(b, n_rows * n, "rms_norm addend");
        }
        holds(sum.s, n_rows * n, "rms_norm sum");
        if let Some((mw, k)) = sum.mix {
            assert!(
                k > 0 && x_stride == n,
                "rms_norm: a mix reads whole rows of k ≥ 1 slots"
            );
            holds(mw, n_rows * k, "rms_norm mix weights");
            holds(a.x, n_rows * k * n, "rms_norm mixed x");
        }
    }
    let p = RmsNormParams {
        n_rows: u32_of("rms_norm rows", n_rows),
        n: u32_of("rms_norm n", n),
        eps: a.eps,
        x_stride: u32_of("rms_norm x stride", x_stride),
        y_stride: u32_of("rms_norm y stride", yv.stride),
        y_offset: yv.offset as u32,
        n_add: a.sum.as_ref().map_or(0, |m| m.addends.len()) as u32,
        k: k as u32,
        rope_pairs: a.rope.as_ref().map_or(0, |t| t.n_dims / 2) as u32,
        rope_x: a.rope.as_ref().map_or(0, |t| t.x_col) as u32,
        rope_y: a.rope.as_ref().map_or(0, |t| t.y_col) as u32,
        y_f16: (a.y_ty == CacheType::F16) as u32,
    };
    if let Some(t) = &a.rope {
        let fits = t.x_col + t.n_dims <= x_stride && t.y_col + t.n_dims <= yv.stride;
        assert!(
            t.n_dims.is_multiple_of(2) && fits,
            "rms_norm: a RoPE part of {} at x column {}, y column {} does not fit rows of {x_stride} / {}",
            t.n_dims,
            t.x_col,
            t.y_col,
            yv.stride
        );
        let last = n_rows.max(1) - 1;
        holds(a.x, last * x_stride + t.x_col + t.n_dims, "rms_norm rope x");
        holds_as(
            a.y,
            last * yv.stride + yv.offset + t.y_col + t.n_dims,
            a.y_ty,
            "rms_norm rope y",
        );
        holds(t.table, n_rows * t.n_dims, "rms_norm rope table");
    }
    u32_of(
        "rms_norm elements",
        (n_rows * x_stride.max(yv.stride) + yv.offset).max(n_rows * k * n),
    );
    // Unused inputs are bound to x (read-only, like them) and an unused S to y, which the kernel
    // then never touches.
    let sum = a.sum.as_ref();
    let addend = |i: usize| sum.and_then(|m| m.addends.get(i).copied()).unwrap_or(a.x);
    let s = sum.map_or(a.y, |m| m.s);
    let mw = sum.and_then(|m| m.mix).map_or(a.x, |(mw, _)| mw);
    let (gx, gy) = grid(ctx, n_rows);
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("rms_norm"),
        &p,
        &[
            a.x,
            a.w,
            a.y,
            addend(0),
            s,
            addend(1),
            mw,
            a.rope.as_ref().map_or(a.x, |t| t.table),
        ],
        (gx, gy, 1),
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
/// (`x_view`); y: [n_tok, n_head, n_dims], or within rows of `y_view` (the latent cache); table: [n_tok, n_dims / 2, 2] from
/// `cpu::rope::Rope::table(pos0, n_tok)` (f64 on the CPU; no sin/cos on the GPU).
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
) {
    assert!(n_dims.is_multiple_of(2), "rope over an odd {n_dims} dims");
    let plain = RowView {
        stride: n_dims,
        offset: 0,
    };
    let (xv, yv) = (x_view.unwrap_or(plain), y_view.unwrap_or(plain));
    // Row i of a view at i · stride + offset: the offset may include a base row (cache rows pos0..).
    let rows = (n_tok * n_head).max(1) - 1;
    assert!(
        xv.stride >= n_dims && yv.stride >= n_dims,
        "rope: rows hold no {n_dims} dims"
    );
    holds(x, rows * xv.stride + xv.offset + n_dims, "rope x");
    holds_as(y, rows * yv.stride + yv.offset + n_dims, y_ty, "rope y");
    if y_ty == CacheType::F16 {
        assert!(
            yv.stride.is_multiple_of(2) && yv.offset.is_multiple_of(2),
            "rope: halves are written in pairs, so rows of y start at even elements"
        );
    }
    holds(table, n_tok * n_dims, "rope table");
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

/// cache[pos0 + t, :] = kv_cmpr[t, :] ‖ k_pe[t, :] for t < n_tok. kv_cmpr: [n_tok, kv];
/// k_pe: [n_tok, rope]; cache: one layer, [n_ctx, kv + rope] of `ty`.
#[allow(clippy::too_many_arguments)]
pub fn encode_kv_store(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    kv_cmpr: &Buffer,
    k_pe: &Buffer,
    cache: &Buffer,
    pos0: usize,
    n_tok: usize,
    kv: usize,
    rope: usize,
    ty: CacheType,
) {
    assert!(
        kv.is_multiple_of(2) && rope.is_multiple_of(2),
        "kv_store: rows are written in pairs ({kv} + {rope})"
    );
    holds(kv_cmpr, n_tok * kv, "kv_store kv_cmpr");
    holds(k_pe, n_tok * rope, "kv_store k_pe");
    holds_as(cache, (pos0 + n_tok) * (kv + rope), ty, "kv_store cache");
    u32_of("kv_store cache elements", (pos0 + n_tok) * (kv + rope));
    let p = KvStoreParams {
        n_tok: n_tok as u32,
        pos0: pos0 as u32,
        kv: kv as u32,
        rope: rope as u32,
        y_f16: (ty == CacheType::F16) as u32,
        ..Default::default()
    };
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("kv_store"),
        &p,
        &[kv_cmpr, k_pe, cache],
        flat_grid(ctx, n_tok * (kv + rope) / 2),
    );
}

/// y[i] = element i of `cache` (values of `ty`) as f32, for i < n: the rows a kernel reading
/// plain f32 needs (the materialized MLA's matvecs over c_kv).
pub fn encode_cache_f32(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    cache: &Buffer,
    ty: CacheType,
    y: &Buffer,
    n: usize,
) {
    holds_as(cache, n, ty, "cache_f32 cache");
    holds(y, n, "cache_f32 y");
    let p = CacheF32Params {
        n: u32_of("cache_f32 elements", n),
        f16: (ty == CacheType::F16) as u32,
        ..Default::default()
    };
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("cache_f32"),
        &p,
        &[cache, y],
        flat_grid(ctx, n),
    );
}
