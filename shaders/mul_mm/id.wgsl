// mul_mm over one expert's slots (a MatMulId of a prefill chunk, mul_mm_id): workgroup z takes
// expert m_first + z of the chunk, whose slots moe_group listed (G[m] .. G[m + 1] index the list
// at G[n_expert + 1 ..]); entry j is slot s = list[G[m] + j], X's row s (x_per_slot) or
// s / n_slot (the token), Y's row s. Each expert's rows are decoded once per TN of its slots;
// the workgroups past an expert's slots (and of experts nobody chose) leave at once.
// Bindings after mul_mm.wgsl's: G i32 [n_expert + 1 + slots], P params.

struct Params {
    rows: u32,
    cols: u32,
    row_bytes: u32,
    mat_bytes: u32,
    y_stride: u32,
    y_offset: u32,
    n_slot: u32,
    x_per_slot: u32,
    m_first: u32,
    m_count: u32,
    n_expert: u32,
    pad0: u32,
}

@group(0) @binding(3) var<storage, read> G: array<i32>;
@group(0) @binding(4) var<uniform> P: Params;

// The list index of the expert's first slot (set by main, uniform over the workgroup).
var<private> FIRST: u32;

fn slot(j: u32) -> u32 {
    return u32(G[P.n_expert + 1u + FIRST + j]);
}

fn x_row(j: u32) -> u32 {
    let s = slot(j);
    return select(s / P.n_slot, s, P.x_per_slot != 0u);
}

fn y_row(j: u32) -> u32 {
    return slot(j);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    if (wg.z >= P.m_count) {
        return;
    }
    let m = P.m_first + wg.z;
    FIRST = u32(G[m]);
    let n = u32(G[m + 1u]) - FIRST;
    // Uniform: read-only storage at uniform indices.
    if (wg.y * TN >= n) {
        return;
    }
    mul_mm_tile(wg, lid, n, TABLE_BYTES + wg.z * P.mat_bytes);
}
