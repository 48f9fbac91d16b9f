//! The materialized MLA form on the GPU (cpu::attention::attn_materialized), cheaper than the
//! absorbed form for prefill chunks. For each group of heads, from one layer's latent cache
//! [n_ctx, kv + rope] (c_kv = the first kv values of a row, k_pe the last rope):
//!   K_nope[s, h, d] = Σ_c W_kb[h][c][d] · c_kv[s][c]    matvec_t.wgsl over attn_k_b (ne [nope, kv, H])
//!   V[s, h, j]      = Σ_c W_vb[h][j][c] · c_kv[s][c]    matvec.wgsl over attn_v_b (ne [kv, v, H])
//!   out[t, h, :]    = causal softmax attention of (q_nope, q_pe) over (K_nope, k_pe), V   attn_mha.wgsl
//! K and V live in one scratch per step ([`MlaScratch`]), shared by every layer: the passes of a
//! command buffer run in order. When K and V of all heads exceed the storage-binding limit (V3's
//! 128 heads past about 2,000 positions on a 128 MiB limit) the heads go in groups.

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;
use wgpu::Buffer;

use super::context::GpuContext;
use super::kernels::Kernel;
use super::ops::{encode_matvec_slots, encode_op, GpuWeight, Slots};
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use crate::error::{Error, Result};

/// matvec_t.wgsl's workgroup size (items per workgroup) and PT (positions per item).
const T_WG: usize = 64;
const T_PT: usize = 2;
/// The smallest unit (elements) of any type's `unit_runs`: cols / 32 + cols % 32 bounds
/// matvec_t's row items (units, then a float row's tail elements) for every type.
const T_MIN_UNIT: usize = 32;
/// attn_mha.wgsl's workgroup size and MAX_CPT (value channels per invocation): v ≤ 512.
const MHA_WG: usize = 64;
const MHA_MAX_CPT: usize = 8;
/// The longest value head attn_mha.wgsl takes (128 in DeepSeek models).
pub const MHA_MAX_V: usize = MHA_WG * MHA_MAX_CPT;

/// shaders/matvec_t.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MatVecTParams {
    /// GGUF rows of each matrix (the reduced index c).
    pub rows: u32,
    /// Elements per row (the output index d).
    pub cols: u32,
    pub row_bytes: u32,
    pub mat_bytes: u32,
    pub x_stride: u32,
    pub n_x: u32,
    pub n_slot: u32,
    pub m_base: u32,
    pub m_first: u32,
    pub m_count: u32,
    /// Row items per position tile: at least cols / UNIT + cols % UNIT.
    pub row_items: u32,
}

/// shaders/attn_mha.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct AttnMhaParams {
    pub n_tok: u32,
    pub n_head: u32,
    pub h0: u32,
    pub n_group: u32,
    pub kv: u32,
    pub rope: u32,
    pub nope: u32,
    pub v: u32,
    pub pos0: u32,
    pub scale: f32,
}

/// K_nope [n_kv, group, nope] and V [n_kv, group, v] f32 of one group of heads.
pub struct MlaScratch {
    pub k: Buffer,
    pub v: Buffer,
    pub n_kv: usize,
    /// Heads per group.
    pub group: usize,
    pub nope: usize,
    pub v_dim: usize,
}

impl MlaScratch {
    /// Scratch for `n_kv` positions with the largest group of heads (at most n_head) whose K and
    /// V each fit one storage binding.
    pub fn new(
        ctx: &GpuContext,
        n_kv: usize,
        n_head: usize,
        nope: usize,
        v: usize,
    ) -> Result<MlaScratch> {
        let per_head = (n_kv.max(1) * nope.max(v) * 4) as u64;
        let group = (ctx.max_binding() / per_head).min(n_head as u64) as usize;
        if group == 0 {
            return Err(Error::Gpu(format!(
                "materialized attention: one head's K or V over {n_kv} positions ({per_head} bytes) exceeds the storage-binding limit of {}",
                ctx.max_binding()
            )));
        }
        Ok(MlaScratch::with_group(ctx, n_kv, group, nope, v))
    }

    /// Scratch with `group` heads per group (tests force small groups with it).
    pub fn with_group(
        ctx: &GpuContext,
        n_kv: usize,
        group: usize,
        nope: usize,
        v: usize,
    ) -> MlaScratch {
        let buf = |label: &str, width: usize| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (n_kv * group * width * 4).max(4) as u64,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        };
        MlaScratch {
            k: buf("k_nope", nope),
            v: buf("v", v),
            n_kv,
            group,
            nope,
            v_dim: v,
        }
    }
}

/// Encodes Y[s, g, d] = Σ_c W_{m_base+g}[c, d] · X[s · x_stride + c] for s < n_x, g < n_slot:
/// the transposed product over the stored rows of a stack of matrices (rows c of cols elements d).
/// X: f32, rows of at least w.rows values every x_stride; Y: f32 [n_x, n_slot, w.cols].
#[allow(clippy::too_many_arguments)]
pub fn encode_matvec_t(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    w: &GpuWeight,
    x: &Buffer,
    y: &Buffer,
    n_x: usize,
    x_stride: usize,
    m_base: usize,
    n_slot: usize,
) -> Result<()> {
    if w.n_mat == 1 && w.chunks.len() > 1 {
        // A row-chunked matrix splits the reduced index c over bindings.
        return Err(Error::Gpu(
            "matvec_t over a matrix split in row ranges is not supported".into(),
        ));
    }
    if n_x == 0 || n_slot == 0 {
        return Ok(());
    }
    let f = |n: usize| (n * 4) as u64;
    assert!(
        m_base + n_slot <= w.n_mat
            && x_stride >= w.rows
            && x.size() >= f((n_x - 1) * x_stride + w.rows)
            && y.size() >= f(n_x * n_slot * w.cols),
        "matvec_t: shapes ({n_x} rows of stride {x_stride}, matrices {m_base}+{n_slot} of {}, {}x{})",
        w.n_mat,
        w.rows,
        w.cols
    );
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    assert!(
        n_slot <= max,
        "matvec_t: {n_slot} slots exceed the grid limit"
    );
    // Workgroups over (position tile, row item) on x, overflowing to z.
    let row_items = w.cols / T_MIN_UNIT + w.cols % T_MIN_UNIT;
    let n_wg = (n_x.div_ceil(T_PT) * row_items).div_ceil(T_WG);
    let gx = n_wg.min(max);
    let gz = n_wg.div_ceil(gx);
    if gz > max {
        return Err(Error::Gpu(format!(
            "matvec_t: {n_x} positions of {} elements exceed the grid limit",
            w.cols
        )));
    }
    for c in &w.chunks {
        if m_base + n_slot <= c.m0 || c.m0 + c.n_mat <= m_base {
            continue;
        }
        let p = MatVecTParams {
            rows: w.rows as u32,
            cols: w.cols as u32,
            row_bytes: w.row_bytes as u32,
            mat_bytes: (w.rows * w.row_bytes) as u32,
            x_stride: x_stride as u32,
            n_x: n_x as u32,
            n_slot: n_slot as u32,
            m_base: m_base as u32,
            m_first: c.m0 as u32,
            m_count: c.n_mat as u32,
            row_items: row_items as u32,
        };
        encode_op(
            ctx,
            pipes,
            enc,
            Kernel::MatVecT(w.ty),
            &p,
            &[&c.buf, x, y],
            (gx as u32, n_slot as u32, gz as u32),
        );
    }
    Ok(())
}

/// Encodes the materialized attention of `n_tok` tokens at positions pos0 .. pos0 + n_tok over
/// one layer's latent cache (cpu::attention::attn_materialized), causal: token t sees
/// 0 ..= pos0 + t. cache: [n_ctx ≥ pos0 + n_tok, kv + rope] f32; q_nope: [T, H, nope];
/// q_pe: [T, H, rope]; k_b: H matrices of kv rows × nope; v_b: H matrices of v rows × kv;
/// out: [T, H, v]. `scratch` holds K and V of one group of heads for at least pos0 + n_tok
/// positions.
#[allow(clippy::too_many_arguments)]
pub fn encode_attn_materialized(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    scratch: &MlaScratch,
    cache: &Buffer,
    q_nope: &Buffer,
    q_pe: &Buffer,
    k_b: &GpuWeight,
    v_b: &GpuWeight,
    out: &Buffer,
    pos0: usize,
    n_tok: usize,
    rope: usize,
    scale: f32,
) -> Result<()> {
    let (n_head, kv, nope, v) = (k_b.n_mat, k_b.rows, k_b.cols, v_b.rows);
    let n_kv = pos0 + n_tok;
    let width = kv + rope;
    if v_b.n_mat != n_head || v_b.cols != kv {
        return Err(Error::Gpu(format!(
            "materialized attention: attn_v_b is {} × {}x{}, attn_k_b {n_head} × {kv}x{nope}",
            v_b.n_mat, v_b.rows, v_b.cols
        )));
    }
    if v > MHA_WG * MHA_MAX_CPT {
        return Err(Error::Gpu(format!(
            "materialized attention: value length {v} > {}",
            MHA_WG * MHA_MAX_CPT
        )));
    }
    assert!(n_tok > 0, "attn_materialized: empty step");
    let f = |n: usize| (n * 4) as u64;
    assert!(
        cache.size() >= f(n_kv * width)
            && q_nope.size() >= f(n_tok * n_head * nope)
            && q_pe.size() >= f(n_tok * n_head * rope)
            && out.size() >= f(n_tok * n_head * v),
        "attn_materialized: a buffer is smaller than its shape ({n_kv} positions, {n_tok} tokens, {n_head} heads, {kv} + {rope}, nope {nope}, v {v})"
    );
    assert!(
        scratch.n_kv >= n_kv
            && scratch.nope == nope
            && scratch.v_dim == v
            && scratch.group > 0
            && n_tok <= ctx.limits.max_compute_workgroups_per_dimension as usize,
        "attn_materialized: scratch for {} positions of nope {} / v {}, step of {n_kv} / {nope} / {v}",
        scratch.n_kv,
        scratch.nope,
        scratch.v_dim
    );
    for h0 in (0..n_head).step_by(scratch.group) {
        let g = scratch.group.min(n_head - h0);
        // K_nope[s, h0 + i, :] for the group.
        encode_matvec_t(ctx, pipes, enc, k_b, cache, &scratch.k, n_kv, width, h0, g)?;
        // V[s, h0 + i, :]: slot s·g + i uses matrix h0 + i (ids past the first group) and the
        // c_kv prefix of cache row s.
        let ids = (h0 > 0).then(|| {
            let ids: Vec<i32> = (0..n_kv * g).map(|i| (h0 + i % g) as i32).collect();
            ctx.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("attn_v_b head ids"),
                    contents: bytemuck::cast_slice(&ids),
                    usage: wgpu::BufferUsages::STORAGE,
                })
        });
        let slots = Slots {
            n_slot: g,
            ids: ids.as_ref(),
            x_per_slot: false,
            x_stride: Some(width),
            groups: None,
        };
        encode_matvec_slots(ctx, pipes, enc, v_b, cache, &scratch.v, n_kv, &slots);
        let p = AttnMhaParams {
            n_tok: n_tok as u32,
            n_head: n_head as u32,
            h0: h0 as u32,
            n_group: g as u32,
            kv: kv as u32,
            rope: rope as u32,
            nope: nope as u32,
            v: v as u32,
            pos0: pos0 as u32,
            scale,
        };
        encode_op(
            ctx,
            pipes,
            enc,
            Kernel::Op("attn_mha"),
            &p,
            &[cache, &scratch.k, &scratch.v, q_nope, q_pe, out],
            (g as u32, n_tok as u32, 1),
        );
    }
    Ok(())
}
