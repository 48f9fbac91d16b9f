// mul_mm: the tiled matrix-matrix product of a prefill chunk (ggml's mul_mm),
//   Y[y_row(j), r0 + r] = Σ_c W[r, c] · X[x_row(j), c]   for r < rows (one chunk's rows), j < n
// over a list of n activation rows, W rows stored as GGUF blocks of the type composed in from
// quant/<type>.wgsl. The entry files say what the list is: mul_mm/plain.wgsl the step's tokens
// (a MatMul; CPU twin cpu::ops::matmul), mul_mm/id.wgsl one expert's slots from moe_group's
// lists (a MatMulId; CPU twin the MatMulId op). Each declares the bindings after W, X and Y,
// its Params (with rows, cols, row_bytes, y_stride, y_offset) and `main`, which calls
// `mul_mm_tile` with the list's length and the matrix's first byte, and defines
// `x_row(j)` / `y_row(j)` (the X and Y rows of list entry j).
//
// Bindings: W array<vec4<u32>> GGUF bytes of the chunk (the grid i-quants' table first), X
//           [.., cols] f32, Y [.., y_stride] f32 (row r of the chunk at column y_offset + r),
//           then the entry file's.
// Mapping: one workgroup per (tile of TM rows, tile of TN list entries) = (x, y). The reduction
// walks each row's units (quant/unit/<type>.wgsl) two runs — BK = 32 elements — at a time, in
// the same order for every row and entry (a dot may sum its terms in any order): per step
// invocation i < TM decodes row i's unit with `unit_runs` (each run's scale decoded once for its
// 16 weights) and stores the step's two runs in workgroup memory, transposed; all load the TN × BK
// activations of the same columns beside it, token-minor so each invocation reads its 8 tokens
// as two vec4s; then invocation i accumulates row i % TM for entries (i / TM) · TPI .. + TPI
// (neighbouring invocations read neighbouring weights and the same activations). Each weight is
// decoded once per TN entries (matvec_cols once per NCOLS tokens), each activation read once per TM
// rows.
// Tiles past the last row or entry compute zeros and are not written; columns past `cols` (only
// float types, whose rows need not be whole units) are zeros.

const WG: u32 = 128u;
const TM: u32 = 64u;
const TN: u32 = 16u;
// Elements per step: two runs of 16 of each of the TM rows' unit.
const BK: u32 = 32u;
// Tokens per invocation: TM · TN outputs over WG invocations (8: two vec4 accumulators).
const TPI: u32 = TM * TN / WG;

@group(0) @binding(0) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

// Decoded weights, transposed ([BK, TM]: the TM rows of one column together), and activations
// ([BK, TN / 4] vec4s: the TN entries of one column together) of one step.
var<workgroup> w_tile: array<f32, BK * TM>;
var<workgroup> x_tile: array<vec4<f32>, BK * TN / 4u>;

// The column (within its row) of element k < BK of step `st`, whose runs are j0, j0 + 1 of unit
// u = st · BK / UNIT: block u · UNIT / QK, unit ub within it.
fn step_col(st: u32, k: u32) -> u32 {
    let e = st * BK;
    let u0 = e - e % UNIT;
    let j = (e % UNIT) / 16u + k / 16u;
    return (u0 / QK) * QK + unit_first((u0 % QK) / UNIT) + j * UNIT_RUN2 + k % 16u;
}

// Weights k0 .. k0 + 16 of the step from element e: run r of the tile's row `rm`. Element k of a
// step lies past the row's end only when e + k ≥ cols (float types, whose runs are consecutive
// columns; every quant type's rows are whole units); those are zeros.
fn store_run(r: Run, k0: u32, e: u32, rm: u32) {
    let v = array<vec4<f32>, 4>(r.v0, r.v1, r.v2, r.v3);
    for (var l = 0u; l < 16u; l = l + 1u) {
        let k = k0 + l;
        w_tile[k * TM + rm] = select(0.0, r.a * v[l / 4u][l % 4u] + r.c, e + k < P.cols);
    }
}

// The tile (rows wg.x · TM .., list entries wg.y · TN ..) of a list of n entries, the matrix's
// rows from byte w0 of W. Every invocation calls it (barriers).
fn mul_mm_tile(wg: vec3<u32>, lid: u32, n: u32, w0: u32) {
    let r0 = wg.x * TM;
    let t0 = wg.y * TN;
    // Row rm of the tile for tokens tn .. tn + 8, in two vec4s (no run-time-indexed private
    // array): neighbouring invocations read neighbouring weights of workgroup memory and the
    // same activations.
    let rm = lid % TM;
    let tn = (lid / TM) * TPI;
    var acc_a = vec4<f32>(0.0);
    var acc_b = vec4<f32>(0.0);
    // Invocation i < TM decodes the units of row i.
    let rd = r0 + lid;
    let row = w0 + rd * P.row_bytes;
    let steps = (P.cols + BK - 1u) / BK;
    for (var st = 0u; st < steps; st = st + 1u) {
        if (lid < TM) {
            let e = st * BK;
            let u0 = e - e % UNIT;
            // Rows past the chunk decode as zeros (their outputs are not written).
            var runs = array<Run, 4>();
            if (rd < P.rows) {
                runs = unit_runs(row + (u0 / QK) * BLOCK_BYTES, (u0 % QK) / UNIT);
            }
            // The step's runs: 0, 1 of a unit of 32; 0, 1 or 2, 3 of a unit of 64.
            let j0 = (e % UNIT) / 16u;
            store_run(runs[j0], 0u, e, lid);
            store_run(runs[j0 + 1u], 16u, e, lid);
        }
        for (var i = lid; i < TN * BK; i = i + WG) {
            let k = i / TN;
            let t = i % TN;
            var x = 0.0;
            if (t0 + t < n && st * BK + k < P.cols) {
                x = X[x_row(t0 + t) * P.cols + step_col(st, k)];
            }
            x_tile[k * (TN / 4u) + t / 4u][t % 4u] = x;
        }
        // Both tiles are complete before anyone reads them.
        workgroupBarrier();
        for (var k = 0u; k < BK; k = k + 1u) {
            let wk = w_tile[k * TM + rm];
            let xk = k * (TN / 4u) + tn / 4u;
            acc_a = acc_a + wk * x_tile[xk];
            acc_b = acc_b + wk * x_tile[xk + 1u];
        }
        // Everyone is done with the tiles before the next step overwrites them.
        workgroupBarrier();
    }
    let r = r0 + rm;
    if (r >= P.rows) {
        return;
    }
    let m = min(TPI, n - min(n, t0 + tn));
    for (var j = 0u; j < m; j = j + 1u) {
        var v = acc_b[j - 4u];
        if (j < 4u) {
            v = acc_a[j];
        }
        Y[y_row(t0 + tn + j) * P.y_stride + P.y_offset + r] = v;
    }
}
