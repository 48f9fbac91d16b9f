// IQ4_XS (ggml block_iq4_xs, 136 bytes / 256 elements): d f16 @0, scales_h u16 @2,
// scales_l[4] @4, qs[128] @8. Element i: sub-block ib = i / 32, j = i % 32; q = nibble j / 16 of
// qs[16 ib + j % 16]; the 6-bit scale ls = (nibble ib % 2 of scales_l[ib / 2]) | (bits 2 ib of
// scales_h) << 4; value (d · (ls − 32)) · KVALUES_IQ4NL[q]. Needs quant/iq4_values.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 136u;

// d · (ls − 32) of sub-block ib, from the block's first two words (h0: d and scales_h,
// h1: scales_l).
fn iq4_xs_scale(h0: u32, h1: u32, ib: u32) -> f32 {
    let lo = (h1 >> (4u * ib)) & 0xfu;
    let hi = (h0 >> (16u + 2u * ib)) & 3u;
    return f16_bits_to_f32(h0 & 0xffffu) * f32(i32(lo | (hi << 4u)) - 32);
}

fn block_get(b: u32, i: u32) -> f32 {
    let ib = i >> 5u;
    let j = i & 31u;
    let q = load_u8(b + 8u + 16u * ib + (j & 15u)) >> ((j >> 4u) << 2u);
    return iq4_xs_scale(load_u32(b), load_u32(b + 4u), ib) * iq4_value(q);
}
