//! `--backend` and `--adapter`, shared by run, chat, check and bench; `--precision` and `--cache-type`.

use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::gpu::{GpuContext, GpuOptions};
use wgpu_ds::model::{CacheShape, CacheType, Model, Precision};
use wgpu_ds::session::Executor;
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

/// `--precision` and `--cache-type`: the numerics a run may trade for speed.
#[derive(clap::Args, Clone, Copy)]
pub struct PrecisionArgs {
    /// fast: the defaults that trade exactness for speed (the f16 latent cache); exact: every
    /// such path off (the f32 cache), meeting the f32 tier against the CPU reference.
    #[arg(long, value_enum, default_value_t = Precision::Fast)]
    pub precision: Precision,
    /// Latent cache element type (default f16 with --precision fast; always f32 with exact).
    /// f16 halves the cache's memory and the bytes attention reads per position.
    #[arg(long, value_enum)]
    pub cache_type: Option<CacheType>,
}

impl PrecisionArgs {
    pub fn cache_type(&self) -> CacheType {
        if self.precision == Precision::Exact && self.cache_type == Some(CacheType::F16) {
            log::warn!("--precision exact keeps the latent cache in f32; --cache-type f16 ignored");
        }
        self.precision.cache_type(self.cache_type)
    }
}

/// The executor `run`, `chat` and `serve` generate with, its latent cache `n_slots` sequences of
/// `n_ctx` positions: the CPU reference (`--backend cpu`, f32 cache), or the GPU with the cache
/// type of `precision`.
pub fn executor<'m>(
    backend: &BackendArgs,
    precision: &PrecisionArgs,
    model: &'m Model,
    n_ctx: usize,
    n_slots: usize,
) -> Result<Box<dyn Executor + 'm>> {
    Ok(match backend.backend {
        Backend::Cpu => Box::new(CpuExecutor::with_slots(
            model,
            n_ctx,
            n_slots,
            CacheType::F32,
        )),
        _ => {
            let shape = CacheShape {
                n_ctx,
                n_slots,
                ty: precision.cache_type(),
            };
            Box::new(load_gpu(model, backend.open_gpu()?, shape)?)
        }
    })
}

/// Uploads `model` to the GPU with a latent cache of `shape`, showing the progress on a terminal
/// and the time it took.
pub fn load_gpu<'m>(
    model: &'m Model,
    ctx: wgpu_ds::gpu::GpuContext,
    shape: CacheShape,
) -> Result<GpuExecutor<'m>> {
    use std::io::{IsTerminal, Write};
    let chunk = wgpu_ds::session::GenerateOptions::default().prefill_chunk;
    let plan = wgpu_ds::gpu::memory_plan::memory_plan(model, shape, chunk);
    eprintln!("GPU memory: {plan}");
    let t = std::time::Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut shown = 0;
    let mut total = 0;
    let mut show = |p: wgpu_ds::gpu::executor::LoadProgress| {
        total = p.total;
        let pct = (100 * p.done).checked_div(p.total).unwrap_or(100);
        if tty && pct > shown {
            shown = pct;
            eprint!(
                "\rloading weights: {pct:3}% of {:.1} MB",
                p.total as f64 / 1e6
            );
            let _ = std::io::stderr().flush();
        }
    };
    let exec = GpuExecutor::load(model, ctx, shape, &mut show)?;
    if tty {
        // Back to the start of the line, erased.
        eprint!("\r\x1b[2K");
    }
    eprintln!(
        "loaded {:.1} MB of weights in {:.1} s",
        total as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    Ok(exec)
}
