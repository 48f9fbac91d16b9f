//! RMSNorm on the GPU (`rms_norm.wgsl`): over a row as it is, or over a row computed from ops
//! the lowering folded into it (a residual Add, a MoE layer's mix with its Adds), optionally with
//! the RoPE part of the same rows (k_pe after kv_cmpr) and into latent-cache rows of either
//! cache type.

use bytemuck::{Pod, Zeroable};
use wgpu::Buffer;

use super::context::GpuContext;
use super::elementwise::{holds, holds_as, u32_of, RowView};
use super::kernels::Kernel;
use super::ops::{encode_op, grid};
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use super::step_table::StepTable;
use crate::model::CacheType;

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
    /// 1: y is a latent cache, row r at its token's place (the step table's places).
    pub y_cache: u32,
    /// Where the places start in the step table.
    pub places_at: u32,
    pub pad0: u32,
    pub pad1: u32,
}

/// The buffers and shape of one RMSNorm (`encode_rms_norm`).
pub struct RmsNorm<'a> {
    /// [n_rows, n], or the first n of rows of `x_stride` elements.
    pub x: &'a Buffer,
    /// [n]
    pub w: &'a Buffer,
    /// [n_rows, n], or (`y_cache`) rows of the latent cache, the columns of `y_view` in row r's
    /// token's place.
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
    /// y is a latent cache: row r goes to the cache row of token r's place in this table.
    pub y_cache: Option<StepTable<'a>>,
}

/// The RoPE part of the rows an RMSNorm normalizes (k_pe after kv_cmpr in kv_a_mqa's output),
/// rotated as `encode_rope` would with one head per row and written to the same rows of y.
pub struct RopeTail<'a> {
    /// The step table ([n_rows, n_dims / 2, 2] (cos, sin) for each row's token first).
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
            y_cache: None,
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
    // Cache rows come from the step table (places checked when it was built): y holds one.
    let y_rows = if a.y_cache.is_some() {
        1
    } else {
        n_rows.max(1)
    };
    let last_y = (y_rows - 1) * yv.stride + yv.offset;
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
        y_cache: a.y_cache.is_some() as u32,
        places_at: a.y_cache.map_or(0, |t| t.places_at) as u32,
        pad0: 0,
        pad1: 0,
    };
    if let Some(t) = a.y_cache {
        t.check(n_rows, "rms_norm");
    }
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
            (y_rows - 1) * yv.stride + yv.offset + t.y_col + t.n_dims,
            a.y_ty,
            "rms_norm rope y",
        );
        holds(t.table, n_rows * t.n_dims, "rms_norm rope table");
    }
    u32_of(
        "rms_norm elements",
        (n_rows * x_stride.max(yv.stride) + yv.offset).max(n_rows * k * n),
    );
    // Unused inputs are bound to x (read-only, like them) and an unused S to a scratch word,
    // which the kernel then never touches (WebGPU refuses two writable bindings of one buffer).
    let sum = a.sum.as_ref();
    let addend = |i: usize| sum.and_then(|m| m.addends.get(i).copied()).unwrap_or(a.x);
    let unused_s;
    let s = match sum {
        Some(m) => m.s,
        None => {
            unused_s = pipes.scratch(ctx, "rms_norm unused s", 4);
            &unused_s
        }
    };
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
            // The step table: cos/sin for a RoPE tail, places for cache rows.
            a.y_cache
                .map(|t| t.buf)
                .or(a.rope.as_ref().map(|t| t.table))
                .unwrap_or(a.x),
        ],
        (gx, gy, 1),
    );
}
