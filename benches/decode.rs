//! `cargo bench`: prefill and greedy-decode tokens/s on the CPU reference and on the default GPU
//! adapter, the decode roofline, and dispatches and CPU recording time per decode step. The model
//! is `WGPU_DS_BENCH_MODEL` when set, else the random-weight V2-Lite-width model of
//! `wgpu-ds bench --shape v2-lite --layers 4 --experts 8` (Q4_K). `wgpu-ds bench` adds per-matvec
//! GB/s.

use wgpu_ds::bench::synthetic::{self, Shape, SyntheticSpec};
use wgpu_ds::bench::{active_bytes_per_token, copy_bandwidth, time_steps};
use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::gpu::{GpuContext, GpuOptions};
use wgpu_ds::model::Model;
use wgpu_ds::quant::QuantType;

fn main() {
    let (model, name) = match std::env::var("WGPU_DS_BENCH_MODEL") {
        Ok(path) => (Model::open(&path).expect("model"), path),
        Err(_) => {
            let spec = SyntheticSpec {
                shape: Shape::V2Lite,
                layers: Some(4),
                experts: Some(8),
                ty: QuantType::Q4K,
            };
            let m = synthetic::build(&spec).expect("synthetic model");
            (
                m,
                "synthetic V2-Lite widths, 4 layers, 8 experts, Q4_K".into(),
            )
        }
    };
    let (n_prompt, n_gen) = (8, 8);
    let active = active_bytes_per_token(&model);
    println!(
        "{name}: {:.1} MB of weights per decode token",
        active as f64 / 1e6
    );

    let mut cpu = CpuExecutor::new(&model, n_prompt + n_gen);
    let t = time_steps(&mut cpu, n_prompt, n_gen).expect("cpu");
    let cpu_decode = n_gen as f64 / t.decode_s;
    println!(
        "cpu  prefill {:>8.2} tok/s  decode {:>8.2} tok/s",
        n_prompt as f64 / t.prefill_s,
        cpu_decode
    );

    match GpuContext::new_blocking(&GpuOptions::default()) {
        Err(e) => println!("gpu  skipped: {e}"),
        Ok(ctx) => {
            let bw = copy_bandwidth(&ctx, (64 << 20).min(ctx.limits.max_buffer_size / 2), 10)
                .expect("bandwidth");
            let adapter = wgpu_ds::gpu::context::describe(&ctx.info);
            // The CLI's default numerics (--precision fast: the f16 latent cache).
            let cache = wgpu_ds::model::Precision::Fast.cache_type(None);
            let mut gpu = GpuExecutor::with_cache(&model, ctx, n_prompt + n_gen, cache)
                .expect("gpu executor");
            let t = time_steps(&mut gpu, n_prompt, n_gen).expect("gpu");
            let decode = n_gen as f64 / t.decode_s;
            println!(
                "gpu  prefill {:>8.2} tok/s  decode {:>8.2} tok/s  ({adapter})",
                n_prompt as f64 / t.prefill_s,
                decode
            );
            let s = gpu.last_step;
            println!(
                "     copy bandwidth {:.1} GB/s, roofline {:.0} tok/s ({:.1}% reached), gpu/cpu decode {:.2}×",
                bw / 1e9,
                bw / active as f64,
                100.0 * decode * active as f64 / bw,
                decode / cpu_decode
            );
            println!(
                "     decode step: {} dispatches, {}",
                s.dispatches,
                wgpu_ds::bench::record_summary(&gpu.record_log, n_gen)
            );
        }
    }
}
