//! `wgpu-ds bench [-m FILE | --shape v2-lite|v3]`: prefill and decode tokens/s, dispatches and CPU
//! recording time per decode step, GB/s of weight bytes per matvec, and the bandwidth roofline
//! (measured copy bandwidth / active weight bytes per decode token). `--cpu` also times the CPU
//! reference on the same model in the same run; `--profile` times every kernel of a decode step.

use wgpu_ds::bench::profile;
use wgpu_ds::bench::synthetic::{self, Shape, SyntheticSpec};
use wgpu_ds::bench::{
    active_bytes_per_token, copy_bandwidth, kernel_rates, matvec_rates, record_summary, time_steps,
    MatvecRate, KERNEL_SHAPES,
};
use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::gpu::recorder::DispatchTime;
use wgpu_ds::model::{CacheShape, Model};
use wgpu_ds::quant::QuantType;
use wgpu_ds::session::Executor;
use wgpu_ds::{Error, Result};

use super::backend::{Backend, BackendArgs, PrecisionArgs};
use super::ModelArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArg,
    /// Instead of a file: a random-weight model at the real widths of this architecture, built in
    /// memory (no download).
    #[arg(long, value_enum, conflicts_with = "model")]
    pub shape: Option<Shape>,
    /// With --shape: layers (default: the model's own, 27 for V2-Lite, 61 for V3).
    #[arg(long, requires = "shape")]
    pub layers: Option<usize>,
    /// With --shape: routed experts per MoE layer (default: the model's own, 64 or 256).
    #[arg(long, requires = "shape")]
    pub experts: Option<usize>,
    /// With --shape: weight type as for `wgpu-ds convert --type` (output.weight gets Q6_K).
    #[arg(short = 't', long = "type", default_value = "q4_k", requires = "shape")]
    pub ty: String,
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// Prompt tokens for the prefill measurement.
    #[arg(short = 'p', long = "n-prompt", default_value_t = 64)]
    pub n_prompt: usize,
    /// Decode steps to time.
    #[arg(short = 'n', long = "n-gen", default_value_t = 32)]
    pub n_gen: usize,
    /// Also time prefill steps of these sizes (each warmed up once), e.g. `--pp 16,64,256,512`,
    /// and print each against the decode rate.
    #[arg(long = "pp", value_delimiter = ',')]
    pub pp: Vec<usize>,
    /// Repetitions per matvec measurement.
    #[arg(long, default_value_t = 20)]
    pub reps: usize,
    /// Also time the CPU reference on the same model (after the GPU).
    #[arg(long)]
    pub cpu: bool,
    /// Time every kernel of one decode step on the GPU (timestamp queries) and print the time
    /// and weight GB/s per kernel variant.
    #[arg(long)]
    pub profile: bool,
    /// With --shape: write the model to this GGUF file and stop (to load it with -m: `run`,
    /// `check`, memory measurements).
    #[arg(long, requires = "shape")]
    pub save: Option<std::path::PathBuf>,
    /// Instead of a model: the single-token matvec of every block type at V2-Lite's and V3's
    /// decode shapes (random matrices), each as GB/s and % of the copy bandwidth of the same run.
    #[arg(long, conflicts_with_all = ["model", "shape"])]
    pub kernels: bool,
    /// With --kernels: only these types (comma-separated, as for --type).
    #[arg(long, requires = "kernels", value_delimiter = ',')]
    pub types: Vec<String>,
}

/// The synthetic model `--shape` and its options describe.
fn spec(a: &Args, shape: Shape) -> Result<SyntheticSpec> {
    let ty = QuantType::from_name(&a.ty)
        .ok_or_else(|| Error::Usage(format!("--type {}: not a supported type", a.ty)))?;
    Ok(SyntheticSpec {
        shape,
        layers: a.layers,
        experts: a.experts,
        ty,
    })
}

fn save(a: &Args, shape: Shape, path: &std::path::Path) -> Result<()> {
    let (_, bytes) = synthetic::gguf_bytes(&spec(a, shape)?)?;
    std::fs::write(path, &bytes).map_err(|e| Error::io(path, e))?;
    println!(
        "wrote {} ({:.2} GB)",
        path.display(),
        bytes.len() as f64 / 1e9
    );
    Ok(())
}

fn open(a: &Args) -> Result<(Model, String)> {
    let Some(shape) = a.shape else {
        return Ok((a.model.open()?, a.model.display()));
    };
    let spec = spec(a, shape)?;
    let ty = spec.ty;
    let t = std::time::Instant::now();
    let model = synthetic::build(&spec)?;
    let name = format!(
        "synthetic {shape:?} {ty}, {} experts (built in {:.1} s)",
        model.config.n_expert,
        t.elapsed().as_secs_f64()
    );
    Ok((model, name))
}

pub fn run(a: Args) -> Result<()> {
    if a.kernels {
        return kernels(&a);
    }
    if let (Some(path), Some(shape)) = (&a.save, a.shape) {
        return save(&a, shape, path);
    }
    if a.n_prompt == 0 || a.n_gen == 0 {
        return Err(Error::Usage("-p and -n must be at least 1".into()));
    }
    let (model, name) = open(&a)?;
    // One position past the timed steps for the --profile step.
    let n_ctx = a.n_prompt.max(a.pp.iter().copied().max().unwrap_or(0)) + a.n_gen + 1;
    let active = active_bytes_per_token(&model);
    println!(
        "model: {name} ({} layers, {:.2} GB), active weight bytes per decode token: {:.1} MB",
        model.config.n_layer,
        model.file.file_bytes() as f64 / 1e9,
        active as f64 / 1e6
    );
    if a.backend.backend == Backend::Cpu {
        let mut exec = CpuExecutor::new(&model, n_ctx);
        let decode = report_steps("cpu", &mut exec, &a, active, None)?;
        return report_pp("cpu", &mut exec, &a.pp, decode);
    }
    let ctx = a.backend.open_gpu()?;
    let bw = copy_bandwidth(&ctx, (64 << 20).min(ctx.limits.max_buffer_size / 2), 10)?;
    println!("measured copy bandwidth: {:.1} GB/s", bw / 1e9);
    let layer = model
        .config
        .n_layer_dense_lead
        .min(model.config.n_layer - 1);
    println!("\nmatvec (one token), layer {layer} and the output head:");
    println!(
        "  {:<36} {:<6} {:>12} {:>10} {:>8} {:>7}",
        "tensor", "type", "bytes", "µs", "GB/s", "% copy"
    );
    for r in matvec_rates(&model, &ctx, layer, a.reps)? {
        let gbs = r.bytes as f64 / r.seconds;
        println!(
            "  {:<36} {:<6} {:>12} {:>10.1} {:>8.2} {:>6.1}%",
            r.name,
            r.ty,
            r.bytes,
            r.seconds * 1e6,
            gbs / 1e9,
            100.0 * gbs / bw
        );
    }
    let shape = CacheShape::one(n_ctx, a.precision.cache_type());
    let mut exec = super::backend::load_gpu(&model, ctx, shape)?;
    let gpu = report_steps("gpu", &mut exec, &a, active, Some(bw))?;
    // What recording the timed decode steps cost (the last one's counts, taken before the
    // prefill steps of --pp replace them).
    let s = exec.last_step;
    let record = record_summary(&exec.record_log, a.n_gen);
    report_pp("gpu", &mut exec, &a.pp, gpu)?;
    println!(
        "gpu decode step: {} dispatches in {} compute pass(es), {} new bind groups, {}",
        s.dispatches, s.recorded.passes, s.recorded.new_bind_groups, record,
    );
    if a.profile {
        profile_step(&mut exec, a.n_prompt + a.n_gen, bw)?;
        if let Some(&n) = a.pp.iter().max() {
            profile_prefill(&mut exec, n, bw)?;
        }
    }
    drop(exec);
    if a.cpu {
        let mut cpu = CpuExecutor::new(&model, n_ctx);
        let c = report_steps("cpu", &mut cpu, &a, active, None)?;
        report_pp("cpu", &mut cpu, &a.pp, c)?;
        println!("gpu/cpu decode: {:.2}×", gpu / c);
    }
    Ok(())
}

/// One more decode step, each dispatch timed on the GPU; prints the table per kernel variant.
fn profile_step(exec: &mut GpuExecutor, pos: usize, bw: f64) -> Result<()> {
    if !exec.ctx.optional.timestamps {
        println!("\nprofile: this adapter has no timestamp queries");
        return Ok(());
    }
    exec.profile = true;
    let t = std::time::Instant::now();
    exec.step_argmax(&[2], pos)?;
    let wall = t.elapsed().as_secs_f64();
    exec.profile = false;
    print_profile("one decode step", &exec.last_profile, wall, bw);
    Ok(())
}

/// One prefill step of `n` tokens at position 0, each dispatch timed on the GPU; prints the
/// table per kernel variant (`bench --profile --pp ...`: the largest size).
fn profile_prefill(exec: &mut GpuExecutor, n: usize, bw: f64) -> Result<()> {
    let prompt = wgpu_ds::bench::prefill_prompt(exec.config().n_vocab, n);
    exec.profile = true;
    let t = std::time::Instant::now();
    let r = exec.step(&prompt, 0, false);
    let wall = t.elapsed().as_secs_f64();
    exec.profile = false;
    r?;
    print_profile(
        &format!("a {n}-token prefill step"),
        &exec.last_profile,
        wall,
        bw,
    );
    Ok(())
}

/// The per-variant table of a profiled step: time, share and weight GB/s of each kernel key.
fn print_profile(what: &str, times: &[DispatchTime], wall: f64, bw: f64) {
    let kinds = profile::by_kind(times);
    let gpu: f64 = kinds.iter().map(|k| k.seconds).sum();
    println!(
        "\nprofile of {what} ({} dispatches, one pass each): {:.2} ms on the GPU, {:.2} ms wall",
        times.len(),
        gpu * 1e3,
        wall * 1e3
    );
    println!(
        "  {:<22} {:>6} {:>10} {:>7} {:>12} {:>8} {:>7}",
        "kernel", "count", "µs", "share", "weight MB", "GB/s", "% copy"
    );
    for k in &kinds {
        let gbs = k.weight_bytes as f64 / k.seconds.max(1e-12);
        let (mb, rate, pct) = if k.weight_bytes > 0 {
            (
                format!("{:.1}", k.weight_bytes as f64 / 1e6),
                format!("{:.2}", gbs / 1e9),
                format!("{:.1}%", 100.0 * gbs / bw),
            )
        } else {
            ("-".into(), "-".into(), "-".into())
        };
        println!(
            "  {:<22} {:>6} {:>10.1} {:>6.1}% {:>12} {:>8} {:>7}",
            k.key,
            k.count,
            k.seconds * 1e6,
            100.0 * k.seconds / gpu.max(1e-12),
            mb,
            rate,
            pct
        );
    }
}

/// Prints the prefill rate at each size of `pp` against the decode rate `decode` (tok/s).
fn report_pp(label: &str, exec: &mut dyn Executor, pp: &[usize], decode: f64) -> Result<()> {
    for &n in pp {
        let s = wgpu_ds::bench::time_prefill(exec, n)?;
        let rate = n as f64 / s;
        // What the chunk's matrix products streamed from memory, where the executor counts it.
        let bytes = exec.last_weight_bytes().map_or(String::new(), |b| {
            format!(", weights read {:.1} MB", b as f64 / 1e6)
        });
        println!(
            "{label} pp{n}: {:.3} s = {rate:.2} tok/s ({:.1}× decode){bytes}",
            s,
            rate / decode
        );
    }
    Ok(())
}

/// Prints prefill and decode rates; returns decode tok/s.
fn report_steps(
    label: &str,
    exec: &mut dyn Executor,
    a: &Args,
    active: u64,
    bw: Option<f64>,
) -> Result<f64> {
    let t = time_steps(exec, a.n_prompt, a.n_gen)?;
    println!(
        "\n{label} prefill: {} tokens in {:.3} s = {:.2} tok/s",
        t.prefill_tokens,
        t.prefill_s,
        t.prefill_tokens as f64 / t.prefill_s
    );
    let decode = t.decode_tokens as f64 / t.decode_s;
    println!(
        "{label} decode:  {} tokens in {:.3} s = {:.2} tok/s",
        t.decode_tokens, t.decode_s, decode
    );
    if let Some(bw) = bw {
        let roof = bw / active as f64;
        println!(
            "roofline (copy bandwidth / active bytes): {roof:.1} tok/s; decode reaches {:.1}% of it",
            100.0 * decode / roof
        );
    }
    Ok(decode)
}

/// `bench --kernels`: every block type's matvec at the decode shapes, against the copy bandwidth
/// measured before and after the sweep (the table's % uses the faster of the two).
fn kernels(a: &Args) -> Result<()> {
    let types: Vec<QuantType> = if a.types.is_empty() {
        wgpu_ds::quant::SUPPORTED.to_vec()
    } else {
        a.types
            .iter()
            .map(|t| {
                QuantType::from_name(t)
                    .filter(|ty| wgpu_ds::quant::SUPPORTED.contains(ty))
                    .ok_or_else(|| {
                        Error::Usage(format!("--types {t}: not a type the GPU kernels decode"))
                    })
            })
            .collect::<Result<_>>()?
    };
    let ctx = a.backend.open_gpu()?;
    let copy = |ctx: &wgpu_ds::gpu::GpuContext| {
        copy_bandwidth(ctx, (64 << 20).min(ctx.limits.max_buffer_size / 2), 10)
    };
    let bw0 = copy(&ctx)?;
    println!(
        "measured copy bandwidth: {:.1} GB/s (before the sweep)",
        bw0 / 1e9
    );
    println!(
        "  {:<6} {:>13} {:>10} {:>10} {:>8} {:>7}",
        "type", "rows x cols", "MB", "µs", "GB/s", "% copy"
    );
    let row = |r: &MatvecRate, bw: f64| {
        let gbs = r.bytes as f64 / r.seconds;
        format!(
            "  {:<6} {:>13} {:>10.1} {:>10.1} {:>8.2} {:>6.1}%",
            r.ty,
            r.name,
            r.bytes as f64 / 1e6,
            r.seconds * 1e6,
            gbs / 1e9,
            100.0 * gbs / bw
        )
    };
    let rates = kernel_rates(&ctx, &types, KERNEL_SHAPES, a.reps, &mut |r| {
        println!("{}", row(r, bw0))
    })?;
    let bw1 = copy(&ctx)?;
    let bw = bw0.max(bw1);
    println!(
        "measured copy bandwidth: {:.1} GB/s (after the sweep)",
        bw1 / 1e9
    );
    let pct = |r: &MatvecRate| 100.0 * r.bytes as f64 / r.seconds / bw;
    let worst = rates.iter().min_by(|x, y| pct(x).total_cmp(&pct(y)));
    if let Some(w) = worst {
        println!(
            "{} matvecs; the slowest against the faster copy bandwidth ({:.1} GB/s):\n{}",
            rates.len(),
            bw / 1e9,
            row(w, bw)
        );
    }
    Ok(())
}
