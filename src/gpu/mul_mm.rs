//! The tiled matrix-matrix product of prefill chunks (`mul_mm.wgsl`, ggml's mul_mm): a MatMul of
//! T tokens decodes each weight once per tile of MUL_MM_TN tokens, where the matvec decodes it
//! once per token. The executor takes it for plain MatMul ops of steps of at least
//! `GpuExecutor::mul_mm_min` tokens (`min_tokens_for`: GPUs from MUL_MM_MIN_TOKENS; CPU adapters
//! never, where the matvec measured 3–6× faster on lavapipe, which runs every workgroup
//! barrier as a switch between invocations). With MoE grouping on, a MatMulId of such a step
//! runs as `mul_mm_id` over each expert's slots (moe_group's lists), so each expert's weights
//! are decoded once per tile of the slots that chose it.

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

/// shaders/mul_mm/id.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MulMmIdParams {
    pub rows: u32,
    pub cols: u32,
    pub row_bytes: u32,
    pub mat_bytes: u32,
    pub y_stride: u32,
    pub y_offset: u32,
    pub n_slot: u32,
    pub x_per_slot: u32,
    pub m_first: u32,
    pub m_count: u32,
    pub n_expert: u32,
    pub pad0: u32,
}

/// How `encode_mul_mm_id` finds each expert's slots and their activation rows.
pub struct IdSlots<'a> {
    /// moe_group's lists (i32 [n_expert + 1 + n_tok · n_slot], `gpu::moe_group`).
    pub groups: &'a Buffer,
    /// Slots per token (the experts each token chose).
    pub n_slot: usize,
    /// X holds one row per slot (true) or one per token (false).
    pub x_per_slot: bool,
}

/// Encodes y[s, r] = Σ_c W_e(s)[r, c] · x[row(s), c] for the n_tok · n_slot slots of a
/// MatMulId, expert by expert over moe_group's lists: W a stack of `n_mat` experts [rows, cols],
/// x [n_tok or n_tok · n_slot, cols] f32, y [n_tok · n_slot, rows] f32. One dispatch per chunk of
/// W; its grid holds every expert's tiles up to n_tok slots (an expert takes each token at most
/// once), and the workgroups past an expert's slots leave at once.
pub fn encode_mul_mm_id(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    w: &GpuWeight,
    (x, y): (&Buffer, &Buffer),
    n_tok: usize,
    slots: &IdSlots,
) {
    if n_tok == 0 {
        return;
    }
    let f = |n: usize| (n * 4) as u64;
    let x_rows = if slots.x_per_slot {
        n_tok * slots.n_slot
    } else {
        n_tok
    };
    assert!(
        x.size() >= f(x_rows * w.cols) && y.size() >= f(n_tok * slots.n_slot * w.rows),
        "mul_mm_id: buffers smaller than [{x_rows}, {}] and [{}, {}]",
        w.cols,
        n_tok * slots.n_slot,
        w.rows
    );
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let (row_tiles, token_tiles) = (w.rows.div_ceil(MUL_MM_TM), n_tok.div_ceil(MUL_MM_TN));
    assert!(
        row_tiles <= max && token_tiles <= max,
        "mul_mm_id: {} rows or {n_tok} tokens exceed the grid",
        w.rows
    );
    for c in &w.chunks {
        let p = MulMmIdParams {
            rows: w.rows as u32,
            cols: w.cols as u32,
            row_bytes: w.row_bytes as u32,
            mat_bytes: (w.rows * w.row_bytes) as u32,
            y_stride: w.rows as u32,
            n_slot: slots.n_slot as u32,
            x_per_slot: slots.x_per_slot as u32,
            m_first: c.m0 as u32,
            m_count: c.n_mat as u32,
            n_expert: w.n_mat as u32,
            ..Default::default()
        };
        let groups = (row_tiles as u32, token_tiles as u32, c.n_mat as u32);
        let bound = [&c.buf, x, y, slots.groups];
        encode_op(ctx, pipes, enc, Kernel::MulMmId(w.ty), &p, &bound, groups);
        // Each chosen expert's rows, once per tile of its slots: at most one tile per expert
        // more than the slots' tiles.
        let n_slots = n_tok * slots.n_slot;
        let tiles = (n_slots.div_ceil(MUL_MM_TN) + c.n_mat).min(c.n_mat * token_tiles);
        enc.note_weight_bytes((tiles * w.rows * w.row_bytes) as u64);
    }
}
