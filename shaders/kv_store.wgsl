// kv_store: CACHE[row(t), :] = KV[t, :] ‖ PE[t, :], this step's latent rows (compressed KV and
// the rotated shared key) written into one layer's cache at their places' rows
// (common/places.wgsl), as f32 words or
// (y_f16) as halves two per word. CPU twin: the KvStore op in cpu/mod.rs
// (cpu::attention::LatentCache rows, rounded to f16 the same way).
//
// Bindings: KV [n_tok, kv] f32, PE [n_tok, rope] f32, Y: the cache [n_slots · n_ctx, kv + rope]
//           as u32 words (common/cache_store.wgsl), TABLE the step table, P params.
// Mapping: one invocation per written pair of elements (kv and rope are even), flat index
// (workgroup x + y · (x count)) · WG + lid over n_tok · (kv + rope) / 2.

const WG: u32 = 256u;

struct Params {
    n_tok: u32,
    places_at: u32,
    kv: u32,
    rope: u32,
    y_f16: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> KV: array<f32>;
@group(0) @binding(1) var<storage, read> PE: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<u32>;
@group(0) @binding(3) var<storage, read> TABLE: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

// Element c of token t's latent row.
fn latent(t: u32, c: u32) -> f32 {
    if (c < P.kv) {
        return KV[t * P.kv + c];
    }
    return PE[t * P.rope + (c - P.kv)];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let w = P.kv + P.rope;
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= P.n_tok * (w / 2u)) {
        return;
    }
    let t = i / (w / 2u);
    let c = 2u * (i % (w / 2u));
    store_pair(place_row(t) * w + c, latent(t, c), latent(t, c + 1u), P.y_f16);
}
