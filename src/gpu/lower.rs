//! The GPU lowering of a step's op list: which ops the executor folds into a neighbour, so fewer
//! dispatches run than the graph has ops. The graph (`model::graph`) stays the one specification;
//! a folded node is simply never written on the GPU, and `check` compares every node that is.
//!
//! - A Slice whose every consumer can read a strided view (RoPE at any offset; RMSNorm and the
//!   per-head matvec at offset 0) is not run: its consumers read the Slice's source in place.
//! - A WeightedSum (the routed experts' mix) followed by the Adds of the shared experts and the
//!   residual runs as one dispatch at the last Add, with the Adds' other inputs as addends.
//! - The KvStore of a layer is not run: the RMSNorm producing kv_cmpr and the RoPE producing
//!   k_pe write their rows straight into the latent cache (`to_cache`).
//! - An Add whose sum is first read by an RMSNorm (the residual before ffn_norm and before the
//!   next layer's attn_norm) runs inside that RMSNorm, which stores the sum as well; so does a
//!   MoE mix with its Adds (the layer's output, first read by the next layer's attn_norm or by
//!   output_norm).
//! - The RMSNorm of kv_cmpr and the RoPE of k_pe, both reading kv_a_mqa's output rows and both
//!   writing the layer's latent-cache rows, run as one dispatch (the norm with a RoPE tail).
//! - The RoPE of q_pe, read only by the absorbed attention, runs inside it (q_pe rotated on
//!   load from q's rows).
//! - The RMSNorm that first reads the token embeddings (the first layer's attn_norm) runs inside
//!   the embedding lookup, which writes both nodes.
//! - Two plain matvecs over the same input that remain after that (q or q_a and kv_a_mqa of a
//!   layer) run as one paired matvec (`matvec_pair`) where the weights allow it.
//! - The router's matvec (F32 gate weights in one chunk), read only by the routing, runs inside
//!   the routing kernel; so does the FFN's RMSNorm of the residual Add right before it (the
//!   kernel stores the sum and the normalized row, which the experts read after it), where the
//!   device allows the ten storage buffers that takes.
//! - The routed experts' gated matvec and the shared experts' over the same input run as one
//!   dispatch (`matvec_glu_pair`) where the weights allow it.
//! - A SwiGlu of two matvecs over the same input (the gate and up projections of the dense FFN,
//!   the shared experts and the routed experts) runs as one gated matvec (`matvec_glu`) where the
//!   two weights have one type and shape.

use super::elementwise::RowView;
use crate::model::graph::{inputs, outputs, Graph, NodeId, Op};
use crate::model::WeightId;

/// How the executor runs one op of the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lowered {
    /// As it is.
    Run,
    /// Not at all: another op computes what it would have.
    Folded,
    /// As it is, but reading its input `x` as `view` of node `src` (a folded Slice's source).
    ReadView { src: NodeId, view: RowView },
    /// The WeightedSum `ws`, plus `addends` in order, into this op's output (a folded Add).
    MoeOut { ws: usize, addends: Vec<NodeId> },
    /// This SwiGlu as one gated matvec over the weights of the (folded) ops `gate` and `up`.
    Glu { gate: usize, up: usize },
    /// This SwiGlu as `Glu`, and the (folded) SwiGlu `other` of the (folded) plain matvecs
    /// `gate2` and `up2` over the same input, in the same dispatch.
    GluPair {
        gate: usize,
        up: usize,
        other: usize,
        gate2: usize,
        up2: usize,
    },
    /// This RMSNorm over the sum of the (folded) Add `add`, which it also stores.
    AddNorm { add: usize },
    /// This RMSNorm over the WeightedSum `ws` plus `addends` (a folded MoeOut), which it also
    /// stores to the norm's input node.
    MixNorm { ws: usize, addends: Vec<NodeId> },
    /// This matvec and the (folded) matvec `other` over the same input, in one dispatch.
    Pair { other: usize },
    /// This MoeRoute, computing its logits as the (folded) matvec `gate` would; with `norm`
    /// = (n, a), first the (folded) Add `a` and the (folded) RMSNorm `n` of its sum, storing both
    /// nodes.
    RouteGate {
        gate: usize,
        norm: Option<(usize, usize)>,
    },
    /// This absorbed attention, reading q_pe as the (folded) RoPE `rope` of `view` of `src`
    /// (None: src itself), rotated on load.
    QRope {
        rope: usize,
        src: NodeId,
        view: Option<RowView>,
    },
    /// This row lookup, and the (folded) RMSNorm `norm` that first reads its rows.
    RowsNorm { norm: usize },
    /// This RMSNorm, reading `view` of `src`, and the (folded) RoPE `rope`, reading `rope_view`
    /// of the same rows, in one dispatch; both write the latent cache.
    NormRope {
        src: NodeId,
        view: RowView,
        rope: usize,
        rope_view: RowView,
    },
}

pub struct Lowering {
    /// Per op of the graph.
    pub plan: Vec<Lowered>,
    /// Per node: never written on the GPU.
    pub elided: Vec<bool>,
    /// Per op: write the output into this layer's latent-cache rows instead of its node (the
    /// RMSNorm of kv_cmpr and the RoPE of k_pe, when their KvStore is folded).
    pub to_cache: Vec<Option<usize>>,
}

impl Lowering {
    /// Runs every op as it is (what `check` can compare node for node).
    pub fn none(g: &Graph) -> Lowering {
        Lowering {
            plan: vec![Lowered::Run; g.ops.len()],
            elided: vec![false; g.nodes.len()],
            to_cache: vec![None; g.ops.len()],
        }
    }

    /// Ops that run as dispatches (or copies) after folding.
    pub fn n_run(&self) -> usize {
        self.plan.iter().filter(|l| **l != Lowered::Folded).count()
    }
}

/// For every node, the ops that read it.
fn consumers(g: &Graph) -> Vec<Vec<usize>> {
    let mut c = vec![Vec::new(); g.nodes.len()];
    for (i, op) in g.ops.iter().enumerate() {
        for n in inputs(op) {
            c[n].push(i);
        }
    }
    c
}

/// What the device allows the lowering to fuse, by weight.
pub struct Fits<'a> {
    /// Two weights can share a gated matvec (one type, shape and chunking).
    pub glu: &'a dyn Fn(WeightId, WeightId) -> bool,
    /// The second can be paired with the first in one matvec dispatch.
    pub pair: &'a dyn Fn(WeightId, WeightId) -> bool,
    /// A router weight the routing kernel can read itself (F32, one chunk).
    pub router: &'a dyn Fn(WeightId) -> bool,
    /// The routing kernel may compute the FFN norm itself (the device allows its ten storage
    /// buffers per stage).
    pub route_norm: bool,
}

impl Fits<'_> {
    /// Everything fits (for tests of the lowering itself).
    pub const ALL: Fits<'static> = Fits {
        glu: &|_, _| true,
        pair: &|_, _| true,
        router: &|_| true,
        route_norm: true,
    };
}

/// The fused lowering of `g`, fusing what `fits` allows on this device.
pub fn lower(g: &Graph, fits: &Fits) -> Lowering {
    let (glu_ok, pair_ok) = (fits.glu, fits.pair);
    let mut l = Lowering::none(g);
    let users = consumers(g);
    let mut producer = vec![None; g.nodes.len()];
    for (i, op) in g.ops.iter().enumerate() {
        for n in outputs(op) {
            producer[n] = Some(i);
        }
    }
    for (i, op) in g.ops.iter().enumerate() {
        match *op {
            Op::Slice { x, offset, out } => fold_slice(g, &users, &mut l, i, x, offset, out),
            Op::WeightedSum { out, .. } => fold_moe_out(g, &users, &mut l, i, out),
            Op::KvStore {
                layer,
                kv_cmpr,
                k_pe,
            } => {
                let by = |n: NodeId| producer[n].filter(|_| users[n] == [i]);
                let (Some(pn), Some(pr)) = (by(kv_cmpr), by(k_pe)) else {
                    continue;
                };
                let kinds =
                    matches!(g.ops[pn], Op::RmsNorm { .. }) && matches!(g.ops[pr], Op::Rope { .. });
                if kinds && kv_cmpr != k_pe {
                    l.plan[i] = Lowered::Folded;
                    l.to_cache[pn] = Some(layer);
                    l.to_cache[pr] = Some(layer);
                    l.elided[kv_cmpr] = true;
                    l.elided[k_pe] = true;
                }
            }
            Op::RmsNorm { x, .. } => {
                // The sum must not be read before the norm writes it.
                let Some(ai) = producer[x] else { continue };
                let is_add = matches!(g.ops[ai], Op::Add { .. });
                let first_reader = users[x].first() == Some(&i);
                if !first_reader || l.plan[i] != Lowered::Run || x == g.logits || !is_add {
                    continue;
                }
                match &l.plan[ai] {
                    Lowered::Run => {
                        l.plan[ai] = Lowered::Folded;
                        l.plan[i] = Lowered::AddNorm { add: ai };
                    }
                    Lowered::MoeOut { ws, addends } => {
                        l.plan[i] = Lowered::MixNorm {
                            ws: *ws,
                            addends: addends.clone(),
                        };
                        l.plan[ai] = Lowered::Folded;
                    }
                    _ => {}
                }
            }
            Op::SwiGlu { gate, up, .. } => {
                let (Some(gi), Some(ui)) = (producer[gate], producer[up]) else {
                    continue;
                };
                let sole = users[gate] == [i] && users[up] == [i] && gate != up;
                let free = l.plan[gi] == Lowered::Run && l.plan[ui] == Lowered::Run;
                if sole && free && glu_pair(&g.ops[gi], &g.ops[ui], glu_ok) {
                    l.plan[gi] = Lowered::Folded;
                    l.plan[ui] = Lowered::Folded;
                    l.plan[i] = Lowered::Glu { gate: gi, up: ui };
                    l.elided[gate] = true;
                    l.elided[up] = true;
                }
            }
            _ => {}
        }
    }
    fold_norm_rope(g, &mut l);
    fold_rows_norm(g, &users, &producer, &mut l);
    fold_glu_pair(g, pair_ok, &mut l);
    fold_q_rope(g, &users, &producer, &mut l);
    fold_route_gate(g, &users, &producer, fits.router, &mut l);
    if fits.route_norm {
        fold_route_norm(g, &producer, &mut l);
    }
    // Pairs last, so the gated form keeps the gate and up matvecs it wants.
    for (i, op) in g.ops.iter().enumerate() {
        let Op::MatMul { w, x, out } = *op else {
            continue;
        };
        if l.plan[i] != Lowered::Run || out == g.logits {
            continue;
        }
        let partner = users[x].iter().copied().find(|&j| {
            j > i
                && l.plan[j] == Lowered::Run
                && matches!(g.ops[j], Op::MatMul { w: w2, out: o2, .. }
                    if o2 != g.logits && pair_ok(w, w2))
        });
        if let Some(j) = partner {
            l.plan[i] = Lowered::Pair { other: j };
            l.plan[j] = Lowered::Folded;
        }
    }
    l
}

/// Two matvecs a gated matvec can run together: the same kind over the same input (and experts).
fn glu_pair(gate: &Op, up: &Op, glu_ok: &dyn Fn(WeightId, WeightId) -> bool) -> bool {
    match (gate, up) {
        (Op::MatMul { w: a, x: xa, .. }, Op::MatMul { w: b, x: xb, .. }) => {
            xa == xb && glu_ok(*a, *b)
        }
        (
            Op::MatMulId {
                w: a,
                x: xa,
                ids: ia,
                ..
            },
            Op::MatMulId {
                w: b,
                x: xb,
                ids: ib,
                ..
            },
        ) => xa == xb && ia == ib && glu_ok(*a, *b),
        _ => false,
    }
}

fn fold_slice(
    g: &Graph,
    users: &[Vec<usize>],
    l: &mut Lowering,
    i: usize,
    x: NodeId,
    offset: usize,
    out: NodeId,
) {
    let shape = &g.nodes[out].shape;
    let rows = shape[0] * shape[1];
    if rows == 0 || out == g.logits {
        return;
    }
    let view = RowView {
        stride: g.nodes[x].len() / rows,
        offset,
    };
    let readable = |j: usize| match g.ops[j] {
        Op::Rope { x, .. } => x == out,
        Op::RmsNorm { x, .. } | Op::MatMulHeads { x, .. } => x == out && offset == 0,
        _ => false,
    };
    let us = &users[out];
    if us.is_empty() || !us.iter().all(|&j| readable(j) && l.plan[j] == Lowered::Run) {
        return;
    }
    l.plan[i] = Lowered::Folded;
    l.elided[out] = true;
    for &j in us {
        l.plan[j] = Lowered::ReadView { src: x, view };
    }
}

/// The one Add reading `n` and its other input, when `n` has no other reader.
fn sole_add(g: &Graph, users: &[Vec<usize>], n: NodeId) -> Option<(usize, NodeId, NodeId)> {
    match users[n][..] {
        [j] => match g.ops[j] {
            Op::Add { a, b, out } if a == n && b != n => Some((j, b, out)),
            Op::Add { a, b, out } if b == n && a != n => Some((j, a, out)),
            _ => None,
        },
        _ => None,
    }
}

fn fold_moe_out(g: &Graph, users: &[Vec<usize>], l: &mut Lowering, ws: usize, out: NodeId) {
    let mut addends = Vec::new();
    let (mut last, mut cur) = (None, out);
    while addends.len() < 2 && cur != g.logits {
        let Some((j, other, next)) = sole_add(g, users, cur) else {
            break;
        };
        if l.plan[j] != Lowered::Run {
            break;
        }
        addends.push(other);
        l.elided[cur] = true;
        if let Some(prev) = last.replace(j) {
            l.plan[prev] = Lowered::Folded;
        }
        cur = next;
    }
    if let Some(j) = last {
        l.plan[ws] = Lowered::Folded;
        l.plan[j] = Lowered::MoeOut { ws, addends };
    }
}

/// A RoPE into a layer's cache rows folded into the RMSNorm into the same rows, when both read
/// views of the same source rows (kv_a_mqa's output: kv_cmpr, then k_pe).
fn fold_norm_rope(g: &Graph, l: &mut Lowering) {
    for j in 0..g.ops.len() {
        let (Op::Rope { .. }, Some(layer)) = (&g.ops[j], l.to_cache[j]) else {
            continue;
        };
        let Lowered::ReadView {
            src,
            view: rope_view,
        } = l.plan[j]
        else {
            continue;
        };
        let norm = (0..j).find(|&i| {
            matches!(g.ops[i], Op::RmsNorm { .. })
                && l.to_cache[i] == Some(layer)
                && matches!(l.plan[i], Lowered::ReadView { src: s, view }
                    if s == src && view.stride == rope_view.stride)
        });
        let Some(i) = norm else { continue };
        let Lowered::ReadView { view, .. } = l.plan[i] else {
            unreachable!("matched above")
        };
        l.plan[i] = Lowered::NormRope {
            src,
            view,
            rope: j,
            rope_view,
        };
        l.plan[j] = Lowered::Folded;
    }
}

/// The RoPE producing an absorbed attention's q_pe folded into the attention, when nothing else
/// reads q_pe.
fn fold_q_rope(g: &Graph, users: &[Vec<usize>], producer: &[Option<usize>], l: &mut Lowering) {
    for a in 0..g.ops.len() {
        let Op::AttnAbsorbed { q_pe, .. } = g.ops[a] else {
            continue;
        };
        let Some(j) = producer[q_pe] else { continue };
        let Op::Rope { x, .. } = g.ops[j] else {
            continue;
        };
        if users[q_pe] != [a] || l.to_cache[j].is_some() || l.plan[a] != Lowered::Run {
            continue;
        }
        let (src, view) = match l.plan[j] {
            Lowered::Run => (x, None),
            Lowered::ReadView { src, view } => (src, Some(view)),
            _ => continue,
        };
        l.plan[a] = Lowered::QRope { rope: j, src, view };
        l.plan[j] = Lowered::Folded;
        l.elided[q_pe] = true;
    }
}

/// A gated matvec of plain matrices (the shared experts) folded into an earlier gated matvec of
/// experts (the routed ones) over the same input, when the weights can pair.
fn fold_glu_pair(g: &Graph, pair_ok: &dyn Fn(WeightId, WeightId) -> bool, l: &mut Lowering) {
    for i in 0..g.ops.len() {
        let Lowered::Glu { gate, up } = l.plan[i] else {
            continue;
        };
        let Op::MatMulId { w: gw, x, .. } = g.ops[gate] else {
            continue;
        };
        let partner = (i + 1..g.ops.len()).find_map(|j| match l.plan[j] {
            Lowered::Glu { gate: g2, up: u2 } => match g.ops[g2] {
                Op::MatMul { w, x: x2, .. } if x2 == x && pair_ok(gw, w) => Some((j, g2, u2)),
                _ => None,
            },
            _ => None,
        });
        if let Some((j, gate2, up2)) = partner {
            l.plan[i] = Lowered::GluPair {
                gate,
                up,
                other: j,
                gate2,
                up2,
            };
            l.plan[j] = Lowered::Folded;
        }
    }
}

/// The router's matvec folded into the routing, when nothing else reads the logits.
fn fold_route_gate(
    g: &Graph,
    users: &[Vec<usize>],
    producer: &[Option<usize>],
    router_ok: &dyn Fn(WeightId) -> bool,
    l: &mut Lowering,
) {
    for r in 0..g.ops.len() {
        let Op::MoeRoute { logits, .. } = g.ops[r] else {
            continue;
        };
        let Some(j) = producer[logits] else { continue };
        let Op::MatMul { w, .. } = g.ops[j] else {
            continue;
        };
        let free = l.plan[j] == Lowered::Run && l.plan[r] == Lowered::Run;
        if users[logits] == [r] && free && logits != g.logits && router_ok(w) {
            l.plan[r] = Lowered::RouteGate {
                gate: j,
                norm: None,
            };
            l.plan[j] = Lowered::Folded;
            l.elided[logits] = true;
        }
    }
}

/// The RMSNorm of a residual Add (an `AddNorm`) folded into the routing that scores its output,
/// when the router's (folded) matvec is the only op between them, so no other op runs before
/// the routing kernel has written the sum and the normalized row.
fn fold_route_norm(g: &Graph, producer: &[Option<usize>], l: &mut Lowering) {
    for r in 0..g.ops.len() {
        let Lowered::RouteGate { gate, norm: None } = l.plan[r] else {
            continue;
        };
        let Op::MatMul { x, .. } = g.ops[gate] else {
            continue;
        };
        let Some(n) = producer[x] else { continue };
        let adjacent = gate == n + 1 && r == gate + 1;
        if adjacent && matches!(l.plan[n], Lowered::AddNorm { .. }) {
            let Lowered::AddNorm { add } = l.plan[n] else {
                unreachable!("matched above")
            };
            l.plan[r] = Lowered::RouteGate {
                gate,
                norm: Some((n, add)),
            };
            l.plan[n] = Lowered::Folded;
        }
    }
}

/// A plain RMSNorm folded into the row lookup before it (the embedding lookup), when it is the
/// first op to read the rows.
fn fold_rows_norm(g: &Graph, users: &[Vec<usize>], producer: &[Option<usize>], l: &mut Lowering) {
    for n in 0..g.ops.len() {
        let Op::RmsNorm { x, .. } = g.ops[n] else {
            continue;
        };
        let Some(i) = producer[x] else { continue };
        let lookup = matches!(g.ops[i], Op::GetRows { .. });
        let free = l.plan[i] == Lowered::Run && l.plan[n] == Lowered::Run;
        if lookup && free && users[x].first() == Some(&n) && x != g.logits {
            l.plan[i] = Lowered::RowsNorm { norm: n };
            l.plan[n] = Lowered::Folded;
        }
    }
}
