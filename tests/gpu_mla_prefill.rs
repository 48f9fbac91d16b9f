//! Materialized MLA attention on the GPU (K_nope and V expanded from the latent cache per head,
//! then causal attention) against cpu::attention::attn_materialized: V2-Lite dimensions (kv 512,
//! rope 64, nope 128, v 128, 16 heads) for a 7-token prefill chunk at positions 0 and 50, with
//! attn_k_b / attn_v_b in F16, Q8_0 and Q4_K (Q4_K needs rows that are whole 256-blocks: attn_v_b's
//! rows are kv = 512 long, attn_k_b's only nope = 128, so Q4_K k_b is tested with nope 256, as a
//! quantizer falls back to Q8_0/Q5_0 for it in real files); heads in groups (the path for K/V
//! above the binding limit) and a small binding limit that also splits the weight stacks; and an
//! odd small shape; and matvec_t alone (the K_nope expansion) for every block type with 16-byte
//! and word loads. The cache carries planted positions that the even heads' queries point at
//! (a sharp softmax over a few positions), while the odd heads stay flat. Runs on lavapipe in CI
//! (WGPU_BACKEND=vulkan). Without an adapter the tests fail when CI is set and skip otherwise.

mod common;
use common::{assert_close, quantized, values};

use wgpu_ds::cpu::attention::{attn_materialized, LatentCache};
use wgpu_ds::cpu::ops::{softmax, QMatrix};
use wgpu_ds::gpu::mla_prefill::{encode_attn_materialized, encode_matvec_t, MlaScratch};
use wgpu_ds::gpu::ops::{read_f32, storage_f32, GpuWeight};
use wgpu_ds::gpu::pipelines::{MatVecShape, Pipelines};
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::gpu::{GpuContext, GpuOptions};
use wgpu_ds::model::Place;
use wgpu_ds::quant::{self, QuantType};

/// Shape of one step.
#[derive(Clone, Copy, Debug)]
struct Dims {
    kv: usize,
    rope: usize,
    nope: usize,
    v: usize,
    n_head: usize,
    pos0: usize,
    n_tok: usize,
}

/// One step's inputs: weights as stored, a cache of pos0 + n_tok positions, the queries.
struct Case {
    d: Dims,
    k_ty: QuantType,
    v_ty: QuantType,
    /// H matrices of kv rows × nope.
    k_b: Vec<u8>,
    /// H matrices of v rows × kv.
    v_b: Vec<u8>,
    cache: LatentCache,
    q_nope: Vec<f32>,
    q_pe: Vec<f32>,
    scale: f32,
}

fn planted(s: usize) -> bool {
    s % 13 == 3
}

/// Positions 3, 16, 29, ... carry β·dir (β from 0.25 to 0.33) on top of their c_kv noise. The
/// even heads' q_nope is noise plus κ·u/|u|², u = W_kbᵀ·dir (from the weights as the GPU reads
/// them), so their score of a planted position is about 10 above the rest after the scale; the
/// odd heads' queries are noise.
fn case(d: Dims, k_ty: QuantType, v_ty: QuantType) -> Case {
    let (kv, rope, nope, h) = (d.kv, d.rope, d.nope, d.n_head);
    let w = kv + rope;
    let n_kv = d.pos0 + d.n_tok;
    let scale = 1.0 / ((nope + rope) as f32).sqrt();
    let k_b = quantized(k_ty, h * kv, nope, 21);
    let v_b = quantized(v_ty, h * d.v, kv, 22);
    let dir: Vec<f32> = values(kv, 23)
        .iter()
        .map(|x| if *x < 0.0 { -1.0 } else { 1.0 })
        .collect();
    let mut cache = LatentCache::new(1, n_kv, kv, rope);
    let noise = values(n_kv * w, 24);
    for s in 0..n_kv {
        let beta = if planted(s) {
            0.25 + 0.02 * (s % 5) as f32
        } else {
            0.0
        };
        for (j, r) in cache
            .row_mut(0, Place { slot: 0, pos: s })
            .iter_mut()
            .enumerate()
        {
            *r = noise[s * w + j] + if j < kv { beta * dir[j] } else { 0.0 };
        }
    }
    // u_h[e] = Σ_c W_kb[h][c][e] · dir[c], with the weights dequantized.
    let kb = quant::dequantize(k_ty, &k_b, h * kv * nope).unwrap();
    let kappa = 10.0 / (scale * 0.25);
    let qn = values(d.n_tok * h * nope, 25);
    let mut q_nope = vec![0f32; d.n_tok * h * nope];
    for hh in 0..h {
        let mut u = vec![0f32; nope];
        for c in 0..kv {
            for (e, ue) in u.iter_mut().enumerate() {
                *ue += kb[(hh * kv + c) * nope + e] * dir[c];
            }
        }
        let u2: f32 = u.iter().map(|x| x * x).sum();
        for t in 0..d.n_tok {
            let q = &mut q_nope[(t * h + hh) * nope..][..nope];
            for (e, qe) in q.iter_mut().enumerate() {
                let n = qn[(t * h + hh) * nope + e];
                *qe = if hh % 2 == 0 {
                    0.5 * n + kappa * u[e] / u2
                } else {
                    n
                };
            }
        }
    }
    Case {
        d,
        k_ty,
        v_ty,
        k_b,
        v_b,
        cache,
        q_nope,
        q_pe: values(d.n_tok * h * rope, 26),
        scale,
    }
}

/// The softmax of token t, head h over its visible positions, computed here from the dequantized
/// weights (to show the data means what the case says).
fn probs(c: &Case, t: usize, h: usize) -> Vec<f32> {
    let Dims { kv, rope, nope, .. } = c.d;
    let kb = quant::dequantize(c.k_ty, &c.k_b, c.d.n_head * kv * nope).unwrap();
    let n_vis = c.d.pos0 + t + 1;
    let rows = c.cache.rows(0, 0, n_vis);
    let qn = &c.q_nope[(t * c.d.n_head + h) * nope..][..nope];
    let qp = &c.q_pe[(t * c.d.n_head + h) * rope..][..rope];
    let mut p: Vec<f32> = rows
        .chunks_exact(kv + rope)
        .map(|r| {
            let mut s = 0.0;
            for cc in 0..kv {
                let w = &kb[(h * kv + cc) * nope..][..nope];
                s += r[cc] * w.iter().zip(qn).map(|(a, b)| a * b).sum::<f32>();
            }
            s += r[kv..].iter().zip(qp).map(|(a, b)| a * b).sum::<f32>();
            s * c.scale
        })
        .collect();
    softmax(&mut p);
    p
}

#[test]
fn planted_positions_make_even_heads_sharp_and_odd_heads_flat() {
    let d = Dims {
        kv: 512,
        rope: 64,
        nope: 128,
        v: 128,
        n_head: 2,
        pos0: 50,
        n_tok: 7,
    };
    let c = case(d, QuantType::Q8_0, QuantType::Q8_0);
    let t = 6; // sees 57 positions, 5 of them planted
    for h in 0..2 {
        let p = probs(&c, t, h);
        let top = p.iter().copied().fold(0.0, f32::max);
        let on_planted: f32 = (0..p.len()).filter(|s| planted(*s)).map(|s| p[s]).sum();
        eprintln!("head {h}: max weight {top:.3}, planted positions {on_planted:.3}");
        if h == 0 {
            assert!(
                top > 0.2 && on_planted > 0.99,
                "head 0: {top}, {on_planted}"
            );
        } else {
            assert!(top < 0.2 && on_planted < 0.4, "head 1: {top}, {on_planted}");
        }
    }
}

/// Runs the GPU path (heads in groups of `group`, or as many as fit) and compares with the CPU.
fn check(ctx: &GpuContext, c: &Case, group: Option<usize>) -> (f32, f32) {
    let d = c.d;
    let pipes = Pipelines::default();
    let n_kv = d.pos0 + d.n_tok;
    let k_q = QMatrix {
        ty: c.k_ty,
        bytes: &c.k_b,
        rows: d.n_head * d.kv,
        cols: d.nope,
    };
    let v_q = QMatrix {
        ty: c.v_ty,
        bytes: &c.v_b,
        rows: d.n_head * d.v,
        cols: d.kv,
    };
    let want = attn_materialized(
        &c.cache,
        0,
        Place {
            slot: 0,
            pos: d.pos0,
        },
        &c.q_nope,
        &c.q_pe,
        k_q,
        v_q,
        d.n_head,
        c.scale,
    )
    .unwrap();
    let k_b = GpuWeight::upload_stack(ctx, "k_b", c.k_ty, d.n_head, d.kv, d.nope, &c.k_b).unwrap();
    let v_b = GpuWeight::upload_stack(ctx, "v_b", c.v_ty, d.n_head, d.v, d.kv, &c.v_b).unwrap();
    let scratch = match group {
        Some(g) => MlaScratch::with_group(ctx, n_kv, g, d.nope, d.v),
        None => MlaScratch::new(ctx, n_kv, d.n_head, d.nope, d.v).unwrap(),
    };
    let cb = storage_f32(ctx, "cache", c.cache.rows(0, 0, n_kv));
    let qn = storage_f32(ctx, "q_nope", &c.q_nope);
    let qp = storage_f32(ctx, "q_pe", &c.q_pe);
    let ob = storage_f32(ctx, "out", &vec![f32::NAN; want.len()]);
    let mut enc = Recorder::new();
    encode_attn_materialized(
        ctx, &pipes, &mut enc, &scratch, &cb, &qn, &qp, &k_b, &v_b, &ob, d.pos0, d.n_tok, d.rope,
        c.scale,
    )
    .unwrap();
    enc.submit(ctx, &pipes);
    let got = read_f32(ctx, &ob, want.len()).unwrap();
    ctx.take_error("materialized attention").unwrap();
    let what = format!(
        "materialized kv {} rope {} nope {} v {} H {} pos0 {} T {} k_b {} v_b {} (groups of {}, {}+{} weight chunks)",
        d.kv,
        d.rope,
        d.nope,
        d.v,
        d.n_head,
        d.pos0,
        d.n_tok,
        c.k_ty,
        c.v_ty,
        scratch.group,
        k_b.chunks.len(),
        v_b.chunks.len()
    );
    let e = assert_close(&what, &got, &want, 4e-5, 4e-4);
    (e.max_abs, e.max_rel)
}

const V2_LITE: Dims = Dims {
    kv: 512,
    rope: 64,
    nope: 128,
    v: 128,
    n_head: 16,
    pos0: 0,
    n_tok: 7,
};

#[test]
fn attn_materialized_matches_cpu_v2_lite_dims_f16_q8_0_q4_k() {
    let Some(ctx) = common::gpu() else { return };
    use QuantType::*;
    for pos0 in [0, 50] {
        let d = Dims { pos0, ..V2_LITE };
        for (k_ty, v_ty) in [(F16, F16), (Q8_0, Q8_0), (Q8_0, Q4K)] {
            check(&ctx, &case(d, k_ty, v_ty), None);
        }
        // Q4_K attn_k_b needs rows of 256.
        check(&ctx, &case(Dims { nope: 256, ..d }, Q4K, Q4K), None);
    }
}

#[test]
fn attn_materialized_matches_cpu_with_heads_in_groups_and_split_weights() {
    let Some(ctx) = common::gpu() else { return };
    let d = Dims {
        pos0: 50,
        ..V2_LITE
    };
    // 16 heads as 5 + 5 + 5 + 1: the groups past the first pick their attn_v_b matrices by id.
    check(&ctx, &case(d, QuantType::Q8_0, QuantType::Q4K), Some(5));
    // A 256 KiB binding limit: attn_k_b (128 KiB per head in F16) in chunks of 2 heads, and K/V
    // scratch for 8 heads at a time.
    let Some(tiny) = common::gpu_with(GpuOptions {
        max_binding: Some(256 * 1024),
        ..Default::default()
    }) else {
        return;
    };
    check(&tiny, &case(d, QuantType::F16, QuantType::F16), None);
}

#[test]
fn attn_materialized_matches_cpu_for_an_odd_small_shape() {
    let Some(ctx) = common::gpu() else { return };
    // Nothing a multiple of the workgroup: kv 72, rope 8, nope 24, v 40, 3 heads, 74 positions
    // (two position tiles, the second cut mid-way), also in groups of 2.
    let d = Dims {
        kv: 72,
        rope: 8,
        nope: 24,
        v: 40,
        n_head: 3,
        pos0: 69,
        n_tok: 5,
    };
    for ty in [QuantType::F32, QuantType::F16] {
        check(&ctx, &case(d, ty, ty), None);
        check(&ctx, &case(d, ty, ty), Some(2));
    }
    // Q8_0 needs rows of 32: kv 96, nope 32.
    let d = Dims {
        kv: 96,
        nope: 32,
        ..d
    };
    check(&ctx, &case(d, QuantType::Q8_0, QuantType::Q8_0), Some(2));
}

/// Y[s, g, d] = Σ_c W_{m_base+g}[c, d] · X[s · x_stride + c] from the dequantized stack.
fn cpu_matvec_t(
    w: &[f32],
    (rows, cols): (usize, usize),
    x: &[f32],
    x_stride: usize,
    (n_x, m_base, n_slot): (usize, usize, usize),
) -> Vec<f32> {
    let mut y = vec![0f32; n_x * n_slot * cols];
    for s in 0..n_x {
        for g in 0..n_slot {
            let m = &w[(m_base + g) * rows * cols..][..rows * cols];
            for d in 0..cols {
                let acc: f64 = (0..rows)
                    .map(|c| m[c * cols + d] as f64 * x[s * x_stride + c] as f64)
                    .sum();
                y[(s * n_slot + g) * cols + d] = acc as f32;
            }
        }
    }
    y
}

#[test]
fn matvec_t_matches_cpu_for_every_type_and_load_width() {
    let Some(ctx) = common::gpu() else { return };
    // attn_k_b of V2-Lite (kv 512 rows of nope 128, stride 576 in the cache), 3 matrices of
    // which 2 from the second, 7 positions (the last position tile cut mid-way); types whose
    // blocks are 256 long take rows of 256. Float types also take rows of 72 (2 units and 8
    // elements past them).
    let (rows, x_stride, n_mat, n_x, m_base, n_slot) = (512, 576, 3, 7, 1, 2);
    let x = values(n_x * x_stride, 41);
    for word_loads in [false, true] {
        let pipes = Pipelines::new(MatVecShape {
            word_loads,
            ..MatVecShape::default()
        });
        for &ty in quant::SUPPORTED {
            let blck = ty.info().blck_size;
            let mut widths = vec![128.max(blck)];
            if blck == 1 {
                widths.push(72);
            }
            for cols in widths {
                let bytes = quantized(ty, n_mat * rows, cols, 42);
                let w = quant::dequantize(ty, &bytes, n_mat * rows * cols).unwrap();
                let want = cpu_matvec_t(&w, (rows, cols), &x, x_stride, (n_x, m_base, n_slot));
                let wb = GpuWeight::upload_stack(&ctx, "w", ty, n_mat, rows, cols, &bytes).unwrap();
                let xb = storage_f32(&ctx, "x", &x);
                let yb = storage_f32(&ctx, "y", &vec![f32::NAN; want.len()]);
                let mut enc = Recorder::new();
                encode_matvec_t(
                    &ctx, &pipes, &mut enc, &wb, &xb, &yb, n_x, x_stride, m_base, n_slot,
                )
                .unwrap();
                enc.submit(&ctx, &pipes);
                let got = read_f32(&ctx, &yb, want.len()).unwrap();
                ctx.take_error("matvec_t").unwrap();
                let what = format!("matvec_t {ty} {rows}x{cols} word loads {word_loads}");
                assert_close(&what, &got, &want, 1e-3, 1e-4);
            }
        }
    }
}
