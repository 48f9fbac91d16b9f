//! Records a step's dispatches and copies, then replays them in as few compute passes as the copies
//! allow (one for a decode step). Every dispatch's uniform parameters go into one arena buffer,
//! written with a single `write_buffer` per submit at offsets that are the same from one step to
//! the next (the op list is), so each dispatch's bind group (pipeline, buffers, parameter slot) is
//! made once and found again in [`Pipelines`]'s cache on every later step of the same shape.
//! A profiled submit (`bench --profile`) puts every dispatch in a pass of its own with timestamp
//! queries around it and returns the GPU time of each.

use super::context::GpuContext;
use super::kernels::Kernel;
use super::pipelines::{BindKey, Pipelines, Planned};
use super::step_clock::{Phase, StepClock};
#[cfg(feature = "native")]
use crate::error::{Error, Result};
use std::collections::HashMap;

enum Item {
    Dispatch {
        kernel: Kernel,
        /// Bound to bindings 0.. in order; the parameter slot follows them.
        buffers: Vec<wgpu::Buffer>,
        /// Byte offset and size of the parameters in the arena.
        params: (u64, u64),
        groups: (u32, u32, u32),
        /// Weight bytes the dispatch reads (matvecs; 0 where not noted), for profiles.
        weight_bytes: u64,
    },
    Copy {
        src: wgpu::Buffer,
        src_offset: u64,
        dst: wgpu::Buffer,
        dst_offset: u64,
        size: u64,
    },
}

/// What one submit recorded (`GpuExecutor::last_step`; the bench prints it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub dispatches: usize,
    pub passes: usize,
    /// Bind groups made (not found in the cache).
    pub new_bind_groups: usize,
    /// Weight bytes the dispatches read from memory, as the encoders note them (matvecs,
    /// mul_mm): what a step's matrix products stream.
    pub weight_bytes: u64,
}

pub struct Recorder {
    items: Vec<Item>,
    /// Parameters of every dispatch, each at a multiple of the uniform offset alignment.
    params: Vec<u8>,
    /// Unique per recorder: with the length of `params` (which only grows) it names the bytes
    /// a submit leaves in the arena, so a replayed recording whose bytes are still there does
    /// not write them again (`Pipelines::needs_arena_write`).
    id: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Recorder {
            items: Vec::new(),
            params: Vec::new(),
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Appends one dispatch of `kernel` over `buffers` with uniform `params`.
    pub fn dispatch<T: bytemuck::Pod>(
        &mut self,
        ctx: &GpuContext,
        kernel: Kernel,
        params: &T,
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32, u32),
    ) {
        let align = ctx.limits.min_uniform_buffer_offset_alignment.max(16) as usize;
        let offset = self.params.len().div_ceil(align) * align;
        let bytes = bytemuck::bytes_of(params);
        self.params.resize(offset, 0);
        self.params.extend_from_slice(bytes);
        self.items.push(Item::Dispatch {
            kernel,
            buffers: buffers.iter().map(|b| (*b).clone()).collect(),
            params: (offset as u64, bytes.len() as u64),
            groups,
            weight_bytes: 0,
        });
    }

    /// Notes the weight bytes the last dispatch reads (shown by profiles as GB/s).
    pub fn note_weight_bytes(&mut self, bytes: u64) {
        if let Some(Item::Dispatch { weight_bytes, .. }) = self.items.last_mut() {
            *weight_bytes = bytes;
        }
    }

    /// Appends a buffer copy (it ends the compute pass before it).
    pub fn copy(
        &mut self,
        src: &wgpu::Buffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        size: u64,
    ) {
        self.items.push(Item::Copy {
            src: src.clone(),
            src_offset,
            dst: dst.clone(),
            dst_offset,
            size,
        });
    }

    /// Dispatches recorded.
    pub fn n_dispatches(&self) -> usize {
        self.items
            .iter()
            .filter(|it| matches!(it, Item::Dispatch { .. }))
            .count()
    }

    /// Writes the parameter arena and submits everything recorded as one command buffer.
    pub fn submit(&self, ctx: &GpuContext, pipes: &Pipelines) -> Recorded {
        self.submit_timed(ctx, pipes, &mut StepClock::start())
    }

    /// As `submit`, lapping `clock` after encoding and after the submit.
    pub fn submit_timed(
        &self,
        ctx: &GpuContext,
        pipes: &Pipelines,
        clock: &mut StepClock,
    ) -> Recorded {
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        let out = self.record(ctx, pipes, &mut enc, None);
        let commands = enc.finish();
        clock.lap(Phase::Encode);
        ctx.queue.submit([commands]);
        clock.lap(Phase::Submit);
        out
    }

    /// As `submit`, with every dispatch in a pass of its own between two timestamp queries;
    /// waits for the GPU and returns each dispatch's time. Needs the adapter's TIMESTAMP_QUERY.
    #[cfg(feature = "native")]
    pub fn submit_profiled(
        &self,
        ctx: &GpuContext,
        pipes: &Pipelines,
    ) -> Result<Vec<DispatchTime>> {
        let kernels: Vec<(Kernel, u64)> = self.dispatches().collect();
        let n = kernels.len();
        let n_queries = (2 * n).max(2) as u32;
        if n_queries > wgpu::QUERY_SET_MAX_QUERIES {
            return Err(Error::Usage(format!(
                "cannot profile {n} dispatches in one step"
            )));
        }
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count: n_queries,
        });
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile timestamps"),
            size: 8 * n_queries as u64,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        self.record(ctx, pipes, &mut enc, Some(&queries));
        enc.resolve_query_set(&queries, 0..n_queries, &resolved, 0);
        ctx.queue.submit([enc.finish()]);
        // Timestamps are u64 ticks; read them as pairs of f32 words.
        let words = super::ops::read_f32(ctx, &resolved, 2 * n_queries as usize)?;
        let ticks: &[u64] = bytemuck::cast_slice(&words);
        let period = ctx.queue.get_timestamp_period() as f64 * 1e-9;
        Ok(kernels
            .into_iter()
            .enumerate()
            .map(|(i, (kernel, weight_bytes))| DispatchTime {
                kernel,
                seconds: ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period,
                weight_bytes,
            })
            .collect())
    }

    #[cfg(feature = "native")]
    fn dispatches(&self) -> impl Iterator<Item = (Kernel, u64)> + '_ {
        self.items.iter().filter_map(|it| match it {
            Item::Dispatch {
                kernel,
                weight_bytes,
                ..
            } => Some((*kernel, *weight_bytes)),
            Item::Copy { .. } => None,
        })
    }

    /// Encodes every item into `enc` and writes the parameter arena. With `profile`, each
    /// dispatch gets its own pass, timestamped at queries 2i and 2i + 1.
    fn record(
        &self,
        ctx: &GpuContext,
        pipes: &Pipelines,
        enc: &mut wgpu::CommandEncoder,
        profile: Option<&wgpu::QuerySet>,
    ) -> Recorded {
        let arena = pipes.params_arena(ctx, self.params.len().max(16) as u64);
        let mut binds = pipes.bind_groups();
        let mut plan = pipes.plan();
        let mut out = Recorded::default();
        let mut i = 0;
        while i < self.items.len() {
            if let Item::Copy {
                src,
                src_offset,
                dst,
                dst_offset,
                size,
            } = &self.items[i]
            {
                enc.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *size);
                i += 1;
                continue;
            }
            // A run of dispatches: one compute pass (one per dispatch when profiling).
            let timestamp_writes = profile.map(|q| wgpu::ComputePassTimestampWrites {
                query_set: q,
                beginning_of_pass_write_index: Some(2 * out.dispatches as u32),
                end_of_pass_write_index: Some(2 * out.dispatches as u32 + 1),
            });
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("step"),
                timestamp_writes,
            });
            out.passes += 1;
            let first_in_pass = i;
            while let Some(Item::Dispatch {
                kernel,
                buffers,
                params,
                groups,
                weight_bytes,
            }) = self.items.get(i)
            {
                out.weight_bytes += weight_bytes;
                let d = out.dispatches;
                let same = plan.get(d).is_some_and(|p| {
                    p.kernel == *kernel
                        && p.offset == params.0
                        && p.params == arena
                        && p.buffers == *buffers
                });
                if !same {
                    let planned = resolve(
                        ctx, pipes, &mut binds, &mut out, *kernel, buffers, &arena, *params,
                    );
                    if d < plan.len() {
                        plan[d] = planned;
                    } else {
                        plan.push(planned);
                    }
                }
                let p = &plan[d];
                // Consecutive dispatches of one kernel keep the pipeline set.
                if i == first_in_pass || !same_kernel(&plan, d) {
                    pass.set_pipeline(&p.pipeline);
                }
                pass.set_bind_group(0, &p.bind, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, groups.2);
                out.dispatches += 1;
                i += 1;
                if profile.is_some() {
                    break;
                }
            }
        }
        plan.truncate(out.dispatches);
        drop((binds, plan));
        // A replayed recording finds its parameters still in the arena unless another step
        // wrote it since (or the arena was replaced).
        if pipes.needs_arena_write((self.id, self.params.len())) {
            ctx.queue.write_buffer(&arena, 0, &self.params);
        }
        out
    }
}

/// The GPU time of one dispatch of a profiled submit.
#[derive(Clone, Copy, Debug)]
pub struct DispatchTime {
    pub kernel: Kernel,
    pub seconds: f64,
    /// Weight bytes it reads (0 for ops without weights).
    pub weight_bytes: u64,
}

/// Whether dispatch `d` of the plan runs the same kernel as dispatch `d - 1`.
fn same_kernel(plan: &[Planned], d: usize) -> bool {
    d > 0 && plan[d - 1].kernel == plan[d].kernel
}

/// The pipeline and bind group of a dispatch the plan does not hold: from the caches, or made.
// BindKey hashes its buffers by address, which never changes (clippy sees wgpu's interior
// mutability).
#[allow(clippy::too_many_arguments, clippy::mutable_key_type)]
fn resolve(
    ctx: &GpuContext,
    pipes: &Pipelines,
    binds: &mut HashMap<BindKey, wgpu::BindGroup>,
    out: &mut Recorded,
    kernel: Kernel,
    buffers: &[wgpu::Buffer],
    arena: &wgpu::Buffer,
    params: (u64, u64),
) -> Planned {
    let pipeline = pipes.get(&ctx.device, kernel);
    let key = BindKey {
        kernel,
        buffers: buffers.to_vec(),
        params: arena.clone(),
        offset: params.0,
    };
    let bind = binds
        .entry(key)
        .or_insert_with(|| {
            out.new_bind_groups += 1;
            bind_group(ctx, &pipeline, kernel, buffers, arena, params)
        })
        .clone();
    Planned {
        kernel,
        buffers: buffers.to_vec(),
        params: arena.clone(),
        offset: params.0,
        pipeline,
        bind,
    }
}

/// `buffers` at bindings 0.., the parameter slot of the arena after them.
fn bind_group(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    kernel: Kernel,
    buffers: &[wgpu::Buffer],
    arena: &wgpu::Buffer,
    (offset, size): (u64, u64),
) -> wgpu::BindGroup {
    let mut entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    entries.push(wgpu::BindGroupEntry {
        binding: buffers.len() as u32,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: arena,
            offset,
            size: wgpu::BufferSize::new(size),
        }),
    });
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(&kernel.key()),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}
