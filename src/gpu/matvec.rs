//! The matvec encoders (shaders/matvec.wgsl): the three matrix ops of the graph (MatMul,
//! MatMulHeads, MatMulId) as one kernel over slots, its gated (GLU) and paired forms, and the
//! grouped form that walks moe_group's per-expert lists of a multi-token MatMulId.

use super::context::GpuContext;
use super::kernels::Kernel;
use super::ops::{encode_op, grid, Chunk, GpuWeight};
use super::params::MatVecParams;
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use crate::error::{Error, Result};

/// How a matvec maps slots to matrices and activation rows (see shaders/matvec.wgsl).
pub struct Slots<'a> {
    /// Slots per token: 1 (MatMul), H (MatMulHeads) or K (MatMulId).
    pub n_slot: usize,
    /// i32 [n_tok · n_slot] matrix ids (MatMulId); None: matrix = slot % n_slot.
    pub ids: Option<&'a wgpu::Buffer>,
    /// X holds one row per slot (true) or one per token shared by its slots (false).
    pub x_per_slot: bool,
    /// Elements from one X row to the next; None: the matrix's cols (rows packed). Longer rows
    /// let a matvec read a prefix of each, e.g. c_kv from latent-cache rows of kv_lora + rope.
    pub x_stride: Option<usize>,
    /// With `ids`: moe_group's lists of the slots by expert (`encode_moe_group`), i32
    /// [n_mat + 1 + n_tok · n_slot]. The matvec then runs one workgroup per (row group, expert)
    /// over the expert's slots (`matvec_grouped`); None: one per (row group, slot).
    pub groups: Option<&'a wgpu::Buffer>,
}

impl Slots<'_> {
    /// A plain MatMul's slots: one per token, matrix 0, X's row t.
    pub const PER_TOKEN: Slots<'static> = Slots {
        n_slot: 1,
        ids: None,
        x_per_slot: true,
        x_stride: None,
        groups: None,
    };
}

/// Encodes y[t, r] = Σ_c W[r, c] x[t, c]: x [n_tok, cols] and y [n_tok, rows] are f32 buffers.
pub fn encode_matvec(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    w: &GpuWeight,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    n_tok: usize,
) {
    encode_matvec_slots(ctx, pipes, enc, w, x, y, n_tok, &Slots::PER_TOKEN);
}

/// Encodes y[s, r] = Σ_c W_m(s)[r, c] x[row(s), c] for the n_tok · n_slot slots.
#[allow(clippy::too_many_arguments)]
pub fn encode_matvec_slots(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    w: &GpuWeight,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    n_tok: usize,
    slots: &Slots,
) {
    encode_slots(ctx, pipes, enc, w, Second::None, x, y, n_tok, slots);
}

/// The gated FFN in one dispatch per chunk: y[s, r] = silu(Σ_c G_m(s)[r, c] x[row(s), c]) ·
/// Σ_c U_m(s)[r, c] x[row(s), c], for gate and up weights that `glu_ok` accepts.
#[allow(clippy::too_many_arguments)]
pub fn encode_matvec_glu(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    gate: &GpuWeight,
    up: &GpuWeight,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    n_tok: usize,
    slots: &Slots,
) -> Result<()> {
    if !glu_ok(gate, up) {
        return Err(Error::Gpu(format!(
            "matvec_glu: gate {} {}×{}×{} and up {} {}×{}×{} differ",
            gate.ty, gate.n_mat, gate.rows, gate.cols, up.ty, up.n_mat, up.rows, up.cols
        )));
    }
    encode_slots(ctx, pipes, enc, gate, Second::Up(up), x, y, n_tok, slots);
    Ok(())
}

/// y[t, r] = Σ_c W[r, c] x[t, c] and y2[t, r] = Σ_c W2[r, c] x[t, c] in one dispatch, for two
/// weights that `pair_ok` accepts, over the same activations.
#[allow(clippy::too_many_arguments)]
pub fn encode_matvec_pair(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    (w, w2): (&GpuWeight, &GpuWeight),
    x: &wgpu::Buffer,
    (y, y2): (&wgpu::Buffer, &wgpu::Buffer),
    n_tok: usize,
) -> Result<()> {
    if !pair_ok(w, w2) {
        return Err(Error::Gpu(format!(
            "matvec_pair: {} {}×{} in {} chunks and {} {}×{} in {} cannot share a dispatch",
            w.ty,
            w.rows,
            w.cols,
            w.chunks.len(),
            w2.ty,
            w2.rows,
            w2.cols,
            w2.chunks.len()
        )));
    }
    let slots = Slots::PER_TOKEN;
    encode_slots(
        ctx,
        pipes,
        enc,
        w,
        Second::Pair(w2, y2),
        x,
        y,
        n_tok,
        &slots,
    );
    Ok(())
}

/// Whether a gate and an up weight can share a gated matvec: one type and shape, chunked alike.
pub fn glu_ok(gate: &GpuWeight, up: &GpuWeight) -> bool {
    gate.ty == up.ty
        && (gate.n_mat, gate.rows, gate.cols) == (up.n_mat, up.rows, up.cols)
        && gate.chunks.len() == up.chunks.len()
}

/// Whether `w2` can be the second matrix of a paired matvec whose first is `w` (plain or
/// gated): one type and row length, and `w2` one matrix in one chunk (the first may be experts
/// in chunks: the second goes with the first chunk's dispatch).
pub fn pair_ok(w: &GpuWeight, w2: &GpuWeight) -> bool {
    w.ty == w2.ty && w.cols == w2.cols && w2.n_mat == 1 && w2.chunks.len() == 1
}

/// The gated matvec of `gate`, `up` over `slots` (the routed experts, as encode_matvec_glu) and
/// the gated matvec of `gate2`, `up2` (one plain matrix each: the shared experts) over the same
/// activations, in one dispatch per chunk of `gate`: y as encode_matvec_glu,
/// y2[t, r] = silu(Σ_c G2[r, c] x[t, c]) · Σ_c U2[r, c] x[t, c]. x: [n_tok, cols].
#[allow(clippy::too_many_arguments)]
pub fn encode_matvec_glu_pair(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    (gate, up): (&GpuWeight, &GpuWeight),
    (gate2, up2): (&GpuWeight, &GpuWeight),
    x: &wgpu::Buffer,
    (y, y2): (&wgpu::Buffer, &wgpu::Buffer),
    n_tok: usize,
    slots: &Slots,
) -> Result<()> {
    let fits = glu_ok(gate, up) && glu_ok(gate2, up2) && pair_ok(gate, gate2);
    if !fits || slots.x_per_slot || slots.x_stride.is_some() {
        return Err(Error::Gpu(format!(
            "matvec_glu_pair: {} {}×{}×{} and {} {}×{}×{} cannot share a dispatch",
            gate.ty,
            gate.n_mat,
            gate.rows,
            gate.cols,
            gate2.ty,
            gate2.n_mat,
            gate2.rows,
            gate2.cols
        )));
    }
    let second = Second::GluPair { up, gate2, up2, y2 };
    encode_slots(ctx, pipes, enc, gate, second, x, y, n_tok, slots);
    Ok(())
}

/// The second weight a matvec dispatch reads through W2, if any.
#[derive(Clone, Copy)]
enum Second<'a> {
    None,
    /// The up weights of the gated form (the same chunk as W's).
    Up(&'a GpuWeight),
    /// The paired form: a second single-chunk matrix, written to its own output.
    Pair(&'a GpuWeight, &'a wgpu::Buffer),
    /// The gated form (up weights as `Up`) paired with a second gated single-chunk matrix (gate,
    /// up), written to its own output.
    GluPair {
        up: &'a GpuWeight,
        gate2: &'a GpuWeight,
        up2: &'a GpuWeight,
        y2: &'a wgpu::Buffer,
    },
}

/// One dispatch per chunk of `w` (and of the up weights of the gated form) and per block of
/// slots the grid's z dimension holds.
#[allow(clippy::too_many_arguments)]
fn encode_slots(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    w: &GpuWeight,
    second: Second,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    n_tok: usize,
    slots: &Slots,
) {
    let n_slots_total = n_tok * slots.n_slot;
    let ids = slots.ids.unwrap_or_else(|| pipes.placeholder(ctx));
    let max_z = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let shape = &pipes.matvec;
    if let (Some(groups), Some(_)) = (slots.groups, slots.ids) {
        return encode_grouped(ctx, pipes, enc, w, second, (x, y, groups), n_tok, slots);
    }
    // Several tokens of one matrix: workgroups over blocks of `cols` tokens (matvec_cols); the
    // paired forms always take one token per workgroup.
    let multi = shape.takes_cols(n_tok)
        && slots.n_slot == 1
        && slots.ids.is_none()
        && matches!(second, Second::None | Second::Up(_));
    let r = shape.reduce;
    let kernel = match second {
        Second::None if multi => Kernel::MatVecCols(w.ty, r),
        Second::Up(_) if multi => Kernel::MatVecGluCols(w.ty, r),
        Second::None => Kernel::MatVec(w.ty, r),
        Second::Up(_) => Kernel::MatVecGlu(w.ty, r),
        Second::Pair(..) => Kernel::MatVecPair(w.ty, r),
        Second::GluPair { .. } => Kernel::MatVecGluPair(w.ty, r),
    };
    let (nr, cols) = if multi {
        let glu = matches!(second, Second::Up(_));
        (shape.cols_rows(glu) as usize, shape.cols as usize)
    } else {
        (shape.nr as usize, 1)
    };
    // Workgroups on z take blocks of `cols` slots.
    let n_blocks = n_slots_total.div_ceil(cols);
    for (ci, c) in w.chunks.iter().enumerate() {
        // W2, Y2, W3 and W4 where the form has them, placeholders (read, written) elsewhere;
        // a second matrix goes with the first chunk only.
        let (ph, ph_out) = (pipes.placeholder(ctx), pipes.placeholder_out(ctx));
        let (w2, y2, rows2, w3, w4) = match second {
            Second::None => (ph, ph_out, 0, ph, ph),
            Second::Up(u) => (&u.chunks[ci].buf, ph_out, 0, ph, ph),
            Second::Pair(w2, y2) if ci == 0 => (&w2.chunks[0].buf, y2, w2.rows, ph, ph),
            Second::Pair(w2, _) => (&w2.chunks[0].buf, ph_out, 0, ph, ph),
            Second::GluPair { up, gate2, up2, y2 } => {
                let rows2 = if ci == 0 { gate2.rows } else { 0 };
                let y2 = if ci == 0 { y2 } else { ph_out };
                let (g2, u2) = (&gate2.chunks[0].buf, &up2.chunks[0].buf);
                (&up.chunks[ci].buf, y2, rows2, g2, u2)
            }
        };
        let paired = matches!(second, Second::Pair(..) | Second::GluPair { .. });
        // The paired forms run as one flat list of workgroups (z = 1), the others with the
        // slots on z, in blocks of what z holds.
        let z_block = if paired { n_slots_total.max(1) } else { max_z };
        for slot_base in (0..n_blocks).step_by(z_block) {
            let p = MatVecParams {
                slot_base: slot_base as u32,
                rows2: rows2 as u32,
                ..chunk_params(w, c, slots, n_slots_total)
            };
            let (groups, gz) = if paired {
                let items = c.n_rows.div_ceil(nr) * n_slots_total + rows2.div_ceil(nr) * n_tok;
                (items, 1)
            } else {
                let gz = (n_blocks - slot_base).min(max_z) as u32;
                (c.n_rows.div_ceil(nr), gz)
            };
            let (gx, gy) = grid(ctx, groups);
            let bound = [&c.buf, x, y, ids, w2, y2, w3, w4];
            encode_op(ctx, pipes, enc, kernel, &p, &bound, (gx, gy, gz));
            // Every block of slots' workgroups read its matrix's rows of the chunk; the slots
            // of a MatMulId spread over the chunks by their share of the experts.
            let slots_here = if paired { n_slots_total } else { gz as usize };
            let reads = if slots.ids.is_some() {
                (slots_here * c.n_mat).div_ceil(w.n_mat)
            } else {
                slots_here
            };
            let bytes = reads * c.n_rows * w.row_bytes;
            enc.note_weight_bytes(match second {
                Second::None => bytes,
                Second::Up(_) => 2 * bytes,
                Second::Pair(w2, _) => bytes + rows2 * w2.row_bytes,
                Second::GluPair { gate2, .. } => 2 * (bytes + rows2 * gate2.row_bytes),
            } as u64);
        }
    }
}

/// The parameters every matvec dispatch over chunk `c` of `w` shares (slot_base, rows2 and
/// n_expert zero).
fn chunk_params(w: &GpuWeight, c: &Chunk, slots: &Slots, n_slots_total: usize) -> MatVecParams {
    MatVecParams {
        rows: c.n_rows as u32,
        cols: w.cols as u32,
        row_bytes: w.row_bytes as u32,
        x_stride: slots.x_stride.unwrap_or(w.cols) as u32,
        y_offset: c.r0 as u32,
        y_stride: w.rows as u32,
        n_slot: slots.n_slot as u32,
        mat_bytes: (w.rows * w.row_bytes) as u32,
        use_ids: slots.ids.is_some() as u32,
        x_per_slot: slots.x_per_slot as u32,
        m_first: c.m0 as u32,
        m_count: c.n_mat as u32,
        n_slots_total: n_slots_total as u32,
        ..Default::default()
    }
}

/// `encode_slots` over moe_group's lists (`slots.groups`): one dispatch per chunk of `w`, one
/// workgroup per (row group, expert of the chunk).
#[allow(clippy::too_many_arguments)]
fn encode_grouped(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    w: &GpuWeight,
    second: Second,
    (x, y, groups): (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer),
    n_tok: usize,
    slots: &Slots,
) {
    let reduce = pipes.matvec.reduce;
    let nr = pipes.matvec.cols_rows(matches!(second, Second::Up(_))) as usize;
    let n_slots_total = n_tok * slots.n_slot;
    let (kernel, up) = match second {
        Second::None => (Kernel::MatVecGrouped(w.ty, reduce), None),
        Second::Up(u) => (Kernel::MatVecGluGrouped(w.ty, reduce), Some(u)),
        Second::Pair(..) | Second::GluPair { .. } => {
            unreachable!("grouped slots are never paired (encode_glu runs the pair apart)")
        }
    };
    for (ci, c) in w.chunks.iter().enumerate() {
        let (ph, ph_out) = (pipes.placeholder(ctx), pipes.placeholder_out(ctx));
        let w2 = up.map_or(ph, |u| &u.chunks[ci].buf);
        let p = MatVecParams {
            n_expert: w.n_mat as u32,
            ..chunk_params(w, c, slots, n_slots_total)
        };
        let (gx, gy) = grid(ctx, c.n_rows.div_ceil(nr));
        let bound = [&c.buf, x, y, groups, w2, ph_out, ph, ph];
        encode_op(
            ctx,
            pipes,
            enc,
            kernel,
            &p,
            &bound,
            (gx, gy, c.n_mat as u32),
        );
        // Each expert some slot chose is read from memory once: at most min(experts, slots).
        let bytes = n_slots_total.min(c.n_mat) * c.n_rows * w.row_bytes;
        enc.note_weight_bytes((bytes * (1 + up.is_some() as usize)) as u64);
    }
}
