//! `--backend` and `--adapter`, shared by run, check and bench.

use wgpu_ds::gpu::{GpuContext, GpuOptions};
use wgpu_ds::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The best GPU backend available (WGPU_BACKEND overrides).
    Auto,
    Vulkan,
    Metal,
    Dx12,
    Gl,
    /// The f32 reference implementation on the CPU.
    Cpu,
}

#[derive(clap::Args, Clone)]
pub struct BackendArgs {
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Adapter index from `wgpu-ds devices`.
    #[arg(long)]
    pub adapter: Option<usize>,
}

impl BackendArgs {
    pub fn options(&self) -> GpuOptions {
        let backends = match self.backend {
            Backend::Auto | Backend::Cpu => None,
            Backend::Vulkan => Some(wgpu::Backends::VULKAN),
            Backend::Metal => Some(wgpu::Backends::METAL),
            Backend::Dx12 => Some(wgpu::Backends::DX12),
            Backend::Gl => Some(wgpu::Backends::GL),
        };
        GpuOptions {
            backends,
            adapter: self.adapter,
            ..Default::default()
        }
    }

    /// Opens the GPU and says which one, once, on stderr.
    pub fn open_gpu(&self) -> Result<GpuContext> {
        let ctx = GpuContext::new_blocking(&self.options())?;
        eprintln!("GPU: {}", wgpu_ds::gpu::context::describe(&ctx.info));
        Ok(ctx)
    }
}
