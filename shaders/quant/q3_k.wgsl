// Q3_K (ggml block_q3_K, 110 bytes / 256 elements): hmask[32] @0, qs[64] @32 (low 2 bits),
// scales[12] @96 (sixteen 6-bit scales, packed), d f16 @108.
// Element i: n = i / 128, j = (i % 128) / 32, s = (i % 32) / 16, l = i % 16; scale index
// is = 8n + 2j + s; q = ((qs[32n + 16s + l] >> 2j) & 3) - (hmask[16s + l] has bit 4n + j ? 0 : 4);
// value d · (scale[is] - 32) · q.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 110u;

// The 6-bit scale `is` (0..16): low 4 bits from scales[is % 8] (low nibble for is < 8, high
// otherwise), high 2 bits from scales[8 + is % 4] at bit 2 · (is / 4).
fn q3_k_scale(b: u32, is: u32) -> i32 {
    let packed = load_u8(b + 96u + (is & 7u));
    let lo = select(packed >> 4u, packed & 0xfu, is < 8u);
    let hi = (load_u8(b + 96u + 8u + (is & 3u)) >> (2u * (is >> 2u))) & 3u;
    return i32(lo | (hi << 4u)) - 32;
}

fn block_get(b: u32, i: u32) -> f32 {
    let n = i >> 7u;
    let j = (i & 127u) >> 5u;
    let s = (i & 31u) >> 4u;
    let l = i & 15u;
    let q = i32((load_u8(b + 32u + 32u * n + 16u * s + l) >> (2u * j)) & 3u);
    let h = (load_u8(b + 16u * s + l) >> (4u * n + j)) & 1u;
    let dl = load_f16(b + 108u) * f32(q3_k_scale(b, 8u * n + 2u * j + s));
    return dl * f32(q - select(4, 0, h == 1u));
}
