// attn_absorbed: absorbed multi-head latent attention over one layer's latent cache, split over
// the cache length (flash-decoding). For token t (at position pos0 + t), head h, and the chunk c
// of positions [c · chunk, min((c + 1) · chunk, pos0 + t + 1)) (causal):
//   score(s) = (QA[t, h] · c_kv[s] + QP[t, h] · k_pe[s]) · scale
//   m        = max_s score(s),  l = Σ_s exp(score(s) − m),  acc = Σ_s exp(score(s) − m) · c_kv[s]
// With one chunk (direct = 1) the kernel writes the output acc / l itself; otherwise it writes
// the partial (m, l, acc) and attn_combine.wgsl merges the chunks. An empty chunk (beyond the
// token's last position) writes l = 0. CPU twin: cpu::attention::attn_absorbed.
//
// Bindings: CACHE [n_ctx, kv + rope] f32 (per position c_kv then k_pe), QA [n_tok, n_head, kv],
//           QP [n_tok, n_head, rope], DST: OUT [n_tok, n_head, kv] when direct, else
//           PART [n_tok, n_head, n_chunks, kv + 2] (m, l, acc[kv]), P params.
// Mapping: one workgroup per (chunk, head, token) = (x, y, z). The chunk is walked in tiles of WG
// positions with an online softmax: invocation i scores position tile + i (a 576-long dot product
// for V2-Lite and V3), a workgroup max and sum give the tile's m and l, and the tile's weights go
// through workgroup memory to the weighted sum, where invocation i owns latent channels
// i, i + WG, ... (coalesced reads of each cache row). kv ≤ WG · MAX_CPT (checked by the encoder).

const WG: u32 = 64u;
const MAX_CPT: u32 = 16u;

struct Params {
    n_tok: u32,
    n_head: u32,
    kv: u32,
    rope: u32,
    pos0: u32,
    chunk: u32,
    n_chunks: u32,
    direct: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> CACHE: array<f32>;
@group(0) @binding(1) var<storage, read> QA: array<f32>;
@group(0) @binding(2) var<storage, read> QP: array<f32>;
@group(0) @binding(3) var<storage, read_write> DST: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wg.x;
    let h = wg.y;
    let t = wg.z;
    let kv = P.kv;
    let width = kv + P.rope;
    let th = t * P.n_head + h;
    let qa = th * kv;
    let qp = th * P.rope;
    let n_vis = P.pos0 + t + 1u;
    let s0 = c * P.chunk;
    let s1 = min(s0 + P.chunk, n_vis);

    var sm = softmax_start();
    var acc: array<f32, MAX_CPT>;
    // s0 and s1 are the same for the whole workgroup, so the barriers in the loop stay uniform.
    for (var base = s0; base < s1; base = base + WG) {
        let s = base + lid;
        var score = 0.0;
        if (s < s1) {
            let row = s * width;
            var d = 0.0;
            for (var j = 0u; j < kv; j = j + 1u) {
                d = d + QA[qa + j] * CACHE[row + j];
            }
            var dp = 0.0;
            for (var j = 0u; j < P.rope; j = j + 1u) {
                dp = dp + QP[qp + j] * CACHE[row + kv + j];
            }
            score = (d + dp) * P.scale;
        }
        let alpha = softmax_tile(&sm, score, s < s1, lid);
        let n_in = min(WG, s1 - base);
        for (var k = 0u; k < MAX_CPT; k = k + 1u) {
            acc[k] = acc[k] * alpha;
        }
        for (var i = 0u; i < n_in; i = i + 1u) {
            let pi = tile_p[i];
            let row = (base + i) * width;
            for (var k = 0u; k < MAX_CPT; k = k + 1u) {
                let ch = lid + k * WG;
                if (ch < kv) {
                    acc[k] = acc[k] + pi * CACHE[row + ch];
                }
            }
        }
        // Everyone is done with tile_p before the next tile writes it.
        workgroupBarrier();
    }

    if (P.direct != 0u) {
        // The only chunk holds every visible position, at least one, so l ≥ 1.
        let inv = 1.0 / sm.l;
        for (var k = 0u; k < MAX_CPT; k = k + 1u) {
            let ch = lid + k * WG;
            if (ch < kv) {
                DST[qa + ch] = acc[k] * inv;
            }
        }
        return;
    }
    let part = (th * P.n_chunks + c) * (kv + 2u);
    if (lid == 0u) {
        DST[part] = sm.m;
        DST[part + 1u] = sm.l;
    }
    for (var k = 0u; k < MAX_CPT; k = k + 1u) {
        let ch = lid + k * WG;
        if (ch < kv) {
            DST[part + 2u + ch] = acc[k];
        }
    }
}
