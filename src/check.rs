//! `wgpu-ds check`: runs the same op list on the CPU reference and on the GPU for the same tokens
//! and compares every named node, so a user can see on their own adapter whether a kernel
//! produces garbage, and which one.

use std::collections::BTreeMap;

use crate::cpu::{Buf, CpuExecutor};
use crate::error::Result;
use crate::gpu::executor::{GpuExecutor, Readback};
use crate::model::graph::{outputs, Graph, Op};
use crate::model::{AttnForm, Model, StepSpec};

/// Relative RMS error allowed per node (NMSE = Σ(gpu - cpu)² / Σcpu²). f32 kernels land near
/// 1e-12; a wrong kernel lands near 1.
pub const MAX_NMSE: f64 = 1e-7;

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

/// Compares every node both executors produced, in graph order.
pub fn compare(
    model: &Model,
    g: &Graph,
    cpu: &[Option<&Buf>],
    gpu: &[Option<Buf>],
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
                nmse <= MAX_NMSE && d.iter().all(|x| x.is_finite())
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

/// Runs `tokens` as one prefill step on both executors (absorbed and then materialized MLA) and
/// returns every node's comparison: the GPU run op by op (every node exists), then as decoding
/// runs it, with ops folded into fused kernels (`gpu::lower`), compared at the logits.
pub fn check_prefill(
    model: &Model,
    gpu: &mut GpuExecutor,
    tokens: &[u32],
) -> Result<Vec<NodeReport>> {
    let mut all = Vec::new();
    for attn in [AttnForm::Absorbed, AttnForm::Materialized] {
        let g = model.graph(StepSpec {
            n_tokens: tokens.len(),
            pos0: 0,
            all_logits: true,
            attn,
        });
        let mut cpu = CpuExecutor::new(model, tokens.len());
        let cv = cpu.run(&g, tokens, true)?;
        let gv = gpu.run(&g, tokens, Readback::Everything)?;
        let cpu_bufs: Vec<Option<&Buf>> = (0..g.nodes.len()).map(|n| cv.get(n)).collect();
        all.extend(compare(model, &g, &cpu_bufs, &gv.bufs));
        // The same step as decoding runs it, with the GPU lowering's fused kernels: its logits.
        let fused = gpu.run(&g, tokens, Readback::Logits)?;
        let mut logits = compare(model, &g, &cpu_bufs, &fused.bufs);
        for r in &mut logits {
            r.name = format!("{} (fused)", r.name);
            r.kind = format!("{} (fused step)", r.kind);
        }
        all.extend(logits);
    }
    Ok(all)
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
