//! `cargo bench`: prefill and decode tokens/s of a test model on the CPU reference and on the
//! default GPU adapter, and the decode roofline. `wgpu-ds bench -m MODEL` does the same for any
//! model with per-matvec GB/s.

use std::path::Path;

use wgpu_ds::bench::{active_bytes_per_token, copy_bandwidth, time_steps};
use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::gpu::{GpuContext, GpuOptions};
use wgpu_ds::model::Model;

fn main() {
    let path = std::env::var("WGPU_DS_BENCH_MODEL").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/oracle/models/tiny-v3-k256-Q4_K_M.gguf")
            .to_string_lossy()
            .into_owned()
    });
    let model = Model::open(&path).expect("model");
    let (n_prompt, n_gen) = (64, 32);
    let active = active_bytes_per_token(&model);
    println!(
        "{path}: {:.2} MB of weights per decode token",
        active as f64 / 1e6
    );

    let mut cpu = CpuExecutor::new(&model, n_prompt + n_gen);
    let t = time_steps(&mut cpu, n_prompt, n_gen).expect("cpu");
    println!(
        "cpu  prefill {:>8.1} tok/s  decode {:>8.1} tok/s",
        n_prompt as f64 / t.prefill_s,
        n_gen as f64 / t.decode_s
    );

    match GpuContext::new_blocking(&GpuOptions::default()) {
        Err(e) => println!("gpu  skipped: {e}"),
        Ok(ctx) => {
            let bw = copy_bandwidth(&ctx, (64 << 20).min(ctx.limits.max_buffer_size / 2), 10)
                .expect("bandwidth");
            let name = wgpu_ds::gpu::context::describe(&ctx.info);
            let mut gpu = GpuExecutor::new(&model, ctx, n_prompt + n_gen).expect("gpu executor");
            let t = time_steps(&mut gpu, n_prompt, n_gen).expect("gpu");
            let decode = n_gen as f64 / t.decode_s;
            println!(
                "gpu  prefill {:>8.1} tok/s  decode {:>8.1} tok/s  ({name})",
                n_prompt as f64 / t.prefill_s,
                decode
            );
            println!(
                "     copy bandwidth {:.1} GB/s, roofline {:.0} tok/s",
                bw / 1e9,
                bw / active as f64
            );
        }
    }
}
