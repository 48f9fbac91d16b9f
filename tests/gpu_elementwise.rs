//! The elementwise and normalization kernels (gpu/elementwise.rs) against the CPU reference ops:
//! one row, rows not a multiple of the workgroup, V2-Lite and V3 real sizes (hidden 2048 / 7168,
//! kv_lora 512 + rope 64, 128 heads × 192), planted outliers in rms_norm, rope at positions near
//! 4000 with V3's YaRN, more elements than 65535 workgroups cover in one dimension. Runs on
//! lavapipe in CI (WGPU_BACKEND=vulkan); without an adapter the GPU tests fail when CI is set and
//! skip with a reason otherwise. The naga layout checks need no GPU (tests/shaders_naga.rs
//! validates and translates these shaders with every other variant).

mod common;
use common::assert_close;

/// Deterministic values in [-scale/2, scale/2).
fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    common::values(n, seed)
        .into_iter()
        .map(|v| v * scale)
        .collect()
}

use wgpu_ds::cpu::attention::LatentCache;
use wgpu_ds::cpu::ops::{rms_norm, silu};
use wgpu_ds::cpu::rope::Rope;
use wgpu_ds::gpu::elementwise::*;
use wgpu_ds::gpu::kernels::Kernel;
use wgpu_ds::gpu::latent_cache::{encode_cache_f32, encode_kv_store};
use wgpu_ds::gpu::norm::{encode_rms_norm, RmsNorm};
use wgpu_ds::gpu::ops::{read_f32, storage_f32};
use wgpu_ds::gpu::pipelines::Pipelines;
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::gpu::GpuContext;
use wgpu_ds::model::config::Yarn;
use wgpu_ds::model::{CacheType, Place};
use wgpu_ds::model::{Config, Model};

/// Bit-for-bit equality (pure copies), first mismatches printed.
fn assert_same(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let bad: Vec<String> = got
        .iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (g, w))| g.to_bits() != w.to_bits())
        .take(5)
        .map(|(i, (g, w))| format!("[{i}] gpu {g} cpu {w}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: first mismatches: {}",
        bad.join(", ")
    );
}

/// An output buffer that starts as NaN, so a kernel that skips elements cannot pass.
fn out(ctx: &GpuContext, n: usize) -> wgpu::Buffer {
    storage_f32(ctx, "out", &vec![f32::NAN; n])
}

fn run(ctx: &GpuContext, pipes: &Pipelines, f: impl FnOnce(&mut Recorder)) {
    let mut enc = Recorder::new();
    f(&mut enc);
    enc.submit(ctx, pipes);
}

#[test]
fn rms_norm_matches_cpu_with_outliers_at_v2_lite_and_v3_sizes() {
    let Some(ctx) = common::gpu() else { return };
    eprintln!("adapter: {}", wgpu_ds::gpu::context::describe(&ctx.info));
    let pipes = Pipelines::default();
    // (rows, n): one row; a row shorter than the workgroup; kv_lora 512 and q_lora 1536 rows;
    // V2-Lite hidden 2048 with rows not a multiple of anything; V3 hidden 7168.
    for (n_rows, n) in [
        (1, 2048),
        (3, 7),
        (5, 100),
        (7, 512),
        (4, 1536),
        (67, 2048),
        (9, 7168),
    ] {
        let mut x = values(n_rows * n, (n_rows * 131 + n) as u64, 2.0);
        // Massive activations, as DeepSeek hidden states have in a few channels.
        for (i, v) in x.iter_mut().enumerate() {
            if i % 389 == 17 {
                *v *= 1500.0;
            }
        }
        let w: Vec<f32> = values(n, 5, 1.0).iter().map(|v| 1.0 + v).collect();
        let eps = 1e-6;
        let mut want = vec![0f32; x.len()];
        rms_norm(&x, &w, eps, &mut want);
        let (xb, wb, yb) = (
            storage_f32(&ctx, "x", &x),
            storage_f32(&ctx, "w", &w),
            out(&ctx, x.len()),
        );
        run(&ctx, &pipes, |enc| {
            encode_rms_norm(
                &ctx,
                &pipes,
                enc,
                &RmsNorm::plain(&xb, &wb, &yb, n_rows, n, eps),
            )
        });
        let got = read_f32(&ctx, &yb, x.len()).unwrap();
        assert_close(&format!("rms_norm {n_rows}x{n}"), &got, &want, 1e-6, 1e-5);
    }
}

#[test]
fn rms_norm_of_a_zero_row_is_zero_not_nan() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let (n_rows, n) = (2, 300);
    let x = vec![0f32; n_rows * n];
    let w = vec![1f32; n];
    let mut want = vec![1f32; x.len()];
    rms_norm(&x, &w, 1e-6, &mut want);
    let (xb, wb, yb) = (
        storage_f32(&ctx, "x", &x),
        storage_f32(&ctx, "w", &w),
        out(&ctx, x.len()),
    );
    run(&ctx, &pipes, |enc| {
        encode_rms_norm(
            &ctx,
            &pipes,
            enc,
            &RmsNorm::plain(&xb, &wb, &yb, n_rows, n, 1e-6),
        )
    });
    assert_same(
        "rms_norm zeros",
        &read_f32(&ctx, &yb, x.len()).unwrap(),
        &want,
    );
}

/// The Slice op of cpu/mod.rs: y[r, :] = x[r · stride + offset ..][..width].
fn slice_cpu(x: &[f32], n_rows: usize, stride: usize, offset: usize, width: usize) -> Vec<f32> {
    (0..n_rows)
        .flat_map(|r| x[r * stride + offset..][..width].iter().copied())
        .collect()
}

#[test]
fn slice_splits_heads_exactly_including_unaligned_windows() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // (rows = T·H, stride, offset, width): V3 q [T, 128, 192] into q_nope 128 ‖ q_pe 64;
    // kv_a [T, 576] into kv_cmpr 512 ‖ k_pe 64; V2-Lite kv [T, 16, 256] into k_nope ‖ v;
    // a single row with an odd window.
    for (n_rows, stride, offset, width) in [
        (3 * 128, 192, 0, 128),
        (3 * 128, 192, 128, 64),
        (5, 576, 0, 512),
        (5, 576, 512, 64),
        (2 * 16, 256, 128, 128),
        (1, 11, 3, 5),
    ] {
        let x = values(n_rows * stride, (stride + offset) as u64, 4.0);
        let want = slice_cpu(&x, n_rows, stride, offset, width);
        let (xb, yb) = (storage_f32(&ctx, "x", &x), out(&ctx, want.len()));
        run(&ctx, &pipes, |enc| {
            encode_slice(&ctx, &pipes, enc, &xb, &yb, n_rows, stride, offset, width)
        });
        let got = read_f32(&ctx, &yb, want.len()).unwrap();
        assert_same(
            &format!("slice {n_rows}x{stride} [{offset}..+{width}]"),
            &got,
            &want,
        );
    }
}

#[test]
fn add_is_exact_up_to_more_elements_than_one_grid_dimension_holds() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let max_x = ctx.limits.max_compute_workgroups_per_dimension as usize;
    // The last size needs a second row of workgroups (65535 · 256 elements fill the first).
    for n in [1, 1000, 7168, 3 * 2048 + 5, max_x * WG + 300] {
        let a = values(n, 1, 8.0);
        let b = values(n, 2, 0.01);
        let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let (ab, bb, yb) = (
            storage_f32(&ctx, "a", &a),
            storage_f32(&ctx, "b", &b),
            out(&ctx, n),
        );
        run(&ctx, &pipes, |enc| {
            encode_add(&ctx, &pipes, enc, &ab, &bb, &yb, n)
        });
        assert_same(
            &format!("add n={n}"),
            &read_f32(&ctx, &yb, n).unwrap(),
            &want,
        );
    }
}

#[test]
fn swiglu_matches_cpu_silu_including_saturated_gates() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // V2-Lite expert width 1408 (one row; T=3), V3 dense FFN 18432.
    for n in [1408, 3 * 1408 + 1, 18432] {
        let mut g = values(n, 3, 16.0);
        // Saturated gates: silu(-100) = -0 (exp overflows), silu(100) = 100, silu(-20) ≈ -4e-8.
        for (i, v) in [-100.0, 100.0, -20.0, 20.0, 0.0, -88.5, 89.0]
            .into_iter()
            .enumerate()
        {
            g[i * (n / 7)] = v;
        }
        let u = values(n, 4, 3.0);
        let want: Vec<f32> = g.iter().zip(&u).map(|(&g, &u)| silu(g) * u).collect();
        let (gb, ub, yb) = (
            storage_f32(&ctx, "gate", &g),
            storage_f32(&ctx, "up", &u),
            out(&ctx, n),
        );
        run(&ctx, &pipes, |enc| {
            encode_swiglu(&ctx, &pipes, enc, &gb, &ub, &yb, n)
        });
        let got = read_f32(&ctx, &yb, n).unwrap();
        assert_close(&format!("swiglu n={n}"), &got, &want, 1e-6, 1e-5);
    }
}

#[test]
fn weighted_sum_matches_cpu_for_v2_lite_and_v3_expert_counts() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // (T, K, n): V2-Lite decode (6 of 64 experts, hidden 2048), V3 prefill (8 of 256, 7168),
    // one slot, and a row not a multiple of the workgroup.
    for (n_tok, k, n) in [(1, 6, 2048), (5, 8, 7168), (3, 1, 100), (2, 3, 257)] {
        let x = values(n_tok * k * n, (k * 7 + n) as u64, 6.0);
        // Router weights: positive, summing to ~2.5 per token (V3 scales them by 2.5).
        let w: Vec<f32> = values(n_tok * k, 9, 1.0)
            .iter()
            .map(|v| (v + 0.6) * 5.0 / k as f32)
            .collect();
        // The WeightedSum op of cpu/mod.rs (f64 sum).
        let mut want = vec![0f32; n_tok * n];
        for t in 0..n_tok {
            for j in 0..n {
                want[t * n + j] = (0..k)
                    .map(|s| w[t * k + s] as f64 * x[(t * k + s) * n + j] as f64)
                    .sum::<f64>() as f32;
            }
        }
        let (xb, wb, yb) = (
            storage_f32(&ctx, "x", &x),
            storage_f32(&ctx, "w", &w),
            out(&ctx, want.len()),
        );
        run(&ctx, &pipes, |enc| {
            encode_weighted_sum(&ctx, &pipes, enc, &xb, &wb, &yb, n_tok, k, n, &[])
        });
        let got = read_f32(&ctx, &yb, want.len()).unwrap();
        assert_close(
            &format!("weighted_sum T={n_tok} K={k} n={n}"),
            &got,
            &want,
            1e-5,
            1e-5,
        );
    }
}

/// The tiny oracle model's config, given V3's rope: 64 dims, base 10000, YaRN factor 40 over a
/// 4096 original context (beta_fast 32, beta_slow 1).
fn v3_rope_config() -> Config {
    let mut c = Model::open("tests/fixtures/oracle/models/tiny-v3-s-F32.gguf")
        .unwrap()
        .config;
    c.n_embd_head_qk_rope = 64;
    c.rope_freq_base = 10000.0;
    c.yarn = Some(Yarn {
        factor: 40.0,
        original_context: 4096,
        beta_fast: 32.0,
        beta_slow: 1.0,
        log_multiplier: 0.1,
    });
    c
}

#[test]
fn rope_from_the_cpu_table_matches_cpu_rope_at_positions_near_4000() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let tiny = Model::open("tests/fixtures/oracle/models/tiny-v3-s-F32.gguf")
        .unwrap()
        .config;
    let v3 = v3_rope_config();
    // (config, pos0, T, heads): V3 q_pe of 128 heads near position 4000 (pair 0 turns ~4000 rad,
    // ~100 rad pairs further in); its k_pe (1 head); decode at position 0 (identity); the tiny
    // model's own rope over a prefill chunk; V2-Lite's 16 heads mid-context.
    for (c, pos0, n_tok, n_head) in [
        (&v3, 3990, 7, 128),
        (&v3, 4001, 3, 1),
        (&v3, 0, 1, 128),
        (&tiny, 0, 9, 3),
        (&v3, 517, 4, 16),
    ] {
        let rope = Rope::new(c);
        let n_dims = rope.n_dims();
        let x = values(n_tok * n_head * n_dims, (pos0 + n_head) as u64, 6.0);
        let mut want = x.clone();
        for (i, head) in want.chunks_exact_mut(n_dims).enumerate() {
            rope.apply(head, pos0 + i / n_head);
        }
        let (tb, _) = common::step_table(&ctx, &rope, &Place::run(0, pos0, n_tok), pos0 + n_tok);
        let (xb, yb) = (storage_f32(&ctx, "x", &x), out(&ctx, x.len()));
        run(&ctx, &pipes, |enc| {
            encode_rope(
                &ctx,
                &pipes,
                enc,
                &xb,
                &yb,
                &tb,
                n_tok,
                n_head,
                n_dims,
                (None, None),
                CacheType::F32,
                None,
            )
        });
        let got = read_f32(&ctx, &yb, x.len()).unwrap();
        assert_close(
            &format!("rope pos {pos0}.. T={n_tok} H={n_head} dims={n_dims}"),
            &got,
            &want,
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn kv_store_writes_latent_rows_like_the_cpu_cache_in_f32_and_f16() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // V2-Lite / V3: kv_lora 512, rope 64, three slots. A prefill chunk at 0, then steps at the
    // end of the cache and in the middle, as decode and chunked prefill write them, and a
    // batched decode step of one token in each slot. In f16 the cache holds halves two per
    // word, each value rounded to the nearest half as the CPU cache rounds it.
    let (n_ctx, n_slots, kv, rope) = (40, 3, 512, 64);
    let n = n_slots * n_ctx * (kv + rope);
    let r = Rope::new(&v3_rope_config());
    let batch = vec![
        Place { slot: 2, pos: 7 },
        Place { slot: 0, pos: 39 },
        Place { slot: 1, pos: 0 },
    ];
    let steps = [
        Place::run(0, 0, 5),
        Place::run(1, 37, 3),
        Place::run(2, 5, 1),
        Place::run(0, 6, 13),
        batch,
    ];
    for ty in [CacheType::F32, CacheType::F16] {
        let mut cpu = LatentCache::with_slots(1, n_ctx, n_slots, kv, rope, ty);
        let cache = storage_f32(&ctx, "cache", &vec![0.0; n]);
        for (step, places) in steps.iter().enumerate() {
            let n_tok = places.len();
            let c = values(n_tok * kv, step as u64 * 2 + 1, 2.0);
            let p = values(n_tok * rope, step as u64 * 2 + 2, 2.0);
            // The KvStore op of cpu/mod.rs.
            for (i, &at) in places.iter().enumerate() {
                cpu.store(0, at, &c[i * kv..][..kv], &p[i * rope..][..rope]);
            }
            let (cb, pb) = (
                storage_f32(&ctx, "kv_cmpr", &c),
                storage_f32(&ctx, "k_pe", &p),
            );
            let (tb, at) = common::step_table(&ctx, &r, places, n_ctx);
            let table = common::table_of(&tb, at, n_tok);
            run(&ctx, &pipes, |enc| {
                encode_kv_store(
                    &ctx, &pipes, enc, &cb, &pb, &cache, table, n_tok, kv, rope, ty,
                )
            });
            // Widened back to f32 by cache_f32 (a copy for the f32 cache).
            let wide = out(&ctx, n);
            run(&ctx, &pipes, |enc| {
                encode_cache_f32(&ctx, &pipes, enc, &cache, ty, &wide, 0, n)
            });
            let got = read_f32(&ctx, &wide, n).unwrap();
            let what = format!("kv_store {} at {places:?}", ty.name());
            assert_same(&what, &got, cpu.rows(0, 0, n_slots * n_ctx));
            // One slot's rows from its first element on, as the materialized form reads them.
            let one = n_ctx * (kv + rope);
            let wide = out(&ctx, one);
            run(&ctx, &pipes, |enc| {
                encode_cache_f32(&ctx, &pipes, enc, &cache, ty, &wide, 2 * one, one)
            });
            let got = read_f32(&ctx, &wide, one).unwrap();
            assert_same(&format!("{what}, slot 2"), &got, cpu.rows(0, 2, n_ctx));
        }
    }
}

/// f32 → f16 rounding on the GPU (common/half.wgsl, through kv_store) equals half::f16::from_f32
/// bit for bit, over normal, subnormal, tie, overflow, infinite and NaN values.
#[test]
fn f16_cache_rounding_matches_the_cpu_bit_for_bit() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let mut v: Vec<f32> = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        65504.0,
        65519.99,
        65520.0,
        1e6,
        -1e6,
        f32::INFINITY,
        f32::NEG_INFINITY,
        6.1035156e-5,
        6.097555e-5,
        5.9604645e-8,
        2.9802322e-8,
        2.9802326e-8,
        1e-9,
        -3.0e-6,
        1.0 + 2f32.powi(-11),
        1.0 + 3.0 * 2f32.powi(-11),
        0.33333334,
        f32::NAN,
    ];
    // Ties and their neighbours at many exponents, and a spread of ordinary values.
    for e in -30..16 {
        let base = 2f32.powi(e);
        for k in [0x1000u32, 0x0fff, 0x1001, 0x3000, 0x2000] {
            v.push(f32::from_bits(base.to_bits() | k));
        }
    }
    v.extend(values(4096, 77, 3.0));
    let (kv, rope) = (v.len().next_multiple_of(2), 2);
    v.resize(kv, 0.5);
    let pe = [0.25f32, -0.25];
    let cache = storage_f32(&ctx, "cache", &vec![0.0; kv + rope]);
    let (cb, pb) = (storage_f32(&ctx, "kv", &v), storage_f32(&ctx, "pe", &pe));
    let ty = CacheType::F16;
    let r = Rope::new(&v3_rope_config());
    let (tb, at) = common::step_table(&ctx, &r, &Place::run(0, 0, 1), 1);
    run(&ctx, &pipes, |enc| {
        encode_kv_store(
            &ctx,
            &pipes,
            enc,
            &cb,
            &pb,
            &cache,
            common::table_of(&tb, at, 1),
            1,
            kv,
            rope,
            ty,
        )
    });
    let words = read_f32(&ctx, &cache, (kv + rope) / 2).unwrap();
    for (i, &x) in v.iter().enumerate() {
        let got = (words[i / 2].to_bits() >> (16 * (i % 2))) & 0xffff;
        let want = half::f16::from_f32(x).to_bits() as u32;
        assert_eq!(
            got,
            want,
            "f16 of {x:e} ({:#010x}): gpu {got:#06x}, cpu {want:#06x}",
            x.to_bits()
        );
    }
}

/// The module of an op shader, as naga reads it.
fn module(name: &'static str) -> naga::Module {
    let src = Kernel::Op(name).source();
    naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)))
}

const OPS: [&str; 7] = [
    "rms_norm",
    "slice",
    "add",
    "swiglu",
    "weighted_sum",
    "rope",
    "kv_store",
];

#[test]
fn every_shader_uses_the_workgroup_size_the_encoders_assume() {
    for name in OPS {
        let m = module(name);
        let (_, c) = m
            .constants
            .iter()
            .find(|(_, c)| c.name.as_deref() == Some("WG"))
            .unwrap_or_else(|| panic!("{name}: no const WG"));
        let wg = match m.global_expressions[c.init] {
            naga::Expression::Literal(naga::Literal::U32(v)) => v as usize,
            ref other => panic!("{name}: WG = {other:?}"),
        };
        assert_eq!(wg, WG, "{name}");
    }
}
