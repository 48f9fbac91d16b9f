//! Records a step's dispatches and copies, then replays them in as few compute passes as the copies
//! allow (one for a decode step). Every dispatch's uniform parameters go into one arena buffer,
//! written with a single `write_buffer` per submit at offsets that are the same from one step to
//! the next (the op list is), so each dispatch's bind group (pipeline, buffers, parameter slot) is
//! made once and found again in [`Pipelines`]'s cache on every later step of the same shape.

use super::context::GpuContext;
use super::kernels::Kernel;
use super::pipelines::{BindKey, Pipelines};

enum Item {
    Dispatch {
        kernel: Kernel,
        /// Bound to bindings 0.. in order; the parameter slot follows them.
        buffers: Vec<wgpu::Buffer>,
        /// Byte offset and size of the parameters in the arena.
        params: (u64, u64),
        groups: (u32, u32, u32),
    },
    Copy {
        src: wgpu::Buffer,
        src_offset: u64,
        dst: wgpu::Buffer,
        dst_offset: u64,
        size: u64,
    },
}

/// What one submit cost to record (for the bench).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub dispatches: usize,
    pub passes: usize,
    /// Bind groups made (not found in the cache).
    pub new_bind_groups: usize,
}

#[derive(Default)]
pub struct Recorder {
    items: Vec<Item>,
    /// Parameters of every dispatch, each at a multiple of the uniform offset alignment.
    params: Vec<u8>,
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
        });
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

    /// Writes the parameter arena and submits everything recorded as one command buffer.
    pub fn submit(self, ctx: &GpuContext, pipes: &Pipelines) -> Recorded {
        let arena = pipes.params_arena(ctx, self.params.len().max(16) as u64);
        let mut binds = pipes.bind_groups();
        let mut out = Recorded::default();
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step"),
            });
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
            // A run of dispatches: one compute pass.
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("step"),
                timestamp_writes: None,
            });
            out.passes += 1;
            while let Some(Item::Dispatch {
                kernel,
                buffers,
                params,
                groups,
            }) = self.items.get(i)
            {
                let pipeline = pipes.get(&ctx.device, *kernel);
                let key = BindKey {
                    kernel: *kernel,
                    buffers: buffers.clone(),
                    params: arena.clone(),
                    offset: params.0,
                };
                let bind = binds.entry(key).or_insert_with(|| {
                    out.new_bind_groups += 1;
                    bind_group(ctx, &pipeline, *kernel, buffers, &arena, *params)
                });
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &*bind, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, groups.2);
                out.dispatches += 1;
                i += 1;
            }
        }
        drop(binds);
        ctx.queue.write_buffer(&arena, 0, &self.params);
        ctx.queue.submit([enc.finish()]);
        out
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
