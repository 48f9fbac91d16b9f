//! Compute pipelines, built on first use and cached by kernel; the kernel key is the label of the
//! shader module and the pipeline, so validation errors and captures name the variant. Also what
//! outlives one step: the uniform parameter arena and the bind groups made over it (see
//! `gpu::recorder`), scratch buffers reused from step to step, the one placeholder buffer bound
//! where a kernel's optional input is absent, and the per-adapter values of the kernels'
//! pipeline-overridable constants.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use super::kernels::{AccSizes, Kernel, Reduce};
use crate::quant::QuantType;

/// Workgroup shape of the multi-row matvec (`override WG`, `override NR` in shaders/matvec.wgsl).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatVecShape {
    /// Invocations per workgroup: a power of two, at least 8.
    pub wg: u32,
    /// Rows per workgroup, 1 ..= 32.
    pub nr: u32,
    /// Sum partials with subgroupAdd (adapters with subgroups) or a workgroup tree.
    pub reduce: Reduce,
    /// Slots per workgroup of the multi-slot forms (matvec_cols, matvec_glu_cols, the grouped
    /// forms), 1 ..= MATVEC_COLS_MAX, and their rows per workgroup (1 ..= 32: matvec.wgsl's
    /// rows_dot_cols keeps one or two vec4s of partial sums per row, twice with GLU).
    pub cols: u32,
    pub cols_nr: u32,
    /// Rows per workgroup of the gated multi-slot forms (matvec_glu_cols, matvec_glu_grouped),
    /// which decode two matrices per row: 1 ..= 32.
    pub cols_nr_glu: u32,
    /// The weight loaders read 32-bit words only (`override WORD_LOADS` in
    /// shaders/common/bytes.wgsl), and Q4_K and Q6_K read units of 64 (`override UNIT` in
    /// their quant/unit files: a block header or a qh byte serves more weights per load): on
    /// CPU adapters, which load one word per invocation at a time, so the two or three 16-byte
    /// loads of 16 or 32 unaligned bytes cost up to twice the words needed.
    pub word_loads: bool,
}

/// matvec.wgsl's NCOLS_MAX.
pub const MATVEC_COLS_MAX: u32 = 8;

impl Default for MatVecShape {
    fn default() -> Self {
        MatVecShape {
            wg: 64,
            nr: 4,
            reduce: Reduce::Workgroup,
            cols: 4,
            cols_nr: 4,
            cols_nr_glu: 4,
            word_loads: false,
        }
    }
}

impl MatVecShape {
    /// Whether a plain MatMul of `n_tok` tokens runs with several tokens per workgroup
    /// (matvec_cols, matvec_glu_cols).
    pub fn takes_cols(&self, n_tok: usize) -> bool {
        n_tok > 1 && self.cols > 1
    }

    /// Rows per workgroup of the multi-slot forms, gated (`glu`) or not.
    pub fn cols_rows(&self, glu: bool) -> u32 {
        if glu {
            self.cols_nr_glu
        } else {
            self.cols_nr
        }
    }

    /// The shape for an adapter: subgroup reductions where it has them; 64 invocations × 4 rows
    /// on GPUs, 8 × 16 on CPU adapters (lavapipe runs a workgroup on one core, 8 lanes wide at
    /// 256 bits, so fewer, fuller workgroups measure faster there: on the 2-layer V2-Lite bench,
    /// the gated Q4_K matvec at 0.96–1.07 GB/s with 8 × 8, 0.82–0.90 with 16 × 8, 0.60–0.65 with
    /// 32 × 4, in one interleaved run; in three interleaved rounds of another, the Q6_K output
    /// head at 0.62–0.84 GB/s with 8 × 8 and 0.88 with 8 × 16, the shared-expert Q4_K matvecs
    /// at 0.43–1.02 and 0.72–1.14: a workgroup loads its activations once for all its rows). `WGPU_DS_MATVEC=WG,NR` overrides the workgroup shape (for
    /// measuring other shapes with `wgpu-ds bench`).
    pub fn for_adapter(ctx: &super::GpuContext) -> MatVecShape {
        let cpu = ctx.info.device_type == wgpu::DeviceType::Cpu;
        let mut shape = MatVecShape {
            wg: if cpu { 8 } else { 64 },
            nr: if cpu { 16 } else { 4 },
            // WebGPU's WGSL has no subgroup_id/num_subgroups (and wants `enable subgroups;`,
            // which naga rejects), so the browser build keeps the workgroup reduction.
            reduce: if ctx.optional.subgroups && !cfg!(target_arch = "wasm32") {
                Reduce::Subgroup
            } else {
                Reduce::Workgroup
            },
            // 4 tokens × 4 rows on GPUs, 4 × 32 on CPU adapters, where the rows share each
            // activation load (pp64 of the 4-layer V2-Lite-width bench on lavapipe, two
            // alternating rounds: 3.97 / 3.91 tok/s with 4 × 32, 3.34 / 3.20 with 4 × 16, 2.21 /
            // 2.33 with 4 × 8). 8 × 32 ran 10% faster still (5.59 / 6.37 against 5.06 / 5.79)
            // but lavapipe took 77 s instead of 33 to compile a short run's pipelines.
            cols: 4,
            cols_nr: if cpu { 32 } else { 4 },
            // The gated forms decode two rows per row index (gate and up), so 16 of them share
            // each activation load among as many rows as 32 plain ones. lavapipe compiles the
            // gated Q4_K form in 2.7 s with 16 rows and 6.5 s with 32; pp64 of the 4-layer bench
            // ran 7% slower with 16 (6.33 / 6.37 against 6.81 / 6.83 tok/s, alternating). CPU
            // adapters are a stand-in for GPUs here, so the compile time wins: every cold start
            // and every test run pays it per gated pipeline (`WGPU_DS_MATVEC_COLS=4,32,32`
            // restores 32).
            cols_nr_glu: if cpu { 16 } else { 4 },
            word_loads: cpu,
        };
        if let Ok(v) = std::env::var("WGPU_DS_MATVEC") {
            let parts: Vec<u32> = v.split(',').filter_map(|p| p.trim().parse().ok()).collect();
            if let [wg, nr] = parts[..] {
                if wg.is_power_of_two() && (8..=1024).contains(&wg) && (1..=32).contains(&nr) {
                    shape.wg = wg;
                    shape.nr = nr;
                } else {
                    log::warn!("WGPU_DS_MATVEC={v} ignored: WG must be a power of two in 8..=1024, NR in 1..=32");
                }
            }
        }
        if let Ok(v) = std::env::var("WGPU_DS_MATVEC_COLS") {
            let parts: Vec<u32> = v.split(',').filter_map(|p| p.trim().parse().ok()).collect();
            let rows = |nr: u32| (1..=32).contains(&nr);
            match parts[..] {
                // NR_GLU defaults to NR.
                [cols, nr, ref glu @ ..]
                    if (1..=MATVEC_COLS_MAX).contains(&cols)
                        && rows(nr)
                        && glu.len() <= 1
                        && glu.iter().all(|&g| rows(g)) =>
                {
                    shape.cols = cols;
                    shape.cols_nr = nr;
                    shape.cols_nr_glu = glu.first().copied().unwrap_or(nr);
                }
                _ => log::warn!(
                    "WGPU_DS_MATVEC_COLS={v} ignored: want COLS,NR[,NR_GLU] with COLS in 1..={MATVEC_COLS_MAX}, NR in 1..=32"
                ),
            }
        }
        match std::env::var("WGPU_DS_MATVEC_LOADS").as_deref() {
            Ok("words") => shape.word_loads = true,
            Ok("quads") => shape.word_loads = false,
            Ok(v) => log::warn!("WGPU_DS_MATVEC_LOADS={v} ignored: want words or quads"),
            Err(_) => {}
        }
        // The workgroup reduction keeps WG × rows × slots f32 partials (twice for the gated
        // forms) in workgroup memory: fewer rows where that would not fit.
        let room = ctx.limits.max_compute_workgroup_storage_size / 2;
        let fit = |rows: &mut u32, per_row: u32| {
            while *rows > 1 && shape.wg * *rows * per_row * 4 > room {
                *rows /= 2;
            }
        };
        let (mut nr, mut cols_nr, mut cols_nr_glu) = (shape.nr, shape.cols_nr, shape.cols_nr_glu);
        fit(&mut cols_nr, shape.cols);
        fit(&mut cols_nr_glu, shape.cols * 2);
        fit(&mut nr, 2);
        MatVecShape {
            nr,
            cols_nr,
            cols_nr_glu,
            ..shape
        }
    }
}

/// A bind group's identity: the kernel, its buffers in binding order, and its parameter slot.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BindKey {
    pub kernel: Kernel,
    pub buffers: Vec<wgpu::Buffer>,
    pub params: wgpu::Buffer,
    pub offset: u64,
}

/// One dispatch of the last submit with its resolved pipeline and bind group: the next submit's
/// dispatch at the same index (every decode step records the same list) takes them without the
/// pipeline and bind-group lookups when its kernel, buffers and parameter slot are the same.
pub struct Planned {
    pub kernel: Kernel,
    pub buffers: Vec<wgpu::Buffer>,
    pub params: wgpu::Buffer,
    pub offset: u64,
    pub pipeline: wgpu::ComputePipeline,
    pub bind: wgpu::BindGroup,
}

/// Bind groups kept at most; past it the cache starts over (shapes that change every step, such
/// as growing prefill chunks, would otherwise grow it without bound).
const MAX_BIND_GROUPS: usize = 1 << 14;

pub struct Pipelines {
    cache: Mutex<HashMap<Kernel, wgpu::ComputePipeline>>,
    /// UNIFORM: every dispatch's parameters of a submit (grown, never shrunk).
    arena: Mutex<Option<wgpu::Buffer>>,
    /// Whose parameter bytes the arena holds: (recorder id, bytes), see `needs_arena_write`.
    arena_tag: Mutex<Option<(u64, usize)>>,
    binds: Mutex<HashMap<BindKey, wgpu::BindGroup>>,
    /// The last submit's dispatches, resolved (see [`Planned`]).
    plan: Mutex<Vec<Planned>>,
    /// STORAGE scratch by label (attention partials, ...), grown to the largest request.
    scratch: Mutex<HashMap<&'static str, wgpu::Buffer>>,
    /// [4] f32 (16 bytes, the least an array<vec4> binding takes), bound where a kernel's optional input is absent (expert ids of a plain matvec,
    /// addends of a mix without them); made once, not per dispatch.
    placeholder: OnceLock<wgpu::Buffer>,
    /// [4] f32, bound where a kernel's optional output is absent (matvec's Y2): never aliases a
    /// read-only binding of the same dispatch, as `placeholder` would.
    placeholder_out: OnceLock<wgpu::Buffer>,
    pub matvec: MatVecShape,
    /// Dispatches encoded through these pipelines so far (the bench reports them per step).
    dispatches: AtomicU64,
    /// Bumped whenever a buffer that recorded dispatches may bind is replaced by a larger one
    /// (`clear_bind_groups`): a step recorded before then must be recorded again.
    generation: AtomicU64,
}

impl Default for Pipelines {
    fn default() -> Self {
        Pipelines::new(MatVecShape::default())
    }
}

impl Pipelines {
    pub fn new(matvec: MatVecShape) -> Pipelines {
        Pipelines {
            cache: Mutex::new(HashMap::new()),
            arena: Mutex::new(None),
            arena_tag: Mutex::new(None),
            binds: Mutex::new(HashMap::new()),
            plan: Mutex::new(Vec::new()),
            scratch: Mutex::new(HashMap::new()),
            placeholder: OnceLock::new(),
            placeholder_out: OnceLock::new(),
            matvec,
            dispatches: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// Pipelines for the adapter of `ctx` (its matvec shape and reduction).
    pub fn for_adapter(ctx: &super::GpuContext) -> Pipelines {
        Pipelines::new(MatVecShape::for_adapter(ctx))
    }

    /// Values of the pipeline-overridable constants of `kernel`.
    pub fn constants(&self, kernel: Kernel) -> Vec<(&'static str, f64)> {
        use Kernel::*;
        let m = &self.matvec;
        // The CPU-adapter forms of the weight reads: words only, and Q4_K and Q6_K in units of
        // 64 (quant/unit/q4_k.wgsl, q6_k.wgsl: UNIT and its run stride UNIT_RUN2).
        let mut reads = vec![];
        if m.word_loads {
            reads.push(("WORD_LOADS", 1.0));
            match kernel.quant_type() {
                Some(QuantType::Q4K) => reads.extend([("UNIT", 64.0), ("UNIT_RUN2", 16.0)]),
                Some(QuantType::Q6K) => reads.extend([("UNIT", 64.0), ("UNIT_RUN2", 32.0)]),
                _ => {}
            }
        }
        // (GLU, PAIR, GROUPED, several slots per workgroup)
        let (glu, pair, grouped, cols) = match kernel {
            MatVec(..) => (false, false, false, false),
            MatVecGlu(..) => (true, false, false, false),
            MatVecPair(..) => (false, true, false, false),
            MatVecGluPair(..) => (true, true, false, false),
            MatVecCols(..) => (false, false, false, true),
            MatVecGluCols(..) => (true, false, false, true),
            MatVecGrouped(..) => (false, false, true, true),
            MatVecGluGrouped(..) => (true, false, true, true),
            // matvec_t's workgroup is fixed; it reads its units as the matvec does.
            MatVecT(_) => return reads,
            _ => return vec![],
        };
        let mut c = vec![("WG", m.wg as f64)];
        if cols {
            c.extend([("NR", m.cols_rows(glu) as f64), ("NCOLS", m.cols as f64)]);
        } else {
            c.push(("NR", m.nr as f64));
        }
        for (name, on) in [("GLU", glu), ("PAIR", pair), ("GROUPED", grouped)] {
            if on {
                c.push((name, 1.0));
            }
        }
        c.extend(reads);
        c
    }

    /// The WGSL of `kernel` as this shape's pipelines compile it (matvec's partial-sum arrays
    /// sized for the shape).
    pub fn source(&self, kernel: Kernel) -> String {
        use Kernel::*;
        let m = &self.matvec;
        let acc = match kernel {
            MatVec(..) | MatVecPair(..) => AccSizes::new(m.nr, 1, false),
            MatVecGlu(..) | MatVecGluPair(..) => AccSizes::new(m.nr, 1, true),
            MatVecCols(..) | MatVecGrouped(..) => AccSizes::new(m.cols_rows(false), m.cols, false),
            MatVecGluCols(..) | MatVecGluGrouped(..) => {
                AccSizes::new(m.cols_rows(true), m.cols, true)
            }
            _ => AccSizes::MAX,
        };
        kernel.source_sized(acc)
    }

    pub fn get(&self, device: &wgpu::Device, kernel: Kernel) -> wgpu::ComputePipeline {
        let mut cache = self.cache.lock().expect("pipeline cache poisoned");
        cache
            .entry(kernel)
            .or_insert_with(|| {
                let key = kernel.key();
                let started = web_time::Instant::now();
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&key),
                    source: wgpu::ShaderSource::Wgsl(self.source(kernel).into()),
                });
                let constants = self.constants(kernel);
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&key),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        ..Default::default()
                    },
                    cache: None,
                });
                // Drivers may compile at first use instead (llvmpipe does): this is the creation call.
                let ms = started.elapsed().as_secs_f64() * 1e3;
                log::debug!("pipeline {key}: created in {ms:.0} ms");
                pipeline
            })
            .clone()
    }

    /// The parameter arena, at least `size` bytes. A larger one replaces it (and the bind groups
    /// made over the old one are dropped).
    pub fn params_arena(&self, ctx: &super::GpuContext, size: u64) -> wgpu::Buffer {
        let mut arena = self.arena.lock().expect("arena poisoned");
        if let Some(a) = arena.as_ref().filter(|a| a.size() >= size) {
            return a.clone();
        }
        self.clear_bind_groups();
        *self.arena_tag.lock().expect("arena tag poisoned") = None;
        let a = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params arena"),
            size: size.next_power_of_two(),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        *arena = Some(a.clone());
        a
    }

    /// Notes that the arena is about to hold the parameter bytes tagged `tag` (a recorder's id
    /// and byte count); true if they must be written, false if the arena holds them already.
    pub fn needs_arena_write(&self, tag: (u64, usize)) -> bool {
        let mut t = self.arena_tag.lock().expect("arena tag poisoned");
        t.replace(tag) != Some(tag)
    }

    /// The bind-group cache, emptied first when it has grown past its bound.
    pub fn bind_groups(&self) -> MutexGuard<'_, HashMap<BindKey, wgpu::BindGroup>> {
        let mut b = self.binds.lock().expect("bind cache poisoned");
        if b.len() > MAX_BIND_GROUPS {
            b.clear();
        }
        b
    }

    /// Drops every cached bind group (they hold their buffers alive): when a buffer they bind is
    /// replaced by a larger one.
    pub fn clear_bind_groups(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.binds.lock().expect("bind cache poisoned").clear();
        self.plan.lock().expect("plan poisoned").clear();
    }

    /// The last submit's resolved dispatches, for the next submit to reuse and replace.
    pub fn plan(&self) -> MutexGuard<'_, Vec<Planned>> {
        self.plan.lock().expect("plan poisoned")
    }

    /// A STORAGE scratch buffer of at least `size` bytes kept under `label` from step to step, so
    /// the bind groups over it stay valid. Callers within one command buffer may share a label
    /// only where their uses do not overlap (dispatches in a pass are ordered by barriers).
    pub fn scratch(&self, ctx: &super::GpuContext, label: &'static str, size: u64) -> wgpu::Buffer {
        let mut s = self.scratch.lock().expect("scratch poisoned");
        if let Some(b) = s.get(label).filter(|b| b.size() >= size) {
            return b.clone();
        }
        let b = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(4),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if s.insert(label, b.clone()).is_some() {
            // The bind groups over the smaller buffer would keep it alive.
            self.clear_bind_groups();
        }
        b
    }

    /// Counts one dispatch (called by `ops::encode_op`).
    pub fn count_dispatch(&self) {
        self.dispatches.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` dispatches of a step replayed without encoding (`GpuExecutor`'s replay).
    pub fn count_dispatches(&self, n: u64) {
        self.dispatches.fetch_add(n, Ordering::Relaxed);
    }

    /// How many times a bound buffer has been replaced (see `clear_bind_groups`).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Dispatches encoded so far.
    pub fn dispatches(&self) -> u64 {
        self.dispatches.load(Ordering::Relaxed)
    }

    /// The placeholder for an absent optional output binding.
    pub fn placeholder_out(&self, ctx: &super::GpuContext) -> &wgpu::Buffer {
        self.placeholder_out
            .get_or_init(|| super::ops::storage_f32(ctx, "placeholder out", &[0.0; 4]))
    }

    /// The placeholder for an absent optional input binding.
    pub fn placeholder(&self, ctx: &super::GpuContext) -> &wgpu::Buffer {
        self.placeholder
            .get_or_init(|| super::ops::storage_f32(ctx, "placeholder", &[0.0; 4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arena_is_written_unless_it_holds_the_same_recording_already() {
        let p = Pipelines::default();
        assert!(p.needs_arena_write((1, 256)), "an empty arena");
        assert!(!p.needs_arena_write((1, 256)), "the same recording again");
        assert!(
            p.needs_arena_write((2, 256)),
            "another recording of the same size"
        );
        assert!(p.needs_arena_write((1, 256)), "the first one after it");
        assert!(p.needs_arena_write((1, 512)), "the first one, grown");
    }
}
