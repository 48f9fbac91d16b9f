// get_rows: Y[t, c] = W[ids[t], c], one row of a GGUF tensor per token, dequantized (the token
// embedding). CPU twin: the GetRows op in cpu/mod.rs. A table larger than one binding (V3's
// token_embd) is split into row chunks, one dispatch each: W holds rows r0 .. r0 + n_rows, and
// a token whose row lies in another chunk is left to that chunk's dispatch.
//
// This file holds the bindings and the lookup; an entry file composed after it holds `main`:
// get_rows/plain.wgsl (one invocation per output element), or get_rows/norm.wgsl, which also
// computes the RMSNorm that first reads the rows (the first layer's attn_norm, folded in by the
// executor).
//
// Bindings: W array<u32> GGUF bytes of the chunk (after the grid i-quants' table, TABLE_BYTES), IDS [n_tok] u32, Y [n_tok, cols] f32, then the
//           entry file's, then P params.

struct Params {
    cols: u32,
    row_bytes: u32,
    w_offset: u32,
    // Rows in this chunk, the chunk's first row, rows in the whole table.
    n_rows: u32,
    r0: u32,
    n_total: u32,
    // RMSNorm epsilon (get_rows/norm.wgsl only)
    eps: f32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> IDS: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
// P: Params, declared by the entry file after its own bindings (the parameters come last).

// Token t's row in this chunk, or none (its row lies in another chunk's dispatch).
fn chunk_row(t: u32) -> i32 {
    // An id outside the table reads row 0 rather than past the binding; the executor checks ids.
    let id = select(0u, IDS[t], IDS[t] < P.n_total);
    if (id < P.r0 || id >= P.r0 + P.n_rows) {
        return -1;
    }
    return i32(id - P.r0);
}

// Element c of row `row` of the chunk.
fn row_value(row: u32, c: u32) -> f32 {
    return block_get(TABLE_BYTES + P.w_offset + row * P.row_bytes + (c / QK) * BLOCK_BYTES, c % QK);
}
