//! `wgpu-ds check`: runs the same op list on the CPU reference and on the GPU for the same tokens
//! and compares every named node, so a user can see on their own adapter whether a kernel
//! produces garbage, and which one.

use std::collections::BTreeMap;

use crate::cpu::{Buf, CpuExecutor};
use crate::error::Result;
use crate::gpu::executor::{GpuExecutor, Readback};
use crate::model::graph::{outputs, Graph, Op};
use crate::model::{AttnForm, CacheType, Model, StepSpec};

/// Relative RMS error allowed per node (NMSE = Σ(gpu - cpu)² / Σcpu²). f32 kernels land near
/// 1e-12; a wrong kernel lands near 1.
pub const MAX_NMSE: f64 = 1e-7;

/// Per-node NMSE allowed when the GPU and the CPU both hold an f16 latent cache. Both round each
/// cached value to the nearest half, but a value whose f32 results differ by f32 rounding
/// (~1e-7) on either side of a rounding boundary lands on neighbouring halves, 2^-11 apart: rare
/// flips that add up over the layers. Measured on the oracle models: worst node 1.04e-7 (the
/// f32 tier, 1e-7, is exceeded by them alone); a broken kernel lands near 1.
pub const F16_CACHE_NMSE: f64 = 1e-6;

/// NMSE allowed between the fast path's logits (f16 latent cache) and the exact reference's
/// (f32 cache): what the f16 cache changes. Rounding every cached value by up to 2^-11 relative
/// moves attention scores by as much in every layer, and can flip a near-tied expert choice.
/// Measured on the oracle models (tiny-v2lite-s-Q4_K_M, tiny-v3-s-Q8_0, tiny-v3-k256-Q4_K_M):
/// 3.8e-7, 6.7e-4, 6.8e-9; a broken kernel lands near 1. Also the tier of the fused step's
/// logits when both sides hold an f16 cache (3.7e-5 on tiny-v2lite-s-Q5_K_M, where the unfused
/// nodes all stay within F16_CACHE_NMSE).
pub const FAST_LOGITS_NMSE: f64 = 1e-2;

pub struct NodeReport {
    pub name: String,
    /// Op kind and, for ops that read a weight, its type: "MatMul Q4_K".
    pub kind: String,
    pub max_abs: f32,
    pub nmse: f64,
    pub ok: bool,
}

fn op_kind(model: &Model, op: &Op) -> String {
    let (name, w) = match *op {
        Op::GetRows { w, .. } => ("GetRows", Some(w)),
        Op::RmsNorm { .. } => ("RmsNorm", None),
        Op::MatMul { w, .. } => ("MatMul", Some(w)),
        Op::MatMulHeads { w, .. } => ("MatMulHeads", Some(w)),
        Op::MatMulId { w, .. } => ("MatMulId", Some(w)),
        Op::Slice { .. } => ("Slice", None),
        Op::Rows { .. } => ("Rows", None),
        Op::Rope { .. } => ("Rope", None),
        Op::KvStore { .. } => ("KvStore", None),
        Op::AttnAbsorbed { .. } => ("AttnAbsorbed", None),
        Op::AttnMaterialized { .. } => ("AttnMaterialized", None),
        Op::MoeRoute { .. } => ("MoeRoute", None),
        Op::SwiGlu { .. } => ("SwiGlu", None),
        Op::WeightedSum { .. } => ("WeightedSum", None),
        Op::Add { .. } => ("Add", None),
    };
    match w {
        Some(w) => format!("{name} {}", model.weights.tensors[w].ty),
        None => name.to_string(),
    }
}

fn as_f64(b: &Buf) -> Vec<f64> {
    match b {
        Buf::F32(v) => v.iter().map(|&x| x as f64).collect(),
        Buf::I32(v) => v.iter().map(|&x| x as f64).collect(),
    }
}

/// Compares every node both executors produced, in graph order, each within `tier` (NMSE).
pub fn compare(
    model: &Model,
    g: &Graph,
    cpu: &[Option<&Buf>],
    gpu: &[Option<Buf>],
    tier: f64,
) -> Vec<NodeReport> {
    let mut out = Vec::new();
    for op in &g.ops {
        for n in outputs(op) {
            let (Some(c), Some(d)) = (cpu[n], gpu[n].as_ref()) else {
                continue;
            };
            let (c, d) = (as_f64(c), as_f64(d));
            let exact = matches!(op, Op::MoeRoute { .. })
                && g.nodes[n].dtype == crate::model::graph::DType::I32;
            let max_abs = c
                .iter()
                .zip(&d)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            let num: f64 = c.iter().zip(&d).map(|(a, b)| (a - b).powi(2)).sum();
            let den: f64 = c.iter().map(|a| a * a).sum::<f64>().max(1e-30);
            let nmse = if num == 0.0 { 0.0 } else { num / den };
            let ok = if exact {
                num == 0.0
            } else {
                nmse <= tier && d.iter().all(|x| x.is_finite())
            };
            out.push(NodeReport {
                name: g.nodes[n].name.clone(),
                kind: op_kind(model, op),
                max_abs: max_abs as f32,
                nmse,
                ok,
            });
        }
    }
    out
}

/// The per-node tier for GPU and CPU holding a latent cache of type `ty`.
pub fn node_tier(ty: CacheType) -> f64 {
    match ty {
        CacheType::F32 => MAX_NMSE,
        CacheType::F16 => F16_CACHE_NMSE,
    }
}

/// Runs `tokens` as one prefill step on both executors (absorbed and then materialized MLA) and
/// returns every node's comparison: the GPU run op by op (every node exists), then as decoding
/// runs it, with ops folded into fused kernels (`gpu::lower`), compared at the logits.
#[cfg(feature = "native")]
pub fn check_prefill(
    model: &Model,
    gpu: &mut GpuExecutor,
    tokens: &[u32],
) -> Result<Vec<NodeReport>> {
    pollster::block_on(check_prefill_async(model, gpu, tokens))
}

/// [`check_prefill`], awaited (the web page's Check button).
pub async fn check_prefill_async(
    model: &Model,
    gpu: &mut GpuExecutor<'_>,
    tokens: &[u32],
) -> Result<Vec<NodeReport>> {
    let mut all = Vec::new();
    for attn in [AttnForm::Absorbed, AttnForm::Materialized] {
        let g = model.graph(StepSpec::run(tokens.len(), true, attn));
        // The CPU reference holds its cache as the GPU does (f32, or rounded to halves alike).
        let mut cpu = CpuExecutor::with_cache(model, tokens.len(), gpu.cache_type());
        let tier = node_tier(gpu.cache_type());
        let cv = cpu.run(&g, tokens, true)?;
        let gv = gpu.run_async(&g, tokens, Readback::Everything).await?;
        let cpu_bufs: Vec<Option<&Buf>> = (0..g.nodes.len()).map(|n| cv.get(n)).collect();
        all.extend(compare(model, &g, &cpu_bufs, &gv.bufs, tier));
        // The same step as decoding runs it, with the GPU lowering's fused kernels: its logits.
        let fused = gpu.run_async(&g, tokens, Readback::Logits).await?;
        // With an f16 cache the fused step's rounding flips (its cache rows are written by other
        // kernels) can tip a near-tied expert choice: the fast logits' tier.
        let fused_tier = match gpu.cache_type() {
            CacheType::F32 => tier,
            CacheType::F16 => FAST_LOGITS_NMSE,
        };
        let mut logits = compare(model, &g, &cpu_bufs, &fused.bufs, fused_tier);
        for r in &mut logits {
            r.name = format!("{} (fused)", r.name);
            r.kind = format!("{} (fused step)", r.kind);
        }
        all.extend(logits);
    }
    Ok(all)
}

/// The fast path against the exact reference: the GPU's fused logits for `tokens` (with its
/// cache type: the f16 cache) against the CPU reference with an f32 cache, within
/// FAST_LOGITS_NMSE. What the f16 cache changes, where `check_prefill` shows the GPU computes
/// what the CPU does with the same cache.
#[cfg(feature = "native")]
pub fn fast_vs_exact_logits(
    model: &Model,
    gpu: &mut GpuExecutor,
    tokens: &[u32],
) -> Result<NodeReport> {
    pollster::block_on(fast_vs_exact_logits_async(model, gpu, tokens))
}

/// [`fast_vs_exact_logits`], awaited.
pub async fn fast_vs_exact_logits_async(
    model: &Model,
    gpu: &mut GpuExecutor<'_>,
    tokens: &[u32],
) -> Result<NodeReport> {
    let g = model.graph(StepSpec::run(tokens.len(), true, AttnForm::Absorbed));
    let mut cpu = CpuExecutor::new(model, tokens.len());
    let cv = cpu.run(&g, tokens, true)?;
    let fused = gpu.run_async(&g, tokens, Readback::Logits).await?;
    let cpu_bufs: Vec<Option<&Buf>> = (0..g.nodes.len()).map(|n| cv.get(n)).collect();
    let mut r = compare(model, &g, &cpu_bufs, &fused.bufs, FAST_LOGITS_NMSE)
        .into_iter()
        .next()
        .ok_or_else(|| crate::Error::Gpu("no logits to compare".into()))?;
    r.name = format!("{} (fast, against the f32 cache)", r.name);
    Ok(r)
}

/// One tier of `check` on a fresh device: the GPU with a latent cache of type `ty` against the
/// CPU reference holding the same cache type, node by node (`check_prefill`); with an f16 cache
/// also the fast logits against the exact f32 reference (`fast_vs_exact_logits`), last.
pub async fn check_tier_async(
    model: &Model,
    ctx: crate::gpu::context::GpuContext,
    tokens: &[u32],
    ty: CacheType,
) -> Result<Vec<NodeReport>> {
    let mut gpu = GpuExecutor::with_cache(model, ctx, tokens.len(), ty)?;
    let mut reports = check_prefill_async(model, &mut gpu, tokens).await?;
    if ty != CacheType::F32 {
        reports.push(fast_vs_exact_logits_async(model, &mut gpu, tokens).await?);
    }
    Ok(reports)
}

/// [`check_tier_async`], blocking.
#[cfg(feature = "native")]
pub fn check_tier(
    model: &Model,
    ctx: crate::gpu::context::GpuContext,
    tokens: &[u32],
    ty: CacheType,
) -> Result<Vec<NodeReport>> {
    pollster::block_on(check_tier_async(model, ctx, tokens, ty))
}

/// The tokens `check` runs when no prompt is given: ids 0..8 (within the vocabulary), which need
/// no tokenizer.
pub fn default_tokens(n_vocab: usize) -> Vec<u32> {
    (0..8u32).map(|i| i % n_vocab as u32).collect()
}

/// Per op kind × weight type: (nodes, failures, worst NMSE, worst max abs).
pub fn summarize(reports: &[NodeReport]) -> BTreeMap<String, (usize, usize, f64, f32)> {
    let mut t: BTreeMap<String, (usize, usize, f64, f32)> = BTreeMap::new();
    for r in reports {
        let e = t.entry(r.kind.clone()).or_default();
        e.0 += 1;
        e.1 += (!r.ok) as usize;
        e.2 = e.2.max(r.nmse);
        e.3 = e.3.max(r.max_abs);
    }
    t
}
