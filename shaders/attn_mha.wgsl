// attn_mha: causal attention with explicit per-head keys and values, the materialized MLA form.
// For token t (at position pos0 + t) and head h = h0 + g of a group of n_group heads, over the
// positions s ≤ pos0 + t:
//   score(s) = (QN[t, h] · K[s, g] + QP[t, h] · k_pe[s]) · scale
//   OUT[t, h, :] = Σ_s softmax(score)(s) · V[s, g, :]
// k_pe[s] is the rope part of latent-cache row s (shared by all heads). K and V hold the heads of
// the group only (materialized by matvec_t.wgsl and matvec.wgsl from the cache). CPU twin:
// cpu::attention::attn_materialized.
//
// Bindings: CACHE [n_ctx, kv + rope] f32 (k_pe at kv), K [n_kv, n_group, nope] f32,
//           V [n_kv, n_group, v] f32, QN [n_tok, n_head, nope], QP [n_tok, n_head, rope],
//           OUT [n_tok, n_head, v], P params.
// Mapping: one workgroup per (head of the group, token) = (x, y). The positions are walked in
// tiles of WG with an online softmax (f32): invocation i scores position tile + i, a workgroup
// max and sum give the tile's m and l, the tile's weights go through workgroup memory to the
// weighted sum, where invocation i owns value channels i, i + WG, ... (v ≤ WG · MAX_CPT, checked
// by the encoder).

const WG: u32 = 64u;
const MAX_CPT: u32 = 8u;

struct Params {
    n_tok: u32,
    n_head: u32,
    h0: u32,
    n_group: u32,
    kv: u32,
    rope: u32,
    nope: u32,
    v: u32,
    pos0: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> CACHE: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> QN: array<f32>;
@group(0) @binding(4) var<storage, read> QP: array<f32>;
@group(0) @binding(5) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(6) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = wg.x;
    let t = wg.y;
    let th = t * P.n_head + P.h0 + g;
    let qn = th * P.nope;
    let qp = th * P.rope;
    let width = P.kv + P.rope;
    let n_vis = P.pos0 + t + 1u;

    var sm = softmax_start();
    var acc: array<f32, MAX_CPT>;
    // n_vis is the same for the whole workgroup, so the barriers in the loop stay uniform.
    for (var base = 0u; base < n_vis; base = base + WG) {
        let s = base + lid;
        var score = 0.0;
        if (s < n_vis) {
            let k = (s * P.n_group + g) * P.nope;
            var d = 0.0;
            for (var j = 0u; j < P.nope; j = j + 1u) {
                d = d + QN[qn + j] * K[k + j];
            }
            let row = s * width + P.kv;
            var dp = 0.0;
            for (var j = 0u; j < P.rope; j = j + 1u) {
                dp = dp + QP[qp + j] * CACHE[row + j];
            }
            score = (d + dp) * P.scale;
        }
        let alpha = softmax_tile(&sm, score, s < n_vis, lid);
        let n_in = min(WG, n_vis - base);
        for (var k = 0u; k < MAX_CPT; k = k + 1u) {
            acc[k] = acc[k] * alpha;
        }
        for (var i = 0u; i < n_in; i = i + 1u) {
            let pi = tile_p[i];
            let row = ((base + i) * P.n_group + g) * P.v;
            for (var k = 0u; k < MAX_CPT; k = k + 1u) {
                let ch = lid + k * WG;
                if (ch < P.v) {
                    acc[k] = acc[k] + pi * V[row + ch];
                }
            }
        }
        // Everyone is done with tile_p before the next tile writes it.
        workgroupBarrier();
    }

    // Every token sees at least its own position, so l ≥ 1.
    let inv = 1.0 / sm.l;
    for (var k = 0u; k < MAX_CPT; k = k + 1u) {
        let ch = lid + k * WG;
        if (ch < P.v) {
            OUT[th * P.v + ch] = acc[k] * inv;
        }
    }
}
