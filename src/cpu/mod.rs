//! The CPU reference executor: interprets a step's op list ([`crate::model::graph`]) in f32 with
//! f64 reductions. It is the specification the GPU executor is compared with, node by node.

pub mod attention;
pub mod moe;
pub mod ops;
pub mod rope;

pub use attention::LatentCache;

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::model::graph::{check_step, inputs, outputs, Graph, NodeId, Op};
use crate::model::{CacheType, Model, WeightId};
use ops::QMatrix;
use rope::Rope;

/// Node values of one step. i32 nodes (token ids, expert ids) are stored as i32.
#[derive(Clone, Debug, PartialEq)]
pub enum Buf {
    F32(Vec<f32>),
    I32(Vec<i32>),
}

pub struct Values {
    bufs: Vec<Option<Buf>>,
}

impl Values {
    /// An f32 node's values (None if it was freed or is i32).
    pub fn f32(&self, node: NodeId) -> Option<&[f32]> {
        match self.bufs[node].as_ref()? {
            Buf::F32(v) => Some(v),
            Buf::I32(_) => None,
        }
    }
    pub fn i32(&self, node: NodeId) -> Option<&[i32]> {
        match self.bufs[node].as_ref()? {
            Buf::I32(v) => Some(v),
            Buf::F32(_) => None,
        }
    }
    pub fn get(&self, node: NodeId) -> Option<&Buf> {
        self.bufs[node].as_ref()
    }
    /// Moves an f32 node's values out.
    pub fn take_f32(&mut self, node: NodeId) -> Option<Vec<f32>> {
        match self.bufs[node].take()? {
            Buf::F32(v) => Some(v),
            Buf::I32(_) => None,
        }
    }
}

pub struct CpuExecutor<'m> {
    model: &'m Model,
    rope: Rope,
    pub cache: LatentCache,
    /// Expert ids [T, n_expert_used] a MoeRoute uses instead of its own choice, by its topk
    /// node ([`CpuExecutor::force_routing`]).
    forced_routes: HashMap<NodeId, Vec<i32>>,
}

impl<'m> CpuExecutor<'m> {
    /// An executor with an f32 latent cache of `n_ctx` positions.
    pub fn new(model: &'m Model, n_ctx: usize) -> CpuExecutor<'m> {
        CpuExecutor::with_cache(model, n_ctx, CacheType::F32)
    }

    /// An executor whose latent cache of `n_ctx` positions holds values of type `ty`.
    pub fn with_cache(model: &'m Model, n_ctx: usize, ty: CacheType) -> CpuExecutor<'m> {
        CpuExecutor::with_slots(model, n_ctx, 1, ty)
    }

    /// An executor with `n_slots` latent caches (one per sequence served at once) of `n_ctx`
    /// positions each, holding values of type `ty`.
    pub fn with_slots(
        model: &'m Model,
        n_ctx: usize,
        n_slots: usize,
        ty: CacheType,
    ) -> CpuExecutor<'m> {
        let c = &model.config;
        let (kv, rope) = (c.kv_lora_rank, c.n_embd_head_qk_rope);
        CpuExecutor {
            model,
            rope: Rope::new(c),
            cache: LatentCache::with_slots(c.n_layer, n_ctx, n_slots, kv, rope, ty),
            forced_routes: HashMap::new(),
        }
    }

    /// Makes the MoeRoute whose topk node is `topk` route to `ids` [T, n_expert_used] (the
    /// scores and weights follow, as `moe::route_to` makes them) in every later run. `check`
    /// follows the GPU's choice this way where the GPU's own router logits tip a near-tie.
    pub fn force_routing(&mut self, topk: NodeId, ids: Vec<i32>) {
        self.forced_routes.insert(topk, ids);
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }

    fn matrix(&self, w: WeightId) -> QMatrix<'m> {
        let t = &self.model.weights.tensors[w];
        QMatrix {
            ty: t.ty,
            bytes: self.model.weight_bytes(w),
            rows: t.ne[1..].iter().product(),
            cols: t.ne[0],
        }
    }

    fn vector(&self, w: WeightId) -> Result<Vec<f32>> {
        let m = self.matrix(w);
        let mut v = vec![0f32; m.rows * m.cols];
        crate::quant::dequantize_row(m.ty, m.bytes, &mut v)?;
        Ok(v)
    }

    /// Runs one step for `tokens` (graph.spec.n_tokens of them). With `keep_all`, every node's
    /// values are returned (for `check` and dumps); otherwise each is freed after its last use and
    /// only the logits are kept.
    pub fn run(&mut self, graph: &Graph, tokens: &[u32], keep_all: bool) -> Result<Values> {
        let spec = graph.spec;
        check_step(
            &spec,
            tokens,
            &graph.places,
            self.cache.n_ctx,
            self.cache.n_slots,
        )
        .map_err(Error::Usage)?;
        let last_use = last_uses(graph);
        let mut vals = Values {
            bufs: (0..graph.nodes.len()).map(|_| None).collect(),
        };
        vals.bufs[graph.tokens] = Some(Buf::I32(tokens.iter().map(|&t| t as i32).collect()));
        for (i, op) in graph.ops.iter().enumerate() {
            let results = self.eval(graph, op, &vals).map_err(|e| match e {
                Error::Usage(m) | Error::Model(m) => {
                    Error::Model(format!("op {i} ({}): {m}", op_output_name(graph, op)))
                }
                other => other,
            })?;
            for (out, buf) in results {
                let len = match &buf {
                    Buf::F32(v) => v.len(),
                    Buf::I32(v) => v.len(),
                };
                debug_assert_eq!(len, graph.nodes[out].len(), "{}", graph.nodes[out].name);
                vals.bufs[out] = Some(buf);
            }
            if !keep_all {
                for (n, &lu) in last_use.iter().enumerate() {
                    if lu == Some(i) && n != graph.logits {
                        vals.bufs[n] = None;
                    }
                }
            }
        }
        Ok(vals)
    }

    /// Evaluates one op; returns its output nodes' values.
    fn eval(&mut self, g: &Graph, op: &Op, v: &Values) -> Result<Vec<(NodeId, Buf)>> {
        let f = |n: NodeId| v.f32(n).expect("graph order guarantees inputs");
        let t = g.spec.n_tokens;
        let one = |out: NodeId, y: Vec<f32>| Ok(vec![(out, Buf::F32(y))]);
        match *op {
            Op::GetRows { w, ids, out } => {
                let m = self.matrix(w);
                let ids = v.i32(ids).expect("ids are i32");
                let mut y = vec![0f32; ids.len() * m.cols];
                for (row, &id) in y.chunks_exact_mut(m.cols).zip(ids) {
                    if id < 0 || id as usize >= m.rows {
                        return Err(Error::Usage(format!(
                            "token id {id} is outside the vocabulary of {}",
                            m.rows
                        )));
                    }
                    m.dequantize_row(id as usize, row)?;
                }
                one(out, y)
            }
            Op::RmsNorm { x, w, eps, out } => {
                let x = f(x);
                let mut y = vec![0f32; x.len()];
                ops::rms_norm(x, &self.vector(w)?, eps, &mut y);
                one(out, y)
            }
            Op::MatMul { w, x, out } => {
                let x = f(x);
                let m = self.matrix(w);
                one(out, ops::matmul(m, x, x.len() / m.cols)?)
            }
            Op::MatMulHeads { w, x, out } => {
                let (x, ne) = (f(x), &self.model.weights.tensors[w].ne);
                let (cols, rows, heads) = (ne[0], ne[1], ne[2]);
                let m = self.matrix(w);
                let n_tok = x.len() / (heads * cols);
                let mut y = vec![0f32; n_tok * heads * rows];
                for h in 0..heads {
                    let xh: Vec<f32> = (0..n_tok)
                        .flat_map(|t| x[(t * heads + h) * cols..][..cols].iter().copied())
                        .collect();
                    let yh = ops::matmul(m.slab(h, rows), &xh, n_tok)?;
                    for t in 0..n_tok {
                        y[(t * heads + h) * rows..][..rows]
                            .copy_from_slice(&yh[t * rows..][..rows]);
                    }
                }
                one(out, y)
            }
            Op::MatMulId { w, x, ids, out } => {
                let (x, ids) = (f(x), v.i32(ids).expect("ids are i32"));
                let ne = &self.model.weights.tensors[w].ne;
                let (cols, rows, n_exp) = (ne[0], ne[1], ne[2]);
                let m = self.matrix(w);
                let k = ids.len() / t;
                let shared_x = x.len() == t * cols;
                let mut y = vec![0f32; t * k * rows];
                for (slot, &e) in ids.iter().enumerate() {
                    if e < 0 || e as usize >= n_exp {
                        return Err(Error::Model(format!("expert id {e} out of range {n_exp}")));
                    }
                    let xs = if shared_x {
                        &x[(slot / k) * cols..][..cols]
                    } else {
                        &x[slot * cols..][..cols]
                    };
                    let ys = ops::matmul(m.slab(e as usize, rows), xs, 1)?;
                    y[slot * rows..][..rows].copy_from_slice(&ys);
                }
                one(out, y)
            }
            Op::Slice { x, offset, out } => {
                let (shape_in, shape_out) = (&g.nodes[x].shape, &g.nodes[out].shape);
                let (heads, width) = (shape_out[1], shape_out[2]);
                let stride = f(x).len() / (t * heads);
                debug_assert!(shape_in[0] == t && offset + width <= stride);
                let x = f(x);
                let y = (0..t * heads)
                    .flat_map(|th| x[th * stride + offset..][..width].iter().copied())
                    .collect();
                one(out, y)
            }
            Op::Rows { x, start, out } => {
                let n = g.nodes[out].len();
                let cols = g.nodes[x].shape[1];
                one(out, f(x)[start * cols..start * cols + n].to_vec())
            }
            Op::Rope { x, out } => {
                let mut y = f(x).to_vec();
                let n = self.rope.n_dims();
                let heads = y.len() / (t * n);
                for (i, head) in y.chunks_exact_mut(n).enumerate() {
                    self.rope.apply(head, g.places[i / heads].pos);
                }
                one(out, y)
            }
            Op::KvStore {
                layer,
                kv_cmpr,
                k_pe,
            } => {
                let (kv, rope) = (self.cache.kv_lora, self.cache.rope);
                let (c, p) = (f(kv_cmpr), f(k_pe));
                for i in 0..t {
                    let (ci, pi) = (&c[i * kv..][..kv], &p[i * rope..][..rope]);
                    self.cache.store(layer, g.places[i], ci, pi);
                }
                Ok(vec![])
            }
            Op::AttnAbsorbed {
                layer,
                q_abs,
                q_pe,
                scale,
                out,
            } => {
                let h = g.nodes[q_abs].shape[1];
                one(
                    out,
                    attention::attn_absorbed(
                        &self.cache,
                        layer,
                        &g.places,
                        f(q_abs),
                        f(q_pe),
                        h,
                        scale,
                    ),
                )
            }
            Op::AttnMaterialized {
                layer,
                q_nope,
                q_pe,
                k_b,
                v_b,
                scale,
                out,
            } => {
                let h = g.nodes[q_nope].shape[1];
                let y = attention::attn_materialized(
                    &self.cache,
                    layer,
                    g.places[0],
                    f(q_nope),
                    f(q_pe),
                    self.matrix(k_b),
                    self.matrix(v_b),
                    h,
                    scale,
                )?;
                one(out, y)
            }
            Op::MoeRoute {
                logits,
                bias,
                routing,
                probs,
                topk,
                weights,
            } => {
                let logits = f(logits);
                let bias = bias.map(|b| self.vector(b)).transpose()?;
                let (n_exp, k) = (logits.len() / t, routing.n_expert_used);
                let mut p = vec![0f32; t * n_exp];
                let mut ids = vec![0i32; t * k];
                let forced = self.forced_routes.get(&topk);
                if let Some(f) = forced {
                    if f.len() != t * k || f.iter().any(|&e| e < 0 || e as usize >= n_exp) {
                        return Err(Error::Usage(format!(
                            "forced routing needs {t} × {k} expert ids below {n_exp}"
                        )));
                    }
                    ids.copy_from_slice(f);
                }
                let mut wts = vec![0f32; t * k];
                for i in 0..t {
                    let (l, p) = (&logits[i * n_exp..][..n_exp], &mut p[i * n_exp..][..n_exp]);
                    let (ids, w) = (&mut ids[i * k..][..k], &mut wts[i * k..][..k]);
                    match forced {
                        Some(_) => moe::route_to(l, ids, &routing, p, w),
                        None => moe::route(l, bias.as_deref(), &routing, p, ids, w),
                    }
                }
                Ok(vec![
                    (probs, Buf::F32(p)),
                    (topk, Buf::I32(ids)),
                    (weights, Buf::F32(wts)),
                ])
            }
            Op::SwiGlu { gate, up, out } => {
                let y = f(gate)
                    .iter()
                    .zip(f(up))
                    .map(|(&g, &u)| ops::silu(g) * u)
                    .collect();
                one(out, y)
            }
            Op::WeightedSum { x, weights, out } => {
                let (x, wts) = (f(x), f(weights));
                let k = wts.len() / t;
                let n = x.len() / (t * k);
                let mut y = vec![0f32; t * n];
                for i in 0..t {
                    for (j, yj) in y[i * n..][..n].iter_mut().enumerate() {
                        *yj = (0..k)
                            .map(|s| wts[i * k + s] as f64 * x[(i * k + s) * n + j] as f64)
                            .sum::<f64>() as f32;
                    }
                }
                one(out, y)
            }
            Op::Add { a, b, out } => one(out, f(a).iter().zip(f(b)).map(|(x, y)| x + y).collect()),
        }
    }
}

fn op_output_name(g: &Graph, op: &Op) -> String {
    outputs(op)
        .first()
        .map(|&n| g.nodes[n].name.clone())
        .unwrap_or_default()
}

/// For each node, the index of the last op that reads it (None if no op does).
fn last_uses(g: &Graph) -> Vec<Option<usize>> {
    let mut last = vec![None; g.nodes.len()];
    for (i, op) in g.ops.iter().enumerate() {
        for n in inputs(op) {
            last[n] = Some(i);
        }
    }
    last
}
