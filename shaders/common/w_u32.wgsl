// common/bytes.wgsl's accessors for kernels that bind their weights as `W: array<u32>`
// (get_rows; matvec, matvec_t and mul_mm bind array<vec4<u32>>).

fn w_word(i: u32) -> u32 {
    return W[i];
}

fn w_quad(i: u32) -> vec4<u32> {
    return vec4<u32>(W[4u * i], W[4u * i + 1u], W[4u * i + 2u], W[4u * i + 3u]);
}
