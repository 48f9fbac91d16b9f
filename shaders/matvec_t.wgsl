// matvec_t: the transposed product over a stack of matrices stored as GGUF rows,
//   Y[s, g, d] = Σ_c W_m[c, d] · X[s · x_stride + c],  m = m_base + g,
// for positions s < n_x, slots g < n_slot and d < cols. Each matrix has `rows` GGUF rows c of
// `cols` elements d, blocks of the type composed in from quant/<type>.wgsl; element d of row c is
// block_get(row c + (d / QK) · BLOCK_BYTES, d % QK). MLA uses it to materialize the keys:
// K_nope[s, h, d] = Σ_c W_kb[h][c][d] · c_kv[s][c] from attn_k_b (ne [nope, kv_lora, H]) and the
// latent cache (x_stride = kv_lora + rope). CPU twin: the W_kbᵀ product of
// cpu::attention::attn_materialized.
//
// Bindings: W array<u32> GGUF bytes of matrices m_first .. m_first + m_count (matrix m at byte
//           TABLE_BYTES + (m - m_first) · mat_bytes, row c at + c · row_bytes), X f32, Y f32
//           [n_x, n_slot, cols], P params.
// Mapping: one workgroup per (tile of WG outputs d, slot g, tile of PT positions) = (x, y, z),
// position tiles counted from tile_base (grids beyond the per-dimension limit).
// Invocation i owns d = x · WG + i and walks the rows c, decoding each weight once for the PT
// positions of its tile (the weight reads of neighbouring invocations are neighbouring elements;
// the X reads are the same address for the whole workgroup). Workgroups whose matrix lies in
// another chunk of W return at once (the chunk holding it writes them). No barriers.

const WG: u32 = 64u;
const PT: u32 = 8u;

struct Params {
    rows: u32,
    cols: u32,
    row_bytes: u32,
    mat_bytes: u32,
    x_stride: u32,
    n_x: u32,
    n_slot: u32,
    m_base: u32,
    m_first: u32,
    m_count: u32,
    tile_base: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let d = wg.x * WG + lid;
    let g = wg.y;
    let s0 = (P.tile_base + wg.z) * PT;
    let m = P.m_base + g;
    if (d >= P.cols || g >= P.n_slot || s0 >= P.n_x || m < P.m_first
        || m >= P.m_first + P.m_count) {
        return;
    }
    let n_s = min(PT, P.n_x - s0);
    let w_elem = TABLE_BYTES + (m - P.m_first) * P.mat_bytes + (d / QK) * BLOCK_BYTES;
    let i = d % QK;
    var acc: array<f32, PT>;
    for (var c = 0u; c < P.rows; c = c + 1u) {
        let w = block_get(w_elem + c * P.row_bytes, i);
        for (var k = 0u; k < PT; k = k + 1u) {
            if (k < n_s) {
                acc[k] = acc[k] + w * X[(s0 + k) * P.x_stride + c];
            }
        }
    }
    for (var k = 0u; k < n_s; k = k + 1u) {
        Y[((s0 + k) * P.n_slot + g) * P.cols + d] = acc[k];
    }
}
