// moe_route: DeepSeek's MoE routing of each token, all of cpu::moe::route in one kernel:
//   scores    = softmax(logits) | sigmoid(logits)                                     -> PROBS
//   selection = scores + BIAS (V3's exp_probs_b, when has_bias; selection only)
//   groups    : with n_groups > 1 keep the n_group_used best groups, a group scored by the sum of
//               its top-2 selection scores when there is a bias and by its max when there is none
//   top-k     : the n_used best selection scores of the kept groups, best first, ties to the
//               lower id                                                               -> TOPK
//   weights   = scores of the chosen experts, / max(Σ, 2^-14) if norm, × scale if scale ∉ {0, 1}
//                                                                                      -> WEIGHTS
// The encoder passes n_groups = 1 when grouping does not apply (one group, or all groups used).
//
// With n_embd > 0 the kernel first computes the logits itself (the router's matvec, folded in by
// the executor): logits[e] = Σ_c GATE[e, c] · x[t, c] over the token's normalized hidden state
// x [n_tok, n_embd], read through `router_x` (the entry file's: LOGITS itself, or the row the
// kernel normalized first); each expert's dot is split over WG / n_expert invocations (at least
// one) whose partial sums are added in a fixed order.
//
// This file holds the routing; an entry file composed after it (moe_route/route.wgsl, or
// moe_route/norm.wgsl, which first computes the RMSNorm the router reads) holds `main` and
// `router_x`.
//
// Bindings: LOGITS [n_tok, n_expert] f32 (or the hidden states, above), BIAS [n_expert] f32 (any
//           buffer when has_bias = 0: it is not read), PROBS [n_tok, n_expert] f32,
//           TOPK [n_tok, n_used] i32, WEIGHTS [n_tok, n_used] f32, GATE [n_expert, n_embd] f32
//           (read only when n_embd > 0), then the entry file's, then P params.
// Mapping: one workgroup per token (x + y · x count); the WG invocations stride over experts for
// the softmax (workgroup max and sum), over groups for the group scores, and over experts again
// for the top-k. No sort: an expert's rank is the number of experts that come before it in the
// CPU's order (kept groups first, then selection score descending, then id ascending), so rank k
// < n_used is the k-th choice, and equal scores resolve exactly as the CPU's stable sort. That is
// n_expert² comparisons per token (65,536 for V3's 256 experts, 256 per invocation).
// Limits (checked by the encoder): n_expert ≤ MAX_E, n_groups ≤ MAX_G, n_used ≤ MAX_K.

const WG: u32 = 256u;
const MAX_E: u32 = 512u;
const MAX_G: u32 = 64u;
const MAX_K: u32 = 64u;
const NEG: f32 = -3.0e38;
const MIN_WEIGHT_SUM: f32 = 6.103515625e-5;

struct Params {
    n_tok: u32,
    n_expert: u32,
    n_used: u32,
    n_groups: u32,
    n_group_used: u32,
    // 0 softmax, 1 sigmoid
    gating: u32,
    has_bias: u32,
    norm: u32,
    scale: f32,
    n_embd: u32,
    // RMSNorm epsilon (moe_route/norm.wgsl only)
    eps: f32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> LOGITS: array<f32>;
@group(0) @binding(1) var<storage, read> BIAS: array<f32>;
@group(0) @binding(2) var<storage, read_write> PROBS: array<f32>;
@group(0) @binding(3) var<storage, read_write> TOPK: array<i32>;
@group(0) @binding(4) var<storage, read_write> WEIGHTS: array<f32>;
@group(0) @binding(5) var<storage, read> GATE: array<f32>;
// P: Params, declared by the entry file after its own bindings (the parameters come last).

var<workgroup> score: array<f32, MAX_E>;   // unbiased scores of this token
var<workgroup> sel: array<f32, MAX_E>;     // selection scores (biased)
var<workgroup> gscore: array<f32, MAX_G>;  // group scores
var<workgroup> gkeep: array<u32, MAX_G>;   // 1 for kept groups
var<workgroup> chosen: array<f32, MAX_K>;  // unbiased scores of the choices, best first
var<workgroup> logit_w: array<f32, MAX_E>; // logits computed here (n_embd > 0)
var<workgroup> part_w: array<f32, WG>;     // their partial sums

// The router's matvec for token t into logit_w: invocation i sums part i % parts of expert
// i / parts (parts = WG / n_expert, at least 1), then each expert adds its parts in order.
fn router_logits(t: u32, n_e: u32, lid: u32) {
    let parts = max(1u, WG / n_e);
    let len = (P.n_embd + parts - 1u) / parts;
    let x_row = t * P.n_embd;
    for (var item = lid; item < n_e * parts; item = item + WG) {
        let e = item / parts;
        let c0 = (item % parts) * len;
        let c1 = min(c0 + len, P.n_embd);
        var acc = 0.0;
        for (var c = c0; c < c1; c = c + 1u) {
            acc = acc + GATE[e * P.n_embd + c] * router_x(x_row + c);
        }
        if (parts == 1u) {
            logit_w[e] = acc;
        } else {
            part_w[item] = acc;
        }
    }
    workgroupBarrier();
    if (parts > 1u && lid < n_e) {
        var total = 0.0;
        for (var p = 0u; p < parts; p = p + 1u) {
            total = total + part_w[lid * parts + p];
        }
        logit_w[lid] = total;
    }
    workgroupBarrier();
}

// Expert e's logit for the token whose logits start at `row`.
fn logit(row: u32, e: u32) -> f32 {
    if (P.n_embd != 0u) {
        return logit_w[e];
    }
    return LOGITS[row + e];
}
// Whether (va, id a) is ranked before (vb, id b): larger value first, then lower id.
fn before(va: f32, a: u32, vb: f32, b: u32) -> bool {
    return va > vb || (va == vb && a < b);
}

// Routes token t (t < n_tok: the caller's whole workgroup, so the barriers stay uniform).
fn route_token(t: u32, lid: u32) {
    let n_e = P.n_expert;
    let row = t * n_e;
    if (P.n_embd != 0u) {
        router_logits(t, n_e, lid);
    }

    // Scores: softmax with max subtraction (as cpu::ops::softmax), or sigmoid.
    var local_max = NEG;
    for (var e = lid; e < n_e; e = e + WG) {
        local_max = max(local_max, logit(row, e));
    }
    let m = workgroup_max(local_max, lid);
    var local_sum = 0.0;
    for (var e = lid; e < n_e; e = e + WG) {
        let x = logit(row, e);
        var s: f32;
        if (P.gating == 0u) {
            s = exp(x - m);
            local_sum = local_sum + s;
        } else {
            s = 1.0 / (1.0 + exp(-x));
        }
        score[e] = s;
    }
    let sum = workgroup_sum(local_sum, lid);
    let inv = 1.0 / sum;
    for (var e = lid; e < n_e; e = e + WG) {
        var s = score[e];
        if (P.gating == 0u) {
            s = s * inv;
            score[e] = s;
        }
        PROBS[row + e] = s;
        var b = 0.0;
        if (P.has_bias != 0u) {
            b = BIAS[e];
        }
        sel[e] = s + b;
    }
    workgroupBarrier();

    // Groups: score each, keep those ranked below n_group_used.
    let n_g = P.n_groups;
    let per_group = n_e / n_g;
    for (var g = lid; g < n_g; g = g + WG) {
        var b1 = NEG;
        var b2 = NEG;
        for (var i = 0u; i < per_group; i = i + 1u) {
            let v = sel[g * per_group + i];
            if (v > b1) {
                b2 = b1;
                b1 = v;
            } else if (v > b2) {
                b2 = v;
            }
        }
        var gs = b1;
        if (P.has_bias != 0u && per_group > 1u) {
            gs = b1 + b2;
        }
        gscore[g] = gs;
    }
    workgroupBarrier();
    for (var g = lid; g < n_g; g = g + WG) {
        var rank = 0u;
        for (var o = 0u; o < n_g; o = o + 1u) {
            if (before(gscore[o], o, gscore[g], g)) {
                rank = rank + 1u;
            }
        }
        gkeep[g] = select(0u, 1u, n_g == 1u || rank < P.n_group_used);
    }
    workgroupBarrier();

    // Top-k: an expert's rank among all, experts of dropped groups after every kept one (the CPU
    // masks them to -inf, which orders them by id after all finite scores).
    let k_used = P.n_used;
    for (var e = lid; e < n_e; e = e + WG) {
        let ke = gkeep[e / per_group] != 0u;
        let ve = sel[e];
        var rank = 0u;
        for (var o = 0u; o < n_e; o = o + 1u) {
            let ko = gkeep[o / per_group] != 0u;
            var first: bool;
            if (ko != ke) {
                first = ko;
            } else if (ke) {
                first = before(sel[o], o, ve, e);
            } else {
                first = o < e;
            }
            if (first) {
                rank = rank + 1u;
            }
        }
        if (rank < k_used) {
            TOPK[t * k_used + rank] = i32(e);
            chosen[rank] = score[e];
        }
    }
    workgroupBarrier();

    // Weights, summed in choice order as the CPU does.
    if (lid < k_used) {
        var w = chosen[lid];
        if (P.norm != 0u) {
            var total = 0.0;
            for (var k = 0u; k < k_used; k = k + 1u) {
                total = total + chosen[k];
            }
            w = w * (1.0 / max(total, MIN_WEIGHT_SUM));
        }
        if (P.scale != 0.0 && P.scale != 1.0) {
            w = w * P.scale;
        }
        WEIGHTS[t * k_used + lid] = w;
    }
}
