//! The GPU executor: runs a step's op list ([`crate::model::graph`]) with the WGSL kernels, the
//! same list the CPU reference interprets. Weights are uploaded once as stored; the latent cache
//! lives on the GPU (one f32 buffer per layer, [n_ctx, kv_lora + rope]); a step is one command
//! buffer with no readback inside it. Afterwards only the logits come back, or every node when
//! `check` compares the two executors.

use std::collections::HashMap;


use super::context::GpuContext;
use super::mla_prefill::{self, MlaScratch};
use super::ops::{
    encode_get_rows, encode_matvec, encode_matvec_glu, encode_matvec_slots, storage_f32, GpuWeight,
    Slots,
};
use super::pipelines::Pipelines;
use super::lower::{lower, Lowered, Lowering};
use super::recorder::Recorder;
use super::elementwise::RowView;
use super::{attention, elementwise, routing};
use crate::cpu::rope::Rope;
use crate::cpu::Buf;
use crate::error::{Error, Result};
use crate::model::graph::{self, DType, Graph, NodeId, Op};
use crate::model::{Model, WeightId};

pub struct GpuExecutor<'m> {
    model: &'m Model,
    pub ctx: GpuContext,
    pipes: Pipelines,
    /// Matrices (and matrix stacks) by weight id.
    mats: HashMap<WeightId, GpuWeight>,
    /// 1-D weights (norms, selection bias) dequantized to f32.
    vecs: HashMap<WeightId, wgpu::Buffer>,
    /// One buffer per layer: [n_ctx, kv_lora + rope] f32.
    cache: Vec<wgpu::Buffer>,
    n_ctx: usize,
    rope: Rope,
    /// Node buffers of the previous step, reused when the next step's node needs no more bytes
    /// (every decode step has the same list), so a token allocates nothing for activations.
    arena: Vec<wgpu::Buffer>,
    /// u32 [1]: the argmax of greedy decode steps.
    argmax_out: wgpu::Buffer,
    /// What the last step cost to record.
    pub last_step: StepStats,
}

/// The CPU side of one step.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepStats {
    /// Compute dispatches in the step's command buffer.
    pub dispatches: u64,
    /// Seconds from the start of `run` to the submit: building buffers, encoding, submitting.
    pub record_s: f64,
}

/// What a step reads back once its command buffer is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readback {
    /// The logits node.
    Logits,
    /// Only the argmax of the last logits row (greedy decoding: 4 bytes per token).
    Argmax,
    /// Every node (for `check`).
    Everything,
}

/// Node values read back from the GPU.
pub struct GpuValues {
    pub bufs: Vec<Option<Buf>>,
    /// The argmax of the last logits row, with [`Readback::Argmax`].
    pub argmax: Option<u32>,
}

impl<'m> GpuExecutor<'m> {
    /// Uploads every weight the graph uses and allocates a latent cache of `n_ctx` positions.
    pub fn new(model: &'m Model, ctx: GpuContext, n_ctx: usize) -> Result<GpuExecutor<'m>> {
        let c = &model.config;
        let mut mats = HashMap::new();
        let mut vecs = HashMap::new();
        for (id, w) in model.weights.tensors.iter().enumerate() {
            let bytes = model.weight_bytes(id);
            if w.ne.len() == 1 {
                let v = crate::quant::dequantize(w.ty, bytes, w.ne[0])?;
                vecs.insert(id, storage_f32(&ctx, &w.name, &v));
            } else {
                let n_mat = w.ne[2..].iter().product();
                mats.insert(
                    id,
                    GpuWeight::upload_stack(&ctx, &w.name, w.ty, n_mat, w.ne[1], w.ne[0], bytes)?,
                );
            }
        }
        let width = c.n_embd_latent();
        let cache_bytes = (n_ctx * width * 4) as u64;
        if cache_bytes > ctx.max_binding() {
            return Err(Error::Gpu(format!(
                "a latent cache of {n_ctx} positions needs {cache_bytes} bytes per layer, above the device's binding limit {}; lower -c",
                ctx.max_binding()
            )));
        }
        let cache = (0..c.n_layer)
            .map(|il| {
                ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("cache-{il}")),
                    size: cache_bytes.max(4),
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })
            .collect();
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        ctx.take_error("uploading the weights and allocating the latent cache")?;
        let argmax_out = storage_f32(&ctx, "argmax", &[0.0]);
        let pipes = Pipelines::for_adapter(&ctx);
        Ok(GpuExecutor {
            model,
            ctx,
            pipes,
            mats,
            vecs,
            cache,
            n_ctx,
            rope: Rope::new(c),
            arena: Vec::new(),
            argmax_out,
            last_step: StepStats::default(),
        })
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Buffers for every node of `g`, reusing the arena where sizes allow.
    fn node_buffers(&mut self, g: &Graph) -> Vec<wgpu::Buffer> {
        for (n, node) in g.nodes.iter().enumerate() {
            let size = (node.len().max(1) * 4) as u64;
            if self.arena.get(n).is_some_and(|b| b.size() >= size) {
                continue;
            }
            let buf = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&node.name),
                size,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            if n < self.arena.len() {
                self.arena[n] = buf;
            } else {
                self.arena.push(buf);
            }
        }
        self.arena[..g.nodes.len()].to_vec()
    }

    fn mat(&self, w: WeightId) -> &GpuWeight {
        &self.mats[&w]
    }

    /// Runs one step as one command buffer, then reads back what `read` asks for.
    pub fn run(&mut self, g: &Graph, tokens: &[u32], read: Readback) -> Result<GpuValues> {
        let spec = g.spec;
        if tokens.len() != spec.n_tokens {
            return Err(Error::Usage(format!(
                "step expects {} tokens, got {}",
                spec.n_tokens,
                tokens.len()
            )));
        }
        if spec.pos0 + spec.n_tokens > self.n_ctx {
            return Err(Error::Usage(format!(
                "positions {}..{} exceed the context of {} tokens (-c)",
                spec.pos0,
                spec.pos0 + spec.n_tokens,
                self.n_ctx
            )));
        }
        let n_vocab = self.model.config.n_vocab;
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= n_vocab) {
            return Err(Error::Usage(format!(
                "token id {bad} is outside the vocabulary of {n_vocab}"
            )));
        }
        let t_start = std::time::Instant::now();
        let dispatches0 = self.pipes.dispatches();
        let bufs = self.node_buffers(g);
        self.ctx
            .queue
            .write_buffer(&bufs[g.tokens], 0, bytemuck::cast_slice(tokens));
        let t = spec.n_tokens;
        // cos/sin of this step's positions, in a scratch kept across steps.
        let rope = self.rope.table(spec.pos0, t);
        let table = self
            .pipes
            .scratch(&self.ctx, "rope table", (rope.len() * 4) as u64);
        self.ctx
            .queue
            .write_buffer(&table, 0, bytemuck::cast_slice(&rope));
        let mut enc = Recorder::new();
        // check reads every node: run the op list unfused so each one exists on the GPU too.
        let low = if read == Readback::Everything {
            Lowering::none(g)
        } else {
            let glu_ok = |a: WeightId, b: WeightId| {
                let (a, b) = (self.mat(a), self.mat(b));
                a.ty == b.ty
                    && (a.n_mat, a.rows, a.cols) == (b.n_mat, b.rows, b.cols)
                    && a.chunks.len() == b.chunks.len()
            };
            lower(g, &glu_ok)
        };
        self.encode_ops(g, &low, &bufs, &table, &mut enc)?;
        let enc = &mut enc;
        let len = |n: NodeId| g.nodes[n].len();
        if read == Readback::Argmax {
            let n_vocab = self.model.config.n_vocab;
            let last = g.nodes[g.logits].len() - n_vocab;
            // Decode steps have one logits row; only a step with every row needs a copy.
            let row_copy;
            let row = if last == 0 {
                &bufs[g.logits]
            } else {
                row_copy = self
                    .pipes
                    .scratch(&self.ctx, "last logits", (n_vocab * 4) as u64);
                enc.copy(
                    &bufs[g.logits],
                    (last * 4) as u64,
                    &row_copy,
                    0,
                    (n_vocab * 4) as u64,
                );
                &row_copy
            };
            let id = &self.argmax_out;
            routing::encode_argmax(&self.ctx, &self.pipes, enc, row, id, n_vocab);
            std::mem::take(enc).submit(&self.ctx, &self.pipes);
            let stats = self.stats_since(t_start, dispatches0);
            let v = super::ops::read_f32(&self.ctx, id, 1);
            self.last_step = stats;
            let v = v?;
            self.ctx.take_error("running a step")?;
            let bufs = (0..g.nodes.len()).map(|_| None).collect();
            return Ok(GpuValues {
                bufs,
                argmax: Some(v[0].to_bits()),
            });
        }
        std::mem::take(enc).submit(&self.ctx, &self.pipes);
        self.last_step = self.stats_since(t_start, dispatches0);
        let wanted: Vec<NodeId> = match read {
            Readback::Everything => (0..g.nodes.len()).filter(|&n| !low.elided[n]).collect(),
            _ => vec![g.logits],
        };
        let mut out: Vec<Option<Buf>> = (0..g.nodes.len()).map(|_| None).collect();
        for n in wanted {
            let v = super::ops::read_f32(&self.ctx, &bufs[n], len(n))?;
            out[n] = Some(match g.nodes[n].dtype {
                DType::F32 => Buf::F32(v),
                DType::I32 => Buf::I32(v.iter().map(|x| x.to_bits() as i32).collect()),
            });
        }
        self.ctx.take_error("running a step")?;
        Ok(GpuValues {
            bufs: out,
            argmax: None,
        })
    }

    /// Encodes the ops of `g` as `low` lowers them.
    fn encode_ops(
        &self,
        g: &Graph,
        low: &Lowering,
        bufs: &[wgpu::Buffer],
        table: &wgpu::Buffer,
        enc: &mut Recorder,
    ) -> Result<()> {
        let spec = g.spec;
        let t = spec.n_tokens;
        let (ctx, pipes) = (&self.ctx, &self.pipes);
        let len = |n: NodeId| g.nodes[n].len();
        // K_nope and V of the materialized attention: one scratch per step, shared by the layers.
        let mut mla_scratch: Option<MlaScratch> = None;
        for (i, op) in g.ops.iter().enumerate() {
            let view = match &low.plan[i] {
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
                Lowered::Glu { gate, up } => {
                    self.encode_glu(enc, bufs, g, &g.ops[*gate], &g.ops[*up], op)?;
                    continue;
                }
                Lowered::ReadView { src, view } => Some((*src, *view)),
                Lowered::Run | Lowered::AddNorm { .. } => None,
            };
            // The input an op with a folded Slice reads: the Slice's source through a view.
            let read = |x: NodeId| match view {
                Some((src, v)) => (&bufs[src], Some(v)),
                None => (&bufs[x], None),
            };
            match *op {
                Op::GetRows { w, ids, out } => {
                    encode_get_rows(ctx, pipes, enc, self.mat(w), &bufs[ids], &bufs[out], t)?
                }
                Op::RmsNorm { x, w, eps, out } => {
                    let n = self.model.weights.tensors[w].ne[0];
                    let (xb, view) = read(x);
                    // kv_cmpr: straight into cache rows pos0.., at column 0.
                    let (yb, y_view) = self.write_target(low.to_cache[i], out, bufs, (spec.pos0, 0));
                    // A folded Add: normalize a + b and store the sum to its node.
                    let (xb, add) = match low.plan[i] {
                        Lowered::AddNorm { add } => match g.ops[add] {
                            Op::Add { a, b, out: sum } => (&bufs[a], Some((&bufs[b], &bufs[sum]))),
                            _ => unreachable!("AddNorm folds an Add"),
                        },
                        _ => (xb, None),
                    };
                    let norm = elementwise::RmsNorm {
                        x_stride: view.map(|v| v.stride),
                        y_view,
                        add,
                        ..elementwise::RmsNorm::plain(xb, &self.vecs[&w], yb, len(out) / n, n, eps)
                    };
                    elementwise::encode_rms_norm(ctx, pipes, enc, &norm);
                }
                Op::MatMul { w, x, out } => {
                    let m = self.mat(w);
                    encode_matvec(
                        ctx,
                        pipes,
                        enc,
                        m,
                        &bufs[x],
                        &bufs[out],
                        len(x) / m.cols,
                    );
                }
                Op::MatMulHeads { w, x, out } => {
                    let m = self.mat(w);
                    let (xb, view) = read(x);
                    let slots = Slots {
                        n_slot: m.n_mat,
                        ids: None,
                        x_per_slot: true,
                        x_stride: view.map(|v| v.stride),
                    };
                    encode_matvec_slots(ctx, pipes, enc, m, xb, &bufs[out], t, &slots);
                }
                Op::MatMulId { w, x, ids, out } => {
                    let m = self.mat(w);
                    let k = len(ids) / t;
                    let slots = Slots {
                        n_slot: k,
                        ids: Some(&bufs[ids]),
                        x_per_slot: len(x) == t * k * m.cols,
                        x_stride: None,
                    };
                    encode_matvec_slots(ctx, pipes, enc, m, &bufs[x], &bufs[out], t, &slots);
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
                    // k_pe: straight into cache rows pos0.., after the kv_lora columns.
                    let kv = self.model.config.kv_lora_rank;
                    let (yb, y_view) = self.write_target(low.to_cache[i], out, bufs, (spec.pos0, kv));
                    elementwise::encode_rope(
                        ctx,
                        pipes,
                        enc,
                        xb,
                        yb,
                        table,
                        t,
                        len(out) / (t * n_dims),
                        n_dims,
                        (view, y_view),
                    );
                }
                Op::KvStore {
                    layer,
                    kv_cmpr,
                    k_pe,
                } => {
                    let c = &self.model.config;
                    let (kv, rope) = (c.kv_lora_rank, c.n_embd_head_qk_rope);
                    elementwise::encode_kv_store(
                        ctx,
                        pipes,
                        enc,
                        &bufs[kv_cmpr],
                        &bufs[k_pe],
                        &self.cache[layer],
                        spec.pos0,
                        t,
                        kv,
                        rope,
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
                    let (kv, rope) = (c.kv_lora_rank, c.n_embd_head_qk_rope);
                    attention::encode_attn_absorbed(
                        ctx,
                        pipes,
                        enc,
                        &self.cache[layer],
                        &bufs[q_abs],
                        &bufs[q_pe],
                        &bufs[out],
                        spec.pos0,
                        t,
                        c.n_head,
                        kv,
                        rope,
                        scale,
                    );
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
                    if mla_scratch.is_none() {
                        let n_kv = spec.pos0 + t;
                        mla_scratch =
                            Some(MlaScratch::new(ctx, n_kv, c.n_head, k_b.cols, v_b.rows)?);
                    }
                    let scratch = mla_scratch.as_ref().expect("made above");
                    mla_prefill::encode_attn_materialized(
                        ctx,
                        pipes,
                        enc,
                        scratch,
                        &self.cache[layer],
                        &bufs[q_nope],
                        &bufs[q_pe],
                        k_b,
                        v_b,
                        &bufs[out],
                        spec.pos0,
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
                    let bias = bias.map(|b| &self.vecs[&b]);
                    routing::encode_moe_route(
                        ctx,
                        pipes,
                        enc,
                        &bufs[logits],
                        bias,
                        &bufs[probs],
                        &bufs[topk],
                        &bufs[weights],
                        t,
                        n_expert,
                        &routing,
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
                Op::Add { a, b, out } => elementwise::encode_add(
                    ctx,
                    pipes,
                    enc,
                    &bufs[a],
                    &bufs[b],
                    &bufs[out],
                    len(out),
                ),
            }
        }
        Ok(())
    }

    /// Where an op writes: its node, or (`to_cache`) the latent-cache rows of this step's
    /// positions in that layer, from column `col` on.
    fn write_target<'a>(
        &'a self,
        to_cache: Option<usize>,
        out: NodeId,
        bufs: &'a [wgpu::Buffer],
        (pos0, col): (usize, usize),
    ) -> (&'a wgpu::Buffer, Option<RowView>) {
        match to_cache {
            None => (&bufs[out], None),
            Some(layer) => {
                let width = self.model.config.n_embd_latent();
                let view = RowView {
                    stride: width,
                    offset: pos0 * width + col,
                };
                (&self.cache[layer], Some(view))
            }
        }
    }

    /// A SwiGlu (`swiglu`) of the matvecs `gate` and `up` as one gated matvec.
    fn encode_glu(
        &self,
        enc: &mut Recorder,
        bufs: &[wgpu::Buffer],
        g: &Graph,
        gate: &Op,
        up: &Op,
        swiglu: &Op,
    ) -> Result<()> {
        let t = g.spec.n_tokens;
        let out = graph::outputs(swiglu)[0];
        let (gw, uw, x, slots) = match (gate, up) {
            (&Op::MatMul { w: a, x, .. }, &Op::MatMul { w: b, .. }) => {
                let slots = Slots {
                    n_slot: 1,
                    ids: None,
                    x_per_slot: true,
                    x_stride: None,
                };
                (a, b, x, slots)
            }
            (&Op::MatMulId { w: a, x, ids, .. }, &Op::MatMulId { w: b, .. }) => {
                let k = g.nodes[ids].len() / t;
                let slots = Slots {
                    n_slot: k,
                    ids: Some(&bufs[ids]),
                    x_per_slot: g.nodes[x].len() == t * k * self.mat(a).cols,
                    x_stride: None,
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
        encode_matvec_glu(&self.ctx, &self.pipes, enc, gw, uw, &bufs[x], &bufs[out], n_tok, &slots)
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

    fn stats_since(&self, t_start: std::time::Instant, dispatches0: u64) -> StepStats {
        StepStats {
            dispatches: self.pipes.dispatches() - dispatches0,
            record_s: t_start.elapsed().as_secs_f64(),
        }
    }

    fn graph_for(&self, tokens: &[u32], pos0: usize, all_logits: bool) -> Graph {
        let attn =
            crate::session::choose_attn_form(&self.model.config, tokens.len(), pos0 + tokens.len());
        self.model.graph(crate::model::StepSpec {
            n_tokens: tokens.len(),
            pos0,
            all_logits,
            attn,
        })
    }
}

impl crate::session::Executor for GpuExecutor<'_> {
    fn step(&mut self, tokens: &[u32], pos0: usize, all_logits: bool) -> Result<Vec<f32>> {
        let graph = self.graph_for(tokens, pos0, all_logits);
        let mut vals = self.run(&graph, tokens, Readback::Logits)?;
        match vals.bufs[graph.logits].take() {
            Some(Buf::F32(v)) => Ok(v),
            _ => Err(Error::Gpu("logits were not read back".into())),
        }
    }
    fn step_argmax(&mut self, tokens: &[u32], pos0: usize) -> Result<u32> {
        let graph = self.graph_for(tokens, pos0, false);
        self.run(&graph, tokens, Readback::Argmax)?
            .argmax
            .ok_or_else(|| Error::Gpu("argmax was not read back".into()))
    }
    fn n_ctx(&self) -> usize {
        self.n_ctx
    }
    fn config(&self) -> &crate::model::Config {
        &self.model.config
    }
}
