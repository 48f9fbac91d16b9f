// matvec: Y[s, r] = Σ_c W_m[r, c] · X[x(s), c] for every slot s, W rows stored as GGUF blocks of
// the type composed in from quant/<type>.wgsl, dotted block by block with the block_dot of
// quant/dot/<type>.wgsl (or quant/dot/generic.wgsl over block_get). One kernel serves the three matrix
// ops of the graph (CPU twins in cpu/mod.rs):
//   MatMul      n_slot 1:        slot = token, matrix 0, X row = slot
//   MatMulHeads n_slot = H:      slot = t·H + h, matrix h, X row = slot (x_per_slot)
//   MatMulId    n_slot = K:      slot = t·K + k, matrix IDS[slot] (use_ids), X row = t or slot
// Bindings: W array<u32> GGUF bytes of matrices m_first .. m_first + m_count (matrix m at byte
//           w_offset + (m - m_first) · mat_bytes, row r at + r · row_bytes),
//           X f32 (row i at x_offset + i · x_stride), Y f32 (slot s, row r at y_offset +
//           s · y_stride + r), IDS i32 [slots] (read only when use_ids), P params.
// Mapping: one workgroup per (row, slot): rows over workgroup x + y · (x count), the slot on z
// (plus slot_base when the slots exceed one dispatch). The WG invocations stride over the row's
// blocks; a workgroup sum gives the dot product. Slots whose matrix lies in another chunk of W
// are skipped (the chunk holding it writes them).

const WG: u32 = 64u;

struct Params {
    rows: u32,
    cols: u32,
    row_bytes: u32,
    w_offset: u32,
    x_offset: u32,
    x_stride: u32,
    y_offset: u32,
    y_stride: u32,
    n_slot: u32,
    mat_bytes: u32,
    use_ids: u32,
    x_per_slot: u32,
    m_first: u32,
    m_count: u32,
    slot_base: u32,
    n_slots_total: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read> IDS: array<i32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let r = wg.x + wg.y * nwg.x;
    let s = P.slot_base + wg.z;
    // Whole workgroups leave together, so the barriers in workgroup_sum stay uniform.
    if (r >= P.rows || s >= P.n_slots_total) {
        return;
    }
    var m = s % P.n_slot;
    if (P.use_ids != 0u) {
        m = u32(IDS[s]);
    }
    if (m < P.m_first || m >= P.m_first + P.m_count) {
        return;
    }
    let t = s / P.n_slot;
    let w_row = P.w_offset + (m - P.m_first) * P.mat_bytes + r * P.row_bytes;
    let x_row = P.x_offset + select(t, s, P.x_per_slot != 0u) * P.x_stride;
    let n_blocks = P.cols / QK;
    var acc = 0.0;
    for (var blk = lid; blk < n_blocks; blk = blk + WG) {
        acc = acc + block_dot(w_row + blk * BLOCK_BYTES, x_row + blk * QK);
    }
    let total = workgroup_sum(acc, lid);
    if (lid == 0u) {
        Y[P.y_offset + s * P.y_stride + r] = total;
    }
}
