// weighted_sum: Y[t, j] = Σ_k W[t, k] · X[t, k, j] (the routed experts' outputs mixed by their
// router weights). CPU twin: the WeightedSum op in cpu/mod.rs; it sums in f64, this kernel in
// f32 over K terms (K ≤ 8 in DeepSeek models).
//
// Bindings: X [n_tok, k, n] f32, W [n_tok, k] f32, Y [n_tok, n] f32, P params.
// Mapping: one invocation per output element, flat index (workgroup x + y · (x count)) · WG + lid,
// looping over the k slots.

const WG: u32 = 256u;

struct Params {
    n_tok: u32,
    k: u32,
    n: u32,
    pad0: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

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
    Y[i] = acc;
}
