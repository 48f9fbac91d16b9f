//! The tiled matrix-matrix product of prefill chunks (`mul_mm.wgsl`, ggml's mul_mm): a MatMul of
//! T tokens decodes each weight once per tile of MUL_MM_TN tokens, where the matvec decodes it
//! once per token. The executor takes it for plain MatMul ops of steps of at least
//! `GpuExecutor::mul_mm_min` tokens (`min_tokens_for`: GPUs from MUL_MM_MIN_TOKENS; CPU adapters
//! never, where the matvec measured 3–6× faster on lavapipe, which runs every workgroup
//! barrier as a switch between invocations).

use bytemuck::{Pod, Zeroable};
use wgpu::Buffer;

use super::context::GpuContext;
use super::kernels::Kernel;
use super::ops::{encode_op, GpuWeight};
use super::pipelines::Pipelines;
use super::recorder::Recorder;

/// mul_mm.wgsl's rows (TM) and tokens (TN) per workgroup.
pub const MUL_MM_TM: usize = 64;
pub const MUL_MM_TN: usize = 16;
/// Tokens from which a step's plain MatMuls run as mul_mm on GPUs.
pub const MUL_MM_MIN_TOKENS: usize = 8;

/// Tokens from which a step's plain MatMuls run as mul_mm on `ctx`'s adapter (usize::MAX:
/// never): MUL_MM_MIN_TOKENS on GPUs, never on CPU adapters; `WGPU_DS_MUL_MM=N` (or `off`)
/// overrides, to measure the two paths against each other.
pub fn min_tokens_for(ctx: &GpuContext) -> usize {
    match std::env::var("WGPU_DS_MUL_MM").as_deref() {
        Ok("off") => usize::MAX,
        Ok(n) => n.parse().unwrap_or(MUL_MM_MIN_TOKENS).max(2),
        Err(_) if ctx.info.device_type == wgpu::DeviceType::Cpu => usize::MAX,
        Err(_) => MUL_MM_MIN_TOKENS,
    }
}

/// shaders/mul_mm.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MulMmParams {
    pub rows: u32,
    pub cols: u32,
    pub row_bytes: u32,
    pub n_tok: u32,
    pub y_stride: u32,
    pub y_offset: u32,
    pub pad0: u32,
    pub pad1: u32,
}

/// Encodes y[t, r] = Σ_c W[r, c] · x[t, c] for one matrix W [rows, cols] (every row chunk of it).
/// x: [n_tok, cols] f32; y: [n_tok, rows] f32.
pub fn encode_mul_mm(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    w: &GpuWeight,
    x: &Buffer,
    y: &Buffer,
    n_tok: usize,
) {
    assert_eq!(w.n_mat, 1, "mul_mm multiplies one matrix");
    if n_tok == 0 {
        return;
    }
    let f = |n: usize| (n * 4) as u64;
    assert!(
        x.size() >= f(n_tok * w.cols) && y.size() >= f(n_tok * w.rows),
        "mul_mm: buffers smaller than [{n_tok}, {}] and [{n_tok}, {}]",
        w.cols,
        w.rows
    );
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let token_tiles = n_tok.div_ceil(MUL_MM_TN);
    assert!(token_tiles <= max, "mul_mm: {n_tok} tokens exceed the grid");
    for c in &w.chunks {
        let row_tiles = c.n_rows.div_ceil(MUL_MM_TM);
        assert!(
            row_tiles <= max,
            "mul_mm: {} rows exceed the grid",
            c.n_rows
        );
        let p = MulMmParams {
            rows: c.n_rows as u32,
            cols: w.cols as u32,
            row_bytes: w.row_bytes as u32,
            n_tok: n_tok as u32,
            y_stride: w.rows as u32,
            y_offset: c.r0 as u32,
            ..Default::default()
        };
        encode_op(
            ctx,
            pipes,
            enc,
            Kernel::MulMm(w.ty),
            &p,
            &[&c.buf, x, y],
            (row_tiles as u32, token_tiles as u32, 1),
        );
        // Every tile of tokens decodes the chunk's rows once.
        enc.note_weight_bytes((token_tiles * c.n_rows * w.row_bytes) as u64);
    }
}
