//! The multi-row matvec against the CPU at the row lengths of real models (V2-Lite 2048 and 1408,
//! V3 7168) for every block type, through both reductions (workgroup tree and subgroupAdd) and
//! several workgroup shapes (WG invocations × NR rows, 8 × 1 .. 256 × 8, and 8 × 16), with row counts that leave the last row
//! group partly empty, for one token (matvec) and several (matvec_cols: 1 to 4 tokens per
//! workgroup, token counts that leave the last block part full). Float types also at a row
//! length that is not a multiple of 32 (the tail).
//! The gated form (matvec_glu) against the CPU's SwiGlu of two matvecs, and the paired form
//! (matvec_pair) against two CPU matvecs, and the gated form of experts paired with a gated plain
//! matrix (matvec_glu_pair: routed and shared experts) against the CPU, for every type.
//! The types of `common::READ_FORMS` run every shape and reduction; the others the two default
//! shapes, one with each reduction (`common::shapes_for`).

mod common;
use common::{assert_close, quantized, with_outliers};

use wgpu_ds::cpu::ops::{matmul, silu, QMatrix};
use wgpu_ds::gpu::kernels::Reduce;
use wgpu_ds::gpu::ops::{
    encode_matvec, encode_matvec_glu, encode_matvec_glu_pair, encode_matvec_pair, read_f32,
    storage_f32, GpuWeight, Slots,
};
use wgpu_ds::gpu::pipelines::{MatVecShape, Pipelines};
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::gpu::GpuContext;
use wgpu_ds::quant::{self, QuantType};

fn shapes(ctx: &GpuContext) -> Vec<MatVecShape> {
    let mut v = vec![];
    let reduces: &[Reduce] = if ctx.optional.subgroups {
        &[Reduce::Workgroup, Reduce::Subgroup]
    } else {
        eprintln!("adapter without subgroups: only the workgroup reduction is tested");
        &[Reduce::Workgroup]
    };
    for &reduce in reduces {
        // (WG, NR, then the multi-token forms' COLS, NR and gated NR, and whether the weights
        // are read as words only): 1 column runs the one-token kernel for every step.
        for (wg, nr, cols, cols_nr, cols_nr_glu, word_loads) in [
            (64, 4, 4, 4, 4, false),
            (8, 16, 4, 32, 16, true),
            (16, 1, 1, 1, 1, true),
            (32, 3, 6, 2, 3, false),
            (256, 8, 2, 1, 1, true),
        ] {
            v.push(MatVecShape {
                wg,
                nr,
                reduce,
                cols,
                cols_nr,
                cols_nr_glu,
                word_loads,
            });
        }
    }
    v
}

/// The shapes adapters get by default (64 × 4 with 16-byte loads on GPUs, 8 × 16 with word loads
/// on CPU adapters, with 4 tokens × 4 or 32 rows), both reductions.
fn default_shapes(ctx: &GpuContext) -> Vec<MatVecShape> {
    shapes(ctx)
        .into_iter()
        .filter(|s| (s.wg, s.nr) == (64, 4) || (s.wg, s.nr) == (8, 16))
        .collect()
}

/// GPU and CPU results of W [rows, cols] of `ty` times `n_tok` activation rows.
fn run(
    ctx: &GpuContext,
    pipes: &Pipelines,
    ty: QuantType,
    bytes: &[u8],
    x: &[f32],
    rows: usize,
    cols: usize,
) -> (Vec<f32>, Vec<f32>) {
    let n_tok = x.len() / cols;
    let m = QMatrix {
        ty,
        bytes,
        rows,
        cols,
    };
    let want = matmul(m, x, n_tok).unwrap();
    let w = GpuWeight::upload(ctx, "w", ty, rows, cols, bytes).unwrap();
    let xb = storage_f32(ctx, "x", x);
    // Starts as NaN, so a row the kernel does not write cannot pass.
    let yb = storage_f32(ctx, "y", &vec![f32::NAN; n_tok * rows]);
    let mut enc = Recorder::new();
    encode_matvec(ctx, pipes, &mut enc, &w, &xb, &yb, n_tok);
    enc.submit(ctx, pipes);
    (read_f32(ctx, &yb, n_tok * rows).unwrap(), want)
}

#[test]
fn matvec_matches_cpu_at_real_row_lengths_for_every_type_reduction_and_shape() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    eprintln!("adapter: {}", wgpu_ds::gpu::context::describe(&ctx.info));
    let all = shapes(&ctx);
    for &ty in quant::SUPPORTED {
        let shapes = common::shapes_for(ty, &all);
        // One pipeline cache per shape for all of the type's cases (lavapipe compiles each
        // pipeline in a good fraction of a second).
        let pipes: Vec<Pipelines> = shapes.iter().map(|&s| Pipelines::new(s)).collect();
        let float = ty.info().blck_size == 1;
        // One token (the matvec), and 6 (matvec_cols: a whole block of 4 and a part).
        let mut cases = vec![
            (37, 2048, 1),
            (21, 1408, 1),
            (13, 7168, 1),
            (9, 2048, 6),
            (7, 1408, 6),
        ];
        if float {
            cases.push((5, 40, 6)); // 2 units of 16 and an 8-element tail
        }
        // K-quant rows are whole 256-element blocks: V2-Lite stores its 1408-wide rows otherwise.
        cases.retain(|&(_, cols, _)| cols % ty.info().blck_size == 0);
        for (rows, cols, n_tok) in cases {
            let bytes = quantized(ty, rows, cols, (rows * 7 + cols) as u64);
            let x = with_outliers(n_tok * cols, 3);
            // Several tokens through three shapes of each reduction: the adapters' defaults
            // (4 tokens × 4 rows on GPUs, × 8 on CPU adapters) and 3 tokens × 2 rows.
            let multi = shapes
                .iter()
                .zip(&pipes)
                .filter(|(s, _)| n_tok == 1 || matches!(s.wg, 64 | 8 | 32));
            for (shape, pipes) in multi {
                let (got, want) = run(&ctx, pipes, ty, &bytes, &x, rows, cols);
                assert_close(
                    &format!("matvec {ty} {rows}x{cols} T={n_tok} {shape:?}"),
                    &got,
                    &want,
                    1e-3,
                    1e-4,
                );
            }
        }
    }
}

#[test]
fn gated_matvec_matches_cpu_swiglu_of_two_matvecs_for_every_type() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    let shapes = default_shapes(&ctx);
    for &ty in quant::SUPPORTED {
        // V2-Lite's expert FFN (1408 rows of 2048) cut to 21 rows, 6 tokens (matvec_glu_cols:
        // a whole block of 4 and a part).
        let (rows, cols, n_tok) = (21, 2048, 6);
        let (gb, ub) = (quantized(ty, rows, cols, 11), quantized(ty, rows, cols, 12));
        let x = with_outliers(n_tok * cols, 5);
        let m = |bytes| QMatrix {
            ty,
            bytes,
            rows,
            cols,
        };
        let (g, u) = (
            matmul(m(&gb), &x, n_tok).unwrap(),
            matmul(m(&ub), &x, n_tok).unwrap(),
        );
        let want: Vec<f32> = g.iter().zip(&u).map(|(&g, &u)| silu(g) * u).collect();
        let gw = GpuWeight::upload(&ctx, "gate", ty, rows, cols, &gb).unwrap();
        let uw = GpuWeight::upload(&ctx, "up", ty, rows, cols, &ub).unwrap();
        let xb = storage_f32(&ctx, "x", &x);
        for shape in common::shapes_for(ty, &shapes) {
            let pipes = Pipelines::new(shape);
            let yb = storage_f32(&ctx, "y", &vec![f32::NAN; n_tok * rows]);
            let slots = Slots::PER_TOKEN;
            let mut enc = Recorder::new();
            encode_matvec_glu(&ctx, &pipes, &mut enc, &gw, &uw, &xb, &yb, n_tok, &slots).unwrap();
            enc.submit(&ctx, &pipes);
            let got = read_f32(&ctx, &yb, n_tok * rows).unwrap();
            assert_close(
                &format!("matvec_glu {ty} {shape:?}"),
                &got,
                &want,
                1e-3,
                1e-4,
            );
        }
    }
}

#[test]
fn paired_matvec_matches_two_cpu_matvecs_for_every_type() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    let shapes = default_shapes(&ctx);
    for &ty in quant::SUPPORTED {
        // q and kv_a_mqa of V2-Lite cut to 37 and 9 rows of 2048 (neither a multiple of NR), 2 tokens.
        let (r1, r2, cols, n_tok) = (37, 9, 2048, 2);
        let (b1, b2) = (quantized(ty, r1, cols, 31), quantized(ty, r2, cols, 32));
        let x = with_outliers(n_tok * cols, 6);
        let m = |bytes, rows| QMatrix {
            ty,
            bytes,
            rows,
            cols,
        };
        let want1 = matmul(m(&b1, r1), &x, n_tok).unwrap();
        let want2 = matmul(m(&b2, r2), &x, n_tok).unwrap();
        let w1 = GpuWeight::upload(&ctx, "w1", ty, r1, cols, &b1).unwrap();
        let w2 = GpuWeight::upload(&ctx, "w2", ty, r2, cols, &b2).unwrap();
        let xb = storage_f32(&ctx, "x", &x);
        for shape in common::shapes_for(ty, &shapes) {
            let pipes = Pipelines::new(shape);
            let y1 = storage_f32(&ctx, "y1", &vec![f32::NAN; n_tok * r1]);
            let y2 = storage_f32(&ctx, "y2", &vec![f32::NAN; n_tok * r2]);
            let mut enc = Recorder::new();
            encode_matvec_pair(&ctx, &pipes, &mut enc, (&w1, &w2), &xb, (&y1, &y2), n_tok).unwrap();
            enc.submit(&ctx, &pipes);
            let what = format!("matvec_pair {ty} {shape:?}");
            let got1 = read_f32(&ctx, &y1, n_tok * r1).unwrap();
            let got2 = read_f32(&ctx, &y2, n_tok * r2).unwrap();
            assert_close(&format!("{what} first"), &got1, &want1, 1e-3, 1e-4);
            assert_close(&format!("{what} second"), &got2, &want2, 1e-3, 1e-4);
        }
    }
}

/// silu(gate · x) · (up · x) per row of `rows` rows of the `rows × cols` matrices `gb`, `ub`.
fn cpu_glu(
    ty: QuantType,
    (gb, ub): (&[u8], &[u8]),
    rows: usize,
    cols: usize,
    x: &[f32],
) -> Vec<f32> {
    let m = |bytes| QMatrix {
        ty,
        bytes,
        rows,
        cols,
    };
    let n_tok = x.len() / cols;
    let g = matmul(m(gb), x, n_tok).unwrap();
    let u = matmul(m(ub), x, n_tok).unwrap();
    g.iter().zip(&u).map(|(&g, &u)| silu(g) * u).collect()
}

#[test]
fn gated_experts_paired_with_gated_shared_experts_match_cpu_for_every_type() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    let shapes = default_shapes(&ctx);
    // 4 experts of 21 rows (V2-Lite's 1408 cut down), 2 chosen per token for 3 tokens, and
    // shared experts of 13 rows, all over rows of 2048.
    let (n_exp, rows, rows2, cols, n_tok, k) = (4, 21, 13, 2048, 3, 2);
    let ids: Vec<i32> = vec![3, 0, 1, 1, 2, 3];
    let idb = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (ids.len() * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue.write_buffer(&idb, 0, bytemuck::cast_slice(&ids));
    for &ty in quant::SUPPORTED {
        let (gb, ub) = (
            quantized(ty, n_exp * rows, cols, 41),
            quantized(ty, n_exp * rows, cols, 42),
        );
        let (g2b, u2b) = (
            quantized(ty, rows2, cols, 43),
            quantized(ty, rows2, cols, 44),
        );
        let x = with_outliers(n_tok * cols, 7);
        let per = gb.len() / n_exp;
        let mut want = Vec::new();
        for (slot, &e) in ids.iter().enumerate() {
            let e = e as usize;
            let t = slot / k;
            let xt = &x[t * cols..][..cols];
            let bytes = (&gb[e * per..][..per], &ub[e * per..][..per]);
            want.extend(cpu_glu(ty, bytes, rows, cols, xt));
        }
        let want2 = cpu_glu(ty, (&g2b, &u2b), rows2, cols, &x);
        let up = |name, b: &[u8], n| {
            GpuWeight::upload_stack(
                &ctx,
                name,
                ty,
                n,
                if n == 1 { rows2 } else { rows },
                cols,
                b,
            )
            .unwrap()
        };
        let (gw, uw, g2w, u2w) = (
            up("g", &gb, n_exp),
            up("u", &ub, n_exp),
            up("g2", &g2b, 1),
            up("u2", &u2b, 1),
        );
        let xb = storage_f32(&ctx, "x", &x);
        let slots = Slots {
            n_slot: k,
            ids: Some(&idb),
            x_per_slot: false,
            x_stride: None,
            groups: None,
        };
        for shape in common::shapes_for(ty, &shapes) {
            let pipes = Pipelines::new(shape);
            let y = storage_f32(&ctx, "y", &vec![f32::NAN; want.len()]);
            let y2 = storage_f32(&ctx, "y2", &vec![f32::NAN; want2.len()]);
            let mut enc = Recorder::new();
            let (ws, ws2, ys) = ((&gw, &uw), (&g2w, &u2w), (&y, &y2));
            encode_matvec_glu_pair(&ctx, &pipes, &mut enc, ws, ws2, &xb, ys, n_tok, &slots)
                .unwrap();
            enc.submit(&ctx, &pipes);
            let what = format!("matvec_glu_pair {ty} {shape:?}");
            let got = read_f32(&ctx, &y, want.len()).unwrap();
            let got2 = read_f32(&ctx, &y2, want2.len()).unwrap();
            assert_close(&format!("{what} experts"), &got, &want, 1e-3, 1e-4);
            assert_close(&format!("{what} shared"), &got2, &want2, 1e-3, 1e-4);
        }
    }
}
