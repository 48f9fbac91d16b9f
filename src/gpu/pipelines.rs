//! Compute pipelines, built on first use and cached by kernel; the kernel key is the label of the
//! shader module and the pipeline, so validation errors and captures name the variant.

use std::collections::HashMap;
use std::sync::Mutex;

use super::kernels::Kernel;

#[derive(Default)]
pub struct Pipelines {
    cache: Mutex<HashMap<Kernel, wgpu::ComputePipeline>>,
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
}
