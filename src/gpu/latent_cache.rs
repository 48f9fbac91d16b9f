//! The latent cache's own kernels: `kv_store` (this step's latent rows into the cache, the
//! unfused KvStore op) and `cache_f32` (the cache's rows widened to f32, for kernels that read
//! plain f32). Both take the cache's element type (f32 words, or halves two per word).

use bytemuck::{Pod, Zeroable};
use wgpu::Buffer;

use super::context::GpuContext;
use super::elementwise::{flat_grid, holds, holds_as, u32_of};
use super::kernels::Kernel;
use super::ops::encode_op;
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use super::step_table::StepTable;
use crate::model::CacheType;

/// shaders/kv_store.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct KvStoreParams {
    pub n_tok: u32,
    /// Where the places start in the step table.
    pub places_at: u32,
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
    /// The first element read (even).
    pub first: u32,
    pub pad0: u32,
}

/// cache[row(t), :] = kv_cmpr[t, :] ‖ k_pe[t, :] for t < n_tok, row(t) the cache row of token
/// t's place in `table`. kv_cmpr: [n_tok, kv]; k_pe: [n_tok, rope]; cache: one layer,
/// [n_slots · n_ctx, kv + rope] of `ty`.
#[allow(clippy::too_many_arguments)]
pub fn encode_kv_store(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    kv_cmpr: &Buffer,
    k_pe: &Buffer,
    cache: &Buffer,
    table: StepTable,
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
    // The rows come from the table (places checked when it was built): the cache holds one.
    holds_as(cache, kv + rope, ty, "kv_store cache");
    table.check(n_tok, "kv_store");
    let p = KvStoreParams {
        n_tok: n_tok as u32,
        places_at: table.places_at as u32,
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
        &[kv_cmpr, k_pe, cache, table.buf],
        flat_grid(ctx, n_tok * (kv + rope) / 2),
    );
}

/// y[i] = element first + i of `cache` (values of `ty`) as f32, for i < n: the rows a kernel
/// reading plain f32 needs (the materialized MLA's matvecs over c_kv of one slot).
#[allow(clippy::too_many_arguments)]
pub fn encode_cache_f32(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    cache: &Buffer,
    ty: CacheType,
    y: &Buffer,
    first: usize,
    n: usize,
) {
    assert!(
        first.is_multiple_of(2),
        "cache_f32: rows start at even elements"
    );
    holds_as(cache, first + n, ty, "cache_f32 cache");
    holds(y, n, "cache_f32 y");
    let p = CacheF32Params {
        n: u32_of("cache_f32 elements", n),
        f16: (ty == CacheType::F16) as u32,
        first: u32_of("cache_f32 first element", first),
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
