// weighted_sum: Y[t, j] = Σ_k W[t, k] · X[t, k, j] (the routed experts' outputs mixed by their
// router weights). CPU twin: the WeightedSum op in cpu/mod.rs; it sums in f64, this kernel in
// f32 over K terms (K ≤ 8 in DeepSeek models).
//
// The executor folds up to two following Adds into it (the shared experts' output and the
// residual): Y = ((Σ_k ...) + A0) + A1, rounded as the separate f32 adds would be.
//
// Bindings: X [n_tok, k, n] f32, W [n_tok, k] f32, Y [n_tok, n] f32, A0 and A1 [n_tok, n] f32
//           (read only when n_add > 0, > 1), P params.
// Mapping: one invocation per output element, flat index (workgroup x + y · (x count)) · WG + lid,
// looping over the k slots.

const WG: u32 = 256u;

struct Params {
    n_tok: u32,
    k: u32,
    n: u32,
    n_add: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read> A0: array<f32>;
@group(0) @binding(4) var<storage, read> A1: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= P.n_tok * P.n) {
        return;
    }
    let t = i / P.n;
    let j = i % P.n;
    var acc = 0.0;
    for (var s = 0u; s < P.k; s = s + 1u) {
        acc = acc + W[t * P.k + s] * X[(t * P.k + s) * P.n + j];
    }
    if (P.n_add > 0u) {
        acc = acc + A0[i];
    }
    if (P.n_add > 1u) {
        acc = acc + A1[i];
    }
    Y[i] = acc;
}
