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
// Mapping: one workgroup per (group of NR rows, block of NCOLS slots): row groups over workgroup
// x + y · (x count), the slot block on z (plus slot_base blocks when they exceed one dispatch);
// with PAIR one flat
// list of workgroups over x + y · (x count) (see PAIR); with GROUPED one per (group of NR rows,
// expert), looping over the expert's slots (see GROUPED). A row is cut into
// units of UNIT elements (32, or 64 for Q2_K and Q3_K, and on CPU adapters for Q4_K and Q6_K): unit `ub = (UNIT·u % QK) / UNIT` of block
// `UNIT·u / QK`, runs of 16 at `unit_first(ub)` + k·UNIT_RUN2 (k < UNIT / 16) within the block,
// chosen by quant/unit/<type>.wgsl so that one unit's quants share their bytes (both nibbles of
// 16 Q4_K bytes, all four 2-bit fields of 16 Q2_K bytes). Invocation i takes units i, i + WG,
// ..., loads the unit's activations of its NCOLS slots once (an X16 per run, with its sum) and
// dots them with the same unit of all NR rows, each decoded once (`unit_runs`, `runs_dot`), so
// neighbouring invocations read neighbouring weight bytes, X is read once per workgroup and W
// once per NCOLS slots. rows_reduce (workgroup tree or
// subgroupAdd) sums the partials into row_totals; invocations r, r + WG, ... write the rows.
// Float types with cols % UNIT != 0 finish the row's last elements with block_get. Slots whose
// matrix lies in another chunk of W are skipped (the chunk holding it writes them).
// WG (a power of two), NR (≤ NR_MAX) and NCOLS are pipeline-overridable, chosen per adapter.

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
// Slots per workgroup (matvec_cols, matvec_glu_cols and the grouped forms; ≤ NCOLS_MAX, 1
// elsewhere): a multi-token MatMul's workgroup takes NCOLS consecutive tokens (one matrix, so
// only with n_slot = 1 and no ids, never with PAIR), a grouped one walks its expert's slots
// NCOLS at a time. Each weight unit is decoded once for the NCOLS activation rows, not once per
// row.
override NCOLS: u32 = 1u;
// rows_dot_cols's width: NCOLS ≤ 8 (two vec4s of partial sums per row).
const NCOLS_MAX: u32 = 8u;
// Partial sums per invocation: NR rows × NCOLS slots, twice with GLU.
override NACC: u32 = NR * NCOLS * (1u + GLU);
const NR_MAX: u32 = 32u;
// The private partial-sum arrays are sized per pipeline by consts the composer puts ahead of
// this file (gpu::kernels::AccSizes): ACC_ROWS rows of vec4 sums in rows_dot_cols (NR, twice
// with GLU), ACC8_ROWS for its slots 4 .. 8 (1 with NCOLS ≤ 4), ACC_MAX ≥ NACC sums per
// invocation. Every index into them is a constant once the row loops are unrolled.

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
// The workgroup's NCOLS slots (the first nc of them used): slot SLOT[c], its X row from element
// X_ROW[c].
var<private> SLOT: array<u32, NCOLS_MAX>;
var<private> X_ROW: array<u32, NCOLS_MAX>;

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

// Elements sh .. sh + 4 of a then b (sh < 4).
fn shift4(a: vec4<f32>, b: vec4<f32>, sh: u32) -> vec4<f32> {
    let s1 = vec4<f32>(a.y, a.z, a.w, b.x);
    let s2 = vec4<f32>(a.z, a.w, b.x, b.y);
    let s3 = vec4<f32>(a.w, b.x, b.y, b.z);
    return select(select(select(s3, s2, sh == 2u), s1, sh == 1u), a, sh == 0u);
}

// The 16 activations from element `i` and their sum: the four 16-byte loads that hold them when
// `i` is a multiple of 4, else five, shifted. Five load sites, not the 20 of a scalar path for
// unaligned rows: each site is code the adapter's compiler handles per use (llvmpipe's compile
// time grew with the load_x4 calls of the multi-slot forms).
fn load_x16(i: u32) -> X16 {
    let q = i >> 2u;
    let sh = i & 3u;
    let a0 = X[q];
    let a1 = X[q + 1u];
    let a2 = X[q + 2u];
    let a3 = X[q + 3u];
    var a4 = vec4<f32>(0.0);
    if (sh != 0u) {
        a4 = X[q + 4u];
    }
    var x: X16;
    x.v0 = shift4(a0, a1, sh);
    x.v1 = shift4(a1, a2, sh);
    x.v2 = shift4(a2, a3, sh);
    x.v3 = shift4(a3, a4, sh);
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
    // The workgroup's first slot (NCOLS > 1: per-token slots of one matrix, s0 .. s0 + nc).
    s = s * NCOLS;
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
    let nc = min(NCOLS, P.n_slots_total - s);
    for (var c = 0u; c < nc; c = c + 1u) {
        SLOT[c] = s + c;
        X_ROW[c] = x_row + c * P.x_stride;
    }
    rows_dot(w_mat + r0 * P.row_bytes, nr, nc, lane);
    store_rows(t, r0, nr, nc, second, lane);
}

// GROUPED: rows group · NR .. of expert m_first + e for every slot that chose it, NCOLS slots
// at a time. The list
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
    for (var j = u32(IDS[m]); j < end; j = j + NCOLS) {
        let nc = min(NCOLS, end - j);
        for (var c = 0u; c < nc; c = c + 1u) {
            let s = u32(IDS[list + j + c]);
            SLOT[c] = s;
            X_ROW[c] = P.x_offset + select(s / P.n_slot, s, P.x_per_slot != 0u) * P.x_stride;
        }
        rows_dot(w_rows, nr, nc, lane);
        store_rows(0u, r0, nr, nc, false, lane);
    }
}

// Σ w · x over one unit decoded as `r`, run j with x_j (x2, x3 only for units of 64): each
// run's scale applied once to its 16 products.
fn runs_dot(r: array<Run, 4>, x0: X16, x1: X16, x2: X16, x3: X16) -> f32 {
    var s = run_dot(r[0], x0) + run_dot(r[1], x1);
    if (UNIT == 64u) {
        s = s + run_dot(r[2], x2) + run_dot(r[3], x3);
    }
    return s;
}

// The dots of the nr rows from byte `w_rows` (row_bytes apart) with the X rows of the nc slots
// (X_ROW), left in row_totals: row r of slot c at r · NCOLS + c, the up dots after the NR · NCOLS
// gate dots with GLU. Every invocation calls it (barriers).
fn rows_dot(w_rows: u32, nr: u32, nc: u32, lane: Lane) {
    var acc: array<f32, ACC_MAX>;
    if (NCOLS == 1u) {
        rows_dot1(w_rows, nr, &acc, lane);
    } else {
        rows_dot_cols(w_rows, nr, nc, &acc, lane);
    }
    // cols % UNIT != 0 happens only for float types (QK = 1): element col is block col. The
    // row and slot loops run to the constants NR and NCOLS so that every index into acc is known
    // once they are unrolled (a GPU then keeps acc in registers).
    // The tail exists only for float types: a constant branch, so the block types' kernels do
    // not carry NR · NCOLS unrolled block_get calls they never run.
    for (var col = UNIT * (P.cols / UNIT) + lane.lid; QK == 1u && col < P.cols; col = col + WG) {
        for (var r = 0u; r < NR; r = r + 1u) {
            let b = w_rows + r * P.row_bytes + col * BLOCK_BYTES;
            for (var c = 0u; c < NCOLS; c = c + 1u) {
                if (r < nr && c < nc) {
                    acc[r * NCOLS + c] = acc[r * NCOLS + c] + block_get(b, 0u) * x_at(X_ROW[c] + col);
                    if (GLU != 0u) {
                        W_SEL = W_BASE + 1u;
                        let a = (NR + r) * NCOLS + c;
                        acc[a] = acc[a] + block_get(b, 0u) * x_at(X_ROW[c] + col);
                        W_SEL = W_BASE;
                    }
                }
            }
        }
    }
    rows_reduce(&acc, lane);
}

// One slot: invocation i takes units i, i + WG, ..., loads the unit's activations once (an X16
// per run) and dots them with the unit of each of the nr rows, decoded once (`unit_runs`).
fn rows_dot1(w_rows: u32, nr: u32, acc: ptr<function, array<f32, ACC_MAX>>, lane: Lane) {
    let units = P.cols / UNIT;
    for (var u = lane.lid; u < units; u = u + WG) {
        let e = UNIT * u;
        let ub = (e % QK) / UNIT;
        let first = X_ROW[0] + (e / QK) * QK + unit_first(ub);
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
                (*acc)[r] = (*acc)[r] + runs_dot(unit_runs(b + r * P.row_bytes, ub), x0, x1, x2, x3);
                if (GLU != 0u) {
                    W_SEL = W_BASE + 1u;
                    (*acc)[NR + r] = (*acc)[NR + r] + runs_dot(unit_runs(b + r * P.row_bytes, ub), x0, x1, x2, x3);
                    W_SEL = W_BASE;
                }
            }
        }
    }
}

// Run j of a unit for 4 slots of a workgroup (zeros past nc), X16 by X16: no arrays indexed at
// run time, which CPU adapters keep in memory.
struct X4 {
    c0: X16,
    c1: X16,
    c2: X16,
    c3: X16,
}

// The 16 activations from element `i` of the X rows of slots c0 .. c0 + 4 (zeros from nc on).
fn load_x4(i: u32, c0: u32, nc: u32) -> X4 {
    var x: X4;
    if (c0 < nc) {
        x.c0 = load_x16(X_ROW[c0] + i);
    }
    if (c0 + 1u < nc) {
        x.c1 = load_x16(X_ROW[c0 + 1u] + i);
    }
    if (c0 + 2u < nc) {
        x.c2 = load_x16(X_ROW[c0 + 2u] + i);
    }
    if (c0 + 3u < nc) {
        x.c3 = load_x16(X_ROW[c0 + 3u] + i);
    }
    return x;
}

// A unit's activations for 4 slots: run j in xj (x2, x3 only for units of 64).
struct XU {
    x0: X4,
    x1: X4,
    x2: X4,
    x3: X4,
}

// The activations of the unit whose runs start at element `first`, slots c0 .. c0 + 4.
fn load_xu(first: u32, c0: u32, nc: u32) -> XU {
    var x: XU;
    x.x0 = load_x4(first, c0, nc);
    x.x1 = load_x4(first + UNIT_RUN2, c0, nc);
    if (UNIT == 64u) {
        x.x2 = load_x4(first + 2u * UNIT_RUN2, c0, nc);
        x.x3 = load_x4(first + 3u * UNIT_RUN2, c0, nc);
    }
    return x;
}

// Σ w · x of one run with each of the 4 slots' activations.
fn run_dot4(r: Run, x: X4) -> vec4<f32> {
    return vec4<f32>(run_dot(r, x.c0), run_dot(r, x.c1), run_dot(r, x.c2), run_dot(r, x.c3));
}

// The same for a whole unit.
fn runs_dot4(r: array<Run, 4>, x: XU) -> vec4<f32> {
    var s = run_dot4(r[0], x.x0) + run_dot4(r[1], x.x1);
    if (UNIT == 64u) {
        s = s + run_dot4(r[2], x.x2) + run_dot4(r[3], x.x3);
    }
    return s;
}

// Several slots (NCOLS > 1): as rows_dot1, each slot's activations of the unit loaded once,
// each row's unit decoded once for all of them; a row's partial sums of slots 0 .. 4 in one
// vec4 (acc4), of slots 4 .. 8 in another (acc8, NCOLS > 4).
fn rows_dot_cols(w_rows: u32, nr: u32, nc: u32, acc: ptr<function, array<f32, ACC_MAX>>, lane: Lane) {
    var acc4: array<vec4<f32>, ACC_ROWS>;
    var acc8: array<vec4<f32>, ACC8_ROWS>;
    let units = P.cols / UNIT;
    for (var u = lane.lid; u < units; u = u + WG) {
        let e = UNIT * u;
        let ub = (e % QK) / UNIT;
        let first = (e / QK) * QK + unit_first(ub);
        let xa = load_xu(first, 0u, nc);
        var xb: XU;
        if (NCOLS > 4u) {
            xb = load_xu(first, 4u, nc);
        }
        let b = w_rows + (e / QK) * BLOCK_BYTES;
        for (var r = 0u; r < NR; r = r + 1u) {
            if (r < nr) {
                let gate = unit_runs(b + r * P.row_bytes, ub);
                acc4[r] = acc4[r] + runs_dot4(gate, xa);
                if (NCOLS > 4u) {
                    acc8[r] = acc8[r] + runs_dot4(gate, xb);
                }
                if (GLU != 0u) {
                    W_SEL = W_BASE + 1u;
                    let up = unit_runs(b + r * P.row_bytes, ub);
                    W_SEL = W_BASE;
                    acc4[NR + r] = acc4[NR + r] + runs_dot4(up, xa);
                    if (NCOLS > 4u) {
                        acc8[NR + r] = acc8[NR + r] + runs_dot4(up, xb);
                    }
                }
            }
        }
    }
    for (var r = 0u; r < NR * (1u + GLU); r = r + 1u) {
        for (var c = 0u; c < NCOLS; c = c + 1u) {
            (*acc)[r * NCOLS + c] = select(acc8[r][c & 3u], acc4[r][c & 3u], c < 4u);
        }
    }
}

// Invocations r, r + WG, ... write rows r0 + r of the nc slots (SLOT) from row_totals: to Y,
// or to Y2 at token t for PAIR's second matrix. With GLU, row r of slot c has its gate dot at
// r · NCOLS + c and its up dot NR · NCOLS further.
fn store_rows(t: u32, r0: u32, nr: u32, nc: u32, second: bool, lane: Lane) {
    for (var c = 0u; c < nc; c = c + 1u) {
        for (var r = lane.lid; r < nr; r = r + WG) {
            let i = r * NCOLS + c;
            var v = row_totals[i];
            if (GLU != 0u) {
                v = binary_op(row_totals[i], row_totals[NR * NCOLS + i]);
            }
            if (second) {
                Y2[t * P.rows2 + r0 + r] = v;
            } else {
                Y[P.y_offset + SLOT[c] * P.y_stride + r0 + r] = v;
            }
        }
    }
}
