// attn_combine: merges the per-chunk partials of attn_absorbed.wgsl with the log-sum-exp rule:
//   M = max_c m_c,  L = Σ_c l_c · exp(m_c − M),  OUT[t, h, :] = Σ_c acc_c · exp(m_c − M) / L
// over the chunks with l_c > 0 (chunks past a token's last position are empty). CPU twin: the
// softmax-weighted sum of cpu::attention::attn_absorbed.
//
// Bindings: PART [n_tok, n_head, n_chunks, kv + 2] f32 (m, l, acc[kv]), OUT [n_tok, n_head, kv]
//           f32, P params.
// Mapping: one workgroup per (head, token) = (x, y); invocation i owns channels i, i + WG, ...
// Every invocation recomputes M and L from the chunk headers (n_chunks is small), so no barrier.

const WG: u32 = 64u;
const NEG: f32 = -3.0e38;

struct Params {
    n_tok: u32,
    n_head: u32,
    kv: u32,
    n_chunks: u32,
}

@group(0) @binding(0) var<storage, read> PART: array<f32>;
@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let th = wg.y * P.n_head + wg.x;
    let stride = P.kv + 2u;
    let first = th * P.n_chunks * stride;
    var big_m = NEG;
    for (var c = 0u; c < P.n_chunks; c = c + 1u) {
        let at = first + c * stride;
        if (PART[at + 1u] > 0.0) {
            big_m = max(big_m, PART[at]);
        }
    }
    var big_l = 0.0;
    for (var c = 0u; c < P.n_chunks; c = c + 1u) {
        let at = first + c * stride;
        let l = PART[at + 1u];
        if (l > 0.0) {
            big_l = big_l + l * exp(PART[at] - big_m);
        }
    }
    let inv = 1.0 / big_l;
    for (var ch = lid; ch < P.kv; ch = ch + WG) {
        var o = 0.0;
        for (var c = 0u; c < P.n_chunks; c = c + 1u) {
            let at = first + c * stride;
            if (PART[at + 1u] > 0.0) {
                o = o + PART[at + 2u + ch] * exp(PART[at] - big_m);
            }
        }
        OUT[th * P.kv + ch] = o * inv;
    }
}
