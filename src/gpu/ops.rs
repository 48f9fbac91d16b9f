//! Weights on the GPU and the encoding of single ops. A weight is uploaded once, as stored, in
//! row-aligned chunks no larger than the device's storage-binding limit, so a tensor of any size
//! is usable and no kernel ever reads past a binding.

use wgpu::util::DeviceExt;

use super::context::GpuContext;
use super::kernels::Kernel;
use super::params::GetRowsParams;
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use crate::error::{Error, Result};
use crate::quant::QuantType;

// The matvec encoders live in gpu::matvec; callers keep reaching them through ops.
pub use super::matvec::{
    encode_matvec, encode_matvec_glu, encode_matvec_glu_pair, encode_matvec_pair,
    encode_matvec_slots, glu_ok, pair_ok, Slots,
};

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
