//! MoE prefill grouped by expert: moe_group's lists against a count on the CPU (experts chosen
//! by no token, by every token, ids that are no expert), the grouped matvec (plain and gated,
//! both reductions, experts split over binding chunks) against the per-slot matvec (equal to
//! rounding: each slot's dot sums the same products in the same order, 4 slots at a time) and
//! the CPU, mul_mm_id (the tiled product
//! over each expert's slots, an expert taking more slots than one tile) against the CPU, for
//! every block type at V2-Lite's expert shapes, and whole prefill steps with grouping on and
//! off, through the matvec and through mul_mm_id.

mod common;
use common::{assert_close, quantized, with_outliers};

use wgpu_ds::cpu::ops::{matmul, silu, QMatrix};
use wgpu_ds::gpu::kernels::Reduce;
use wgpu_ds::gpu::moe_group::{encode_moe_group, moe_group_bytes};
use wgpu_ds::gpu::mul_mm::{encode_mul_mm_id, IdSlots};
use wgpu_ds::gpu::ops::{
    encode_matvec_glu, encode_matvec_slots, read_f32, storage_f32, GpuWeight, Slots,
};
use wgpu_ds::gpu::pipelines::{MatVecShape, Pipelines};
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::gpu::{GpuContext, GpuOptions};
use wgpu_ds::quant::{self, QuantType};

fn ids_buffer(ctx: &GpuContext, ids: &[i32]) -> wgpu::Buffer {
    let b = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("ids"),
        size: (ids.len().max(4) * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue.write_buffer(&b, 0, bytemuck::cast_slice(ids));
    b
}

/// moe_group's lists of `ids` over `n_expert` experts, made on the GPU.
fn lists(ctx: &GpuContext, pipes: &Pipelines, ids: &[i32], n_expert: usize) -> Vec<i32> {
    let idb = ids_buffer(ctx, ids);
    let n = moe_group_bytes(n_expert, ids.len()) as usize / 4;
    let groups = storage_f32(ctx, "groups", &vec![f32::NAN; n]);
    let mut enc = Recorder::new();
    encode_moe_group(ctx, pipes, &mut enc, (&idb, &groups), ids.len(), n_expert).unwrap();
    enc.submit(ctx, pipes);
    let words = read_f32(ctx, &groups, n).unwrap();
    words.iter().map(|w| w.to_bits() as i32).collect()
}

/// The same lists on the CPU: first indices, the count listed, then each expert's slots.
fn lists_on_cpu(ids: &[i32], n_expert: usize) -> Vec<i32> {
    let mut first = vec![];
    let mut list = vec![];
    for m in 0..n_expert as i32 {
        first.push(list.len() as i32);
        list.extend((0..ids.len() as i32).filter(|&s| ids[s as usize] == m));
    }
    first.push(list.len() as i32);
    first.extend(list);
    first
}

/// Top-k ids of `n_tok` tokens over `n_expert` experts (distinct per token), from a seed.
fn routed(n_tok: usize, k: usize, n_expert: usize, seed: u64) -> Vec<i32> {
    let v = common::values(n_tok * n_expert, seed);
    let mut ids = vec![];
    for t in 0..n_tok {
        let mut order: Vec<usize> = (0..n_expert).collect();
        order.sort_by(|&a, &b| v[t * n_expert + b].total_cmp(&v[t * n_expert + a]));
        ids.extend(order[..k].iter().map(|&e| e as i32));
    }
    ids
}

#[test]
fn moe_group_lists_each_experts_slots_in_order() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::for_adapter(&ctx);
    let mut cases: Vec<(&str, Vec<i32>, usize)> = vec![
        (
            "V2-Lite-width 8 experts, 64 tokens top-6",
            routed(64, 6, 8, 1),
            8,
        ),
        ("64 experts, 17 tokens top-6", routed(17, 6, 64, 2), 64),
        ("256 experts, 512 tokens top-8", routed(512, 8, 256, 3), 256),
        ("one token", routed(1, 6, 64, 4), 64),
    ];
    // Expert 0 chosen by every token, expert 5 by none.
    let every: Vec<i32> = (0..9).flat_map(|t| [0, 1 + (t % 4), 6]).collect();
    cases.push(("expert 0 by every token, 5 by none", every, 8));
    // Ids that are no expert are not listed.
    cases.push(("ids out of range", vec![2, -1, 7, 8, 2, 0], 8));
    for (what, ids, n_expert) in cases {
        let got = lists(&ctx, &pipes, &ids, n_expert);
        let want = lists_on_cpu(&ids, n_expert);
        assert_eq!(&got[..want.len()], &want[..], "{what}");
    }
}

/// silu(gate · x) · (up · x) (`up` Some) or gate · x of every slot on the CPU: slot s of token
/// s / k reads its expert ids[s] and X's row s (`x_per_slot`) or s / k.
#[allow(clippy::too_many_arguments)]
fn cpu_slots(
    ty: QuantType,
    (gb, ub): (&[u8], Option<&[u8]>),
    (rows, cols): (usize, usize),
    ids: &[i32],
    k: usize,
    x: &[f32],
    x_per_slot: bool,
) -> Vec<f32> {
    let per = rows * ty.row_bytes(cols as u64).unwrap() as usize;
    let mut out = vec![];
    for (s, &e) in ids.iter().enumerate() {
        let e = e as usize;
        let xr = if x_per_slot { s } else { s / k };
        let xs = &x[xr * cols..][..cols];
        let m = |b| QMatrix {
            ty,
            bytes: b,
            rows,
            cols,
        };
        let g = matmul(m(&gb[e * per..][..per]), xs, 1).unwrap();
        match ub {
            Some(ub) => {
                let u = matmul(m(&ub[e * per..][..per]), xs, 1).unwrap();
                out.extend(g.iter().zip(&u).map(|(&g, &u)| silu(g) * u));
            }
            None => out.extend(g),
        }
    }
    out
}

/// One expert stack's product over the slots of `ids`, grouped (`groups` Some) or per slot.
#[allow(clippy::too_many_arguments)]
fn gpu_slots(
    ctx: &GpuContext,
    pipes: &Pipelines,
    (gw, uw): (&GpuWeight, Option<&GpuWeight>),
    ids: &[i32],
    k: usize,
    x: &[f32],
    x_per_slot: bool,
    grouped: bool,
) -> Vec<f32> {
    let n_tok = ids.len() / k;
    let idb = ids_buffer(ctx, ids);
    let n_groups = moe_group_bytes(gw.n_mat, ids.len()) as usize / 4;
    let groups = storage_f32(ctx, "groups", &vec![0.0; n_groups]);
    let xb = storage_f32(ctx, "x", x);
    let n_out = ids.len() * gw.rows;
    let y = storage_f32(ctx, "y", &vec![f32::NAN; n_out]);
    let mut enc = Recorder::new();
    if grouped {
        encode_moe_group(ctx, pipes, &mut enc, (&idb, &groups), ids.len(), gw.n_mat).unwrap();
    }
    let slots = Slots {
        n_slot: k,
        ids: Some(&idb),
        x_per_slot,
        x_stride: None,
        groups: grouped.then_some(&groups),
    };
    match uw {
        Some(uw) => {
            encode_matvec_glu(ctx, pipes, &mut enc, gw, uw, &xb, &y, n_tok, &slots).unwrap()
        }
        None => encode_matvec_slots(ctx, pipes, &mut enc, gw, &xb, &y, n_tok, &slots),
    }
    enc.submit(ctx, pipes);
    read_f32(ctx, &y, n_out).unwrap()
}

/// Every block type: the routed experts' gated gate/up (rows of 2048, shared X row per token)
/// and their down projection (rows of 1408, X row per slot), cut to 8 experts of 21 rows, over
/// 7 tokens top-3 with one expert chosen by every token and one by none. Grouped equals per
/// slot to rounding and both match the CPU; with `max_binding` the experts span several chunks.
fn grouped_matches_per_slot_and_cpu(
    ctx: &GpuContext,
    types: &[QuantType],
    shapes: &[MatVecShape],
    min_chunks: usize,
) {
    let (n_exp, rows, n_tok, k) = (8, 21, 7, 3);
    let ids: Vec<i32> = (0..n_tok as i32)
        .flat_map(|t| [3, [0, 1, 2, 4, 6][t as usize % 5], 7 - (t % 2)])
        .collect();
    for &ty in types {
        let shapes = common::shapes_for(ty, shapes);
        // One pipeline cache per shape for both cases of the type.
        let pipes: Vec<Pipelines> = shapes.iter().map(|&s| Pipelines::new(s)).collect();
        for (cols, glu, x_per_slot) in [(2048, true, false), (1408, false, true)] {
            if ty.row_bytes(cols as u64).is_none() {
                continue;
            }
            let gb = quantized(ty, n_exp * rows, cols, 51);
            let ub = quantized(ty, n_exp * rows, cols, 52);
            let n_x = if x_per_slot { ids.len() } else { n_tok };
            let x = with_outliers(n_x * cols, 9);
            let ubr = glu.then_some(&ub[..]);
            let want = cpu_slots(ty, (&gb, ubr), (rows, cols), &ids, k, &x, x_per_slot);
            let up = |b: &[u8]| GpuWeight::upload_stack(ctx, "w", ty, n_exp, rows, cols, b);
            let gw = up(&gb).unwrap();
            let uw = up(&ub).unwrap();
            assert!(
                gw.chunks.len() >= min_chunks,
                "{ty}: {} chunks",
                gw.chunks.len()
            );
            let ws = (&gw, glu.then_some(&uw));
            for (shape, pipes) in shapes.iter().zip(&pipes) {
                let what = format!(
                    "{ty} {cols} cols glu {glu} {shape:?} {} chunks",
                    gw.chunks.len()
                );
                let per_slot = gpu_slots(ctx, pipes, ws, &ids, k, &x, x_per_slot, false);
                let grouped = gpu_slots(ctx, pipes, ws, &ids, k, &x, x_per_slot, true);
                // The same products in the same order, but a grouped workgroup dots several
                // slots at once (matvec.wgsl's rows_dot_cols), which compilers may contract
                // differently:
                // equal to rounding.
                assert_close(
                    &format!("{what} grouped/per slot"),
                    &grouped,
                    &per_slot,
                    1e-4,
                    1e-4,
                );
                assert_close(&what, &grouped, &want, 1e-3, 1e-4);
            }
        }
    }
}

fn matvec_shapes(ctx: &GpuContext) -> Vec<MatVecShape> {
    let mut reduces = vec![Reduce::Workgroup];
    if ctx.optional.subgroups {
        reduces.push(Reduce::Subgroup);
    } else {
        eprintln!("adapter without subgroups: only the workgroup reduction is tested");
    }
    // The adapter's own shape through both reductions, and the GPU default with the workgroup
    // reduction where the adapter's own shape is another (tests/gpu_matvec.rs covers the
    // shapes; grouping only changes which slots a workgroup takes). common::shapes_for picks
    // per type.
    let own = MatVecShape::for_adapter(ctx);
    let mut v: Vec<MatVecShape> = reduces
        .into_iter()
        .map(|reduce| MatVecShape { reduce, ..own })
        .collect();
    let gpu = MatVecShape::default();
    if !v.contains(&gpu) {
        v.push(gpu);
    }
    v
}

/// mul_mm_id of one expert stack over the slots of `ids` (lists made on the GPU first).
fn gpu_mul_mm_id(
    ctx: &GpuContext,
    w: &GpuWeight,
    ids: &[i32],
    k: usize,
    x: &[f32],
    x_per_slot: bool,
) -> Vec<f32> {
    let pipes = Pipelines::for_adapter(ctx);
    let idb = ids_buffer(ctx, ids);
    let n_groups = moe_group_bytes(w.n_mat, ids.len()) as usize / 4;
    let groups = storage_f32(ctx, "groups", &vec![0.0; n_groups]);
    let xb = storage_f32(ctx, "x", x);
    let n_out = ids.len() * w.rows;
    let y = storage_f32(ctx, "y", &vec![f32::NAN; n_out]);
    let mut enc = Recorder::new();
    encode_moe_group(ctx, &pipes, &mut enc, (&idb, &groups), ids.len(), w.n_mat).unwrap();
    let slots = IdSlots {
        groups: &groups,
        n_slot: k,
        x_per_slot,
    };
    encode_mul_mm_id(ctx, &pipes, &mut enc, w, (&xb, &y), ids.len() / k, &slots);
    enc.submit(ctx, &pipes);
    read_f32(ctx, &y, n_out).unwrap()
}

/// Every block type: 8 experts of 70 rows (two row tiles, the second partial) over 19 tokens
/// top-3: expert 3 chosen by every token (two tiles of slots, the second partial), expert 5 by
/// none; gate/up rows of 2048 with X per token, down rows of 1408 with X per slot. With
/// `max_binding` the experts span several chunks.
fn mul_mm_id_matches_cpu(ctx: &GpuContext, types: &[QuantType], min_chunks: usize) {
    let (n_exp, rows, n_tok, k) = (8, 70, 19, 3);
    let ids: Vec<i32> = (0..n_tok as i32)
        .flat_map(|t| [3, [0, 1, 2, 4, 6][t as usize % 5], 7 - (t % 2)])
        .collect();
    for &ty in types {
        for (cols, x_per_slot) in [(2048, false), (1408, true)] {
            if ty.row_bytes(cols as u64).is_none() {
                continue;
            }
            let wb = quantized(ty, n_exp * rows, cols, 61);
            let n_x = if x_per_slot { ids.len() } else { n_tok };
            let x = with_outliers(n_x * cols, 11);
            let want = cpu_slots(ty, (&wb, None), (rows, cols), &ids, k, &x, x_per_slot);
            let w = GpuWeight::upload_stack(ctx, "w", ty, n_exp, rows, cols, &wb).unwrap();
            assert!(
                w.chunks.len() >= min_chunks,
                "{ty}: {} chunks",
                w.chunks.len()
            );
            let got = gpu_mul_mm_id(ctx, &w, &ids, k, &x, x_per_slot);
            let what = format!("mul_mm_id {ty} {cols} cols, {} chunks", w.chunks.len());
            assert_close(&what, &got, &want, 2e-3, 1e-4);
        }
    }
}

#[test]
fn mul_mm_id_matches_the_cpu_for_every_type() {
    let Some(ctx) = common::gpu() else { return };
    mul_mm_id_matches_cpu(&ctx, quant::SUPPORTED, 1);
}

#[test]
fn mul_mm_id_over_experts_in_several_chunks() {
    // Room for two 70-row experts of 2048 F32 columns per binding.
    let opts = GpuOptions {
        max_binding: Some(2 * 70 * 2048 * 4 + 4096),
        ..Default::default()
    };
    let Some(ctx) = common::gpu_with(opts) else {
        return;
    };
    mul_mm_id_matches_cpu(&ctx, &[QuantType::F32, QuantType::F16], 2);
}

#[test]
fn grouped_matvec_matches_per_slot_and_the_cpu_for_every_type() {
    let Some(ctx) = common::gpu() else { return };
    let shapes = matvec_shapes(&ctx);
    grouped_matches_per_slot_and_cpu(&ctx, quant::SUPPORTED, &shapes, 1);
}

#[test]
fn grouped_matvec_over_experts_in_several_chunks() {
    // Room for two 21-row experts of 2048 F32 columns per binding (five of 1408 F16 columns).
    let opts = GpuOptions {
        max_binding: Some(2 * 21 * 2048 * 4 + 4096),
        ..Default::default()
    };
    let Some(ctx) = common::gpu_with(opts) else {
        return;
    };
    let shapes = [MatVecShape::for_adapter(&ctx)];
    grouped_matches_per_slot_and_cpu(&ctx, &[QuantType::F32, QuantType::F16], &shapes, 2);
}

/// Prefill steps of MoE oracle models give the same logits with grouping on and off (to
/// rounding: the same products in the same order per slot), and the CPU's.
#[test]
fn a_prefill_step_grouped_by_expert_matches_per_slot_and_the_cpu() {
    use wgpu_ds::cpu::CpuExecutor;
    use wgpu_ds::gpu::executor::GpuExecutor;
    use wgpu_ds::session::Executor;
    for stem in [
        "tiny-v2lite-s-Q4_K_M",
        "tiny-v3-k256-Q4_K_M",
        "tiny-v3-s-Q8_0",
    ] {
        let path = format!("tests/fixtures/oracle/models/{stem}.gguf");
        let model = wgpu_ds::model::Model::open(path).unwrap();
        let tokens: Vec<u32> = (0..23).map(|i| (i * 41 + 3) % 200).collect();
        let (mut logits, mut dispatches) = (vec![], vec![]);
        for grouped in [true, false] {
            let Some(ctx) = common::gpu() else { return };
            let mut gpu = GpuExecutor::new(&model, ctx, 32).unwrap();
            gpu.moe_grouped = grouped;
            logits.push(gpu.step(&tokens, 0, true).unwrap());
            dispatches.push(gpu.last_step.dispatches);
        }
        // Grouped: one moe_group per MoE layer, and the shared experts apart from the routed.
        assert!(
            dispatches[0] > dispatches[1],
            "{stem}: no grouping in {dispatches:?}"
        );
        // Equal to rounding (see grouped_matvec_matches_per_slot_and_the_cpu_for_every_type).
        let what = format!("{stem} grouped/per slot");
        let nmse = assert_close(&what, &logits[0], &logits[1], 1e-4, 1e-4).nmse;
        assert!(
            nmse < 1e-10,
            "{stem}: grouped and per-slot logits differ: NMSE {nmse:e}"
        );
        let want = CpuExecutor::new(&model, 32).step(&tokens, 0, true).unwrap();
        let nmse = assert_close(stem, &logits[0], &want, 2e-3, 1e-2).nmse;
        assert!(nmse < 1e-6, "{stem}: NMSE {nmse:e}");
    }
}
