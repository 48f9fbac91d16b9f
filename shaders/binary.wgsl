// binary: Y[i] = binary_op(A[i], B[i]) over n elements, with binary_op composed in from
// shaders/binary/<op>.wgsl (add: the residual connections; swiglu: the FFN gate).
//
// Bindings: A [n] f32, B [n] f32, Y [n] f32, P params.
// Mapping: one invocation per element, flat index (workgroup x + y · (x count)) · WG + lid.

const WG: u32 = 256u;

struct Params {
    n: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= P.n) {
        return;
    }
    Y[i] = binary_op(A[i], B[i]);
}
