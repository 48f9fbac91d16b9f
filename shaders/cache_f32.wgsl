// cache_f32: Y[i] = element first + i of a latent cache, widened to f32 (n elements: the
// visible rows of one slot of one layer; first is even), for the kernels that read the cache as plain f32 rows (the
// materialized MLA's matvecs over c_kv). With f16 = 0 it copies f32 words.
//
// Bindings: CACHE array<u32> (f32 words, or halves packed two per word, even element low),
//           Y [n] f32, P params.
// Mapping: one invocation per element, flat index (workgroup x + y · (x count)) · WG + lid.

const WG: u32 = 256u;

struct Params {
    n: u32,
    f16: u32,
    first: u32,
    pad0: u32,
}

@group(0) @binding(0) var<storage, read> CACHE: array<u32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= P.n) {
        return;
    }
    let e = P.first + i;
    if (P.f16 == 0u) {
        Y[i] = bitcast<f32>(CACHE[e]);
    } else {
        Y[i] = f16_bits_to_f32((CACHE[e >> 1u] >> ((e & 1u) << 4u)) & 0xffffu);
    }
}
