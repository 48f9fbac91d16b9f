//! The tiled matrix-matrix product of prefill chunks (mul_mm.wgsl) against the CPU's matmul for
//! every block type at real row lengths (V2-Lite 2048 and 1408, V3 7168), with row counts that
//! leave the last row tile partly empty, token counts that are not a multiple of the token tile
//! (and a single token), and a matrix split into row chunks (rows written at their chunk's offset).

mod common;
use common::{assert_close, quantized, with_outliers};

use wgpu_ds::cpu::ops::{matmul, QMatrix};
use wgpu_ds::gpu::mul_mm::encode_mul_mm;
use wgpu_ds::gpu::ops::{read_f32, storage_f32, GpuWeight};
use wgpu_ds::gpu::pipelines::Pipelines;
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::gpu::GpuContext;
use wgpu_ds::quant;

fn check(ctx: &GpuContext, w: &GpuWeight, bytes: &[u8], n_tok: usize, what: &str) {
    let pipes = Pipelines::default();
    let (rows, cols) = (w.rows, w.cols);
    let x = with_outliers(n_tok * cols, (rows + n_tok) as u64);
    let m = QMatrix {
        ty: w.ty,
        bytes,
        rows,
        cols,
    };
    let want = matmul(m, &x, n_tok).unwrap();
    let xb = storage_f32(ctx, "x", &x);
    // NaN to start with: an output the kernel does not write cannot pass.
    let yb = storage_f32(ctx, "y", &vec![f32::NAN; n_tok * rows]);
    let mut enc = Recorder::new();
    encode_mul_mm(ctx, &pipes, &mut enc, w, &xb, &yb, n_tok);
    enc.submit(ctx, &pipes);
    let got = read_f32(ctx, &yb, n_tok * rows).unwrap();
    assert_close(what, &got, &want, 1e-3, 1e-4);
}

#[test]
fn mul_mm_matches_cpu_for_every_type_at_real_row_lengths() {
    let Some(ctx) = common::gpu() else { return };
    for &ty in quant::SUPPORTED {
        let mut cases = vec![(70, 2048, 17), (33, 1408, 16), (65, 7168, 9), (64, 2048, 1)];
        if ty.info().blck_size == 1 {
            cases.push((5, 40, 20)); // a row length that is not a multiple of the step of 32
        }
        cases.retain(|&(_, cols, _)| cols % ty.info().blck_size == 0);
        for (rows, cols, n_tok) in cases {
            let bytes = quantized(ty, rows, cols, (rows * 7 + cols) as u64);
            let w = GpuWeight::upload(&ctx, "w", ty, rows, cols, &bytes).unwrap();
            check(
                &ctx,
                &w,
                &bytes,
                n_tok,
                &format!("mul_mm {ty} {rows}x{cols} T={n_tok}"),
            );
        }
    }
}

#[test]
fn mul_mm_writes_each_row_chunk_at_its_offset() {
    // A binding limit of 64 KiB splits 300 Q8_0 rows of 1024 (1088 bytes each) into chunks of
    // 60 rows (12 tokens of activations stay under the limit).
    let opts = wgpu_ds::gpu::GpuOptions {
        max_binding: Some(64 << 10),
        ..Default::default()
    };
    let Some(small) = common::gpu_with(opts) else {
        return;
    };
    let ty = quant::QuantType::Q8_0;
    let (rows, cols) = (300, 1024);
    let bytes = quantized(ty, rows, cols, 5);
    let w = GpuWeight::upload(&small, "w", ty, rows, cols, &bytes).unwrap();
    assert!(w.chunks.len() > 1, "{} chunks", w.chunks.len());
    check(&small, &w, &bytes, 12, "mul_mm over row chunks");
}

/// A prefill step with its plain MatMuls as mul_mm (forced on, whatever the adapter's default)
/// gives the CPU reference's logits at every position, on V2-Lite and V3 architectures.
#[test]
fn a_prefill_step_through_mul_mm_matches_the_cpu() {
    use wgpu_ds::cpu::CpuExecutor;
    use wgpu_ds::gpu::executor::GpuExecutor;
    use wgpu_ds::session::Executor;
    for stem in [
        "tiny-v2lite-s-Q4_K_M",
        "tiny-v3-k256-Q4_K_M",
        "tiny-v3-s-F32",
    ] {
        let Some(ctx) = common::gpu() else { return };
        let model =
            wgpu_ds::model::Model::open(format!("tests/fixtures/oracle/models/{stem}.gguf"))
                .unwrap();
        let tokens: Vec<u32> = (0..20).map(|i| (i * 37 + 5) % 200).collect();
        let mut gpu = GpuExecutor::new(&model, ctx, 32).unwrap();
        gpu.mul_mm_min = 8;
        let got = gpu.step(&tokens, 0, true).unwrap();
        let want = CpuExecutor::new(&model, 32).step(&tokens, 0, true).unwrap();
        let nmse = common::assert_close(
            &format!("{stem} prefill via mul_mm"),
            &got,
            &want,
            2e-3,
            1e-2,
        )
        .nmse;
        assert!(nmse < 1e-6, "{stem}: NMSE {nmse:e}");
    }
}
