// matvec: Y[s, r] = Σ_c W_m[r, c] · X[x(s), c] for every slot s, W rows stored as GGUF blocks of
// the type composed in from quant/<type>.wgsl, decoded a unit at a time by the unit_runs of
// quant/unit/<type>.wgsl. One kernel serves the three matrix ops of the graph (CPU twins in
// cpu/mod.rs):
//   MatMul      n_slot 1:        slot = token, matrix 0, X row = slot
//   MatMulHeads n_slot = H:      slot = t·H + h, matrix h, X row = slot (x_per_slot)
//   MatMulId    n_slot = K:      slot = t·K + k, matrix IDS[slot] (use_ids), X row = t or slot
// Bindings: W array<vec4<u32>> GGUF bytes of matrices m_first .. m_first + m_count (matrix m at byte
//           TABLE_BYTES + w_offset + (m - m_first) · mat_bytes, row r at + r · row_bytes; the
//           grid i-quants' table before them),
//           X f32 read 4 at a time (row i at x_offset + i · x_stride), Y f32 (slot s, row r at y_offset +
//           s · y_stride + r), IDS i32 [slots] (read only when use_ids), W2 as W (read only with
//           GLU or PAIR), Y2 f32 [n_tok, rows2] (written only with PAIR), W3 and W4 as W (the
//           second gated matrix: read only with GLU and PAIR), P params.
// Mapping: one workgroup per (group of NR rows, slot): row groups over workgroup x + y · (x
// count), the slot on z (plus slot_base when the slots exceed one dispatch); with PAIR one flat
// list of workgroups over x + y · (x count) (see PAIR); with GROUPED one per (group of NR rows,
// expert), looping over the expert's slots (see GROUPED). A row is cut into
// units of UNIT elements (32, or 64 for Q2_K and Q3_K): unit `ub = (UNIT·u % QK) / UNIT` of block
// `UNIT·u / QK`, runs of 16 at `unit_first(ub)` + k·UNIT_RUN2 (k < UNIT / 16) within the block,
// chosen by quant/unit/<type>.wgsl so that one unit's quants share their bytes (both nibbles of
// 16 Q4_K bytes, all four 2-bit fields of 16 Q2_K bytes). Invocation i takes units i, i + WG,
// ..., loads the unit's activations once (an X16 per run, with its sum) and dots them with the
// same unit of all NR rows (`unit_dot_x`), so neighbouring invocations read neighbouring weight
// bytes and X is read once per workgroup. rows_reduce (workgroup tree or
// subgroupAdd) sums the partials into row_totals; invocations r, r + WG, ... write the rows.
// Float types with cols % UNIT != 0 finish the row's last elements with block_get. Slots whose
// matrix lies in another chunk of W are skipped (the chunk holding it writes them).
// WG (a power of two) and NR (≤ NR_MAX) are pipeline-overridable, chosen per adapter.

override WG: u32 = 64u;
override NR: u32 = 4u;
// 1: the gated-FFN form (matvec_glu): W holds the gate matrices, W2 the up matrices of the same
// shape, and Y = silu(gate · x) · (up · x), swiglu's binary_op on the two dots.
override GLU: u32 = 0u;
// 1: two matrices over the same X (matvec_pair): after the first matrix's workgroups come W2's
// (rows2 rows, one slot per token), written to Y2 [n_tok, rows2] (q and kv_a_mqa of a layer in
// one dispatch). With GLU as well (matvec_glu_pair): the first is gated (W, W2: the routed
// experts' gate and up), the second too (W3, W4: the shared experts').
override PAIR: u32 = 0u;
// 1: a multi-token MatMulId with its slots grouped by expert (matvec_grouped, matvec_glu_grouped;
// not with PAIR): IDS holds moe_group's lists, not the ids: IDS[m] .. IDS[m + 1] index expert m's
// slots in the list at IDS[n_expert + 1 ..]. One workgroup per (group of NR rows, expert
// m_first + z) walks its expert's slots, so its rows come from memory once per step and from
// cache for every further slot, and the workgroups of experts no slot chose leave at once.
override GROUPED: u32 = 0u;
// Partial sums per invocation: NR rows, twice with GLU.
override NACC: u32 = NR * (1u + GLU);
const NR_MAX: u32 = 16u;
// Partial sums per invocation, at most (NACC ≤ 2 · NR_MAX).
const ACC_MAX: u32 = 2u * NR_MAX;

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
    rows2: u32,
    n_expert: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read> IDS: array<i32>;
@group(0) @binding(4) var<storage, read> W2: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> Y2: array<f32>;
@group(0) @binding(6) var<storage, read> W3: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read> W4: array<vec4<u32>>;
@group(0) @binding(8) var<uniform> P: Params;

// Which weight binding the quant code reads: 0 W, 1 W2, 2 W3, 3 W4; W_BASE is the matrix's
// first (its gate with GLU, whose up is W_BASE + 1): 0, or the second matrix's with PAIR.
var<private> W_SEL: u32;
var<private> W_BASE: u32;

// Accessors for common/bytes.wgsl: the weights are read 16 bytes per load.
fn w_quad(i: u32) -> vec4<u32> {
    if ((GLU == 0u && PAIR == 0u) || W_SEL == 0u) {
        return W[i];
    }
    if (W_SEL == 1u || GLU == 0u || PAIR == 0u) {
        return W2[i];
    }
    if (W_SEL == 2u) {
        return W3[i];
    }
    return W4[i];
}

// One word: indexed through to the u32, so only 4 bytes are read.
fn w_word(i: u32) -> u32 {
    let q = i >> 2u;
    let c = i & 3u;
    if ((GLU == 0u && PAIR == 0u) || W_SEL == 0u) {
        return W[q][c];
    }
    if (W_SEL == 1u || GLU == 0u || PAIR == 0u) {
        return W2[q][c];
    }
    if (W_SEL == 2u) {
        return W3[q][c];
    }
    return W4[q][c];
}

fn x_at(i: u32) -> f32 {
    return X[i >> 2u][i & 3u];
}

// The 16 activations from element `i` and their sum: four 16-byte loads when `i` is a multiple
// of 4.
fn load_x16(i: u32) -> X16 {
    var x: X16;
    if ((i & 3u) == 0u) {
        let q = i >> 2u;
        x = X16(X[q], X[q + 1u], X[q + 2u], X[q + 3u], 0.0);
    } else {
        x.v0 = vec4<f32>(x_at(i), x_at(i + 1u), x_at(i + 2u), x_at(i + 3u));
        x.v1 = vec4<f32>(x_at(i + 4u), x_at(i + 5u), x_at(i + 6u), x_at(i + 7u));
        x.v2 = vec4<f32>(x_at(i + 8u), x_at(i + 9u), x_at(i + 10u), x_at(i + 11u));
        x.v3 = vec4<f32>(x_at(i + 12u), x_at(i + 13u), x_at(i + 14u), x_at(i + 15u));
    }
    x.sum = dot(x.v0 + x.v1 + x.v2 + x.v3, vec4<f32>(1.0));
    return x;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lane: Lane) {
    if (GROUPED != 0u) {
        grouped(wg.x + wg.y * nwg.x, wg.z, lane);
        return;
    }
    var group = wg.x + wg.y * nwg.x;
    var rows = P.rows;
    var s = P.slot_base + wg.z;
    // With PAIR the workgroups are one flat list (z = 1): (group, slot) pairs of the first
    // matrix, then (group, token) pairs of the second (W2, or W3 and W4 with GLU), which has
    // rows2 rows and one slot per token, written to Y2 [n_tok, rows2]. Uniform per workgroup.
    let groups1 = (P.rows + NR - 1u) / NR;
    let first_items = groups1 * P.n_slots_total;
    let second = PAIR != 0u && group >= first_items;
    if (PAIR != 0u) {
        if (second) {
            let item = group - first_items;
            let groups2 = (P.rows2 + NR - 1u) / NR;
            group = item % groups2;
            // The token's first slot: t = s / n_slot below.
            s = (item / groups2) * P.n_slot;
            rows = P.rows2;
            W_BASE = select(1u, 2u, GLU != 0u);
            W_SEL = W_BASE;
        } else {
            s = group / groups1;
            group = group % groups1;
        }
    }
    let r0 = group * NR;
    // Whole workgroups leave together, so the barriers in rows_reduce stay uniform.
    if (r0 >= rows || s >= P.n_slots_total) {
        return;
    }
    var m = s % P.n_slot;
    if (P.use_ids != 0u) {
        m = u32(IDS[s]);
    }
    if (!second && (m < P.m_first || m >= P.m_first + P.m_count)) {
        return;
    }
    let t = s / P.n_slot;
    // The second matrix is one plain matrix at the start of its binding, read with X's row of t.
    var w_mat = TABLE_BYTES;
    var x_row = P.x_offset + t * P.x_stride;
    if (!second) {
        w_mat = TABLE_BYTES + P.w_offset + (m - P.m_first) * P.mat_bytes;
        x_row = P.x_offset + select(t, s, P.x_per_slot != 0u) * P.x_stride;
    }
    let nr = min(NR, rows - r0);
    rows_dot(w_mat + r0 * P.row_bytes, nr, x_row, lane);
    store_rows(s, t, r0, nr, second, lane);
}

// GROUPED: rows group · NR .. of expert m_first + e for every slot that chose it. The list
// lengths come from a read-only binding at uniform indices, so the loop (and the barriers in
// rows_dot) stays uniform over the workgroup.
fn grouped(group: u32, e: u32, lane: Lane) {
    let r0 = group * NR;
    if (r0 >= P.rows || e >= P.m_count) {
        return;
    }
    let m = P.m_first + e;
    let list = P.n_expert + 1u;
    let end = u32(IDS[m + 1u]);
    let nr = min(NR, P.rows - r0);
    let w_rows = TABLE_BYTES + P.w_offset + e * P.mat_bytes + r0 * P.row_bytes;
    for (var j = u32(IDS[m]); j < end; j = j + 1u) {
        let s = u32(IDS[list + j]);
        let t = s / P.n_slot;
        rows_dot(w_rows, nr, P.x_offset + select(t, s, P.x_per_slot != 0u) * P.x_stride, lane);
        store_rows(s, t, r0, nr, false, lane);
    }
}

// Σ w · x over unit ub of the block at byte b, run j with x_j (x2, x3 only for units of 64):
// each run's scale applied once to its 16 products.
fn unit_dot_x(b: u32, ub: u32, x0: X16, x1: X16, x2: X16, x3: X16) -> f32 {
    let r = unit_runs(b, ub);
    var s = run_dot(r[0], x0) + run_dot(r[1], x1);
    if (UNIT == 64u) {
        s = s + run_dot(r[2], x2) + run_dot(r[3], x3);
    }
    return s;
}

// The dots of the nr rows from byte `w_rows` (row_bytes apart) with X's row at `x_row`,
// left in row_totals (gate dots, then up dots with GLU). Every invocation calls it (barriers).
fn rows_dot(w_rows: u32, nr: u32, x_row: u32, lane: Lane) {
    var acc: array<f32, ACC_MAX>;
    let units = P.cols / UNIT;
    for (var u = lane.lid; u < units; u = u + WG) {
        let e = UNIT * u;
        let ub = (e % QK) / UNIT;
        let first = x_row + (e / QK) * QK + unit_first(ub);
        let x0 = load_x16(first);
        let x1 = load_x16(first + UNIT_RUN2);
        // Units of 64 take two more runs at the same stride (a constant branch).
        var x2: X16;
        var x3: X16;
        if (UNIT == 64u) {
            x2 = load_x16(first + 2u * UNIT_RUN2);
            x3 = load_x16(first + 3u * UNIT_RUN2);
        }
        let b = w_rows + (e / QK) * BLOCK_BYTES;
        for (var r = 0u; r < NR; r = r + 1u) {
            if (r < nr) {
                acc[r] = acc[r] + unit_dot_x(b + r * P.row_bytes, ub, x0, x1, x2, x3);
                if (GLU != 0u) {
                    W_SEL = W_BASE + 1u;
                    acc[NR + r] = acc[NR + r] + unit_dot_x(b + r * P.row_bytes, ub, x0, x1, x2, x3);
                    W_SEL = W_BASE;
                }
            }
        }
    }
    // cols % UNIT != 0 happens only for float types (QK = 1): element c is block c.
    for (var c = UNIT * units + lane.lid; c < P.cols; c = c + WG) {
        for (var r = 0u; r < nr; r = r + 1u) {
            let b = w_rows + r * P.row_bytes + c * BLOCK_BYTES;
            acc[r] = acc[r] + block_get(b, 0u) * x_at(x_row + c);
            if (GLU != 0u) {
                W_SEL = W_BASE + 1u;
                acc[NR + r] = acc[NR + r] + block_get(b, 0u) * x_at(x_row + c);
                W_SEL = W_BASE;
            }
        }
    }
    rows_reduce(&acc, lane);
}

// Invocations r, r + WG, ... write rows r0 + r of slot s (token t) from row_totals: to Y, or to
// Y2 for PAIR's second matrix. With GLU, row r's gate dot is total r and its up dot NR + r.
fn store_rows(s: u32, t: u32, r0: u32, nr: u32, second: bool, lane: Lane) {
    for (var r = lane.lid; r < nr; r = r + WG) {
        var v = row_totals[r];
        if (GLU != 0u) {
            v = binary_op(row_totals[r], row_totals[NR + r]);
        }
        if (second) {
            Y2[t * P.rows2 + r0 + r] = v;
        } else {
            Y[P.y_offset + s * P.y_stride + r0 + r] = v;
        }
    }
}
