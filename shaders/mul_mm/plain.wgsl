// mul_mm over the step's tokens (a MatMul): entry j is token j, X [n_tok, cols],
// Y [n_tok, y_stride]. Bindings after mul_mm.wgsl's: P params.

struct Params {
    rows: u32,
    cols: u32,
    row_bytes: u32,
    n_tok: u32,
    y_stride: u32,
    y_offset: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(3) var<uniform> P: Params;

fn x_row(j: u32) -> u32 {
    return j;
}

fn y_row(j: u32) -> u32 {
    return j;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    mul_mm_tile(wg, lid, P.n_tok, TABLE_BYTES);
}
