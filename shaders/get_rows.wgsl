// get_rows: Y[t, c] = W[ids[t], c], one row of a GGUF tensor per token, dequantized (the token
// embedding). CPU twin: the GetRows op in cpu/mod.rs. A table larger than one binding (V3's
// token_embd) is split into row chunks, one dispatch each: W holds rows r0 .. r0 + n_rows, and
// a token whose row lies in another chunk is left to that chunk's dispatch.
//
// Bindings: W array<u32> GGUF bytes of the chunk, IDS [n_tok] u32, Y [n_tok, cols] f32, P params.
// Mapping: one invocation per output element, x over elements of a row, y over tokens.

const WG: u32 = 64u;

struct Params {
    cols: u32,
    row_bytes: u32,
    w_offset: u32,
    // Rows in this chunk, the chunk's first row, rows in the whole table.
    n_rows: u32,
    r0: u32,
    n_total: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> IDS: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

// Accessors for common/bytes.wgsl.
fn w_word(i: u32) -> u32 {
    return W[i];
}

fn w_quad(i: u32) -> vec4<u32> {
    return vec4<u32>(W[4u * i], W[4u * i + 1u], W[4u * i + 2u], W[4u * i + 3u]);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let t = gid.y;
    if (c >= P.cols) {
        return;
    }
    // An id outside the table reads row 0 rather than past the binding; the executor checks ids.
    let id = select(0u, IDS[t], IDS[t] < P.n_total);
    if (id < P.r0 || id >= P.r0 + P.n_rows) {
        return;
    }
    let blk = c / QK;
    let row = id - P.r0;
    Y[t * P.cols + c] = block_get(P.w_offset + row * P.row_bytes + blk * BLOCK_BYTES, c % QK);
}
