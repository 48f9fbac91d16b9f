// Q4_1 (ggml block_q4_1, 20 bytes / 32 elements): d f16 @0, m f16 @2, qs[16] @4.
// Nibbles as in Q4_0; value d · q + m.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 20u;

fn block_get(b: u32, i: u32) -> f32 {
    let q = (load_u8(b + 4u + (i & 15u)) >> ((i >> 4u) << 2u)) & 0xfu;
    return load_f16(b) * f32(q) + load_f16(b + 2u);
}
