// swiglu: Y[i] = silu(G[i]) · U[i], silu(g) = g / (1 + exp(-g)) (the FFN gate). CPU twin: the
// SwiGlu op in cpu/mod.rs with cpu::ops::silu. For g < -88 exp(-g) overflows to +inf and silu
// gives -0, as on the CPU.
//
// Bindings: G [n] f32, U [n] f32, Y [n] f32, P params.
// Mapping: one invocation per element, flat index (workgroup x + y · (x count)) · WG + lid.

const WG: u32 = 256u;

struct Params {
    n: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= P.n) {
        return;
    }
    let g = G[i];
    Y[i] = g / (1.0 + exp(-g)) * U[i];
}
