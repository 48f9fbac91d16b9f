//! GPU kernels against the CPU reference ops, for every quant type and shapes that matter: one
//! block, rows not a multiple of the workgroup, several tokens, V2-Lite and V3 row lengths, and a
//! storage-binding limit small enough to force chunking. Runs on lavapipe in CI (WGPU_BACKEND=vulkan).
//! Without an adapter the tests fail when CI is set and skip with a reason otherwise.

mod common;
use common::{assert_close, quantized, with_outliers};

use wgpu_ds::cpu::ops::{matmul, QMatrix};
use wgpu_ds::gpu::norm::{encode_rms_norm, RmsNorm};
use wgpu_ds::gpu::ops::RowsNorm;
use wgpu_ds::gpu::ops::{
    encode_get_rows, encode_matvec, encode_matvec_slots, read_f32, storage_f32, GpuWeight, Slots,
};
use wgpu_ds::gpu::pipelines::Pipelines;
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::gpu::{GpuContext, GpuOptions};
use wgpu_ds::quant::{self, QuantType};

fn run_matvec(
    ctx: &GpuContext,
    pipes: &Pipelines,
    ty: QuantType,
    rows: usize,
    cols: usize,
    n_tok: usize,
) -> (Vec<f32>, Vec<f32>) {
    let bytes = quantized(ty, rows, cols, (rows * 31 + cols) as u64);
    let x = with_outliers(n_tok * cols, 7);
    let want = matmul(
        QMatrix {
            ty,
            bytes: &bytes,
            rows,
            cols,
        },
        &x,
        n_tok,
    )
    .unwrap();
    let w = GpuWeight::upload(ctx, "w", ty, rows, cols, &bytes).unwrap();
    let xb = storage_f32(ctx, "x", &x);
    let yb = storage_f32(ctx, "y", &vec![0.0; n_tok * rows]);
    let mut enc = Recorder::new();
    encode_matvec(ctx, pipes, &mut enc, &w, &xb, &yb, n_tok);
    enc.submit(ctx, pipes);
    (read_f32(ctx, &yb, n_tok * rows).unwrap(), want)
}

fn block(ty: QuantType) -> usize {
    ty.info().blck_size.max(32)
}

#[test]
fn matvec_matches_cpu_for_every_type_and_shape() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    eprintln!("adapter: {}", wgpu_ds::gpu::context::describe(&ctx.info));
    let pipes = Pipelines::default();
    for &ty in quant::SUPPORTED {
        let b = block(ty);
        // one block; rows not a multiple of the workgroup with several blocks per row; 3 tokens
        for (rows, cols, n_tok) in [(1, b, 1), (67, 3 * b, 1), (5, 2 * b, 3)] {
            let (got, want) = run_matvec(&ctx, &pipes, ty, rows, cols, n_tok);
            assert_close(
                &format!("matvec {ty} {rows}x{cols} T={n_tok}"),
                &got,
                &want,
                1e-4,
                1e-4,
            );
        }
    }
}

#[test]
fn matvec_matches_cpu_at_v2_lite_and_v3_row_lengths() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    let pipes = Pipelines::default();
    // V2-Lite: hidden 2048 (attn_kv_a_mqa rows 576); V3: hidden 7168, expert width 2048.
    for (ty, rows, cols) in [
        (QuantType::Q4K, 576, 2048),
        (QuantType::Q6K, 40, 7168),
        (QuantType::Q8_0, 33, 7168),
        (QuantType::Q5_0, 64, 2048),
    ] {
        let (got, want) = run_matvec(&ctx, &pipes, ty, rows, cols, 1);
        assert_close(
            &format!("matvec {ty} {rows}x{cols}"),
            &got,
            &want,
            1e-3,
            1e-4,
        );
    }
}

#[test]
fn a_tiny_binding_limit_forces_chunks_and_gives_identical_results() {
    let Some(full) = common::gpu() else {
        return;
    };
    let Some(tiny) = common::gpu_with(GpuOptions {
        max_binding: Some(4096),
        ..Default::default()
    }) else {
        return;
    };
    let (pf, pt) = (Pipelines::default(), Pipelines::default());
    for ty in [QuantType::Q4K, QuantType::Q8_0, QuantType::F32] {
        let (rows, cols) = (45, 256);
        let w =
            GpuWeight::upload(&tiny, "w", ty, rows, cols, &quantized(ty, rows, cols, 3)).unwrap();
        assert!(
            w.chunks.len() > 1,
            "{ty}: expected chunks, got {}",
            w.chunks.len()
        );
        let (a, _) = run_matvec(&full, &pf, ty, rows, cols, 2);
        let (b, _) = run_matvec(&tiny, &pt, ty, rows, cols, 2);
        assert_eq!(a, b, "{ty}: chunked result differs");
    }
}

/// With the RMSNorm folded in (`get_rows_norm`), the lookup writes the same rows and their norm,
/// bit-identical to the rms_norm kernel over those rows (the unfused GPU path) and within 1e-6
/// of the CPU's f64-summed norm.
#[test]
fn get_rows_matches_cpu_dequantization_for_every_type_also_over_a_chunked_table() {
    let Some(full) = common::gpu() else {
        return;
    };
    // An 8 KiB binding limit cuts the tables into row chunks (V3's 520 MB token_embd against a
    // 128 MiB limit), with tokens in several chunks (the output, 5 KiB, fits one binding).
    let Some(tiny) = common::gpu_with(GpuOptions {
        max_binding: Some(8192),
        ..Default::default()
    }) else {
        return;
    };
    // Pipelines belong to one device: one set per context.
    let (pf, pt) = (Pipelines::default(), Pipelines::default());
    for &ty in quant::SUPPORTED {
        let (rows, cols) = (200, 256);
        let bytes = quantized(ty, rows, cols, 11);
        let ids = [3u32, 0, 199, 121, 3];
        let mut want = vec![0f32; ids.len() * cols];
        let m = QMatrix {
            ty,
            bytes: &bytes,
            rows,
            cols,
        };
        for (i, &id) in ids.iter().enumerate() {
            m.dequantize_row(id as usize, &mut want[i * cols..(i + 1) * cols])
                .unwrap();
        }
        // A grid i-quant's lookup table starts every chunk: its tiny limit leaves 4 KiB for rows
        // (the grid types' blocks are the smallest, so that still makes three chunks or more).
        let table = quant::iq_grid::grid_bytes(ty).map_or(0, |t| t.len());
        let grid_tiny;
        let grid_pipes = Pipelines::default();
        let (tiny, pt) = if table == 0 {
            (&tiny, &pt)
        } else {
            grid_tiny = common::gpu_with(GpuOptions {
                max_binding: Some(4096 + table as u64),
                ..Default::default()
            })
            .unwrap();
            (&grid_tiny, &grid_pipes)
        };
        for (ctx, pipes) in [(&full, &pf), (tiny, pt)] {
            let w = GpuWeight::upload(ctx, "table", ty, rows, cols, &bytes).unwrap();
            if std::ptr::eq(ctx, tiny) {
                assert!(w.chunks.len() > 2, "{ty}: {} chunks", w.chunks.len());
            }
            let idb = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: (ids.len() * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            ctx.queue.write_buffer(&idb, 0, bytemuck::cast_slice(&ids));
            // Starts as NaN, so a kernel that writes nothing cannot pass.
            let yb2 = storage_f32(ctx, "y2", &vec![f32::NAN; want.len()]);
            let mut enc = Recorder::new();
            encode_get_rows(ctx, pipes, &mut enc, &w, (&idb, &yb2), ids.len(), None).unwrap();
            enc.submit(ctx, pipes);
            let got = read_f32(ctx, &yb2, want.len()).unwrap();
            // Dequantization is exact arithmetic on both sides.
            let what = format!("get_rows {ty} in {} chunks", w.chunks.len());
            assert_close(&what, &got, &want, 0.0, 1e-6);
            rows_norm_case(ctx, pipes, &w, &idb, &want, &what);
        }
    }
}

/// get_rows_norm over `w` against `rows` (the looked-up rows) and the rms_norm kernel over them.
fn rows_norm_case(
    ctx: &GpuContext,
    pipes: &Pipelines,
    w: &GpuWeight,
    idb: &wgpu::Buffer,
    rows: &[f32],
    what: &str,
) {
    let (n_tok, cols, eps) = (rows.len() / w.cols, w.cols, 1e-6);
    let nw: Vec<f32> = (0..cols).map(|c| 1.0 + 0.01 * (c % 7) as f32).collect();
    let nwb = storage_f32(ctx, "norm w", &nw);
    let yb = storage_f32(ctx, "y", &vec![f32::NAN; rows.len()]);
    let xnb = storage_f32(ctx, "xn", &vec![f32::NAN; rows.len()]);
    let unfused = storage_f32(ctx, "xn unfused", &vec![f32::NAN; rows.len()]);
    let norm = RowsNorm {
        w: &nwb,
        xn: &xnb,
        eps,
    };
    let mut enc = Recorder::new();
    encode_get_rows(ctx, pipes, &mut enc, w, (idb, &yb), n_tok, Some(&norm)).unwrap();
    let plain = RmsNorm::plain(&yb, &nwb, &unfused, n_tok, cols, eps);
    encode_rms_norm(ctx, pipes, &mut enc, &plain);
    enc.submit(ctx, pipes);
    let got_rows = read_f32(ctx, &yb, rows.len()).unwrap();
    assert_close(&format!("{what} + norm: rows"), &got_rows, rows, 0.0, 1e-6);
    let got = read_f32(ctx, &xnb, rows.len()).unwrap();
    let want_gpu = read_f32(ctx, &unfused, rows.len()).unwrap();
    let same_bits = got
        .iter()
        .zip(&want_gpu)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(
        same_bits,
        "{what}: folded norm differs from the rms_norm kernel"
    );
    let mut want = vec![0.0; rows.len()];
    wgpu_ds::cpu::ops::rms_norm(rows, &nw, eps, &mut want);
    assert_close(&format!("{what} + norm"), &got, &want, 1e-6, 1e-5);
}

/// CPU twin of a slot matvec: y[s] = W_m(s) · x[row(s)].
fn cpu_slots(
    ty: QuantType,
    bytes: &[u8],
    rows: usize,
    cols: usize,
    x: &[f32],
    mats: &[usize],
    x_rows: &[usize],
) -> Vec<f32> {
    let row_bytes = ty.row_bytes(cols as u64).unwrap() as usize;
    let m = QMatrix {
        ty,
        bytes,
        rows,
        cols,
    };
    mats.iter()
        .zip(x_rows)
        .flat_map(|(&mi, &xi)| {
            matmul(
                QMatrix {
                    bytes: &bytes[mi * rows * row_bytes..(mi + 1) * rows * row_bytes],
                    ..m
                },
                &x[xi * cols..(xi + 1) * cols],
                1,
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn per_head_and_per_expert_matvec_match_cpu_also_when_experts_are_chunked() {
    let Some(full) = common::gpu() else {
        return;
    };
    let Some(tiny) = common::gpu_with(GpuOptions {
        max_binding: Some(32768),
        ..Default::default()
    }) else {
        return;
    };
    for ctx in [&full, &tiny] {
        let pipes = Pipelines::default();
        for ty in [QuantType::Q4K, QuantType::Q8_0, QuantType::F16] {
            let (n_mat, rows, cols, n_tok) = (8, 40, 256, 3);
            let bytes = quantized(ty, n_mat * rows, cols, 5);
            let w = GpuWeight::upload_stack(ctx, "stack", ty, n_mat, rows, cols, &bytes).unwrap();
            assert!(
                std::ptr::eq(ctx, &full) || w.chunks.len() > 1,
                "{ty}: the small limit should split the stack"
            );
            // Heads: slot s = t·8 + h uses matrix h and its own x row.
            let x = with_outliers(n_tok * n_mat * cols, 9);
            let xb = storage_f32(ctx, "x", &x);
            let yb = storage_f32(ctx, "y", &vec![f32::NAN; n_tok * n_mat * rows]);
            let mut enc = Recorder::new();
            let slots = Slots {
                n_slot: n_mat,
                ids: None,
                x_per_slot: true,
                x_stride: None,
                groups: None,
            };
            encode_matvec_slots(ctx, &pipes, &mut enc, &w, &xb, &yb, n_tok, &slots);
            enc.submit(ctx, &pipes);
            let mats: Vec<usize> = (0..n_tok * n_mat).map(|s| s % n_mat).collect();
            let want = cpu_slots(
                ty,
                &bytes,
                rows,
                cols,
                &x,
                &mats,
                &(0..n_tok * n_mat).collect::<Vec<_>>(),
            );
            assert_close(
                &format!("heads {ty} chunks {}", w.chunks.len()),
                &read_f32(ctx, &yb, want.len()).unwrap(),
                &want,
                1e-4,
                1e-4,
            );

            // Experts: 3 chosen per token from ids on the GPU, x shared by the token's slots.
            let ids: Vec<i32> = vec![7, 0, 3, 3, 6, 1, 2, 7, 5];
            let idb = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: 36,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            ctx.queue.write_buffer(&idb, 0, bytemuck::cast_slice(&ids));
            let x = with_outliers(n_tok * cols, 10);
            let xb = storage_f32(ctx, "x", &x);
            let yb = storage_f32(ctx, "y", &vec![f32::NAN; ids.len() * rows]);
            let mut enc = Recorder::new();
            encode_matvec_slots(
                ctx,
                &pipes,
                &mut enc,
                &w,
                &xb,
                &yb,
                n_tok,
                &Slots {
                    n_slot: 3,
                    ids: Some(&idb),
                    x_per_slot: false,
                    x_stride: None,
                    groups: None,
                },
            );
            enc.submit(ctx, &pipes);
            let mats: Vec<usize> = ids.iter().map(|&e| e as usize).collect();
            let want = cpu_slots(
                ty,
                &bytes,
                rows,
                cols,
                &x,
                &mats,
                &(0..ids.len()).map(|s| s / 3).collect::<Vec<_>>(),
            );
            assert_close(
                &format!("experts {ty} chunks {}", w.chunks.len()),
                &read_f32(ctx, &yb, want.len()).unwrap(),
                &want,
                1e-4,
                1e-4,
            );
        }
    }
}

#[test]
fn device_errors_come_back_as_errors_not_panics() {
    let Some(ctx) = common::gpu() else { return };
    assert!(ctx.take_error("nothing").is_ok());
    // A buffer beyond the device's limit is a wgpu validation error; wgpu's default handler
    // would panic, ours records it.
    let _too_big = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("too big"),
        size: ctx.limits.max_buffer_size + 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let e = ctx
        .take_error("allocating a test buffer")
        .unwrap_err()
        .to_string();
    assert!(e.contains("allocating a test buffer"), "{e}");
    assert!(
        ctx.take_error("nothing").is_ok(),
        "errors are reported once"
    );
}

#[test]
fn kernels_give_the_same_results_with_optional_features_disabled() {
    let Some(with) = common::gpu() else { return };
    let Some(without) = common::gpu_with(GpuOptions {
        no_optional_features: true,
        ..Default::default()
    }) else {
        return;
    };
    assert_eq!(without.optional, wgpu_ds::gpu::context::Optional::default());
    let (pw, po) = (Pipelines::default(), Pipelines::default());
    for &ty in quant::SUPPORTED {
        let (a, _) = run_matvec(&with, &pw, ty, 9, 2 * block(ty), 2);
        let (b, _) = run_matvec(&without, &po, ty, 9, 2 * block(ty), 2);
        assert_eq!(a, b, "{ty}");
    }
}
