//! `wgpu-ds bench -m FILE`: prefill and decode tokens/s, GB/s of weight bytes per matvec, and the
//! bandwidth roofline (measured copy bandwidth / active weight bytes per decode token).

use wgpu_ds::bench::{active_bytes_per_token, copy_bandwidth, matvec_rates, time_steps};
use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::session::Executor;
use wgpu_ds::Result;

use super::backend::{Backend, BackendArgs};
use super::ModelArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Prompt tokens for the prefill measurement.
    #[arg(short = 'p', long = "n-prompt", default_value_t = 64)]
    pub n_prompt: usize,
    /// Decode steps to time.
    #[arg(short = 'n', long = "n-gen", default_value_t = 32)]
    pub n_gen: usize,
    /// Repetitions per matvec measurement.
    #[arg(long, default_value_t = 20)]
    pub reps: usize,
}

pub fn run(a: Args) -> Result<()> {
    let model = a.model.open()?;
    let n_ctx = a.n_prompt + a.n_gen;
    let active = active_bytes_per_token(&model);
    println!(
        "model: {} ({} layers), active weight bytes per decode token: {:.1} MB",
        a.model.display(),
        model.config.n_layer,
        active as f64 / 1e6
    );
    if a.backend.backend == Backend::Cpu {
        let mut exec = CpuExecutor::new(&model, n_ctx);
        return report_steps(&mut exec, &a, active, None);
    }
    let ctx = a.backend.open_gpu()?;
    let bw = copy_bandwidth(&ctx, (64 << 20).min(ctx.limits.max_buffer_size / 2), 10)?;
    println!("measured copy bandwidth: {:.1} GB/s", bw / 1e9);
    println!(
        "\nmatvec (one token), layer {}:",
        model
            .config
            .n_layer_dense_lead
            .min(model.config.n_layer - 1)
    );
    println!(
        "  {:<36} {:<6} {:>12} {:>10} {:>8}",
        "tensor", "type", "bytes", "µs", "GB/s"
    );
    for r in matvec_rates(
        &model,
        &ctx,
        model
            .config
            .n_layer_dense_lead
            .min(model.config.n_layer - 1),
        a.reps,
    )? {
        println!(
            "  {:<36} {:<6} {:>12} {:>10.1} {:>8.2}",
            r.name,
            r.ty,
            r.bytes,
            r.seconds * 1e6,
            r.bytes as f64 / r.seconds / 1e9
        );
    }
    let mut exec = GpuExecutor::new(&model, ctx, n_ctx)?;
    report_steps(&mut exec, &a, active, Some(bw))
}

fn report_steps(exec: &mut dyn Executor, a: &Args, active: u64, bw: Option<f64>) -> Result<()> {
    let t = time_steps(exec, a.n_prompt, a.n_gen)?;
    println!(
        "\nprefill: {} tokens in {:.3} s = {:.1} tok/s",
        t.prefill_tokens,
        t.prefill_s,
        t.prefill_tokens as f64 / t.prefill_s
    );
    let decode = t.decode_tokens as f64 / t.decode_s;
    println!(
        "decode:  {} tokens in {:.3} s = {:.1} tok/s",
        t.decode_tokens, t.decode_s, decode
    );
    if let Some(bw) = bw {
        let roof = bw / active as f64;
        println!("roofline (copy bandwidth / active bytes): {roof:.1} tok/s; decode reaches {:.1}% of it", 100.0 * decode / roof);
    }
    Ok(())
}
