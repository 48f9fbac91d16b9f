// matvec_t: the transposed product over a stack of matrices stored as GGUF rows,
//   Y[s, g, d] = Σ_c W_m[c, d] · X[s · x_stride + c],  m = m_base + g,
// for positions s < n_x, slots g < n_slot and d < cols. Each matrix has `rows` GGUF rows c of
// `cols` elements d, blocks of the type composed in from quant/<type>.wgsl and
// quant/unit/<type>.wgsl. MLA uses it to materialize the keys:
// K_nope[s, h, d] = Σ_c W_kb[h][c][d] · c_kv[s][c] from attn_k_b (ne [nope, kv_lora, H]) and the
// latent cache (x_stride = kv_lora + rope). CPU twin: the W_kbᵀ product of
// cpu::attention::attn_materialized.
//
// Bindings: W array<vec4<u32>> GGUF bytes of matrices m_first .. m_first + m_count (matrix m at
//           byte TABLE_BYTES + (m - m_first) · mat_bytes, row c at + c · row_bytes), X f32,
//           Y f32 [n_x, n_slot, cols], P params.
// Mapping: one workgroup per (WG items, slot g) = (x + z · (x count), y). An item is one
// (position tile of PT positions, row item): row items u < cols / UNIT are the units of a row
// (the same elements d in every row c), the next cols % UNIT (float types only) are single
// elements, and items up to row_items (an upper bound the encoder computes without knowing
// UNIT) return at once. A unit's invocation walks the rows c, decoding unit u of each once
// (`unit_runs`) for its PT positions: per row, one unit decode and PT activation loads for
// UNIT · PT multiply-adds. Workgroups whose matrix lies in another chunk of W return at once
// (the chunk holding it writes them). No barriers.

const WG: u32 = 64u;
const PT: u32 = 2u;

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
    // Row items per position tile: at least cols / UNIT + cols % UNIT.
    row_items: u32,
}

@group(0) @binding(0) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

// A unit's weights for one row: run j's 16 values in w[4j .. 4j + 4] (j < UNIT / 16).
struct UnitW {
    w: array<vec4<f32>, 16>,
}

// Unit `ub` at byte b as weights (each run's affine scale applied).
fn unit_weights(b: u32, ub: u32) -> UnitW {
    let r = unit_runs(b, ub);
    var u: UnitW;
    for (var j = 0u; j < UNIT / 16u; j = j + 1u) {
        u.w[4u * j] = r[j].v0 * r[j].a + r[j].c;
        u.w[4u * j + 1u] = r[j].v1 * r[j].a + r[j].c;
        u.w[4u * j + 2u] = r[j].v2 * r[j].a + r[j].c;
        u.w[4u * j + 3u] = r[j].v3 * r[j].a + r[j].c;
    }
    return u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let item = (wg.x + wg.z * nwg.x) * WG + lid;
    let g = wg.y;
    let u = item % P.row_items;
    let s0 = (item / P.row_items) * PT;
    let m = P.m_base + g;
    if (g >= P.n_slot || s0 >= P.n_x || m < P.m_first || m >= P.m_first + P.m_count) {
        return;
    }
    let n_s = min(PT, P.n_x - s0);
    let w_mat = TABLE_BYTES + (m - P.m_first) * P.mat_bytes;
    let y_row = (s0 * P.n_slot + g) * P.cols;
    let y_stride = P.n_slot * P.cols;
    let units = P.cols / UNIT;
    if (u < units) {
        unit_item(w_mat, u, s0, n_s, y_row, y_stride);
    } else if (u < units + P.cols % UNIT) {
        element_item(w_mat, UNIT * units + u - units, s0, n_s, y_row + UNIT * units + u - units,
                     y_stride);
    }
}

// Unit u of every row c against the n_s ≤ PT positions from s0; Y from y_row (+ y_stride per
// position).
fn unit_item(w_mat: u32, u: u32, s0: u32, n_s: u32, y_row: u32, y_stride: u32) {
    let e = UNIT * u;
    let ub = (e % QK) / UNIT;
    let b = w_mat + (e / QK) * BLOCK_BYTES;
    var acc: array<UnitW, PT>;
    for (var c = 0u; c < P.rows; c = c + 1u) {
        let w = unit_weights(b + c * P.row_bytes, ub);
        for (var k = 0u; k < PT; k = k + 1u) {
            if (k < n_s) {
                let x = X[(s0 + k) * P.x_stride + c];
                for (var q = 0u; q < UNIT / 4u; q = q + 1u) {
                    acc[k].w[q] = acc[k].w[q] + w.w[q] * x;
                }
            }
        }
    }
    let first = (e / QK) * QK + unit_first(ub);
    for (var k = 0u; k < PT; k = k + 1u) {
        if (k < n_s) {
            for (var q = 0u; q < UNIT / 4u; q = q + 1u) {
                // Quad q of run q / 4: elements first + (q / 4) · UNIT_RUN2 + 4 (q % 4) + 0..4.
                let d = y_row + k * y_stride + first + (q / 4u) * UNIT_RUN2 + 4u * (q % 4u);
                Y[d] = acc[k].w[q].x;
                Y[d + 1u] = acc[k].w[q].y;
                Y[d + 2u] = acc[k].w[q].z;
                Y[d + 3u] = acc[k].w[q].w;
            }
        }
    }
}

// Element d of a float row's tail (block col d: QK = 1), one block_get per row c.
fn element_item(w_mat: u32, d: u32, s0: u32, n_s: u32, y_d: u32, y_stride: u32) {
    let w_elem = w_mat + d * BLOCK_BYTES;
    var acc: array<f32, PT>;
    for (var c = 0u; c < P.rows; c = c + 1u) {
        let w = block_get(w_elem + c * P.row_bytes, 0u);
        for (var k = 0u; k < PT; k = k + 1u) {
            if (k < n_s) {
                acc[k] = acc[k] + w * X[(s0 + k) * P.x_stride + c];
            }
        }
    }
    for (var k = 0u; k < n_s; k = k + 1u) {
        Y[y_d + k * y_stride] = acc[k];
    }
}
