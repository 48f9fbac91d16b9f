// moe_route_norm's entry (after moe_route.wgsl): the FFN's RMSNorm of a residual Add, folded in
// by the executor, then the routing of its output. Per token t (n = n_embd):
//   SUM[t, c] = LOGITS[t, c] + ADD_B[t, c]                  (the Add, stored: the residual stream)
//   XN[t, c]  = SUM[t, c] / sqrt(mean_c(SUM[t, c]²) + eps) · NORM_W[c]     (the norm, stored)
// then the router's matvec over XN and the routing as moe_route. The sum of squares is the same
// workgroup tree over the same WG partials as rms_norm.wgsl's, and every value is computed by the
// same expressions in the same order, so both nodes are bit-identical to the unfused Add and
// RMSNorm.
//
// Bindings (beyond moe_route.wgsl's, whose LOGITS holds the Add's first input [n_tok, n]):
//           ADD_B [n_tok, n] f32, NORM_W [n] f32, SUM [n_tok, n] f32, XN [n_tok, n] f32, then
//           P params.
// Ten storage buffers: the executor folds the norm only where the device allows that many.

@group(0) @binding(6) var<storage, read> ADD_B: array<f32>;
@group(0) @binding(7) var<storage, read> NORM_W: array<f32>;
@group(0) @binding(8) var<storage, read_write> SUM: array<f32>;
@group(0) @binding(9) var<storage, read_write> XN: array<f32>;
@group(0) @binding(10) var<uniform> P: Params;

fn router_x(i: u32) -> f32 {
    return XN[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let t = wg.x + wg.y * nwg.x;
    // Whole workgroups leave together, so the barriers below stay uniform.
    if (t >= P.n_tok) {
        return;
    }
    let n = P.n_embd;
    let row = t * n;
    var acc = 0.0;
    for (var c = lid; c < n; c = c + WG) {
        let v = LOGITS[row + c] + ADD_B[row + c];
        SUM[row + c] = v;
        acc = acc + v * v;
    }
    let sum_sq = workgroup_sum(acc, lid);
    let scale = 1.0 / sqrt(sum_sq / f32(n) + P.eps);
    for (var c = lid; c < n; c = c + WG) {
        // This invocation stored element c of SUM itself above.
        XN[row + c] = (SUM[row + c] * scale) * NORM_W[c];
    }
    // The router's dots read elements other invocations wrote.
    storageBarrier();
    route_token(t, lid);
}
