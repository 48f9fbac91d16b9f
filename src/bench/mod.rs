//! Throughput measurements shared by `wgpu-ds bench` and `benches/`: prefill and decode tokens/s
//! through the real executor, GB/s of weight bytes per matvec, and the bandwidth roofline (the
//! device's measured copy bandwidth over the bytes a decode token must read).

pub mod profile;
pub mod synthetic;

use std::time::Instant;

use crate::error::{Error, Result};
use crate::gpu::ops::{encode_matvec, storage_f32, GpuWeight};
use crate::gpu::pipelines::Pipelines;
use crate::gpu::recorder::Recorder;
use crate::gpu::step_clock::{Phase, RecordTimes};
use crate::gpu::GpuContext;
use crate::model::Model;
use crate::quant::QuantType;
use crate::session::Executor;

pub struct StepTimes {
    pub prefill_tokens: usize,
    pub prefill_s: f64,
    pub decode_tokens: usize,
    pub decode_s: f64,
}

/// Times one prefill of `n_prompt` tokens and `n_decode` single-token steps.
pub fn time_steps(exec: &mut dyn Executor, n_prompt: usize, n_decode: usize) -> Result<StepTimes> {
    let n_vocab = exec.config().n_vocab as u32;
    if n_prompt + n_decode > exec.n_ctx() {
        return Err(Error::Usage(format!(
            "{} tokens exceed the context of {}",
            n_prompt + n_decode,
            exec.n_ctx()
        )));
    }
    let prompt: Vec<u32> = (0..n_prompt as u32)
        .map(|i| (i * 7 + 3) % n_vocab)
        .collect();
    let t0 = Instant::now();
    exec.step(&prompt, 0, false)?;
    let prefill_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    // Greedy decoding: on the GPU only the argmax comes back, as in `wgpu-ds run --temp 0`.
    for i in 0..n_decode {
        exec.step_argmax(&[(i as u32 * 13 + 5) % n_vocab], n_prompt + i)?;
    }
    Ok(StepTimes {
        prefill_tokens: n_prompt,
        prefill_s,
        decode_tokens: n_decode,
        decode_s: t1.elapsed().as_secs_f64(),
    })
}

/// The prompt the prefill measurements run: `n` token ids spread over a vocabulary of `n_vocab`.
pub fn prefill_prompt(n_vocab: usize, n: usize) -> Vec<u32> {
    (0..n as u32)
        .map(|i| (i * 11 + 1) % n_vocab as u32)
        .collect()
}

/// Seconds one prefill step of `n` tokens at position 0 takes, after one untimed step of the same
/// shape (which makes its pipelines, buffers and bind groups).
pub fn time_prefill(exec: &mut dyn Executor, n: usize) -> Result<f64> {
    let n_vocab = exec.config().n_vocab;
    if n == 0 || n > exec.n_ctx() {
        return Err(Error::Usage(format!(
            "a prefill of {n} tokens in a context of {}",
            exec.n_ctx()
        )));
    }
    let prompt = prefill_prompt(n_vocab, n);
    exec.step(&prompt, 0, false)?;
    let t = Instant::now();
    exec.step(&prompt, 0, false)?;
    Ok(t.elapsed().as_secs_f64())
}

/// The fastest and the median of one measure (`of`) over the last `n` entries of a recording log
/// (`GpuExecutor::record_log`), in seconds.
pub fn record_spread(
    log: &[RecordTimes],
    n: usize,
    of: impl Fn(&RecordTimes) -> f64,
) -> (f64, f64) {
    let mut last: Vec<f64> = log[log.len().saturating_sub(n)..].iter().map(of).collect();
    if last.is_empty() {
        return (0.0, 0.0);
    }
    last.sort_by(f64::total_cmp);
    (last[0], last[last.len() / 2])
}

/// Weight bytes one decode token reads: every tensor except the embedding table (one row), with
/// routed experts counted for the used fraction only.
pub fn active_bytes_per_token(model: &Model) -> u64 {
    let c = &model.config;
    model
        .weights
        .tensors
        .iter()
        .enumerate()
        .map(|(id, w)| {
            let bytes = model.weight_bytes(id).len() as u64;
            if id == model.weights.token_embd && id != model.weights.output {
                bytes / w.ne[1] as u64
            } else if w.name.contains("_exps") {
                bytes * c.n_expert_used as u64 / c.n_expert.max(1) as u64
            } else {
                bytes
            }
        })
        .sum()
}

fn wait(ctx: &GpuContext) -> Result<()> {
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(|_| ())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))
}

/// Copy bandwidth in bytes/s (read + write) over a buffer of `bytes`: the practical roofline,
/// the fastest of three batches of `reps` copies.
pub fn copy_bandwidth(ctx: &GpuContext, bytes: u64, reps: usize) -> Result<f64> {
    let make = |label| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let (a, b) = (make("bw src"), make("bw dst"));
    let run = |n: usize| -> Result<f64> {
        let t = Instant::now();
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        for _ in 0..n {
            enc.copy_buffer_to_buffer(&a, 0, &b, 0, bytes);
        }
        ctx.queue.submit([enc.finish()]);
        wait(ctx)?;
        Ok(t.elapsed().as_secs_f64())
    };
    run(1)?; // warm-up
             // The fastest of three, as for the matvecs: other load on the machine only slows a run.
    let best = run(reps)?.min(run(reps)?).min(run(reps)?);
    Ok(2.0 * bytes as f64 * reps as f64 / best)
}

pub struct MatvecRate {
    pub name: String,
    pub ty: String,
    pub bytes: u64,
    pub seconds: f64,
}

/// Times single-token matvecs of every 2-D weight of layer `layer` and the output head (see
/// [`time_matvec`]).
pub fn matvec_rates(
    model: &Model,
    ctx: &GpuContext,
    layer: usize,
    reps: usize,
) -> Result<Vec<MatvecRate>> {
    let pipes = Pipelines::for_adapter(ctx);
    let prefix = format!("blk.{layer}.");
    let mut out = Vec::new();
    for (id, w) in model.weights.tensors.iter().enumerate() {
        if w.ne.len() != 2 || !(w.name.starts_with(&prefix) || id == model.weights.output) {
            continue;
        }
        let bytes = model.weight_bytes(id);
        let copies = cold_copies(bytes.len(), || {
            GpuWeight::upload(ctx, &w.name, w.ty, w.ne[1], w.ne[0], bytes)
        })?;
        out.push(MatvecRate {
            name: w.name.clone(),
            ty: w.ty.name().into(),
            bytes: bytes.len() as u64,
            seconds: time_matvec(ctx, &pipes, &copies, reps)?,
        });
    }
    Ok(out)
}

/// Bytes of distinct weights a timed matvec cycles through: more than the last-level cache of
/// the CPUs lavapipe runs on (32 MiB here) and of GPUs (50 MiB on an H100, up to 128 MiB of
/// Infinity Cache on AMD), so each dispatch streams its matrix from memory as a decode step
/// does (a decode token reads every weight once), not from a cache warmed by the previous
/// repetition.
pub const COLD_BYTES: usize = 256 << 20;

/// Copies of a matrix of `bytes` bytes made by `upload`, enough that together they span
/// [`COLD_BYTES`] (at least one, at most 256).
pub fn cold_copies(bytes: usize, upload: impl Fn() -> Result<GpuWeight>) -> Result<Vec<GpuWeight>> {
    let n = COLD_BYTES.div_ceil(bytes.max(1)).clamp(1, 256);
    (0..n).map(|_| upload()).collect()
}

/// Seconds per single-token matvec of a matrix, timed over `copies` of it (each dispatch takes
/// the next copy, so the weights come from memory, not a warm cache: [`cold_copies`]): batches
/// of at least `reps` dispatches in one submit, grown until a batch takes 0.2 s (so submit and
/// wait overheads and timer noise stay small against the kernels), the fastest of three batches.
pub fn time_matvec(
    ctx: &GpuContext,
    pipes: &Pipelines,
    copies: &[GpuWeight],
    reps: usize,
) -> Result<f64> {
    let gw = &copies[0];
    let x = storage_f32(ctx, "x", &vec![0.5; gw.cols]);
    let y = storage_f32(ctx, "y", &vec![0.0; gw.rows]);
    let run = |n: usize| -> Result<f64> {
        let t = Instant::now();
        let mut enc = Recorder::new();
        for i in 0..n {
            encode_matvec(ctx, pipes, &mut enc, &copies[i % copies.len()], &x, &y, 1);
        }
        enc.submit(ctx, pipes);
        wait(ctx)?;
        Ok(t.elapsed().as_secs_f64())
    };
    let mut n = reps.max(1);
    let mut t = run(n)?; // also the pipeline build and warm-up
    while t < 0.2 && n < 1 << 16 {
        n = (n * 2)
            .max((n as f64 * 0.25 / t.max(1e-6)) as usize)
            .min(1 << 16);
        t = run(n)?;
    }
    let mut best = t;
    for _ in 0..2 {
        best = best.min(run(n)?);
    }
    ctx.take_error("timing a matvec")?;
    // The cached bind groups hold the copies alive; the sweep times hundreds of matrices.
    pipes.clear_bind_groups();
    Ok(best / n as f64)
}

/// The matrix shapes (rows, cols, what they are) of DeepSeek-V2-Lite's and V3's decode matvecs
/// that `bench --kernels` times for every block type.
pub const KERNEL_SHAPES: &[(usize, usize, &str)] = &[
    (2048, 2048, "V2-Lite attn_output"),
    (576, 2048, "V2-Lite attn_kv_a_mqa"),
    (1408, 2048, "V2-Lite expert gate or up"),
    (2048, 1408, "V2-Lite expert down"),
    (10944, 2048, "V2-Lite dense FFN gate or up"),
    (102400, 2048, "V2-Lite output"),
    (7168, 7168, "V3 width, square"),
    (2048, 7168, "V3 expert gate or up"),
    (7168, 2048, "V3 expert down"),
    (129280, 7168, "V3 output"),
];

/// Single-token matvec rates of a random `rows` × `cols` matrix of every type in `types` at every
/// shape of `shapes` ([`KERNEL_SHAPES`]), skipping shapes whose rows are not whole blocks of the
/// type; `each` sees every rate as soon as it is measured.
pub fn kernel_rates(
    ctx: &GpuContext,
    types: &[QuantType],
    shapes: &[(usize, usize, &str)],
    reps: usize,
    each: &mut dyn FnMut(&MatvecRate),
) -> Result<Vec<MatvecRate>> {
    let pipes = Pipelines::for_adapter(ctx);
    let mut out = Vec::new();
    for &ty in types {
        for &(rows, cols, _) in shapes {
            if !cols.is_multiple_of(ty.info().blck_size) {
                continue;
            }
            let bytes = synthetic::matrix_bytes(rows, cols, ty, (rows * 31 + cols) as u64)?;
            let name = format!("{rows}x{cols}");
            let copies = cold_copies(bytes.len(), || {
                GpuWeight::upload(ctx, &name, ty, rows, cols, &bytes)
            })?;
            let rate = MatvecRate {
                name,
                ty: ty.name().into(),
                bytes: bytes.len() as u64,
                seconds: time_matvec(ctx, &pipes, &copies, reps)?,
            };
            each(&rate);
            out.push(rate);
        }
    }
    Ok(out)
}

/// One line on what recording a decode step costs: the median CPU and wall time over the last
/// `n` steps, and the median CPU time of each phase.
pub fn record_summary(log: &[RecordTimes], n: usize) -> String {
    let ms = |of: &dyn Fn(&RecordTimes) -> f64| record_spread(log, n, of).1 * 1e3;
    let (fastest, cpu) = record_spread(log, n, |t| t.cpu_s);
    let last = &log[log.len().saturating_sub(n)..];
    let replayed = last.iter().filter(|t| t.replayed).count();
    format!(
        "{:.2} ms of CPU to record and submit (median of {} steps, {replayed} replayed; fastest {:.2} ms; wall {:.2} ms): prepare {:.2}, ops {:.2}, encode {:.2}, submit {:.2}",
        cpu * 1e3,
        last.len(),
        fastest * 1e3,
        ms(&|t| t.wall_s),
        ms(&|t| t.phase(Phase::Prepare)),
        ms(&|t| t.phase(Phase::Ops)),
        ms(&|t| t.phase(Phase::Encode)),
        ms(&|t| t.phase(Phase::Submit)),
    )
}
