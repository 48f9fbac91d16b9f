// kv_store: CACHE[pos0 + t, :] = KV[t, :] ‖ PE[t, :], this step's latent rows (compressed KV and
// the rotated shared key) written into one layer's cache at their positions. CPU twin: the
// KvStore op in cpu/mod.rs (cpu::attention::LatentCache rows).
//
// Bindings: KV [n_tok, kv] f32, PE [n_tok, rope] f32, CACHE [n_ctx, kv + rope] f32, P params.
// Mapping: one invocation per written element, flat index (workgroup x + y · (x count)) · WG + lid
// over n_tok · (kv + rope).

const WG: u32 = 256u;

struct Params {
    n_tok: u32,
    pos0: u32,
    kv: u32,
    rope: u32,
}

@group(0) @binding(0) var<storage, read> KV: array<f32>;
@group(0) @binding(1) var<storage, read> PE: array<f32>;
@group(0) @binding(2) var<storage, read_write> CACHE: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let w = P.kv + P.rope;
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= P.n_tok * w) {
        return;
    }
    let t = i / w;
    let c = i % w;
    var v: f32;
    if (c < P.kv) {
        v = KV[t * P.kv + c];
    } else {
        v = PE[t * P.rope + (c - P.kv)];
    }
    CACHE[(P.pos0 + t) * w + c] = v;
}
