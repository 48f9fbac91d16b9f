//! The GPU executor: runs a step's op list ([`crate::model::graph`]) with the WGSL kernels, the
//! same list the CPU reference interprets. Weights are uploaded once as stored; the latent cache
//! lives on the GPU (one buffer per layer, [n_slots · n_ctx, kv_lora + rope]: a slot per
//! sequence served at once); a step is one command
//! buffer with no readback inside it. Afterwards only the logits come back, or every node when
//! `check` compares the two executors.

use std::collections::HashMap;
use std::rc::Rc;

mod attend;
mod encode;
mod replay;
mod step;

use super::context::GpuContext;
use super::lower::{lower, Fits, Lowering};
use super::node_slots::NodeSlots;
use super::ops::{glu_ok, pair_ok, storage_f32, GpuWeight};
use super::pipelines::Pipelines;
use super::recorder::{DispatchTime, Recorded, Recorder};
use super::routing;
use super::step_clock::RecordTimes;

use crate::cpu::rope::Rope;
use crate::cpu::Buf;
use crate::error::{Error, Result};
use crate::model::graph::Graph;
use crate::model::{CacheShape, CacheType, Model, WeightId};
use crate::model::{Place, StepSpec};

pub struct GpuExecutor<'m> {
    model: &'m Model,
    pub ctx: GpuContext,
    pipes: Pipelines,
    /// Matrices (and matrix stacks) by weight id.
    mats: HashMap<WeightId, GpuWeight>,
    /// 1-D weights (norms, selection bias) dequantized to f32.
    vecs: HashMap<WeightId, wgpu::Buffer>,
    /// Per layer: [n_slots · n_ctx, kv_lora + rope] values of `cache_ty` (f32 words, or halves
    /// two per word); slot s holds rows s · n_ctx ...
    cache: Vec<wgpu::Buffer>,
    cache_ty: CacheType,
    n_ctx: usize,
    n_slots: usize,
    rope: Rope,
    /// Node buffers (one per `NodeSlots` slot) of the previous step, reused when the next step's
    /// slot needs no more bytes (every decode step has the same list), so a token allocates
    /// nothing for activations.
    arena: Vec<wgpu::Buffer>,
    /// u32 [1]: the argmax of greedy decode steps.
    argmax_out: wgpu::Buffer,
    /// What the last step cost to record.
    pub last_step: StepStats,
    /// What recording and submitting each of the last steps took (at most RECORD_LOG), oldest
    /// first: `bench` reports their median, a single step's time being noisy.
    pub record_log: Vec<RecordTimes>,
    /// Profile every step: each dispatch timed on the GPU (`bench --profile`; needs timestamp
    /// queries) into `last_profile`.
    pub profile: bool,
    pub last_profile: Vec<DispatchTime>,
    /// What the last plain submit recorded (copied into `last_step`).
    recorded: Recorded,
    /// The last step's graph, reused by the next step of the same shape.
    graph: Option<Graph>,
    /// Steps of at least this many tokens run their plain MatMuls as mul_mm (tiled; usize::MAX:
    /// never). Set per adapter (`mul_mm::min_tokens_for`); tests set it to cover both paths.
    pub mul_mm_min: usize,
    /// Multi-token steps list a MatMulId's slots by expert on the GPU (`gpu::moe_group`) and
    /// run the grouped matvec, reading each expert's rows once per step; off: one workgroup per
    /// slot. On unless `WGPU_DS_MOE_GROUPED=off` (`moe_group::grouped`); tests set it to cover both paths.
    pub moe_grouped: bool,
    /// The fused lowering of the last step shape (and the mul_mm and grouping settings).
    lowered: Option<((StepSpec, usize, bool), Rc<Lowering>)>,
    /// Which arena buffer holds each node, for the last step shape (nodes, every node read).
    node_slots: Option<(SlotsKey, Rc<NodeSlots>)>,
    /// The last step's recording, submitted again by a next step with the same key
    /// (`executor::replay`).
    replay: Option<(replay::ReplayKey, Recorder)>,
    /// The node buffers of the last step shape (`node_buffers`), kept while the arena is.
    node_bufs: Option<(SlotsKey, Rc<[wgpu::Buffer]>)>,
}

/// What decides a step's node buffers: its spec, its node count, whether every node is read
/// back (one buffer each).
type SlotsKey = (StepSpec, usize, bool);

/// How far loading the weights has come: bytes uploaded of all the weights' bytes.
#[derive(Clone, Copy, Debug)]
pub struct LoadProgress {
    pub done: u64,
    pub total: u64,
}

/// Bytes of weights uploaded between two waits for the GPU while loading: each upload's staging
/// copy lives until the GPU has run it.
const UPLOAD_WINDOW: usize = 256 << 20;

/// Submits the uploads so far and waits for them, which frees their staging memory.
fn flush_uploads(ctx: &GpuContext) -> Result<()> {
    ctx.queue.submit([]);
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(|_| ())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))
}

/// Steps whose recording time `record_log` keeps.
const RECORD_LOG: usize = 1024;

/// The CPU side of one step.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepStats {
    /// Compute dispatches in the step's command buffer.
    pub dispatches: u64,
    /// From the start of `run` to the submit: building buffers, encoding, submitting.
    pub times: RecordTimes,
    /// Compute passes, and bind groups made rather than found in the cache.
    pub recorded: Recorded,
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
        GpuExecutor::with_cache(model, ctx, n_ctx, CacheType::F32)
    }

    /// As `new`, with a latent cache whose values are of type `cache_ty`.
    pub fn with_cache(
        model: &'m Model,
        ctx: GpuContext,
        n_ctx: usize,
        cache_ty: CacheType,
    ) -> Result<GpuExecutor<'m>> {
        GpuExecutor::load(model, ctx, CacheShape::one(n_ctx, cache_ty), &mut |_| {})
    }

    /// As `with_cache`, with the latent cache of `shape` (slots, positions, type), telling
    /// `progress` how many of the weights' bytes are uploaded after every tensor.
    pub fn load(
        model: &'m Model,
        ctx: GpuContext,
        shape: CacheShape,
        progress: &mut dyn FnMut(LoadProgress),
    ) -> Result<GpuExecutor<'m>> {
        let c = &model.config;
        let CacheShape {
            n_ctx,
            n_slots,
            ty: cache_ty,
        } = shape;
        if n_slots == 0 || n_ctx == 0 {
            return Err(Error::Usage(format!(
                "a latent cache of {n_slots} slots of {n_ctx} positions"
            )));
        }
        // Every limit the kernels rely on, before anything is uploaded.
        super::limits::check(c, &ctx.limits, n_ctx, n_slots, cache_ty)?;
        let mut mats = HashMap::new();
        let mut vecs = HashMap::new();
        let mut pending = 0usize;
        let total = (0..model.weights.tensors.len())
            .map(|id| model.weight_bytes(id).len() as u64)
            .sum();
        let mut done = 0u64;
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
            // The file's pages of an uploaded tensor are not needed any more, and the staging
            // copies of the uploads are freed once they have run: resident memory stays near
            // one copy of the weights (the GPU's) plus UPLOAD_WINDOW, not three.
            model.file.release_pages(bytes);
            pending += bytes.len();
            if pending >= UPLOAD_WINDOW {
                flush_uploads(&ctx)?;
                pending = 0;
            }
            done += bytes.len() as u64;
            progress(LoadProgress { done, total });
        }
        let width = c.n_embd_latent();
        // Halves go two to a word: rows are written in pairs (width is even: checked above).
        let cache_bytes = ((n_slots * n_ctx * width).next_multiple_of(2) * cache_ty.bytes()) as u64;
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
        let mul_mm_min = super::mul_mm::min_tokens_for(&ctx);
        let moe_grouped = super::moe_group::grouped();
        Ok(GpuExecutor {
            model,
            ctx,
            pipes,
            mats,
            vecs,
            cache,
            cache_ty,
            n_ctx,
            n_slots,
            rope: Rope::new(c),
            arena: Vec::new(),
            argmax_out,
            last_step: StepStats::default(),
            record_log: Vec::new(),
            profile: false,
            last_profile: Vec::new(),
            recorded: Recorded::default(),
            graph: None,
            mul_mm_min,
            moe_grouped,
            lowered: None,
            node_slots: None,
            replay: None,
            node_bufs: None,
        })
    }

    /// What the latent cache holds.
    pub fn cache_type(&self) -> CacheType {
        self.cache_ty
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Buffers for every node of `g`: the layers of one parity share a buffer per role
    /// (`gpu::node_slots`), or, when every node is read back, one per node; the arena's buffers
    /// are reused where sizes allow, and the list itself while the step shape and the arena stay.
    fn node_buffers(&mut self, g: &Graph, read: Readback) -> Rc<[wgpu::Buffer]> {
        let key: SlotsKey = (g.spec, g.nodes.len(), read == Readback::Everything);
        if let Some((k, bufs)) = &self.node_bufs {
            if *k == key {
                return bufs.clone();
            }
        }
        let slots = match &self.node_slots {
            Some((k, s)) if *k == key => s.clone(),
            _ => {
                let s = Rc::new(if key.2 {
                    NodeSlots::distinct(g)
                } else {
                    NodeSlots::shared(g)
                });
                self.node_slots = Some((key, s.clone()));
                s
            }
        };
        for (i, &size) in slots.bytes.iter().enumerate() {
            if self.arena.get(i).is_some_and(|b| b.size() >= size) {
                continue;
            }
            let buf = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&slots.label[i]),
                size,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            if i < self.arena.len() {
                // A kept recording binds the buffer this one replaces (and keeps it alive).
                self.replay = None;
                self.arena[i] = buf;
                // Cached bind groups hold the buffer this one replaces: drop them so it is freed.
                self.pipes.clear_bind_groups();
            } else {
                self.arena.push(buf);
            }
        }
        let bufs: Rc<[wgpu::Buffer]> = slots.slot.iter().map(|&i| self.arena[i].clone()).collect();
        self.node_bufs = Some((key, bufs.clone()));
        bufs
    }

    fn mat(&self, w: WeightId) -> &GpuWeight {
        &self.mats[&w]
    }

    /// Whether the MatMulIds of `w` run as mul_mm_id in tiled steps: with MoE grouping on and
    /// an expert count moe_group lists.
    fn mul_mm_id(&self, w: &GpuWeight) -> bool {
        self.moe_grouped && w.n_mat > 1 && w.n_mat <= super::moe_group::MOE_GROUP_MAX_EXPERTS
    }

    /// The fused lowering of `g`, reused while steps keep the same shape (every decode step):
    /// the op list depends on the step's shape, not on its places.
    fn lowering_for(&mut self, g: &Graph) -> Rc<Lowering> {
        let shape = (g.spec, self.mul_mm_min, self.moe_grouped);
        if let Some((s, low)) = &self.lowered {
            if *s == shape && low.plan.len() == g.ops.len() {
                return low.clone();
            }
        }
        // Prefill chunks run their plain MatMuls as mul_mm, and with MoE grouping their
        // MatMulIds as mul_mm_id: none is folded into a gated or paired matvec (those decode
        // every weight once per token). Without grouping the experts' stay gated matvecs.
        let tiled = g.spec.n_tokens >= self.mul_mm_min;
        let glu = |a: WeightId, b: WeightId| {
            let m = self.mat(a);
            let as_mul_mm = m.n_mat == 1 || self.mul_mm_id(m);
            !(tiled && as_mul_mm) && glu_ok(m, self.mat(b))
        };
        // Multi-token steps keep their plain matvecs apart: a paired matvec takes one token per
        // workgroup, where matvec_cols decodes each weight once for several.
        let cols = self.pipes.matvec.takes_cols(g.spec.n_tokens);
        let pair = |a: WeightId, b: WeightId| !tiled && !cols && pair_ok(self.mat(a), self.mat(b));
        let router = |w: WeightId| {
            let m = self.mat(w);
            m.ty == crate::quant::QuantType::F32 && m.n_mat == 1 && m.chunks.len() == 1
        };
        let fits = Fits {
            glu: &glu,
            pair: &pair,
            router: &router,
            route_norm: self.ctx.limits.max_storage_buffers_per_shader_stage
                >= routing::ROUTE_NORM_STORAGE_BUFFERS,
        };
        let low = Rc::new(lower(g, &fits));
        self.lowered = Some((shape, low.clone()));
        low
    }

    /// The graph of a step over `places`: the previous one with the new places when the shape
    /// is the same (decode steps), else built anew.
    fn take_graph(&mut self, places: &[Place], all_logits: bool) -> Graph {
        let spec = crate::session::spec_for(&self.model.config, places, all_logits);
        let mut g = match self.graph.take() {
            Some(g) if g.spec == spec => g,
            _ => self.model.graph(spec),
        };
        g.places.clear();
        g.places.extend_from_slice(places);
        g
    }
}

impl GpuExecutor<'_> {
    /// A step's logits (see [`crate::session::Executor::step_places`]).
    pub async fn logits_async(
        &mut self,
        tokens: &[u32],
        places: &[Place],
        all_logits: bool,
    ) -> Result<Vec<f32>> {
        let graph = self.take_graph(places, all_logits);
        let vals = self.run_async(&graph, tokens, Readback::Logits).await;
        let logits = graph.logits;
        self.graph = Some(graph);
        match vals?.bufs[logits].take() {
            Some(Buf::F32(v)) => Ok(v),
            _ => Err(Error::Gpu("logits were not read back".into())),
        }
    }

    /// The argmax of a step's last logits row, computed on the GPU.
    pub async fn argmax_async(&mut self, tokens: &[u32], pos0: usize) -> Result<u32> {
        let graph = self.take_graph(&Place::run(0, pos0, tokens.len()), false);
        let vals = self.run_async(&graph, tokens, Readback::Argmax).await;
        self.graph = Some(graph);
        vals?
            .argmax
            .ok_or_else(|| Error::Gpu("argmax was not read back".into()))
    }
}

#[cfg(feature = "native")]
impl crate::session::Executor for GpuExecutor<'_> {
    fn step_places(
        &mut self,
        tokens: &[u32],
        places: &[Place],
        all_logits: bool,
    ) -> Result<Vec<f32>> {
        pollster::block_on(self.logits_async(tokens, places, all_logits))
    }
    fn step_argmax(&mut self, tokens: &[u32], pos0: usize) -> Result<u32> {
        pollster::block_on(self.argmax_async(tokens, pos0))
    }
    fn n_ctx(&self) -> usize {
        self.n_ctx
    }
    fn n_slots(&self) -> usize {
        self.n_slots
    }
    fn config(&self) -> &crate::model::Config {
        &self.model.config
    }
    fn last_weight_bytes(&self) -> Option<u64> {
        Some(self.last_step.recorded.weight_bytes)
    }
}

/// In the browser, where nothing may block, the GPU runs generation's steps as futures.
#[cfg(not(feature = "native"))]
impl crate::session::StepAsync for GpuExecutor<'_> {
    async fn step_async(&mut self, tokens: &[u32], pos0: usize) -> Result<Vec<f32>> {
        self.logits_async(tokens, &Place::run(0, pos0, tokens.len()), false)
            .await
    }
    async fn step_argmax_async(&mut self, tokens: &[u32], pos0: usize) -> Result<u32> {
        self.argmax_async(tokens, pos0).await
    }
    fn context_size(&self) -> usize {
        self.n_ctx
    }
    fn vocab_size(&self) -> usize {
        self.model.config.n_vocab
    }
}
