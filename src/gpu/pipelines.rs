//! Compute pipelines, built on first use and cached by kernel; the kernel key is the label of the
//! shader module and the pipeline, so validation errors and captures name the variant. Also the
//! one placeholder buffer bound where a kernel's optional input is absent.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::kernels::Kernel;

#[derive(Default)]
pub struct Pipelines {
    cache: Mutex<HashMap<Kernel, wgpu::ComputePipeline>>,
    /// [1] f32, bound as `ids` by matvecs without expert ids (made once, not per dispatch).
    no_ids: OnceLock<wgpu::Buffer>,
}

impl Pipelines {
    pub fn get(&self, device: &wgpu::Device, kernel: Kernel) -> wgpu::ComputePipeline {
        let mut cache = self.cache.lock().expect("pipeline cache poisoned");
        cache
            .entry(kernel)
            .or_insert_with(|| {
                let key = kernel.key();
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&key),
                    source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
                });
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&key),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .clone()
    }

    /// The placeholder for an absent optional input binding.
    pub fn no_ids(&self, ctx: &super::GpuContext) -> &wgpu::Buffer {
        self.no_ids
            .get_or_init(|| super::ops::storage_f32(ctx, "no ids", &[0.0]))
    }
}
