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
// Bindings: W array<u32> GGUF bytes of the chunk (the grid i-quants' table first), X [.., cols]
//           f32, Y [.., y_stride] f32 (row r of the chunk at column y_offset + r), then the
//           entry file's.
// Mapping: one workgroup per (tile of TM rows, tile of TN list entries) = (x, y). The reduction
// walks the columns BK at a time: the workgroup decodes the TM × BK weights of the step once into
// workgroup memory (block_get; invocation i a run of EPI consecutive elements of one row, which
// share their block and sub-block scales), stored transposed, and loads the TN × BK activations
// beside them; then invocation i accumulates row i % TM for entries (i / TM) · TPI .. + TPI
// (neighbouring invocations read neighbouring weights and the same activations). Each weight is
// decoded once per TN entries (the matvec decodes it once per token), each activation read once
// per TM rows.
// Tiles past the last row or entry compute zeros and are not written.

const WG: u32 = 128u;
const TM: u32 = 64u;
const TN: u32 = 16u;
const BK: u32 = 32u;
// Tokens per invocation: TM · TN outputs over WG invocations (8: two vec4 accumulators).
const TPI: u32 = TM * TN / WG;
// Weights each invocation decodes per step: TM · BK over WG, a run of 16 within one row and one
// 32-element unit (every type's QK is 1 or a multiple of 32).
const EPI: u32 = TM * BK / WG;

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

// Decoded weights, transposed ([BK, TM]: the TM rows of one column together), and activations
// ([TN, BK]) of one step.
var<workgroup> w_tile: array<f32, BK * TM>;
var<workgroup> x_tile: array<f32, TN * BK>;

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
    // Invocation i decodes a run of EPI consecutive elements of one row: the run shares its
    // block and sub-block scales.
    let e0 = lid * EPI;
    let rr = e0 / BK;
    let rd = r0 + rr;
    let row = w0 + rd * P.row_bytes;
    for (var c0 = 0u; c0 < P.cols; c0 = c0 + BK) {
        let cr = c0 + e0 % BK;
        for (var k = 0u; k < EPI; k = k + 1u) {
            let c = cr + k;
            var w = 0.0;
            if (rd < P.rows && c < P.cols) {
                w = block_get(row + (c / QK) * BLOCK_BYTES, c % QK);
            }
            w_tile[(c - c0) * TM + rr] = w;
        }
        for (var e = lid; e < TN * BK; e = e + WG) {
            let t = t0 + e / BK;
            let c = c0 + e % BK;
            var x = 0.0;
            if (t < n && c < P.cols) {
                x = X[x_row(t) * P.cols + c];
            }
            x_tile[e] = x;
        }
        // Both tiles are complete before anyone reads them.
        workgroupBarrier();
        for (var k = 0u; k < BK; k = k + 1u) {
            let w = w_tile[k * TM + rm];
            let x = tn * BK + k;
            acc_a = acc_a + w * vec4<f32>(x_tile[x], x_tile[x + BK], x_tile[x + 2u * BK], x_tile[x + 3u * BK]);
            acc_b = acc_b + w * vec4<f32>(x_tile[x + 4u * BK], x_tile[x + 5u * BK], x_tile[x + 6u * BK], x_tile[x + 7u * BK]);
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
