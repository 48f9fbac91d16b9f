// get_rows' entry (after get_rows.wgsl): one invocation per output element, x over elements of a
// row, y over tokens.

const WG: u32 = 64u;

@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let t = gid.y;
    if (c >= P.cols) {
        return;
    }
    let row = chunk_row(t);
    if (row < 0) {
        return;
    }
    Y[t * P.cols + c] = row_value(u32(row), c);
}
