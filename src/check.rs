//! `wgpu-ds check`: runs the same op list on the CPU reference and on the GPU for the same tokens
//! and compares every named node, so a user can see on their own adapter whether a kernel
//! produces garbage, and which one.

use std::collections::BTreeMap;

use crate::cpu::{Buf, CpuExecutor};
use crate::error::Result;
use crate::gpu::executor::{GpuExecutor, Readback};
use crate::model::graph::{outputs, Graph, NodeId, Op, Routing};
use crate::model::{AttnForm, CacheType, Model, StepSpec, WeightId};

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

/// Most near-ties one step may tip before `check` stops following the GPU's choice.
pub const MAX_NEAR_TIES: usize = 16;

/// The kind of the reports [`cpu_following_near_ties`] adds, one per token whose choice it followed.
pub const NEAR_TIE_KIND: &str = "MoeRoute near-tie";

/// The CPU reference's run of `g` that follows the GPU's expert choice at near-ties, and one report
/// per token whose choice it followed.
///
/// Two correct executors whose router logits differ within the tier (an f16 cache rounds a
/// value to the neighbouring half on one side only) can still pick different experts where two
/// scores nearly tie, and every node after that differs by far more than any tier. Where the
/// CPU's choice differs from the GPU's, and the reference rule applied to the GPU's own router
/// logits picks exactly what the GPU picked, the CPU runs the step again routing as the GPU did
/// (`CpuExecutor::force_routing`). The router logits, upstream of the choice, are still compared
/// within the tier, and so is every node after it; a routing kernel that picks other experts
/// than its logits call for is not followed and fails the exact comparison of its ids.
pub fn cpu_following_near_ties(
    model: &Model,
    g: &Graph,
    tokens: &[u32],
    ty: CacheType,
    gpu: &[Option<Buf>],
) -> Result<(crate::cpu::Values, Vec<NodeReport>)> {
    let mut cpu = CpuExecutor::with_cache(model, tokens.len(), ty);
    let mut flips = Vec::new();
    loop {
        let cv = cpu.run(g, tokens, true)?;
        let Some(route) = first_route_difference(g, &cv, gpu) else {
            return Ok((cv, flips));
        };
        let Some(reports) = near_tie(model, g, &route, &cv, gpu)? else {
            return Ok((cv, flips));
        };
        if flips.len() + reports.len() > MAX_NEAR_TIES {
            return Ok((cv, flips));
        }
        flips.extend(reports);
        cpu.force_routing(route.topk, route.gpu_ids.to_vec());
    }
}

/// A MoeRoute whose expert ids differ between the two executors.
struct RouteDifference<'a> {
    logits: NodeId,
    bias: Option<WeightId>,
    routing: Routing,
    topk: NodeId,
    gpu_ids: &'a [i32],
}

/// The first MoeRoute in graph order whose ids [T, K] differ.
fn first_route_difference<'a>(
    g: &Graph,
    cpu: &crate::cpu::Values,
    gpu: &'a [Option<Buf>],
) -> Option<RouteDifference<'a>> {
    g.ops.iter().find_map(|op| {
        let Op::MoeRoute {
            logits,
            bias,
            routing,
            topk,
            ..
        } = *op
        else {
            return None;
        };
        let Some(Buf::I32(gpu_ids)) = gpu[topk].as_ref() else {
            return None;
        };
        (cpu.i32(topk)? != gpu_ids.as_slice()).then_some(RouteDifference {
            logits,
            bias,
            routing,
            topk,
            gpu_ids,
        })
    })
}

/// Reports for the tokens of `d` whose ids differ, if the reference rule applied to the GPU's
/// router logits picks the GPU's ids for every token; None if it does not (not a near-tie).
fn near_tie(
    model: &Model,
    g: &Graph,
    d: &RouteDifference,
    cpu: &crate::cpu::Values,
    gpu: &[Option<Buf>],
) -> Result<Option<Vec<NodeReport>>> {
    let (Some(Buf::F32(gpu_logits)), Some(cpu_logits), Some(cpu_ids)) =
        (gpu[d.logits].as_ref(), cpu.f32(d.logits), cpu.i32(d.topk))
    else {
        return Ok(None);
    };
    let bias = match d.bias {
        Some(b) => {
            let mut v = vec![0f32; model.weights.tensors[b].ne.iter().product()];
            crate::quant::dequantize_row(
                model.weights.tensors[b].ty,
                model.weight_bytes(b),
                &mut v,
            )?;
            Some(v)
        }
        None => None,
    };
    let (n_exp, k) = (g.nodes[d.logits].shape[1], d.routing.n_expert_used);
    let mut reports = Vec::new();
    for t in 0..cpu_ids.len() / k {
        let (gl, cl) = (
            &gpu_logits[t * n_exp..][..n_exp],
            &cpu_logits[t * n_exp..][..n_exp],
        );
        let (mut probs, mut ids, mut w) = (vec![0f32; n_exp], vec![0i32; k], vec![0f32; k]);
        crate::cpu::moe::route(
            gl,
            bias.as_deref(),
            &d.routing,
            &mut probs,
            &mut ids,
            &mut w,
        );
        let (ci, gi) = (&cpu_ids[t * k..][..k], &d.gpu_ids[t * k..][..k]);
        if ids != gi {
            return Ok(None);
        }
        if ci != gi {
            reports.push(NodeReport {
                name: format!("{} token {t}: CPU {ci:?}, GPU {gi:?}", g.nodes[d.topk].name),
                kind: NEAR_TIE_KIND.into(),
                max_abs: gl
                    .iter()
                    .zip(cl)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max),
                nmse: 0.0,
                ok: true,
            });
        }
    }
    Ok(Some(reports))
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
        let tier = node_tier(gpu.cache_type());
        let gv = gpu.run_async(&g, tokens, Readback::Everything).await?;
        // The CPU reference holds its cache as the GPU does (f32, or rounded to halves alike).
        let (cv, flips) = cpu_following_near_ties(model, &g, tokens, gpu.cache_type(), &gv.bufs)?;
        let cpu_bufs: Vec<Option<&Buf>> = (0..g.nodes.len()).map(|n| cv.get(n)).collect();
        all.extend(compare(model, &g, &cpu_bufs, &gv.bufs, tier));
        all.extend(flips);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::embedded;

    /// The embedded model's first MoeRoute: (logits, topk) nodes.
    fn first_route(g: &Graph) -> (NodeId, NodeId) {
        g.ops
            .iter()
            .find_map(|op| match *op {
                Op::MoeRoute { logits, topk, .. } => Some((logits, topk)),
                _ => None,
            })
            .expect("the embedded model has MoE layers")
    }

    /// A "GPU" run: the CPU's values, token 0 of the first route sent to the best expert the CPU
    /// left out instead of its last choice; with `tip_logits`, its router logits raised just
    /// past that choice's so the rule picks it (a near-tie), otherwise left as they are.
    fn tipped(g: &Graph, cpu: &[Option<Buf>], tip_logits: bool) -> Vec<Option<Buf>> {
        let (logits, topk) = first_route(g);
        let mut gpu = cpu.to_vec();
        let (Some(Buf::F32(l)), Some(Buf::I32(ids))) = (&mut gpu[logits].clone(), &gpu[topk])
        else {
            panic!("route nodes are f32 logits and i32 ids");
        };
        let k = ids.len() / g.spec.n_tokens;
        let n_exp = l.len() / g.spec.n_tokens;
        let chosen = &ids[..k];
        let out = (0..n_exp as i32)
            .filter(|e| !chosen.contains(e))
            .max_by(|&a, &b| l[a as usize].total_cmp(&l[b as usize]))
            .unwrap();
        let mut new_ids = ids.clone();
        new_ids[k - 1] = out;
        if tip_logits {
            l[out as usize] = l[chosen[k - 1] as usize] + 1e-3;
            // Still below the choice before it, so the order is the rule's.
            assert!(l[out as usize] < l[chosen[k - 2] as usize]);
            gpu[logits] = Some(Buf::F32(l.clone()));
        }
        gpu[topk] = Some(Buf::I32(new_ids));
        gpu
    }

    /// The near-ties followed, the nodes that fail the f32 tier, and whether the followed CPU run
    /// routes the first route as the "GPU" did.
    fn run(tip_logits: Option<bool>) -> (Vec<NodeReport>, usize, bool) {
        let model = Model::from_file(embedded::open().unwrap()).unwrap();
        let tokens = [1u32, 2, 3, 4];
        let g = model.graph(StepSpec::run(tokens.len(), true, AttnForm::Absorbed));
        let cv = CpuExecutor::new(&model, tokens.len())
            .run(&g, &tokens, true)
            .unwrap();
        let cpu: Vec<Option<Buf>> = (0..g.nodes.len()).map(|n| cv.get(n).cloned()).collect();
        let gpu = match tip_logits {
            None => cpu.clone(),
            Some(tip) => tipped(&g, &cpu, tip),
        };
        let (followed, flips) =
            cpu_following_near_ties(&model, &g, &tokens, CacheType::F32, &gpu).unwrap();
        let refs: Vec<Option<&Buf>> = (0..g.nodes.len()).map(|n| followed.get(n)).collect();
        let failures = compare(&model, &g, &refs, &gpu, MAX_NMSE)
            .iter()
            .filter(|r| !r.ok)
            .count();
        let topk = first_route(&g).1;
        (flips, failures, followed.get(topk) == gpu[topk].as_ref())
    }

    #[test]
    fn identical_runs_follow_nothing() {
        let (flips, failures, same) = run(None);
        assert!(flips.is_empty() && same);
        assert_eq!(failures, 0);
    }

    #[test]
    fn a_choice_the_gpu_logits_call_for_is_followed() {
        let (flips, _, same) = run(Some(true));
        assert_eq!(flips.len(), 1, "token 0 of the first route");
        assert!(flips[0].name.contains("token 0") && flips[0].kind == NEAR_TIE_KIND);
        assert!(same, "the CPU routes as the GPU did");
    }

    #[test]
    fn a_choice_the_gpu_logits_do_not_call_for_fails() {
        let (flips, failures, same) = run(Some(false));
        assert!(
            flips.is_empty() && !same,
            "a wrong routing kernel is not followed"
        );
        assert!(failures >= 1, "its ids fail the exact comparison");
    }
}
