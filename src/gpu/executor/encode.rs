//! Encoding a step: every op of the graph as the GPU lowering (`gpu::lower`) says, grouped by kind
//! (matrix products, attention and routing, elementwise and normalization), plus the fused forms
//! the lowering introduces (the gated matvec, the MoE mix with its Adds, cache-row targets).

use std::cell::Cell;

use super::GpuExecutor;
use crate::error::Result;
use crate::gpu::elementwise::{self, RowView};
use crate::gpu::lower::{Lowered, Lowering};
use crate::gpu::mla_prefill::MlaScratch;
use crate::gpu::moe_group::{encode_moe_group, moe_group_bytes, MOE_GROUP_MAX_EXPERTS};
use crate::gpu::mul_mm::{encode_mul_mm, encode_mul_mm_id, IdSlots};
use crate::gpu::norm::{self, RopeTail, RowSum};
use crate::gpu::ops::{
    encode_get_rows, encode_matvec, encode_matvec_glu, encode_matvec_glu_pair, encode_matvec_pair,
    encode_matvec_slots, RowsNorm, Slots,
};
use crate::gpu::recorder::Recorder;
use crate::gpu::step_table::StepTable;
use crate::model::graph::{self, Graph, NodeId, Op};
use crate::model::CacheType;

/// What every op of a step is encoded against.
pub(super) struct StepIo<'a> {
    pub g: &'a Graph,
    pub low: &'a Lowering,
    /// One buffer per node of `g`.
    pub bufs: &'a [wgpu::Buffer],
    /// The step table (`gpu::step_table`): cos/sin of the tokens' positions, then their places.
    pub table: StepTable<'a>,
    /// The ids node whose slots moe_group last listed in this step (a layer's gate, up and
    /// down projections share one listing).
    pub grouped: Cell<Option<NodeId>>,
}

/// An op's input `x` through its lowering's view: a folded Slice's source, or `x` itself.
type View = Option<(NodeId, RowView)>;

impl<'a> StepIo<'a> {
    fn read(&self, x: NodeId, view: View) -> (&'a wgpu::Buffer, Option<RowView>) {
        match view {
            Some((src, v)) => (&self.bufs[src], Some(v)),
            None => (&self.bufs[x], None),
        }
    }
}

impl GpuExecutor<'_> {
    /// Encodes the ops of `io.g` as `io.low` lowers them.
    pub(super) fn encode_ops(&self, io: &StepIo, enc: &mut Recorder) -> Result<()> {
        let (g, bufs) = (io.g, io.bufs);
        let t = g.spec.n_tokens;
        // K_nope and V of the materialized attention: one scratch per step, shared by the layers.
        let mut mla_scratch: Option<MlaScratch> = None;
        for (i, op) in g.ops.iter().enumerate() {
            let view = match &io.low.plan[i] {
                Lowered::Folded => continue,
                Lowered::MoeOut { ws, addends } => {
                    let Op::WeightedSum { x, weights, .. } = g.ops[*ws] else {
                        unreachable!("MoeOut folds a WeightedSum")
                    };
                    let out = graph::outputs(op)[0];
                    let adds: Vec<&wgpu::Buffer> = addends.iter().map(|&a| &bufs[a]).collect();
                    self.encode_weighted_sum(enc, bufs, g, (x, weights, out), &adds, t);
                    continue;
                }
                Lowered::Pair { other } => {
                    self.encode_pair(enc, bufs, g, op, &g.ops[*other])?;
                    continue;
                }
                Lowered::Glu { gate, up } => {
                    self.encode_glu(enc, io, (&g.ops[*gate], &g.ops[*up], op), None)?;
                    continue;
                }
                Lowered::GluPair {
                    gate,
                    up,
                    other,
                    gate2,
                    up2,
                } => {
                    let second = (&g.ops[*gate2], &g.ops[*up2], &g.ops[*other]);
                    self.encode_glu(enc, io, (&g.ops[*gate], &g.ops[*up], op), Some(second))?;
                    continue;
                }
                Lowered::ReadView { src, view } | Lowered::NormRope { src, view, .. } => {
                    Some((*src, *view))
                }
                Lowered::Run
                | Lowered::AddNorm { .. }
                | Lowered::MixNorm { .. }
                | Lowered::QRope { .. }
                | Lowered::RouteGate { .. }
                | Lowered::RowsNorm { .. } => None,
            };
            match op {
                Op::GetRows { .. }
                | Op::MatMul { .. }
                | Op::MatMulHeads { .. }
                | Op::MatMulId { .. } => self.encode_matrix(io, i, view, enc)?,
                Op::KvStore { .. }
                | Op::AttnAbsorbed { .. }
                | Op::AttnMaterialized { .. }
                | Op::MoeRoute { .. } => self.encode_attention(io, i, &mut mla_scratch, enc)?,
                _ => self.encode_elementwise(io, i, view, enc),
            }
        }
        Ok(())
    }

    /// GetRows and the three matvec ops.
    fn encode_matrix(&self, io: &StepIo, i: usize, view: View, enc: &mut Recorder) -> Result<()> {
        let (g, bufs) = (io.g, io.bufs);
        let (ctx, pipes, t) = (&self.ctx, &self.pipes, g.spec.n_tokens);
        let len = |n: NodeId| g.nodes[n].len();
        let read = |x: NodeId| io.read(x, view);
        match g.ops[i] {
            Op::GetRows { w, ids, out } => {
                // A folded RMSNorm of the rows: the lookup writes its output too.
                let norm = match io.low.plan[i] {
                    Lowered::RowsNorm { norm } => match g.ops[norm] {
                        Op::RmsNorm {
                            w: nw,
                            eps,
                            out: xn,
                            ..
                        } => Some(RowsNorm {
                            w: &self.vecs[&nw],
                            xn: &bufs[xn],
                            eps,
                        }),
                        _ => unreachable!("RowsNorm folds an RMSNorm"),
                    },
                    _ => None,
                };
                let m = self.mat(w);
                encode_get_rows(
                    ctx,
                    pipes,
                    enc,
                    m,
                    (&bufs[ids], &bufs[out]),
                    t,
                    norm.as_ref(),
                )?
            }
            Op::MatMul { w, x, out } => {
                let m = self.mat(w);
                let n_tok = len(x) / m.cols;
                if n_tok >= self.mul_mm_min && m.n_mat == 1 {
                    encode_mul_mm(ctx, pipes, enc, m, &bufs[x], &bufs[out], n_tok);
                } else {
                    encode_matvec(ctx, pipes, enc, m, &bufs[x], &bufs[out], n_tok);
                }
            }
            Op::MatMulHeads { w, x, out } => {
                let m = self.mat(w);
                let (xb, view) = read(x);
                let slots = Slots {
                    n_slot: m.n_mat,
                    ids: None,
                    x_per_slot: true,
                    x_stride: view.map(|v| v.stride),
                    groups: None,
                };
                encode_matvec_slots(ctx, pipes, enc, m, xb, &bufs[out], t, &slots);
            }
            Op::MatMulId { w, x, ids, out } => {
                let m = self.mat(w);
                let k = len(ids) / t;
                let groups = self.moe_groups(io, enc, ids, m.n_mat)?;
                if let Some(groups) = groups.as_ref().filter(|_| t >= self.mul_mm_min) {
                    let slots = IdSlots {
                        groups,
                        n_slot: k,
                        x_per_slot: len(x) == t * k * m.cols,
                    };
                    encode_mul_mm_id(ctx, pipes, enc, m, (&bufs[x], &bufs[out]), t, &slots);
                    return Ok(());
                }
                let slots = Slots {
                    n_slot: k,
                    ids: Some(&bufs[ids]),
                    x_per_slot: len(x) == t * k * m.cols,
                    x_stride: None,
                    groups: groups.as_ref(),
                };
                encode_matvec_slots(ctx, pipes, enc, m, &bufs[x], &bufs[out], t, &slots);
            }
            _ => unreachable!("not a matrix op"),
        }
        Ok(())
    }

    /// moe_group's lists of the slots of `ids` (over `n_expert` experts) for a multi-token step
    /// with grouping on, encoded unless `ids` was the last node listed; None for one token (its
    /// K slots choose K distinct experts: nothing to share) or with grouping off.
    fn moe_groups(
        &self,
        io: &StepIo,
        enc: &mut Recorder,
        ids: NodeId,
        n_expert: usize,
    ) -> Result<Option<wgpu::Buffer>> {
        let t = io.g.spec.n_tokens;
        if t < 2 || !self.moe_grouped || n_expert > MOE_GROUP_MAX_EXPERTS {
            return Ok(None);
        }
        let n_slots = io.g.nodes[ids].len();
        let buf = self
            .pipes
            .scratch(&self.ctx, "moe groups", moe_group_bytes(n_expert, n_slots));
        if io.grouped.get() != Some(ids) {
            let pair = (&io.bufs[ids], &buf);
            encode_moe_group(&self.ctx, &self.pipes, enc, pair, n_slots, n_expert)?;
            io.grouped.set(Some(ids));
        }
        Ok(Some(buf))
    }

    /// Normalization, slicing, RoPE and the elementwise ops.
    fn encode_elementwise(&self, io: &StepIo, i: usize, view: View, enc: &mut Recorder) {
        let (g, bufs, low, table) = (io.g, io.bufs, io.low, io.table);
        let (ctx, pipes, spec) = (&self.ctx, &self.pipes, g.spec);
        let t = spec.n_tokens;
        let len = |n: NodeId| g.nodes[n].len();
        let read = |x: NodeId| io.read(x, view);
        match g.ops[i] {
            Op::RmsNorm { x, w, eps, out } => {
                let n = self.model.weights.tensors[w].ne[0];
                let (xb, view) = read(x);
                // kv_cmpr: straight into the tokens' cache rows, at column 0.
                let (yb, y_view, y_ty) = self.write_target(low.to_cache[i], out, bufs, 0);
                // A folded Add: normalize a + b and store the sum to its node. A folded MoE
                // mix (and its Adds): normalize the mix and store it to the norm's input node.
                let (xb, sum) = match &low.plan[i] {
                    Lowered::AddNorm { add } => match g.ops[*add] {
                        Op::Add { a, b, out: sum } => {
                            let s = RowSum {
                                s: &bufs[sum],
                                mix: None,
                                addends: vec![&bufs[b]],
                            };
                            (&bufs[a], Some(s))
                        }
                        _ => unreachable!("AddNorm folds an Add"),
                    },
                    Lowered::MixNorm { ws, addends } => match g.ops[*ws] {
                        Op::WeightedSum { x: mx, weights, .. } => {
                            let k = g.nodes[weights].len() / (len(out) / n);
                            let s = RowSum {
                                s: &bufs[x],
                                mix: Some((&bufs[weights], k)),
                                addends: addends.iter().map(|&a| &bufs[a]).collect(),
                            };
                            (&bufs[mx], Some(s))
                        }
                        _ => unreachable!("MixNorm folds a WeightedSum"),
                    },
                    _ => (xb, None),
                };
                // A folded RoPE of k_pe: the rest of the same rows, into the cache after kv_lora.
                let rope = match low.plan[i] {
                    Lowered::NormRope { rope_view, .. } => Some(RopeTail {
                        table: table.buf,
                        n_dims: self.rope.n_dims(),
                        x_col: rope_view.offset,
                        y_col: self.model.config.kv_lora_rank,
                    }),
                    _ => None,
                };
                let norm = norm::RmsNorm {
                    x_stride: view.map(|v| v.stride),
                    y_view,
                    sum,
                    rope,
                    y_ty,
                    y_cache: low.to_cache[i].map(|_| table),
                    ..norm::RmsNorm::plain(xb, &self.vecs[&w], yb, len(out) / n, n, eps)
                };
                norm::encode_rms_norm(ctx, pipes, enc, &norm);
            }
            Op::Slice { x, offset, out } => {
                let shape = &g.nodes[out].shape;
                let (rows, width) = (shape[0] * shape[1], shape[2]);
                elementwise::encode_slice(
                    ctx,
                    pipes,
                    enc,
                    &bufs[x],
                    &bufs[out],
                    rows,
                    len(x) / rows,
                    offset,
                    width,
                );
            }
            Op::Rows { x, start, out } => {
                let cols = g.nodes[x].shape[1];
                enc.copy(
                    &bufs[x],
                    (start * cols * 4) as u64,
                    &bufs[out],
                    0,
                    (len(out) * 4) as u64,
                );
            }
            Op::Rope { x, out } => {
                let n_dims = self.rope.n_dims();
                let (xb, view) = read(x);
                // k_pe: straight into the tokens' cache rows, after the kv_lora columns.
                let kv = self.model.config.kv_lora_rank;
                let (yb, y_view, y_ty) = self.write_target(low.to_cache[i], out, bufs, kv);
                elementwise::encode_rope(
                    ctx,
                    pipes,
                    enc,
                    xb,
                    yb,
                    table.buf,
                    t,
                    len(out) / (t * n_dims),
                    n_dims,
                    (view, y_view),
                    y_ty,
                    low.to_cache[i].map(|_| table.places_at),
                );
            }
            Op::SwiGlu { gate, up, out } => elementwise::encode_swiglu(
                ctx,
                pipes,
                enc,
                &bufs[gate],
                &bufs[up],
                &bufs[out],
                len(out),
            ),
            Op::WeightedSum { x, weights, out } => {
                self.encode_weighted_sum(enc, bufs, g, (x, weights, out), &[], t)
            }
            Op::Add { a, b, out } => {
                elementwise::encode_add(ctx, pipes, enc, &bufs[a], &bufs[b], &bufs[out], len(out))
            }
            _ => unreachable!("not an elementwise op"),
        }
    }

    /// Where an op writes: its node, or (`to_cache`) that layer's latent cache, from column
    /// `col` on of the rows of the tokens' places (the kernel reads them from the step table).
    fn write_target<'a>(
        &'a self,
        to_cache: Option<usize>,
        out: NodeId,
        bufs: &'a [wgpu::Buffer],
        col: usize,
    ) -> (&'a wgpu::Buffer, Option<RowView>, CacheType) {
        match to_cache {
            None => (&bufs[out], None, CacheType::F32),
            Some(layer) => {
                let width = self.model.config.n_embd_latent();
                let view = RowView {
                    stride: width,
                    offset: col,
                };
                (&self.cache[layer], Some(view), self.cache_ty)
            }
        }
    }

    /// Two plain matvecs over the same input as one paired dispatch.
    fn encode_pair(
        &self,
        enc: &mut Recorder,
        bufs: &[wgpu::Buffer],
        g: &Graph,
        first: &Op,
        second: &Op,
    ) -> Result<()> {
        let (
            &Op::MatMul { w, x, out },
            &Op::MatMul {
                w: w2, out: out2, ..
            },
        ) = (first, second)
        else {
            unreachable!("lower() pairs plain matvecs")
        };
        let (w, w2) = (self.mat(w), self.mat(w2));
        let n_tok = g.nodes[x].len() / w.cols;
        let ys = (&bufs[out], &bufs[out2]);
        encode_matvec_pair(&self.ctx, &self.pipes, enc, (w, w2), &bufs[x], ys, n_tok)
    }

    /// A SwiGlu (`swiglu`) of the matvecs `gate` and `up` as one gated matvec; with `pair`, the
    /// SwiGlu of two plain matvecs over the same input in the same dispatch.
    fn encode_glu(
        &self,
        enc: &mut Recorder,
        io: &StepIo,
        (gate, up, swiglu): (&Op, &Op, &Op),
        pair: Option<(&Op, &Op, &Op)>,
    ) -> Result<()> {
        let (g, bufs) = (io.g, io.bufs);
        let t = g.spec.n_tokens;
        let out = graph::outputs(swiglu)[0];
        let groups = match *gate {
            Op::MatMulId { w, ids, .. } => self.moe_groups(io, enc, ids, self.mat(w).n_mat)?,
            _ => None,
        };
        let (gw, uw, x, slots) = match (gate, up) {
            (&Op::MatMul { w: a, x, .. }, &Op::MatMul { w: b, .. }) => (a, b, x, Slots::PER_TOKEN),
            (&Op::MatMulId { w: a, x, ids, .. }, &Op::MatMulId { w: b, .. }) => {
                let k = g.nodes[ids].len() / t;
                let slots = Slots {
                    n_slot: k,
                    ids: Some(&bufs[ids]),
                    x_per_slot: g.nodes[x].len() == t * k * self.mat(a).cols,
                    x_stride: None,
                    groups: groups.as_ref(),
                };
                (a, b, x, slots)
            }
            _ => unreachable!("lower() pairs matvecs of one kind"),
        };
        let (gw, uw) = (self.mat(gw), self.mat(uw));
        // MatMul rows are tokens (or the last token only); the slots say how many.
        let n_tok = match slots.ids {
            None => g.nodes[x].len() / gw.cols,
            Some(_) => t,
        };
        // Grouped slots run alone; the shared experts' gated matvec then gets its own dispatch.
        let pair = match pair {
            Some(second) if slots.groups.is_some() => {
                self.encode_glu(enc, io, second, None)?;
                None
            }
            pair => pair,
        };
        let Some((gate2, up2, swiglu2)) = pair else {
            return encode_matvec_glu(
                &self.ctx,
                &self.pipes,
                enc,
                gw,
                uw,
                &bufs[x],
                &bufs[out],
                n_tok,
                &slots,
            );
        };
        let (&Op::MatMul { w: g2, .. }, &Op::MatMul { w: u2, .. }) = (gate2, up2) else {
            unreachable!("lower() pairs a gated matvec of plain matrices")
        };
        let out2 = graph::outputs(swiglu2)[0];
        encode_matvec_glu_pair(
            &self.ctx,
            &self.pipes,
            enc,
            (gw, uw),
            (self.mat(g2), self.mat(u2)),
            &bufs[x],
            (&bufs[out], &bufs[out2]),
            n_tok,
            &slots,
        )
    }

    /// The routed experts' mix, with the Adds folded into it (`addends`).
    fn encode_weighted_sum(
        &self,
        enc: &mut Recorder,
        bufs: &[wgpu::Buffer],
        g: &Graph,
        (x, weights, out): (NodeId, NodeId, NodeId),
        addends: &[&wgpu::Buffer],
        t: usize,
    ) {
        let k = g.nodes[weights].len() / t;
        elementwise::encode_weighted_sum(
            &self.ctx,
            &self.pipes,
            enc,
            &bufs[x],
            &bufs[weights],
            &bufs[out],
            t,
            k,
            g.nodes[out].len() / t,
            addends,
        );
    }
}
