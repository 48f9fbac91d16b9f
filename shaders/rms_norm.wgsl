// rms_norm: Y[r, c] = X[r, c] / sqrt(mean_c(X[r, c]²) + eps) · W[c], over rows of length n.
// CPU twin: cpu::ops::rms_norm (the RmsNorm op); it sums in f64, this kernel in f32 (a tree of WG
// partial sums, each over n / WG elements, so the rounding error stays ~1e-7 relative).
//
// The row may be computed first from ops the executor folded into the norm, and is then also
// stored to S [n_rows, n] (the residual stream, read again later):
//   k > 0   : the MoE mix Σ_s MW[r, s] · X[r, s, :] over k expert slots (weighted_sum.wgsl's sum,
//             in the same order), instead of X's row;
//   n_add   : plus B (and then A1) [n_rows, n], added in that order as separate f32 Adds would
//             (the shared experts' output and the residual; or the residual alone).
//
// A latent-cache row continues past the norm with its RoPE part: with rope_pairs > 0 the
// workgroup also rotates the pairs (X[r, rope_x + 2i], X[r, rope_x + 2i + 1]) of its row by
// TABLE[r, i] (cos, sin) into Y[r, rope_y + 2i ..] as rope.wgsl does (kv_cmpr's norm and k_pe's
// RoPE of one token, both written into the cache, in one dispatch).
//
// Bindings: X f32 (row r at r · x_stride: a prefix of longer rows, or the rows themselves; with
//           k > 0 [n_rows, k, n]), W [n] f32, Y f32 (row r at r · y_stride + y_offset:
//           [n_rows, n] itself, or with y_cache at place_row(r) · y_stride + y_offset, rows of
//           the latent cache (common/places.wgsl); u32 words through
//           common/cache_store.wgsl, halves with y_f16), B, A1 and S [n_rows, n] f32, MW
//           [n_rows, k] f32, TABLE the step table (gpu::step_table: [n_rows, rope_pairs, 2] f32
//           cos/sin, then the places) (each read or written only when used), P params.
// Mapping: one workgroup per row, rows over workgroup x + y · (x count) so any row count fits the
// per-dimension limit. The WG invocations stride over the row twice: sum of squares (computing
// and storing the row), then scale (reading the stored row back).

const WG: u32 = 256u;

struct Params {
    n_rows: u32,
    n: u32,
    eps: f32,
    x_stride: u32,
    y_stride: u32,
    y_offset: u32,
    n_add: u32,
    k: u32,
    rope_pairs: u32,
    rope_x: u32,
    rope_y: u32,
    // 1: Y is a latent cache of halves (common/cache_store.wgsl)
    y_f16: u32,
    // 1: Y is a latent cache, row r at its token's place
    y_cache: u32,
    places_at: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<u32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> S: array<f32>;
@group(0) @binding(5) var<storage, read> A1: array<f32>;
@group(0) @binding(6) var<storage, read> MW: array<f32>;
@group(0) @binding(7) var<storage, read> TABLE: array<f32>;
@group(0) @binding(8) var<uniform> P: Params;

// Element c of row r before the norm.
fn row_value(x_row: u32, r: u32, c: u32) -> f32 {
    var v = 0.0;
    if (P.k == 0u) {
        v = X[x_row + c];
    } else {
        for (var s = 0u; s < P.k; s = s + 1u) {
            v = v + MW[r * P.k + s] * X[(r * P.k + s) * P.n + c];
        }
    }
    if (P.n_add > 0u) {
        v = v + B[r * P.n + c];
    }
    if (P.n_add > 1u) {
        v = v + A1[r * P.n + c];
    }
    return v;
}

// Element c of row r as the first pass computed it: read back from S where it was stored.
fn stored_value(stored: bool, x_row: u32, r: u32, c: u32) -> f32 {
    if (stored) {
        return S[r * P.n + c];
    }
    return X[x_row + c];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let r = wg.x + wg.y * nwg.x;
    // Whole workgroups leave together, so the barriers in workgroup_sum stay uniform.
    if (r >= P.n_rows) {
        return;
    }
    var y_row = r;
    if (P.y_cache != 0u) {
        y_row = place_row(r);
    }
    let row = y_row * P.y_stride + P.y_offset;
    let x_row = r * P.x_stride;
    let stored = P.k > 0u || P.n_add > 0u;
    var acc = 0.0;
    for (var c = lid; c < P.n; c = c + WG) {
        let v = row_value(x_row, r, c);
        if (stored) {
            S[r * P.n + c] = v;
        }
        acc = acc + v * v;
    }
    let sum_sq = workgroup_sum(acc, lid);
    let scale = 1.0 / sqrt(sum_sq / f32(P.n) + P.eps);
    if (P.y_f16 == 0u) {
        for (var c = lid; c < P.n; c = c + WG) {
            // This invocation stored element c of S itself above.
            Y[row + c] = bitcast<u32>((stored_value(stored, x_row, r, c) * scale) * W[c]);
        }
    } else {
        // Halves go two to a word: each invocation writes pairs (S was written element-wise
        // above, so a barrier makes the other invocation's element visible).
        storageBarrier();
        for (var c = 2u * lid; c < P.n; c = c + 2u * WG) {
            let a = (stored_value(stored, x_row, r, c) * scale) * W[c];
            let b = (stored_value(stored, x_row, r, c + 1u) * scale) * W[c + 1u];
            store_pair(row + c, a, b, 1u);
        }
    }
    for (var i = lid; i < P.rope_pairs; i = i + WG) {
        let c = TABLE[(r * P.rope_pairs + i) * 2u];
        let s = TABLE[(r * P.rope_pairs + i) * 2u + 1u];
        let ex = x_row + P.rope_x + 2u * i;
        let e = row + P.rope_y + 2u * i;
        let x0 = X[ex];
        let x1 = X[ex + 1u];
        store_pair(e, x0 * c - x1 * s, x0 * s + x1 * c, P.y_f16);
    }
}
