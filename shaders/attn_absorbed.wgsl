// attn_absorbed: absorbed multi-head latent attention over one layer's latent cache, split over
// the cache length (flash-decoding). For token t, which sees n_kv(t) positions of its slot's
// rows (common/places.wgsl), head h, and the chunk c of positions
// [c · chunk, min((c + 1) · chunk, n_kv(t))) (causal):
//   score(s) = (QA[t, h] · c_kv[s] + QP[t, h] · k_pe[s]) · scale
//   m        = max_s score(s),  l = Σ_s exp(score(s) − m),  acc = Σ_s exp(score(s) − m) · c_kv[s]
// With one chunk (direct = 1) the kernel writes the output acc / l itself; otherwise it writes
// the partial (m, l, acc) and attn_combine.wgsl merges the chunks. An empty chunk (beyond the
// token's last position) writes l = 0. CPU twin: cpu::attention::attn_absorbed.
//
// q_pe is read from QP at head th's th · qp_stride + qp_offset ([n_tok, n_head, rope] itself, or
// the rope part of q's rows), and with rope_q set rotated on load by TABLE as rope.wgsl would
// (the executor folds q_pe's RoPE in here). Each workgroup keeps its heads' q_pe in workgroup
// memory.
//
// Bindings: CACHE [n_slots · n_ctx, kv + rope] (per position c_kv then k_pe) as u32: f32 words,
//           or halves two per word with cache_f16 (common/half.wgsl), QA [n_tok, n_head, kv],
//           QP f32 (see above), TABLE: the step table (gpu::step_table; cos/sin
//           [n_tok, rope / 2, 2] read only with rope_q, the places at places_at),
//           DST: OUT [n_tok, n_head, kv] when direct, else
//           PART [n_tok, n_head, n_chunks, kv + 2] (m, l, acc[kv]), P params.
// Mapping: one workgroup per (chunk, group of HG heads, token) = (x, y, z), so each cached latent
// row is read once for HG heads (not once per head). The chunk is walked in tiles of WG positions
// with one online softmax per head: invocation i scores position tile + i for the group's heads
// (a 576-long dot product each for V2-Lite and V3, the row read once), workgroup max and sum
// give each head's m and l, and the tile's weights go through workgroup memory to the weighted
// sums, where invocation i owns latent channels i, i + WG, ... of every head of the group
// (coalesced reads of each cache row, each value used HG times). kv ≤ WG · MAX_CPT (checked by
// the encoder); the encoder's ATTN_HG is HG.

const WG: u32 = 64u;
const MAX_CPT: u32 = 16u;
const HG: u32 = 4u;
const MAX_ROPE: u32 = 64u;

struct Params {
    n_tok: u32,
    n_head: u32,
    kv: u32,
    rope: u32,
    places_at: u32,
    chunk: u32,
    n_chunks: u32,
    direct: u32,
    scale: f32,
    qp_stride: u32,
    qp_offset: u32,
    rope_q: u32,
    // 1: the cache holds halves, two per word (even element low)
    cache_f16: u32,
}

@group(0) @binding(0) var<storage, read> CACHE: array<u32>;
@group(0) @binding(1) var<storage, read> QA: array<f32>;
@group(0) @binding(2) var<storage, read> QP: array<f32>;
@group(0) @binding(3) var<storage, read> TABLE: array<f32>;
@group(0) @binding(4) var<storage, read_write> DST: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

// exp(score − m) of the tile's positions, per head of the group.
var<workgroup> tile_pg: array<f32, HG * WG>;
// q_pe of the group's heads (rotated when rope_q).
var<workgroup> qp_g: array<f32, HG * MAX_ROPE>;

// Element i of the cache (f32 words, or halves with cache_f16).
fn cache_at(i: u32) -> f32 {
    if (P.cache_f16 == 0u) {
        return bitcast<f32>(CACHE[i]);
    }
    return f16_bits_to_f32((CACHE[i >> 1u] >> ((i & 1u) << 4u)) & 0xffffu);
}

// Element j of head th's q_pe, for token t.
fn q_pe_at(t: u32, th: u32, j: u32) -> f32 {
    let base = th * P.qp_stride + P.qp_offset;
    if (P.rope_q == 0u) {
        return QP[base + j];
    }
    let i = j / 2u;
    let c = TABLE[(t * (P.rope / 2u) + i) * 2u];
    let s = TABLE[(t * (P.rope / 2u) + i) * 2u + 1u];
    let x0 = QP[base + 2u * i];
    let x1 = QP[base + 2u * i + 1u];
    if ((j & 1u) == 0u) {
        return x0 * c - x1 * s;
    }
    return x0 * s + x1 * c;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wg.x;
    let h0 = wg.y * HG;
    let t = wg.z;
    let kv = P.kv;
    let width = kv + P.rope;
    // Heads past the last one (n_head % HG) are computed on the last head and not written.
    let nh = min(HG, P.n_head - h0);
    let th0 = t * P.n_head + h0;
    let n_vis = place_n_kv(t);
    // The first row of the token's slot.
    let row0 = place_row(t) + 1u - n_vis;
    let s0 = c * P.chunk;
    let s1 = min(s0 + P.chunk, n_vis);

    for (var e = lid; e < HG * P.rope; e = e + WG) {
        qp_g[e] = q_pe_at(t, th0 + min(e / P.rope, nh - 1u), e % P.rope);
    }
    // The group's q_pe is in qp_g before any score reads it.
    workgroupBarrier();

    var sm: array<Softmax, HG>;
    for (var g = 0u; g < HG; g = g + 1u) {
        sm[g] = softmax_start();
    }
    var acc: array<f32, HG * MAX_CPT>;
    // s0 and s1 are the same for the whole workgroup, so the barriers in the loop stay uniform.
    for (var base = s0; base < s1; base = base + WG) {
        let s = base + lid;
        var score: array<f32, HG>;
        if (s < s1) {
            let row = (row0 + s) * width;
            for (var j = 0u; j < kv; j = j + 1u) {
                let cv = cache_at(row + j);
                for (var g = 0u; g < HG; g = g + 1u) {
                    score[g] = score[g] + QA[(th0 + min(g, nh - 1u)) * kv + j] * cv;
                }
            }
            for (var j = 0u; j < P.rope; j = j + 1u) {
                let cv = cache_at(row + kv + j);
                for (var g = 0u; g < HG; g = g + 1u) {
                    score[g] = score[g] + qp_g[g * P.rope + j] * cv;
                }
            }
        }
        for (var g = 0u; g < HG; g = g + 1u) {
            // A local copy: naga's SPIR-V writer rejects a pointer to a dynamically indexed element.
            var st = sm[g];
            let alpha = softmax_tile(&st, score[g] * P.scale, s < s1, lid);
            sm[g] = st;
            tile_pg[g * WG + lid] = tile_p[lid];
            for (var k = 0u; k < MAX_CPT; k = k + 1u) {
                acc[g * MAX_CPT + k] = acc[g * MAX_CPT + k] * alpha;
            }
        }
        // Every head's weights are in tile_pg before anyone reads them.
        workgroupBarrier();
        let n_in = min(WG, s1 - base);
        for (var i = 0u; i < n_in; i = i + 1u) {
            let row = (row0 + base + i) * width;
            for (var k = 0u; k < MAX_CPT; k = k + 1u) {
                let ch = lid + k * WG;
                if (ch < kv) {
                    let cv = cache_at(row + ch);
                    for (var g = 0u; g < HG; g = g + 1u) {
                        acc[g * MAX_CPT + k] = acc[g * MAX_CPT + k] + tile_pg[g * WG + i] * cv;
                    }
                }
            }
        }
        // Everyone is done with tile_pg before the next tile writes it.
        workgroupBarrier();
    }

    for (var g = 0u; g < nh; g = g + 1u) {
        let th = th0 + g;
        if (P.direct != 0u) {
            // The only chunk holds every visible position, at least one, so l ≥ 1.
            let inv = 1.0 / sm[g].l;
            for (var k = 0u; k < MAX_CPT; k = k + 1u) {
                let ch = lid + k * WG;
                if (ch < kv) {
                    DST[th * kv + ch] = acc[g * MAX_CPT + k] * inv;
                }
            }
            continue;
        }
        let part = (th * P.n_chunks + c) * (kv + 2u);
        if (lid == 0u) {
            DST[part] = sm[g].m;
            DST[part + 1u] = sm[g].l;
        }
        for (var k = 0u; k < MAX_CPT; k = k + 1u) {
            let ch = lid + k * WG;
            if (ch < kv) {
                DST[part + 2u + ch] = acc[g * MAX_CPT + k];
            }
        }
    }
}
