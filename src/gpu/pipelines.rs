//! Compute pipelines, built on first use and cached by kernel; the kernel key is the label of the
//! shader module and the pipeline, so validation errors and captures name the variant. Also the
//! one placeholder buffer bound where a kernel's optional input is absent, and the per-adapter
//! values of the kernels' pipeline-overridable constants.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::kernels::{Kernel, Reduce};

/// Workgroup shape of the multi-row matvec (`override WG`, `override NR` in shaders/matvec.wgsl).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatVecShape {
    /// Invocations per workgroup: a power of two, at least 16.
    pub wg: u32,
    /// Rows per workgroup, 1 ..= 8.
    pub nr: u32,
    /// Sum partials with subgroupAdd (adapters with subgroups) or a workgroup tree.
    pub reduce: Reduce,
}

impl Default for MatVecShape {
    fn default() -> Self {
        MatVecShape {
            wg: 64,
            nr: 4,
            reduce: Reduce::Workgroup,
        }
    }
}

impl MatVecShape {
    /// The shape for an adapter: subgroup reductions where it has them; 64 invocations × 4 rows
    /// on GPUs, 16 × 8 on CPU adapters (lavapipe runs a workgroup on one core, so fewer, fuller
    /// workgroups measure faster there: decode 2.0–2.4 tok/s against 1.4–1.5 with 64 × 4 on the
    /// 2-layer V2-Lite bench). `WGPU_DS_MATVEC=WG,NR` overrides the workgroup shape (for
    /// measuring other shapes with `wgpu-ds bench`).
    pub fn for_adapter(ctx: &super::GpuContext) -> MatVecShape {
        let cpu = ctx.info.device_type == wgpu::DeviceType::Cpu;
        let mut shape = MatVecShape {
            wg: if cpu { 16 } else { 64 },
            nr: if cpu { 8 } else { 4 },
            reduce: if ctx.optional.subgroups {
                Reduce::Subgroup
            } else {
                Reduce::Workgroup
            },
        };
        if let Ok(v) = std::env::var("WGPU_DS_MATVEC") {
            let parts: Vec<u32> = v.split(',').filter_map(|p| p.trim().parse().ok()).collect();
            if let [wg, nr] = parts[..] {
                if wg.is_power_of_two() && (16..=1024).contains(&wg) && (1..=8).contains(&nr) {
                    shape.wg = wg;
                    shape.nr = nr;
                } else {
                    log::warn!("WGPU_DS_MATVEC={v} ignored: WG must be a power of two in 16..=1024, NR in 1..=8");
                }
            }
        }
        shape
    }
}

pub struct Pipelines {
    cache: Mutex<HashMap<Kernel, wgpu::ComputePipeline>>,
    /// [1] f32, bound as `ids` by matvecs without expert ids (made once, not per dispatch).
    no_ids: OnceLock<wgpu::Buffer>,
    pub matvec: MatVecShape,
    /// Dispatches encoded through these pipelines so far (the bench reports them per step).
    dispatches: AtomicU64,
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
            no_ids: OnceLock::new(),
            matvec,
            dispatches: AtomicU64::new(0),
        }
    }

    /// Pipelines for the adapter of `ctx` (its matvec shape and reduction).
    pub fn for_adapter(ctx: &super::GpuContext) -> Pipelines {
        Pipelines::new(MatVecShape::for_adapter(ctx))
    }

    /// Values of the pipeline-overridable constants of `kernel`.
    fn constants(&self, kernel: Kernel) -> Vec<(&'static str, f64)> {
        match kernel {
            Kernel::MatVec(..) => vec![
                ("WG", self.matvec.wg as f64),
                ("NR", self.matvec.nr as f64),
            ],
            _ => vec![],
        }
    }

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
                let constants = self.constants(kernel);
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&key),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        ..Default::default()
                    },
                    cache: None,
                })
            })
            .clone()
    }

    /// Counts one dispatch (called by `ops::encode_op`).
    pub fn count_dispatch(&self) {
        self.dispatches.fetch_add(1, Ordering::Relaxed);
    }

    /// Dispatches encoded so far.
    pub fn dispatches(&self) -> u64 {
        self.dispatches.load(Ordering::Relaxed)
    }

    /// The placeholder for an absent optional input binding.
    pub fn no_ids(&self, ctx: &super::GpuContext) -> &wgpu::Buffer {
        self.no_ids
            .get_or_init(|| super::ops::storage_f32(ctx, "no ids", &[0.0]))
    }
}
