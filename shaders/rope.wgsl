// rope: rotary embedding on adjacent pairs (NORM mode) of every head:
//   (Y[t, h, 2i], Y[t, h, 2i+1]) = (x0·c − x1·s, x0·s + x1·c), (x0, x1) = X[t, h, 2i .. 2i+2],
// with (c, s) = TABLE[t, i] for the position of token t. The YaRN cos/sin table comes from the
// CPU (cpu::rope::Rope::table, computed in f64): WGSL sin/cos are only good to ~2^-11 and the
// angles reach ~100 rad. CPU twin: cpu::rope::Rope::apply (the Rope op).
//
// Bindings: X f32 (head th's dims at th · x_stride + x_offset: the rope part of a wider row, or
//           [n_tok, n_head, n_dims] itself), Y f32 words or packed halves (y_f16; see
//           common/cache_store.wgsl) (head th's dims at th · y_stride + y_offset:
//           [n_tok, n_head, n_dims] itself, or with y_cache the rope part of latent-cache
//           rows: head h of token t in row place_row(t) · n_head + h, common/places.wgsl),
//           TABLE the step table (gpu::step_table: [n_tok, n_dims / 2, 2] f32 cos/sin first),
//           P params.
// Mapping: one invocation per pair, flat index (workgroup x + y · (x count)) · WG + lid.

const WG: u32 = 256u;

struct Params {
    n_tok: u32,
    n_head: u32,
    n_dims: u32,
    x_stride: u32,
    x_offset: u32,
    y_stride: u32,
    y_offset: u32,
    // 1: Y is a latent cache of halves (common/cache_store.wgsl)
    y_f16: u32,
    // 1: Y is a latent cache, token t's rows at its place
    y_cache: u32,
    places_at: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
@group(0) @binding(2) var<storage, read> TABLE: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let p = (wg.x + wg.y * nwg.x) * WG + lid;
    let half = P.n_dims / 2u;
    if (p >= P.n_tok * P.n_head * half) {
        return;
    }
    let i = p % half;
    let th = p / half; // t · n_head + h
    let t = th / P.n_head;
    let c = TABLE[(t * half + i) * 2u];
    let s = TABLE[(t * half + i) * 2u + 1u];
    var y_row = th;
    if (P.y_cache != 0u) {
        y_row = place_row(t) * P.n_head + th % P.n_head;
    }
    let e = y_row * P.y_stride + P.y_offset + 2u * i;
    let ex = th * P.x_stride + P.x_offset + 2u * i;
    let x0 = X[ex];
    let x1 = X[ex + 1u];
    store_pair(e, x0 * c - x1 * s, x0 * s + x1 * c, P.y_f16);
}
