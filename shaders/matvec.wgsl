// matvec: Y[t, r] = Σ_c W[r, c] · X[t, c], W rows stored as GGUF blocks of the type composed in
// from quant/<type>.wgsl (its block_get). CPU twin: cpu::ops::matmul.
//
// Bindings: W array<u32> GGUF bytes (row r at byte w_offset + r · row_bytes),
//           X [n_tok, x_stride] f32 (row t from element x_offset + t · x_stride, cols used),
//           Y [n_tok, y_stride] f32 (element y_offset + t · y_stride + r), P params.
// Mapping: one workgroup per (row, token): rows over workgroup x + y · (x count), the token on z.
// The WG invocations stride over the row's blocks; a workgroup sum gives the dot product.

const WG: u32 = 64u;

struct Params {
    rows: u32,
    cols: u32,
    row_bytes: u32,
    w_offset: u32,
    x_offset: u32,
    x_stride: u32,
    y_offset: u32,
    y_stride: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let r = wg.x + wg.y * nwg.x;
    let t = wg.z;
    // Whole workgroups leave together, so the barriers in workgroup_sum stay uniform.
    if (r >= P.rows) {
        return;
    }
    let w_row = P.w_offset + r * P.row_bytes;
    let x_row = P.x_offset + t * P.x_stride;
    let n_blocks = P.cols / QK;
    var acc = 0.0;
    for (var blk = lid; blk < n_blocks; blk = blk + WG) {
        let wb = w_row + blk * BLOCK_BYTES;
        let xb = x_row + blk * QK;
        for (var i = 0u; i < QK; i = i + 1u) {
            acc = acc + block_get(wb, i) * X[xb + i];
        }
    }
    let total = workgroup_sum(acc, lid);
    if (lid == 0u) {
        Y[P.y_offset + t * P.y_stride + r] = total;
    }
}
