// common/bytes.wgsl's accessors for kernels that bind their weights as `W: array<vec4<u32>>`
// (mul_mm, matvec_t; matvec has its own, which choose among its weight bindings).

fn w_quad(i: u32) -> vec4<u32> {
    return W[i];
}

// One word: indexed through to the u32, so only 4 bytes are read.
fn w_word(i: u32) -> u32 {
    return W[i >> 2u][i & 3u];
}
