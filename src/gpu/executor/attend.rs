//! Encoding a step's attention and routing ops: the latent-cache store, both MLA forms (absorbed
//! with q_pe's RoPE folded in, materialized with its scratch) and the MoE routing, with the
//! router's matvec and the FFN norm the lowering folds into it.

use super::encode::StepIo;
use super::GpuExecutor;
use crate::error::Result;
use crate::gpu::latent_cache::{encode_cache_f32, encode_kv_store};
use crate::gpu::lower::Lowered;
use crate::gpu::mla_prefill::{self, MlaScratch};
use crate::gpu::recorder::Recorder;
use crate::gpu::{attention, routing};
use crate::model::graph::{NodeId, Op};
use crate::model::CacheType;

impl GpuExecutor<'_> {
    /// The latent-cache store, both MLA forms and the router.
    pub(super) fn encode_attention(
        &self,
        io: &StepIo,
        i: usize,
        mla_scratch: &mut Option<MlaScratch>,
        enc: &mut Recorder,
    ) -> Result<()> {
        let (g, bufs) = (io.g, io.bufs);
        let (ctx, pipes, spec) = (&self.ctx, &self.pipes, g.spec);
        let t = spec.n_tokens;
        let len = |n: NodeId| g.nodes[n].len();
        match g.ops[i] {
            Op::KvStore {
                layer,
                kv_cmpr,
                k_pe,
            } => {
                let c = &self.model.config;
                let (kv, rope) = (c.kv_lora_rank, c.n_embd_head_qk_rope);
                encode_kv_store(
                    ctx,
                    pipes,
                    enc,
                    &bufs[kv_cmpr],
                    &bufs[k_pe],
                    &self.cache[layer],
                    io.table,
                    t,
                    kv,
                    rope,
                    self.cache_ty,
                );
            }
            Op::AttnAbsorbed {
                layer,
                q_abs,
                q_pe,
                scale,
                out,
            } => {
                let c = &self.model.config;
                // A folded RoPE: q_pe rotated on load from the RoPE's input.
                let q_pe = match io.low.plan[i] {
                    Lowered::QRope { src, view, .. } => attention::QPe {
                        buf: &bufs[src],
                        view,
                        rotate: true,
                    },
                    _ => attention::QPe::plain(&bufs[q_pe]),
                };
                let attn = attention::AttnAbsorbed {
                    cache: &self.cache[layer],
                    table: io.table,
                    n_kv: super::replay::n_kv(g),
                    cache_ty: self.cache_ty,
                    q_abs: &bufs[q_abs],
                    q_pe,
                    out: &bufs[out],
                    n_tok: t,
                    n_head: c.n_head,
                    kv: c.kv_lora_rank,
                    rope: c.n_embd_head_qk_rope,
                    scale,
                    chunk: None,
                };
                attention::encode_attn_absorbed(ctx, pipes, enc, &attn);
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
                // K_nope and V expanded from the cache per head, then attention over them.
                let c = &self.model.config;
                let (k_b, v_b) = (self.mat(k_b), self.mat(v_b));
                // One sequence (the graph has this form only then): its slot's first rows.
                let first = g.places[0];
                let n_kv = first.pos + t;
                if mla_scratch.is_none() {
                    *mla_scratch = Some(MlaScratch::new(ctx, n_kv, c.n_head, k_b.cols, v_b.rows)?);
                }
                let scratch = mla_scratch.as_ref().expect("made above");
                // Its kernels read the slot's rows as f32 from element 0: slot 0 of an f32 cache
                // is that already; other slots, and f16 caches, are widened first (one scratch
                // for every layer, each layer's attention done before the next widens).
                let width = c.n_embd_latent();
                let rows = match (self.cache_ty, first.slot) {
                    (CacheType::F32, 0) => self.cache[layer].clone(),
                    (ty, slot) => {
                        let n = n_kv * width;
                        let wide = pipes.scratch(ctx, "latent rows f32", (n * 4) as u64);
                        let cache = &self.cache[layer];
                        let from = slot * self.n_ctx * width;
                        encode_cache_f32(ctx, pipes, enc, cache, ty, &wide, from, n);
                        wide
                    }
                };
                mla_prefill::encode_attn_materialized(
                    ctx,
                    pipes,
                    enc,
                    scratch,
                    &rows,
                    &bufs[q_nope],
                    &bufs[q_pe],
                    k_b,
                    v_b,
                    &bufs[out],
                    first.pos,
                    t,
                    c.n_embd_head_qk_rope,
                    scale,
                )?;
            }
            Op::MoeRoute {
                logits,
                bias,
                routing,
                probs,
                topk,
                weights,
            } => {
                let n_expert = len(logits) / t;
                let (input, norm) = match io.low.plan[i] {
                    Lowered::RouteGate { gate, norm } => self.route_gate(io, gate, norm),
                    _ => (routing::RouterInput::Logits(&bufs[logits]), None),
                };
                let route = routing::MoeRoute {
                    input,
                    norm,
                    bias: bias.map(|b| &self.vecs[&b]),
                    probs: &bufs[probs],
                    topk: &bufs[topk],
                    weights: &bufs[weights],
                    n_tok: t,
                    n_expert,
                    routing: &routing,
                };
                routing::encode_moe_route(ctx, pipes, enc, &route);
            }
            _ => unreachable!("not an attention or routing op"),
        }
        Ok(())
    }

    /// A routing's folded router matvec `gate` (the kernel scores the hidden states itself) and,
    /// with `norm`, the folded FFN norm of a residual Add before it (the kernel computes the Add
    /// and the norm, storing both nodes, and scores the norm's output).
    fn route_gate<'b>(
        &'b self,
        io: &StepIo<'b>,
        gate: usize,
        norm: Option<(usize, usize)>,
    ) -> (routing::RouterInput<'b>, Option<routing::RouteNorm<'b>>) {
        let (g, bufs) = (io.g, io.bufs);
        let Op::MatMul { w, x, .. } = g.ops[gate] else {
            unreachable!("RouteGate folds a MatMul")
        };
        let m = self.mat(w);
        let Some((n, add)) = norm else {
            let input = routing::RouterInput::Gate {
                x: &bufs[x],
                w: &m.chunks[0].buf,
                n_embd: m.cols,
            };
            return (input, None);
        };
        let Op::RmsNorm {
            w: nw, eps, out, ..
        } = &g.ops[n]
        else {
            unreachable!("a routing folds an RMSNorm")
        };
        let Op::Add { a, b, out: sum } = g.ops[add] else {
            unreachable!("AddNorm folds an Add")
        };
        debug_assert_eq!(*out, x, "the router reads the norm's output");
        let input = routing::RouterInput::Gate {
            x: &bufs[a],
            w: &m.chunks[0].buf,
            n_embd: m.cols,
        };
        let norm = routing::RouteNorm {
            b: &bufs[b],
            w: &self.vecs[nw],
            sum: &bufs[sum],
            out: &bufs[*out],
            eps: *eps,
        };
        (input, Some(norm))
    }
}
