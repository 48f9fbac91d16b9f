// Q5_1 (ggml block_q5_1, 24 bytes / 32 elements): d f16 @0, m f16 @2, qh u32 @4, qs[16] @8.
// 5-bit q as in Q5_0; value d · q + m.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 24u;

fn block_get(b: u32, i: u32) -> f32 {
    let lo = (load_u8(b + 8u + (i & 15u)) >> ((i >> 4u) << 2u)) & 0xfu;
    let hi = (load_u32(b + 4u) >> i) & 1u;
    return load_f16(b) * f32(lo | (hi << 4u)) + load_f16(b + 2u);
}
