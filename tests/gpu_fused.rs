//! The GPU lowering (gpu/lower.rs) and the kernel features it relies on: RMSNorm over row prefixes,
//! RoPE through a row view, both writing latent-cache rows in place, RMSNorm with its Add folded,
//! the MoE mix with folded Adds, each against the CPU at V2-Lite sizes;
//! which ops a decode step folds; and whole steps that give bit-identical logits fused and
//! unfused on oracle models (how steps are recorded and replayed: tests/gpu_steps.rs). GPU tests
//! run on lavapipe in CI; without an adapter they fail when CI is set and skip with a reason
//! otherwise.

mod common;
use common::{assert_close, values};

use wgpu_ds::cpu::ops::rms_norm;
use wgpu_ds::cpu::rope::Rope;
use wgpu_ds::cpu::Buf;
use wgpu_ds::gpu::elementwise::{encode_add, encode_rope, encode_weighted_sum, RowView};
use wgpu_ds::gpu::executor::{GpuExecutor, Readback};
use wgpu_ds::gpu::latent_cache::encode_cache_f32;
use wgpu_ds::gpu::lower::{lower, Fits, Lowered};
use wgpu_ds::gpu::norm::{encode_rms_norm, RmsNorm, RopeTail, RowSum};
use wgpu_ds::gpu::ops::{read_f32, storage_f32};
use wgpu_ds::gpu::pipelines::Pipelines;
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::model::graph::Op;
use wgpu_ds::model::{AttnForm, CacheType, Model, Place, StepSpec};

const ORACLE: &str = "tests/fixtures/oracle/models";

#[test]
fn rms_norm_over_row_prefixes_matches_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // kv_cmpr_in of V2-Lite: the first 512 of each 576-wide kv_cmpr_pe row, 3 tokens.
    let (rows, n, stride) = (3, 512, 576);
    let x = values(rows * stride, 5);
    let w: Vec<f32> = values(n, 6).iter().map(|v| 1.0 + v).collect();
    let prefix: Vec<f32> = x.chunks(stride).flat_map(|r| r[..n].to_vec()).collect();
    let mut want = vec![0f32; rows * n];
    rms_norm(&prefix, &w, 1e-6, &mut want);
    let (xb, wb, yb) = (
        storage_f32(&ctx, "x", &x),
        storage_f32(&ctx, "w", &w),
        storage_f32(&ctx, "y", &vec![f32::NAN; rows * n]),
    );
    let mut enc = Recorder::new();
    let norm = RmsNorm {
        x_stride: Some(stride),
        ..RmsNorm::plain(&xb, &wb, &yb, rows, n, 1e-6)
    };
    encode_rms_norm(&ctx, &pipes, &mut enc, &norm);
    enc.submit(&ctx, &pipes);
    let got = read_f32(&ctx, &yb, rows * n).unwrap();
    assert_close("rms_norm prefix", &got, &want, 1e-5, 1e-5);
}

#[test]
fn rms_norm_and_rope_write_latent_cache_rows_in_place() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let model = Model::open(format!("{ORACLE}/tiny-v2lite-s-F32.gguf")).unwrap();
    let rope = Rope::new(&model.config);
    let (kv, d) = (model.config.kv_lora_rank, rope.n_dims());
    let width = kv + d;
    // Two new tokens at positions 5 and 6 of an 8-row cache whose other rows must stay as they are.
    let (n_tok, pos0, n_ctx) = (2, 5, 8);
    let cache0 = values(n_ctx * width, 9);
    let x = values(n_tok * kv, 10);
    let w: Vec<f32> = values(kv, 11).iter().map(|v| 1.0 + v).collect();
    let pe = values(n_tok * d, 12);
    let mut want = cache0.clone();
    for t in 0..n_tok {
        let row = &mut want[(pos0 + t) * width..(pos0 + t + 1) * width];
        rms_norm(&x[t * kv..(t + 1) * kv], &w, 1e-6, &mut row[..kv]);
        row[kv..].copy_from_slice(&pe[t * d..(t + 1) * d]);
        rope.apply(&mut row[kv..], pos0 + t);
    }
    let b = |v: &[f32]| storage_f32(&ctx, "in", v);
    let (cb, xb, wb, pb) = (b(&cache0), b(&x), b(&w), b(&pe));
    let (tb, places_at) = common::step_table(&ctx, &rope, &Place::run(0, pos0, n_tok), n_ctx);
    let table = common::table_of(&tb, places_at, n_tok);
    let at = |col| RowView {
        stride: width,
        offset: col,
    };
    let mut enc = Recorder::new();
    let norm = RmsNorm {
        y_view: Some(at(0)),
        y_cache: Some(table),
        ..RmsNorm::plain(&xb, &wb, &cb, n_tok, kv, 1e-6)
    };
    encode_rms_norm(&ctx, &pipes, &mut enc, &norm);
    encode_rope(
        &ctx,
        &pipes,
        &mut enc,
        &pb,
        &cb,
        &tb,
        n_tok,
        1,
        d,
        (None, Some(at(kv))),
        CacheType::F32,
        Some(places_at),
    );
    enc.submit(&ctx, &pipes);
    let got = read_f32(&ctx, &cb, want.len()).unwrap();
    assert_close("cache rows written in place", &got, &want, 1e-5, 1e-5);
}

#[test]
fn rms_norm_with_a_folded_add_stores_the_sum_and_matches_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // ffn_inp = attn_out + x, then ffn_norm, at V2-Lite's hidden 2048 for 2 tokens.
    let (rows, n) = (2, 2048);
    let (a, b) = (values(rows * n, 21), values(rows * n, 22));
    let w: Vec<f32> = values(n, 23).iter().map(|v| 1.0 + v).collect();
    let bb = |v: &[f32]| storage_f32(&ctx, "in", v);
    let (ab, bbuf, wb) = (bb(&a), bb(&b), bb(&w));
    let nan = || storage_f32(&ctx, "out", &vec![f32::NAN; rows * n]);
    let (sum_plain, y_plain, sum_fused, y_fused) = (nan(), nan(), nan(), nan());
    let mut enc = Recorder::new();
    encode_add(&ctx, &pipes, &mut enc, &ab, &bbuf, &sum_plain, rows * n);
    encode_rms_norm(
        &ctx,
        &pipes,
        &mut enc,
        &RmsNorm::plain(&sum_plain, &wb, &y_plain, rows, n, 1e-6),
    );
    let norm = RmsNorm {
        sum: Some(RowSum {
            s: &sum_fused,
            mix: None,
            addends: vec![&bbuf],
        }),
        ..RmsNorm::plain(&ab, &wb, &y_fused, rows, n, 1e-6)
    };
    encode_rms_norm(&ctx, &pipes, &mut enc, &norm);
    enc.submit(&ctx, &pipes);
    let read = |b| read_f32(&ctx, b, rows * n).unwrap();
    let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(read(&sum_fused)), bits(read(&sum_plain)), "stored sum");
    assert_eq!(bits(read(&y_fused)), bits(read(&y_plain)), "normalized sum");
    let s: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    let mut want = vec![0f32; rows * n];
    rms_norm(&s, &w, 1e-6, &mut want);
    assert_close("add + rms_norm", &read(&y_fused), &want, 1e-5, 1e-5);
}

#[test]
fn rope_through_a_row_view_matches_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let model = Model::open(format!("{ORACLE}/tiny-v2lite-s-F32.gguf")).unwrap();
    let rope = Rope::new(&model.config);
    let d = rope.n_dims();
    // q_pe inside q rows of (nope + rope) per head, and k_pe after kv_lora in one row per token.
    for (n_head, stride, offset) in [(16, 128 + d, 128), (1, 512 + d, 512)] {
        let (n_tok, pos0) = (3, 40);
        let x = values(n_tok * n_head * stride, (stride + n_head) as u64);
        let mut want: Vec<f32> = x
            .chunks(stride)
            .flat_map(|r| r[offset..offset + d].to_vec())
            .collect();
        for (i, head) in want.chunks_exact_mut(d).enumerate() {
            rope.apply(head, pos0 + i / n_head);
        }
        let (xb, yb) = (
            storage_f32(&ctx, "x", &x),
            storage_f32(&ctx, "y", &vec![f32::NAN; want.len()]),
        );
        let tb = storage_f32(&ctx, "table", &rope.table(pos0, n_tok));
        let view = RowView { stride, offset };
        let mut enc = Recorder::new();
        encode_rope(
            &ctx,
            &pipes,
            &mut enc,
            &xb,
            &yb,
            &tb,
            n_tok,
            n_head,
            d,
            (Some(view), None),
            CacheType::F32,
            None,
        );
        enc.submit(&ctx, &pipes);
        let got = read_f32(&ctx, &yb, want.len()).unwrap();
        assert_close(&format!("rope view {view:?}"), &got, &want, 1e-6, 1e-5);
    }
}

#[test]
fn moe_mix_with_folded_adds_matches_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // V2-Lite decode: 6 experts of hidden 2048, plus the shared experts and the residual.
    let (n_tok, k, n) = (2, 6, 2048);
    let x = values(n_tok * k * n, 1);
    let w = values(n_tok * k, 2);
    let (sh, res) = (values(n_tok * n, 3), values(n_tok * n, 4));
    let want: Vec<f32> = (0..n_tok * n)
        .map(|i| {
            let (t, j) = (i / n, i % n);
            let mix = (0..k)
                .map(|s| w[t * k + s] as f64 * x[(t * k + s) * n + j] as f64)
                .sum::<f64>() as f32;
            (mix + sh[i]) + res[i]
        })
        .collect();
    let b = |v: &[f32]| storage_f32(&ctx, "in", v);
    let (xb, wb, shb, rb) = (b(&x), b(&w), b(&sh), b(&res));
    let yb = storage_f32(&ctx, "y", &vec![f32::NAN; n_tok * n]);
    let mut enc = Recorder::new();
    encode_weighted_sum(
        &ctx,
        &pipes,
        &mut enc,
        &xb,
        &wb,
        &yb,
        n_tok,
        k,
        n,
        &[&shb, &rb],
    );
    enc.submit(&ctx, &pipes);
    let got = read_f32(&ctx, &yb, n_tok * n).unwrap();
    assert_close("weighted_sum + 2 addends", &got, &want, 1e-5, 1e-5);
}

#[test]
fn a_decode_step_folds_every_slice_and_the_moe_adds() {
    for stem in ["tiny-v2lite-s-F32", "tiny-v3-s-F32"] {
        let model = Model::open(format!("{ORACLE}/{stem}.gguf")).unwrap();
        let g = common::decode_graph(&model, 3);
        let low = lower(&g, &Fits::ALL);
        let count = |f: &dyn Fn(&Op) -> bool| g.ops.iter().filter(|o| f(o)).count();
        let slices = count(&|o| matches!(o, Op::Slice { .. }));
        let mixes = count(&|o| matches!(o, Op::WeightedSum { .. }));
        let glus = count(&|o| matches!(o, Op::SwiGlu { .. }));
        let folded = low.plan.iter().filter(|l| **l == Lowered::Folded).count();
        let fused = |f: &dyn Fn(&Lowered) -> bool| low.plan.iter().filter(|l| f(l)).count();
        // Four slices per layer; each MoE layer's mix absorbs its shared-expert and residual Adds
        // and runs inside the norm that first reads the layer's output (the next attn_norm or
        // output_norm), so the mix and both Adds are folded; every SwiGlu
        // absorbs its gate and up matvecs; every KvStore is written by its RMSNorm and RoPE.
        assert_eq!(slices, 4 * model.config.n_layer, "{stem}");
        let stores = count(&|o| matches!(o, Op::KvStore { .. }));
        let add_norms = fused(&|l| matches!(l, Lowered::AddNorm { .. }));
        // ffn_inp before every ffn_norm, and a dense layer's l_out before the next attn_norm;
        // a MoE layer's ffn_norm (with its Add) runs inside the routing.
        let dense = model.config.n_layer_dense_lead;
        assert_eq!(add_norms, model.config.n_layer + dense - mixes, "{stem}");
        let route_norms = fused(&|l| matches!(l, Lowered::RouteGate { norm: Some(_), .. }));
        assert_eq!(route_norms, mixes, "{stem}");
        // The first attn_norm inside the embedding lookup.
        let rows_norms = fused(&|l| matches!(l, Lowered::RowsNorm { .. }));
        assert_eq!(rows_norms, 1, "{stem}");
        // One pair per layer: q (or q_a) with kv_a_mqa.
        let pairs = fused(&|l| matches!(l, Lowered::Pair { .. }));
        assert_eq!(pairs, model.config.n_layer, "{stem}");
        let mix_norms = fused(&|l| matches!(l, Lowered::MixNorm { .. }));
        assert_eq!(mix_norms, mixes, "{stem}");
        // Every layer's k_pe RoPE runs inside its kv_cmpr norm.
        let norm_ropes = fused(&|l| matches!(l, Lowered::NormRope { .. }));
        assert_eq!(norm_ropes, model.config.n_layer, "{stem}");
        // And every layer's q_pe RoPE inside its absorbed attention.
        let q_ropes = fused(&|l| matches!(l, Lowered::QRope { .. }));
        assert_eq!(q_ropes, model.config.n_layer, "{stem}");
        // Every router matvec inside its routing.
        let route_gates = fused(&|l| matches!(l, Lowered::RouteGate { .. }));
        assert_eq!(route_gates, mixes, "{stem}");
        // And every MoE layer's shared-expert gated matvec inside its routed one.
        let glu_pairs = fused(&|l| matches!(l, Lowered::GluPair { .. }));
        assert_eq!(glu_pairs, mixes, "{stem}");
        let expect = slices
            + 3 * mixes
            + 2 * glus
            + stores
            + add_norms
            + pairs
            + norm_ropes
            + q_ropes
            + glu_pairs
            + route_gates
            + 2 * route_norms
            + rows_norms;
        assert_eq!(folded, expect, "{stem}");
        assert_eq!(low.to_cache.iter().flatten().count(), 2 * stores, "{stem}");
        assert_eq!(
            fused(&|l| matches!(l, Lowered::Glu { .. })),
            glus - 2 * glu_pairs,
            "{stem}"
        );
        assert_eq!(low.n_run(), g.ops.len() - folded, "{stem}");
        assert!(!low.elided[g.logits], "{stem}: logits elided");
        for (op, l) in g.ops.iter().zip(&low.plan) {
            if let (Op::Slice { out, .. }, Lowered::Folded) = (op, l) {
                assert!(
                    low.elided[*out],
                    "{stem}: folded slice output still materialized"
                );
            }
        }
    }
}

/// Every fold computes what the unfused ops compute in the same order, except the router's
/// matvec inside the routing, which sums each logit in another order (f32 rounding): the logits
/// of a fused step agree with the unfused ones to 1e-5 and give the same greedy tokens.
#[test]
fn fused_and_unfused_steps_give_the_same_logits() {
    if common::gpu().is_none() {
        return;
    }
    for stem in [
        "tiny-v2lite-s-Q4_K_M",
        "tiny-v3-s-Q8_0",
        "tiny-v3-k256-Q4_K_M",
    ] {
        let model = Model::open(format!("{ORACLE}/{stem}.gguf")).unwrap();
        let tokens = [1u32, 17, 300, 42, 7];
        let logits = |read: Readback| {
            let mut ex = GpuExecutor::new(&model, common::gpu().unwrap(), 16).unwrap();
            let mut last = Vec::new();
            // A prefill, then two decode steps over the cache it wrote.
            for (pos0, toks) in [(0, &tokens[..3]), (3, &tokens[3..4]), (4, &tokens[4..])] {
                let g = model.graph_at(
                    StepSpec::run(toks.len(), false, AttnForm::Absorbed),
                    Place::run(0, pos0, toks.len()),
                );
                let v = ex.run(&g, toks, read).unwrap();
                match &v.bufs[g.logits] {
                    Some(Buf::F32(l)) => last.extend_from_slice(l),
                    _ => panic!("{stem}: no logits"),
                }
            }
            (last, ex.last_step.dispatches)
        };
        let (fused, d_fused) = logits(Readback::Logits);
        let (plain, d_plain) = logits(Readback::Everything);
        assert_close(&format!("{stem}: fused logits"), &fused, &plain, 1e-5, 1e-5);
        let vocab = model.config.n_vocab;
        for (step, (f, p)) in fused.chunks(vocab).zip(plain.chunks(vocab)).enumerate() {
            let (a, b) = (wgpu_ds::sample::argmax(f), wgpu_ds::sample::argmax(p));
            assert_eq!(
                a, b,
                "{stem}: step {step} greedy token fused {a}, unfused {b}"
            );
        }
        assert!(
            d_fused < d_plain,
            "{stem}: {d_fused} dispatches fused, {d_plain} unfused"
        );
    }
}

#[test]
fn rms_norm_over_a_folded_moe_mix_stores_it_and_matches_the_unfused_kernels() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // A V2-Lite MoE layer's output (6 experts, shared experts, residual) and the next attn_norm.
    let (n_tok, k, n) = (2, 6, 2048);
    let b = |v: &[f32]| storage_f32(&ctx, "in", v);
    let (xb, mwb, shb, rb) = (
        b(&values(n_tok * k * n, 31)),
        b(&values(n_tok * k, 32)),
        b(&values(n_tok * n, 33)),
        b(&values(n_tok * n, 34)),
    );
    let w: Vec<f32> = values(n, 35).iter().map(|v| 1.0 + v).collect();
    let wb = b(&w);
    let nan = || storage_f32(&ctx, "out", &vec![f32::NAN; n_tok * n]);
    let (mix_plain, y_plain, mix_fused, y_fused) = (nan(), nan(), nan(), nan());
    let mut enc = Recorder::new();
    let (x, mw, adds) = (&xb, &mwb, [&shb, &rb]);
    encode_weighted_sum(
        &ctx, &pipes, &mut enc, x, mw, &mix_plain, n_tok, k, n, &adds,
    );
    let plain = RmsNorm::plain(&mix_plain, &wb, &y_plain, n_tok, n, 1e-6);
    encode_rms_norm(&ctx, &pipes, &mut enc, &plain);
    let fused = RmsNorm {
        sum: Some(RowSum {
            s: &mix_fused,
            mix: Some((&mwb, k)),
            addends: adds.to_vec(),
        }),
        ..RmsNorm::plain(&xb, &wb, &y_fused, n_tok, n, 1e-6)
    };
    encode_rms_norm(&ctx, &pipes, &mut enc, &fused);
    enc.submit(&ctx, &pipes);
    let read = |b| read_f32(&ctx, b, n_tok * n).unwrap();
    let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(read(&mix_fused)), bits(read(&mix_plain)), "stored mix");
    assert_eq!(bits(read(&y_fused)), bits(read(&y_plain)), "normalized mix");
    let mut want = vec![0f32; n_tok * n];
    rms_norm(&read(&mix_plain), &w, 1e-6, &mut want);
    assert_close("mix + rms_norm", &read(&y_fused), &want, 1e-5, 1e-5);
}

#[test]
fn rms_norm_with_a_rope_tail_writes_the_cache_rows_as_norm_then_rope() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let model = Model::open(format!("{ORACLE}/tiny-v2lite-s-F32.gguf")).unwrap();
    let rope = Rope::new(&model.config);
    // V2-Lite's latent row: kv_cmpr 512 then k_pe 64, as kv_a_mqa writes it per token.
    let (kv, d) = (512, rope.n_dims());
    let width = kv + d;
    let (n_tok, pos0, n_ctx) = (3, 4, 9);
    let b = |v: &[f32]| storage_f32(&ctx, "in", v);
    let cache0 = values(n_ctx * width, 41);
    let w: Vec<f32> = values(kv, 42).iter().map(|v| 1.0 + v).collect();
    let (xb, wb) = (b(&values(n_tok * width, 43)), b(&w));
    let (tb, places_at) = common::step_table(&ctx, &rope, &Place::run(0, pos0, n_tok), n_ctx);
    let (plain, fused) = (b(&cache0), b(&cache0));
    let at = |col| RowView {
        stride: width,
        offset: col,
    };
    let mut enc = Recorder::new();
    let norm = |y| RmsNorm {
        x_stride: Some(width),
        y_view: Some(at(0)),
        y_cache: Some(common::table_of(&tb, places_at, n_tok)),
        ..RmsNorm::plain(&xb, &wb, y, n_tok, kv, 1e-6)
    };
    encode_rms_norm(&ctx, &pipes, &mut enc, &norm(&plain));
    let from = RowView {
        stride: width,
        offset: kv,
    };
    let views = (Some(from), Some(at(kv)));
    encode_rope(
        &ctx,
        &pipes,
        &mut enc,
        &xb,
        &plain,
        &tb,
        n_tok,
        1,
        d,
        views,
        CacheType::F32,
        Some(places_at),
    );
    let tail = RopeTail {
        table: &tb,
        n_dims: d,
        x_col: kv,
        y_col: kv,
    };
    let with_tail = RmsNorm {
        rope: Some(tail),
        ..norm(&fused)
    };
    encode_rms_norm(&ctx, &pipes, &mut enc, &with_tail);
    enc.submit(&ctx, &pipes);
    let read = |b| read_f32(&ctx, b, n_ctx * width).unwrap();
    let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(read(&fused)),
        bits(read(&plain)),
        "cache after norm + rope"
    );
}

/// kv_cmpr's norm with k_pe's RoPE tail into an f16 cache: each value as the CPU computes it,
/// rounded to a half (within a half's rounding of the CPU's, since the f32 values before rounding
/// differ by f32 rounding), the other rows untouched.
#[test]
fn rms_norm_with_a_rope_tail_writes_an_f16_cache_like_the_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let model = Model::open(format!("{ORACLE}/tiny-v2lite-s-F32.gguf")).unwrap();
    let rope = Rope::new(&model.config);
    let (kv, d) = (512, rope.n_dims());
    let width = kv + d;
    // A batched decode step: two sequences in slots 1 and 0 of three slots of 2 positions.
    let places = [Place { slot: 1, pos: 1 }, Place { slot: 0, pos: 0 }];
    let (n_tok, n_slot_ctx, n_ctx) = (2, 2, 6);
    let x = values(n_tok * width, 51);
    let w: Vec<f32> = values(kv, 52).iter().map(|v| 1.0 + v).collect();
    let mut want = vec![0f32; n_ctx * width];
    for (t, p) in places.iter().enumerate() {
        let row = &mut want[(p.slot * n_slot_ctx + p.pos) * width..][..width];
        rms_norm(&x[t * width..][..kv], &w, 1e-6, &mut row[..kv]);
        row[kv..].copy_from_slice(&x[t * width + kv..][..d]);
        rope.apply(&mut row[kv..], p.pos);
        for v in row.iter_mut() {
            *v = CacheType::F16.round(*v);
        }
    }
    let b = |v: &[f32]| storage_f32(&ctx, "in", v);
    let (xb, wb) = (b(&x), b(&w));
    let (tb, places_at) = common::step_table(&ctx, &rope, &places, n_slot_ctx);
    // n_ctx · width halves in words, zero (as the untouched rows must stay).
    let cache = b(&vec![0.0; n_ctx * width / 2]);
    let norm = RmsNorm {
        x_stride: Some(width),
        y_view: Some(RowView {
            stride: width,
            offset: 0,
        }),
        y_cache: Some(common::table_of(&tb, places_at, n_tok)),
        rope: Some(RopeTail {
            table: &tb,
            n_dims: d,
            x_col: kv,
            y_col: kv,
        }),
        y_ty: CacheType::F16,
        ..RmsNorm::plain(&xb, &wb, &cache, n_tok, kv, 1e-6)
    };
    let wide = b(&vec![f32::NAN; n_ctx * width]);
    let mut enc = Recorder::new();
    encode_rms_norm(&ctx, &pipes, &mut enc, &norm);
    encode_cache_f32(
        &ctx,
        &pipes,
        &mut enc,
        &cache,
        CacheType::F16,
        &wide,
        0,
        n_ctx * width,
    );
    enc.submit(&ctx, &pipes);
    let got = read_f32(&ctx, &wide, n_ctx * width).unwrap();
    assert_close(
        "norm + rope tail into an f16 cache",
        &got,
        &want,
        1e-3,
        1e-3,
    );
}
