//! Helpers shared by the GPU test files.
#![allow(dead_code)]

use wgpu_ds::gpu::{GpuContext, GpuOptions};

/// A device on the default adapter (lavapipe in CI). Without one the test fails when CI is set
/// and is skipped with the reason printed otherwise.
pub fn gpu_with(opts: GpuOptions) -> Option<GpuContext> {
    // RUST_LOG=debug shows what each pipeline took to compile.
    let _ = env_logger::builder().is_test(true).try_init();
    match GpuContext::new_blocking(&opts) {
        Ok(ctx) => Some(ctx),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI needs a GPU adapter (lavapipe): {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

pub fn gpu() -> Option<GpuContext> {
    gpu_with(GpuOptions::default())
}

/// Deterministic values in [-0.5, 0.5) (xorshift64, the same stream for a seed everywhere).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// [`values`] with planted outliers (every 97th element ×20), so block scales and minimums vary.
pub fn with_outliers(n: usize, seed: u64) -> Vec<f32> {
    let mut v = values(n, seed);
    v.iter_mut().skip(5).step_by(97).for_each(|x| *x *= 20.0);
    v
}

/// `rows` GGUF rows of `cols` outlier-planted values quantized to `ty`; for the grid i-quants,
/// which have no quantizer, random blocks with values of RMS 0.5.
pub fn quantized(ty: wgpu_ds::quant::QuantType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
    use wgpu_ds::quant::{iq_grid, quantizes};
    if !quantizes(ty) {
        let n_blocks = rows * cols / ty.info().blck_size;
        return iq_grid::random_blocks_rms(ty, n_blocks, 0.5, seed.wrapping_add(1));
    }
    with_outliers(rows * cols, seed)
        .chunks(cols)
        .flat_map(|r| wgpu_ds::quant::quantize_row(ty, r).unwrap())
        .collect()
}

/// Errors measured by [`assert_close`].
pub struct Errors {
    pub max_abs: f32,
    /// Largest relative error where |ref| > 0.1.
    pub max_rel: f32,
    pub nmse: f64,
}

/// The largest |got − want|, infinite when the lengths differ or any difference is NaN (so a NaN
/// or a missing value fails every bound), 0 for two empty slices.
pub fn max_abs_diff(got: &[f32], want: &[f32]) -> f32 {
    if got.len() != want.len() {
        return f32::INFINITY;
    }
    got.iter().zip(want).fold(0f32, |m, (a, b)| {
        let d = (a - b).abs();
        if d.is_nan() || m.is_infinite() {
            f32::INFINITY
        } else {
            m.max(d)
        }
    })
}

/// `atol + rtol·|ref|` per element plus NMSE < 1e-9; prints the first mismatches on failure and
/// the measured errors always.
// Negated on purpose: a NaN from the GPU must count as a mismatch.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) -> Errors {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let bad: Vec<String> = got
        .iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (g, w))| !((*g - *w).abs() <= atol + rtol * w.abs()))
        .take(5)
        .map(|(i, (g, w))| format!("[{i}] gpu {g} cpu {w}"))
        .collect();
    let (mut max_abs, mut max_rel, mut num, mut den) = (0f32, 0f32, 0f64, 0f64);
    for (&g, &w) in got.iter().zip(want) {
        let d = (g - w).abs();
        max_abs = max_abs.max(d);
        if w.abs() > 0.1 {
            max_rel = max_rel.max(d / w.abs());
        }
        num += (d as f64).powi(2);
        den += (w as f64).powi(2);
    }
    let nmse = num / den.max(1e-30);
    eprintln!("{what}: max |err| {max_abs:.2e}, max rel {max_rel:.2e}, NMSE {nmse:.2e}");
    assert!(
        bad.is_empty() && nmse < 1e-9,
        "{what}: NMSE {nmse:.2e}, first mismatches: {}",
        bad.join(", ")
    );
    Errors {
        max_abs,
        max_rel,
        nmse,
    }
}

/// The step table of a step over `places` (`gpu::step_table`, caches of `n_ctx` positions per
/// slot), uploaded; the buffer and where its places start.
pub fn step_table(
    ctx: &GpuContext,
    rope: &wgpu_ds::cpu::rope::Rope,
    places: &[wgpu_ds::model::Place],
    n_ctx: usize,
) -> (wgpu::Buffer, usize) {
    let words = wgpu_ds::gpu::step_table::build(rope, places, n_ctx);
    let as_f32: Vec<f32> = words.iter().map(|&w| f32::from_bits(w)).collect();
    let at = wgpu_ds::gpu::step_table::places_at(places.len(), rope.n_dims());
    (
        wgpu_ds::gpu::ops::storage_f32(ctx, "step table", &as_f32),
        at,
    )
}

/// The table as kernels bind it.
pub fn table_of(
    buf: &wgpu::Buffer,
    places_at: usize,
    n_tok: usize,
) -> wgpu_ds::gpu::step_table::StepTable<'_> {
    wgpu_ds::gpu::step_table::StepTable {
        buf,
        places_at,
        n_tok,
    }
}

/// The block types that stand for every way the matvec kernels read weights: float rows with a
/// tail (F32) and 16-bit floats (BF16), legacy blocks on and off a word boundary (Q4_0, Q5_1 with
/// `load_24`, Q8_0), K-quants in units of 64 by layout (Q2_K) and by adapter (Q4_K, Q6_K), a
/// lookup-table type (IQ4_XS) and a grid type (IQ2_S). They run every workgroup shape and both
/// reductions; every other type runs the two default shapes, each with one reduction (see
/// [`shapes_for`]). lavapipe compiles each multi-row pipeline in seconds, and the full product
/// of types, shapes and reductions kept the suite far past its time budget.
pub const READ_FORMS: &[wgpu_ds::quant::QuantType] = {
    use wgpu_ds::quant::QuantType::*;
    &[F32, BF16, Q4_0, Q5_1, Q8_0, Q2K, Q4K, Q6K, IQ4_XS, IQ2_S]
};

/// The matvec shapes to test `ty` with, out of `all`: all of them for the [`READ_FORMS`] types;
/// for the others the GPU default (64 × 4 rows, 16-byte loads) with the workgroup reduction and
/// the CPU-adapter default (8 × 16 rows, word loads; the GPU default where `all` lacks it) with
/// subgroups where the adapter has them, so every type still runs both reductions.
pub fn shapes_for(
    ty: wgpu_ds::quant::QuantType,
    all: &[wgpu_ds::gpu::pipelines::MatVecShape],
) -> Vec<wgpu_ds::gpu::pipelines::MatVecShape> {
    use wgpu_ds::gpu::kernels::Reduce;
    if READ_FORMS.contains(&ty) {
        return all.to_vec();
    }
    let best = if all.iter().any(|s| s.reduce == Reduce::Subgroup) {
        Reduce::Subgroup
    } else {
        Reduce::Workgroup
    };
    let find = |wg, nr, reduce| {
        all.iter()
            .copied()
            .find(|s| (s.wg, s.nr, s.reduce) == (wg, nr, reduce))
    };
    let mut v: Vec<_> = find(64, 4, Reduce::Workgroup).into_iter().collect();
    // A list without the CPU-adapter default (a GPU's own shape) takes the GPU default twice.
    if let Some(s) = find(8, 16, best).or_else(|| find(64, 4, best)) {
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

/// The graph of one decode step of sequence 0 at position `pos` (absorbed attention).
pub fn decode_graph(model: &wgpu_ds::model::Model, pos: usize) -> wgpu_ds::model::Graph {
    use wgpu_ds::model::{AttnForm, Place, StepSpec};
    model.graph_at(
        StepSpec::run(1, false, AttnForm::Absorbed),
        Place::run(0, pos, 1),
    )
}
