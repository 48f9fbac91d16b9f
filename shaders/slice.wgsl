// slice: Y[r, c] = X[r · stride_in + offset + c] for c < width: a column window of every row
// (the per-head split of q into q_nope ‖ q_pe, of kv into k_nope ‖ v). CPU twin: the Slice op in
// cpu/mod.rs, with n_rows = T · H.
//
// Bindings: X [n_rows, stride_in] f32, Y [n_rows, width] f32, P params.
// Mapping: one invocation per output element, flat index (workgroup x + y · (x count)) · WG + lid,
// so more than 65535 · WG elements fit.

const WG: u32 = 256u;

struct Params {
    n_rows: u32,
    stride_in: u32,
    offset: u32,
    width: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= P.n_rows * P.width) {
        return;
    }
    let r = i / P.width;
    let c = i % P.width;
    Y[i] = X[r * P.stride_in + P.offset + c];
}
