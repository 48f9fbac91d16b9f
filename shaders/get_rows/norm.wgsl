// get_rows_norm's entry (after get_rows.wgsl): the rows, then the RMSNorm that first reads them,
// folded in by the executor (the first layer's attn_norm over the token embeddings). Per token t:
//   Y[t, c]  = W[ids[t], c]                                          (the rows, stored as get_rows)
//   XN[t, c] = Y[t, c] / sqrt(mean_c(Y[t, c]²) + eps) · NORM_W[c]
// The sum of squares is rms_norm.wgsl's workgroup tree over the same WG partials, and every
// value is computed by the same expressions in the same order, so XN is bit-identical to the
// unfused RMSNorm.
//
// Bindings (beyond get_rows.wgsl's): NORM_W [cols] f32, XN [n_tok, cols] f32, then P params.
// Mapping: one workgroup per token (workgroup y); the WG invocations stride over the row twice.

const WG: u32 = 256u;

@group(0) @binding(3) var<storage, read> NORM_W: array<f32>;
@group(0) @binding(4) var<storage, read_write> XN: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = wg.y;
    // Whole workgroups leave together, so the barriers in workgroup_sum stay uniform.
    let row = chunk_row(t);
    if (row < 0) {
        return;
    }
    let base = t * P.cols;
    var acc = 0.0;
    for (var c = lid; c < P.cols; c = c + WG) {
        let v = row_value(u32(row), c);
        Y[base + c] = v;
        acc = acc + v * v;
    }
    let sum_sq = workgroup_sum(acc, lid);
    let scale = 1.0 / sqrt(sum_sq / f32(P.cols) + P.eps);
    for (var c = lid; c < P.cols; c = c + WG) {
        // This invocation stored element c of Y itself above.
        XN[base + c] = (Y[base + c] * scale) * NORM_W[c];
    }
}
