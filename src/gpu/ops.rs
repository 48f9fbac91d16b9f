//! Weights on the GPU and the encoding of single ops. A weight is uploaded once, as stored, in
//! row-aligned chunks no larger than the device's storage-binding limit, so a tensor of any size
//! is usable and no kernel ever reads past a binding.

use wgpu::util::DeviceExt;

use super::context::GpuContext;
use super::kernels::Kernel;
use super::params::{GetRowsParams, MatVecParams};
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use crate::error::{Error, Result};
use crate::quant::QuantType;

/// A stack of `n_mat` matrices (1 for a plain matrix; heads or experts otherwise) of `rows` GGUF
/// rows of `cols` elements, uploaded in chunks under the binding limit: whole matrices when there
/// are several, row ranges of the single matrix otherwise.
pub struct GpuWeight {
    pub ty: QuantType,
    pub n_mat: usize,
    pub rows: usize,
    pub cols: usize,
    pub row_bytes: usize,
    pub chunks: Vec<Chunk>,
}

pub struct Chunk {
    pub buf: wgpu::Buffer,
    /// Matrices m0 .. m0 + n_mat of the stack, rows r0 .. r0 + n_rows of each.
    pub m0: usize,
    pub n_mat: usize,
    pub r0: usize,
    pub n_rows: usize,
}

impl GpuWeight {
    pub fn upload(
        ctx: &GpuContext,
        name: &str,
        ty: QuantType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<GpuWeight> {
        GpuWeight::upload_stack(ctx, name, ty, 1, rows, cols, bytes)
    }

    pub fn upload_stack(
        ctx: &GpuContext,
        name: &str,
        ty: QuantType,
        n_mat: usize,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<GpuWeight> {
        if super::kernels::quant_files(ty).is_none() {
            return Err(Error::UnsupportedType {
                tensor: name.into(),
                type_name: ty.name().into(),
            });
        }
        let row_bytes = ty
            .row_bytes(cols as u64)
            .ok_or_else(|| Error::Gpu(format!("{name}: {cols} columns of {ty}")))?
            as usize;
        let mat_bytes = rows * row_bytes;
        if bytes.len() != n_mat * mat_bytes {
            return Err(Error::Gpu(format!(
                "{name}: {} bytes for {n_mat} × {rows} rows of {row_bytes}",
                bytes.len()
            )));
        }
        // The grid i-quants' lookup table starts every chunk (shaders/quant/iq_grid.wgsl).
        let table = crate::quant::iq_grid::grid_bytes(ty).unwrap_or_default();
        // Room for the table and the padding of `upload` (at most 31 bytes).
        let limit = (ctx.max_binding() as usize).saturating_sub(32 + table.len());
        let upload = |range: std::ops::Range<usize>| {
            let mut data = Vec::with_capacity(table.len() + range.len() + 32);
            data.extend_from_slice(&table);
            data.extend_from_slice(&bytes[range]);
            // Whole 16-byte units (matvec reads W as array<vec4<u32>>), plus one for the second
            // load of an unaligned 16-byte read at the very end.
            data.resize(data.len().div_ceil(16) * 16 + 16, 0);
            ctx.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(name),
                    contents: &data,
                    usage: wgpu::BufferUsages::STORAGE,
                })
        };
        // A single matrix splits into row ranges, a stack into whole matrices.
        let (units, unit_bytes, unit) = if n_mat == 1 {
            (rows, row_bytes, "row")
        } else {
            (n_mat, mat_bytes, "matrix")
        };
        let per = (limit / unit_bytes.max(1)).min(units.max(1));
        if per == 0 {
            return Err(Error::Gpu(format!(
                "{name}: one {unit} of {unit_bytes} bytes exceeds the storage-binding limit of {limit}"
            )));
        }
        let mut chunks = Vec::new();
        let mut u0 = 0;
        while u0 < units {
            let n = per.min(units - u0);
            let buf = upload(u0 * unit_bytes..(u0 + n) * unit_bytes);
            chunks.push(if n_mat == 1 {
                Chunk {
                    buf,
                    m0: 0,
                    n_mat: 1,
                    r0: u0,
                    n_rows: n,
                }
            } else {
                Chunk {
                    buf,
                    m0: u0,
                    n_mat: n,
                    r0: 0,
                    n_rows: rows,
                }
            });
            u0 += n;
        }
        Ok(GpuWeight {
            ty,
            n_mat,
            rows,
            cols,
            row_bytes,
            chunks,
        })
    }
}

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

/// One dispatch of `kernel`: `buffers` bound to bindings 0.., the uniform `params` after them
/// (a slot of the recorder's parameter arena).
pub fn encode_op<T: bytemuck::Pod>(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    kernel: Kernel,
    params: &T,
    buffers: &[&wgpu::Buffer],
    groups: (u32, u32, u32),
) {
    pipes.count_dispatch();
    enc.dispatch(ctx, kernel, params, buffers, groups);
}

/// Workgroup grid for `rows` workgroups in x (and y when rows exceed the per-dimension limit).
pub fn grid(ctx: &GpuContext, rows: usize) -> (u32, u32) {
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let x = rows.clamp(1, max);
    (x as u32, rows.div_ceil(x) as u32)
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
    encode_matvec_slots(
        ctx,
        pipes,
        enc,
        w,
        x,
        y,
        n_tok,
        &Slots {
            n_slot: 1,
            ids: None,
            x_per_slot: true,
            x_stride: None,
            groups: None,
        },
    );
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
    let slots = Slots {
        n_slot: 1,
        ids: None,
        x_per_slot: true,
        x_stride: None,
        groups: None,
    };
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
    let (reduce, nr) = (pipes.matvec.reduce, pipes.matvec.nr as usize);
    if let (Some(groups), Some(_)) = (slots.groups, slots.ids) {
        return encode_grouped(ctx, pipes, enc, w, second, (x, y, groups), n_tok, slots);
    }
    let kernel = match second {
        Second::None => Kernel::MatVec(w.ty, reduce),
        Second::Up(_) => Kernel::MatVecGlu(w.ty, reduce),
        Second::Pair(..) => Kernel::MatVecPair(w.ty, reduce),
        Second::GluPair { .. } => Kernel::MatVecGluPair(w.ty, reduce),
    };
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
        for slot_base in (0..n_slots_total).step_by(z_block) {
            let p = MatVecParams {
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
                slot_base: slot_base as u32,
                n_slots_total: n_slots_total as u32,
                rows2: rows2 as u32,
                ..Default::default()
            };
            let (groups, gz) = if paired {
                let items = c.n_rows.div_ceil(nr) * n_slots_total + rows2.div_ceil(nr) * n_tok;
                (items, 1)
            } else {
                let gz = (n_slots_total - slot_base).min(max_z) as u32;
                (c.n_rows.div_ceil(nr), gz)
            };
            let (gx, gy) = grid(ctx, groups);
            let bound = [&c.buf, x, y, ids, w2, y2, w3, w4];
            encode_op(ctx, pipes, enc, kernel, &p, &bound, (gx, gy, gz));
            // Every slot's workgroups read its matrix's rows of the chunk; the slots of a
            // MatMulId spread over the chunks by their share of the experts.
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
    let (reduce, nr) = (pipes.matvec.reduce, pipes.matvec.nr as usize);
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
            rows: c.n_rows as u32,
            cols: w.cols as u32,
            row_bytes: w.row_bytes as u32,
            x_stride: slots.x_stride.unwrap_or(w.cols) as u32,
            y_offset: c.r0 as u32,
            y_stride: w.rows as u32,
            n_slot: slots.n_slot as u32,
            mat_bytes: (w.rows * w.row_bytes) as u32,
            use_ids: 1,
            x_per_slot: slots.x_per_slot as u32,
            m_first: c.m0 as u32,
            m_count: c.n_mat as u32,
            n_slots_total: n_slots_total as u32,
            n_expert: w.n_mat as u32,
            ..Default::default()
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

/// The RMSNorm folded into a row lookup (`get_rows_norm`): xn = rms_norm(y) · w.
pub struct RowsNorm<'a> {
    /// [cols] f32
    pub w: &'a wgpu::Buffer,
    /// [n_tok, cols] f32
    pub xn: &'a wgpu::Buffer,
    pub eps: f32,
}

/// Encodes y[t, :] = W[ids[t], :] (dequantized) for `n_tok` tokens: ids [n_tok] u32, y
/// [n_tok, cols] f32; one dispatch per row chunk of W. With `norm`, the same dispatches also
/// write its RMSNorm of every row.
pub fn encode_get_rows(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    w: &GpuWeight,
    (ids, y): (&wgpu::Buffer, &wgpu::Buffer),
    n_tok: usize,
    norm: Option<&RowsNorm>,
) -> Result<()> {
    if w.n_mat != 1 {
        return Err(Error::Gpu(format!(
            "get_rows over a stack of {} matrices",
            w.n_mat
        )));
    }
    let (kernel, groups) = match norm {
        None => (
            Kernel::GetRows(w.ty),
            ((w.cols as u32).div_ceil(64), n_tok as u32, 1),
        ),
        // One workgroup per token.
        Some(_) => (Kernel::GetRowsNorm(w.ty), (1, n_tok as u32, 1)),
    };
    if let Some(n) = norm {
        let bytes = (n_tok * w.cols * 4) as u64;
        assert!(
            n.w.size() >= (w.cols * 4) as u64 && n.xn.size() >= bytes,
            "get_rows_norm: norm weight or output smaller than [{n_tok}, {}]",
            w.cols
        );
    }
    for c in &w.chunks {
        let p = GetRowsParams {
            cols: w.cols as u32,
            row_bytes: w.row_bytes as u32,
            n_rows: c.n_rows as u32,
            r0: c.r0 as u32,
            n_total: w.rows as u32,
            eps: norm.map_or(0.0, |n| n.eps),
            ..Default::default()
        };
        let mut buffers = vec![&c.buf, ids, y];
        if let Some(n) = norm {
            buffers.extend([n.w, n.xn]);
        }
        encode_op(ctx, pipes, enc, kernel, &p, &buffers, groups);
    }
    Ok(())
}

/// An f32 storage buffer holding `data` (at least 4 bytes).
pub fn storage_f32(ctx: &GpuContext, label: &str, data: &[f32]) -> wgpu::Buffer {
    let bytes: &[u8] = if data.is_empty() {
        &[0; 4]
    } else {
        bytemuck::cast_slice(data)
    };
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        })
}

/// Reads `n` f32 values back from a storage buffer (blocking; native only).
#[cfg(feature = "native")]
pub fn read_f32(ctx: &GpuContext, src: &wgpu::Buffer, n: usize) -> Result<Vec<f32>> {
    pollster::block_on(read_f32_async(ctx, src, n))
}

/// Reads `n` f32 values back from a storage buffer.
pub async fn read_f32_async(ctx: &GpuContext, src: &wgpu::Buffer, n: usize) -> Result<Vec<f32>> {
    let mut v = read_many_async(ctx, &[(src, n)]).await?;
    Ok(v.pop().unwrap_or_default())
}

/// Reads the first `n` f32 values of each buffer back through one staging buffer and one map:
/// one round trip to the GPU however many buffers (the browser answers each map request through
/// its event loop; natively the device is polled until the copies are done).
pub async fn read_many_async(
    ctx: &GpuContext,
    srcs: &[(&wgpu::Buffer, usize)],
) -> Result<Vec<Vec<f32>>> {
    // Byte offset of each buffer's values in the staging buffer: [Σ n_i] f32.
    let mut offsets = Vec::with_capacity(srcs.len());
    let mut size = 0u64;
    for &(_, n) in srcs {
        offsets.push(size);
        size += (n.max(1) * 4) as u64;
    }
    let staging = ctx.take_staging(size.max(4));
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    for (&(src, n), &off) in srcs.iter().zip(&offsets) {
        enc.copy_buffer_to_buffer(src, 0, &staging, off, (n.max(1) * 4) as u64);
    }
    ctx.queue.submit([enc.finish()]);
    let (tx, rx) = futures_channel::oneshot::channel();
    staging.map_async(wgpu::MapMode::Read, ..size.max(4), move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    rx.await
        .map_err(|e| Error::Gpu(format!("readback: {e}")))?
        .map_err(|e| Error::Gpu(format!("readback: {e}")))?;
    let view = staging
        .get_mapped_range(..size.max(4))
        .map_err(|e| Error::Gpu(format!("readback: {e}")))?;
    let all: &[f32] = bytemuck::cast_slice(&view);
    let out = srcs
        .iter()
        .zip(&offsets)
        .map(|(&(_, n), &off)| all[off as usize / 4..][..n].to_vec())
        .collect();
    drop(view);
    staging.unmap();
    ctx.return_staging(staging);
    Ok(out)
}
