//! MoE routing and argmax on the GPU against cpu::moe::route and sample::argmax: V2-Lite-like
//! softmax routing, V3-like sigmoid routing with bias, groups, normalization and scale, V2-like
//! groups without a bias (where the group-max and top-2-sum rules keep different groups), exact
//! ties, several tokens; argmax with ties and V3's vocabulary. Runs on lavapipe in CI
//! (WGPU_BACKEND=vulkan). Without an adapter the tests fail when CI is set and skip otherwise.

mod common;
use common::{assert_close, values};

use wgpu_ds::cpu::moe::route;
use wgpu_ds::gpu::ops::{read_f32, storage_f32};
use wgpu_ds::gpu::pipelines::Pipelines;
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::gpu::routing::{encode_argmax, encode_moe_route, MoeRoute, RouteNorm, RouterInput};
use wgpu_ds::gpu::GpuContext;
use wgpu_ds::model::graph::Routing;
use wgpu_ds::model::Gating;
use wgpu_ds::sample::argmax;

struct Routed {
    probs: Vec<f32>,
    topk: Vec<i32>,
    weights: Vec<f32>,
}

fn cpu_route(logits: &[f32], bias: Option<&[f32]>, r: &Routing, n_expert: usize) -> Routed {
    let n_tok = logits.len() / n_expert;
    let k = r.n_expert_used;
    let mut out = Routed {
        probs: vec![0.0; n_tok * n_expert],
        topk: vec![0; n_tok * k],
        weights: vec![0.0; n_tok * k],
    };
    for t in 0..n_tok {
        route(
            &logits[t * n_expert..][..n_expert],
            bias,
            r,
            &mut out.probs[t * n_expert..][..n_expert],
            &mut out.topk[t * k..][..k],
            &mut out.weights[t * k..][..k],
        );
    }
    out
}

fn gpu_route(
    ctx: &GpuContext,
    pipes: &Pipelines,
    logits: &[f32],
    bias: Option<&[f32]>,
    r: &Routing,
    n_expert: usize,
) -> Routed {
    let n_tok = logits.len() / n_expert;
    let k = r.n_expert_used;
    let lb = storage_f32(ctx, "logits", logits);
    let bb = bias.map(|b| storage_f32(ctx, "bias", b));
    let pb = storage_f32(ctx, "probs", &vec![0.0; n_tok * n_expert]);
    let tb = storage_f32(ctx, "topk", &vec![-1.0; n_tok * k]);
    let wb = storage_f32(ctx, "weights", &vec![0.0; n_tok * k]);
    let mut enc = Recorder::new();
    let route = MoeRoute {
        input: RouterInput::Logits(&lb),
        norm: None,
        bias: bb.as_ref(),
        probs: &pb,
        topk: &tb,
        weights: &wb,
        n_tok,
        n_expert,
        routing: r,
    };
    encode_moe_route(ctx, pipes, &mut enc, &route);
    enc.submit(ctx, pipes);
    let topk = read_f32(ctx, &tb, n_tok * k).unwrap();
    Routed {
        probs: read_f32(ctx, &pb, n_tok * n_expert).unwrap(),
        topk: topk.iter().map(|v| v.to_bits() as i32).collect(),
        weights: read_f32(ctx, &wb, n_tok * k).unwrap(),
    }
}

/// GPU routing equals the CPU's: identical expert ids, scores and weights within f32 rounding.
fn check(
    ctx: &GpuContext,
    pipes: &Pipelines,
    what: &str,
    logits: &[f32],
    bias: Option<&[f32]>,
    r: &Routing,
    n_expert: usize,
) -> Routed {
    let want = cpu_route(logits, bias, r, n_expert);
    let got = gpu_route(ctx, pipes, logits, bias, r, n_expert);
    let k = r.n_expert_used;
    for (t, (g, w)) in got.topk.chunks(k).zip(want.topk.chunks(k)).enumerate() {
        assert_eq!(g, w, "{what}: token {t} expert ids (gpu vs cpu)");
    }
    let ep = assert_close(
        &format!("{what} probs"),
        &got.probs,
        &want.probs,
        1e-7,
        1e-5,
    )
    .max_abs;
    let ew = assert_close(
        &format!("{what} weights"),
        &got.weights,
        &want.weights,
        1e-7,
        1e-5,
    )
    .max_abs;
    eprintln!("{what}: ids identical, max |Δprob| {ep:.2e}, max |Δweight| {ew:.2e}");
    want
}

fn routing(gating: Gating, k: usize, groups: (usize, usize), norm: bool, scale: f32) -> Routing {
    Routing {
        gating,
        n_expert_used: k,
        n_groups: groups.0,
        n_group_used: groups.1,
        norm,
        scale,
    }
}

#[test]
fn moe_route_matches_cpu_softmax_v2_lite() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // 64 experts, top-6, no groups, no normalization; 7 tokens with logits of router-like spread.
    let n_e = 64;
    let logits: Vec<f32> = values(7 * n_e, 1).iter().map(|v| v * 8.0).collect();
    let r = routing(Gating::Softmax, 6, (1, 1), false, 1.0);
    check(&ctx, &pipes, "softmax 64/6", &logits, None, &r, n_e);
}

#[test]
fn moe_route_matches_cpu_sigmoid_v3_with_bias_groups_norm_scale() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // 256 experts in 8 groups, 4 groups used, top-8, bias, normalized, × 2.5; 5 tokens.
    let n_e = 256;
    let logits: Vec<f32> = values(5 * n_e, 2).iter().map(|v| v * 6.0).collect();
    let bias: Vec<f32> = values(n_e, 3).iter().map(|v| v * 0.4).collect();
    let r = routing(Gating::Sigmoid, 8, (8, 4), true, 2.5);
    let want = check(
        &ctx,
        &pipes,
        "sigmoid 256/8 g8/4",
        &logits,
        Some(&bias),
        &r,
        n_e,
    );
    // The groups really restrict the choice: without them some token picks other experts.
    let free = cpu_route(
        &logits,
        Some(&bias),
        &routing(Gating::Sigmoid, 8, (1, 1), true, 2.5),
        n_e,
    );
    assert_ne!(want.topk, free.topk, "test data: groups make no difference");
}

/// Group 2i holds one high expert, group 2i+1 two medium ones,
/// so the max rule (no bias) keeps the even groups and the top-2-sum rule (bias) the odd ones.
fn max_vs_top2_logits(n_e: usize, per_group: usize, n_tok: usize) -> Vec<f32> {
    let noise = values(n_tok * n_e, 4);
    (0..n_tok * n_e)
        .map(|i| {
            let (t, e) = (i / n_e, i % n_e);
            let (g, j) = (e / per_group, e % per_group);
            let base = -3.0 + noise[i] * 0.5;
            match (g % 2, j) {
                // max 2.16 > 1.68, but e^2.16 = 8.7 < 2·e^1.6 = 9.9
                (0, 0) => 2.0 + 0.02 * (g + t) as f32,
                (1, 0) | (1, 1) => 1.6 + 0.01 * (g as f32) + noise[i] * 0.02,
                _ => base,
            }
        })
        .collect()
}

#[test]
fn moe_route_matches_cpu_groups_without_bias_use_the_group_max() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // V2-like: softmax, 8 groups of 20 experts, 3 used, top-6, no normalization, × 16.
    let (n_e, per_group, n_tok) = (160, 20, 3);
    let logits = max_vs_top2_logits(n_e, per_group, n_tok);
    let r = routing(Gating::Softmax, 6, (8, 3), false, 16.0);
    let without = check(
        &ctx,
        &pipes,
        "softmax 160/6 g8/3 no bias",
        &logits,
        None,
        &r,
        n_e,
    );
    // A zero bias switches the CPU to the top-2-sum rule; the data must tell the rules apart,
    // and the GPU must follow the CPU in both.
    let zero = vec![0.0; n_e];
    let with = check(
        &ctx,
        &pipes,
        "softmax 160/6 g8/3 zero bias",
        &logits,
        Some(&zero),
        &r,
        n_e,
    );
    for t in 0..n_tok {
        let groups = |ids: &[i32]| {
            let mut g: Vec<i32> = ids.iter().map(|&e| e / per_group as i32).collect();
            g.sort();
            g.dedup();
            g
        };
        let (gw, gb) = (
            groups(&without.topk[t * 6..][..6]),
            groups(&with.topk[t * 6..][..6]),
        );
        assert!(
            gw.iter().all(|g| g % 2 == 0),
            "token {t}: max rule groups {gw:?}"
        );
        assert!(
            gb.iter().all(|g| g % 2 == 1),
            "token {t}: top-2 rule groups {gb:?}"
        );
    }
}

#[test]
fn moe_route_ties_go_to_the_lower_expert_id() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // Token 0: all logits equal. Token 1: a block of equal maxima in the middle. Token 2: equal
    // pairs everywhere.
    let n_e = 64;
    let mut logits = vec![0.25f32; n_e];
    logits.extend((0..n_e).map(|e| if (20..30).contains(&e) { 1.0 } else { 0.0 }));
    logits.extend((0..n_e).map(|e| (e / 2) as f32 * 0.01));
    let r = routing(Gating::Softmax, 6, (1, 1), true, 1.0);
    let got = check(&ctx, &pipes, "ties softmax", &logits, None, &r, n_e);
    assert_eq!(&got.topk[..6], &[0, 1, 2, 3, 4, 5]);
    assert_eq!(&got.topk[6..12], &[20, 21, 22, 23, 24, 25]);
    assert_eq!(&got.topk[12..18], &[62, 63, 60, 61, 58, 59]);
    // Tied groups too: sigmoid, 8 equal groups, 2 kept (the lowest), with and without a bias.
    let logits = vec![0.5f32; 2 * n_e];
    let r = routing(Gating::Sigmoid, 4, (8, 2), true, 2.5);
    let got = check(&ctx, &pipes, "ties groups no bias", &logits, None, &r, n_e);
    assert_eq!(&got.topk[..4], &[0, 1, 2, 3]);
    let bias = vec![0.125f32; n_e];
    check(
        &ctx,
        &pipes,
        "ties groups bias",
        &logits,
        Some(&bias),
        &r,
        n_e,
    );
}

#[test]
fn moe_route_matches_cpu_when_top_k_exceeds_kept_experts() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // 16 experts in 8 groups of 2, one group kept, top-4: two choices come from masked groups
    // (the CPU's -inf, ordered by id).
    let n_e = 16;
    let logits: Vec<f32> = values(4 * n_e, 9).iter().map(|v| v * 4.0).collect();
    let r = routing(Gating::Softmax, 4, (8, 1), true, 1.0);
    check(&ctx, &pipes, "masked fill", &logits, None, &r, n_e);
}

fn gpu_argmax(ctx: &GpuContext, pipes: &Pipelines, x: &[f32]) -> usize {
    let xb = storage_f32(ctx, "logits", x);
    let ob = storage_f32(ctx, "argmax", &[f32::from_bits(12345)]);
    let mut enc = Recorder::new();
    encode_argmax(ctx, pipes, &mut enc, &xb, &ob, x.len());
    enc.submit(ctx, pipes);
    read_f32(ctx, &ob, 1).unwrap()[0].to_bits() as usize
}

#[test]
fn argmax_matches_cpu_with_ties_and_v3_vocabulary() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let n = 129_280;
    let mut cases: Vec<(String, Vec<f32>)> = Vec::new();
    let mut x: Vec<f32> = values(n, 5).iter().map(|v| v * 20.0).collect();
    x[98_765] = 50.0;
    cases.push(("V3 vocabulary, one maximum".into(), x.clone()));
    // The same maximum at several places, in different invocations' strides: the first wins.
    x[129_279] = 50.0;
    x[100_000] = 50.0;
    x[98_766] = 50.0;
    cases.push(("V3 vocabulary, ties".into(), x.clone()));
    x[3] = 50.0;
    cases.push(("V3 vocabulary, tie at 3".into(), x.clone()));
    cases.push(("last element".into(), (0..1000).map(|i| i as f32).collect()));
    cases.push(("all equal".into(), vec![-1.5; 777]));
    cases.push((
        "all negative".into(),
        values(300, 6).iter().map(|v| v - 10.0).collect(),
    ));
    cases.push(("one".into(), vec![-3.0]));
    cases.push(("below WG".into(), values(255, 7)));
    cases.push(("above WG".into(), values(257, 8)));
    for (what, x) in &cases {
        let (got, want) = (gpu_argmax(&ctx, &pipes, x), argmax(x));
        assert_eq!(got, want, "argmax {what}: n {}", x.len());
    }
    assert_eq!(gpu_argmax(&ctx, &pipes, &cases[1].1), 98_765);
    assert_eq!(gpu_argmax(&ctx, &pipes, &cases[2].1), 3);
}

/// The router's matvec folded into the routing (RouterInput::Gate) scores the hidden states as
/// the CPU's F32 matmul then route does: V2-Lite (64 experts of hidden 2048, softmax top-6) and
/// V3 (256 experts of hidden 7168, sigmoid with bias and groups). With the FFN norm folded in
/// too (`moe_route_norm`), the kernel first computes the residual Add (stored bit for bit as the
/// CPU's f32 sum) and the RMSNorm of it (stored; the CPU sums its squares in f64), and routes that.
#[test]
fn moe_route_with_the_router_matvec_folded_in_matches_cpu_matmul_then_route() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let v3_bias: Vec<f32> = values(256, 7).iter().map(|v| v * 0.4).collect();
    let cases = [
        (
            "V2-Lite",
            64,
            2048,
            routing(Gating::Softmax, 6, (1, 1), false, 1.0),
            None,
        ),
        (
            "V3",
            256,
            7168,
            routing(Gating::Sigmoid, 8, (8, 4), true, 2.5),
            Some(&v3_bias[..]),
        ),
    ];
    for (what, n_e, n_embd, r, bias) in cases {
        for fold_norm in [false, true] {
            let what = format!("{what}{}", if fold_norm { " with the norm" } else { "" });
            route_gate_case(&ctx, &pipes, &what, (n_e, n_embd), &r, bias, fold_norm);
        }
    }
}

fn route_gate_case(
    ctx: &GpuContext,
    pipes: &Pipelines,
    what: &str,
    (n_e, n_embd): (usize, usize),
    r: &Routing,
    bias: Option<&[f32]>,
    fold_norm: bool,
) {
    let n_tok = 3;
    let eps = 1e-6;
    let a = values(n_tok * n_embd, 5);
    let b: Vec<f32> = values(n_tok * n_embd, 8).iter().map(|v| v * 0.5).collect();
    let nw: Vec<f32> = values(n_embd, 9).iter().map(|v| 1.0 + 0.5 * v).collect();
    let sum: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    // Without the norm the router scores `a` itself.
    let x = if fold_norm {
        let mut xn = vec![0.0; sum.len()];
        wgpu_ds::cpu::ops::rms_norm(&sum, &nw, eps, &mut xn);
        xn
    } else {
        a.clone()
    };
    let w: Vec<f32> = values(n_e * n_embd, 6).iter().map(|v| v * 0.2).collect();
    let bytes: Vec<u8> = bytemuck::cast_slice(&w).to_vec();
    let m = wgpu_ds::cpu::ops::QMatrix {
        ty: wgpu_ds::quant::QuantType::F32,
        bytes: &bytes,
        rows: n_e,
        cols: n_embd,
    };
    let logits = wgpu_ds::cpu::ops::matmul(m, &x, n_tok).unwrap();
    let want = cpu_route(&logits, bias, r, n_e);
    let k = r.n_expert_used;
    let (ab, wb) = (storage_f32(ctx, "x", &a), storage_f32(ctx, "gate", &w));
    let (bb2, nwb) = (storage_f32(ctx, "b", &b), storage_f32(ctx, "norm w", &nw));
    let zeros = vec![0.0; n_tok * n_embd];
    let (sb, xnb) = (
        storage_f32(ctx, "sum", &zeros),
        storage_f32(ctx, "xn", &zeros),
    );
    let bb = bias.map(|b| storage_f32(ctx, "bias", b));
    let pb = storage_f32(ctx, "probs", &vec![0.0; n_tok * n_e]);
    let tb = storage_f32(ctx, "topk", &vec![-1.0; n_tok * k]);
    let ob = storage_f32(ctx, "weights", &vec![0.0; n_tok * k]);
    let norm = fold_norm.then_some(RouteNorm {
        b: &bb2,
        w: &nwb,
        sum: &sb,
        out: &xnb,
        eps,
    });
    let route = MoeRoute {
        input: RouterInput::Gate {
            x: &ab,
            w: &wb,
            n_embd,
        },
        norm,
        bias: bb.as_ref(),
        probs: &pb,
        topk: &tb,
        weights: &ob,
        n_tok,
        n_expert: n_e,
        routing: r,
    };
    let mut enc = Recorder::new();
    encode_moe_route(ctx, pipes, &mut enc, &route);
    enc.submit(ctx, pipes);
    if fold_norm {
        let got_sum = read_f32(ctx, &sb, sum.len()).unwrap();
        assert!(got_sum == sum, "{what}: the stored sum differs from a + b");
        let got_x = read_f32(ctx, &xnb, x.len()).unwrap();
        assert_close(&format!("{what} norm"), &got_x, &x, 1e-6, 1e-5);
    }
    let topk: Vec<i32> = read_f32(ctx, &tb, n_tok * k)
        .unwrap()
        .iter()
        .map(|v| v.to_bits() as i32)
        .collect();
    assert_eq!(topk, want.topk, "{what}: expert ids");
    let probs = read_f32(ctx, &pb, n_tok * n_e).unwrap();
    assert_close(&format!("{what} probs"), &probs, &want.probs, 1e-6, 1e-4);
    let weights = read_f32(ctx, &ob, n_tok * k).unwrap();
    assert_close(
        &format!("{what} weights"),
        &weights,
        &want.weights,
        1e-6,
        1e-4,
    );
}
