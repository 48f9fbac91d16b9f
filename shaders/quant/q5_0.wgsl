// Q5_0 (ggml block_q5_0, 22 bytes / 32 elements): d f16 @0, qh u32 @2, qs[16] @6.
// Low 4 bits as in Q4_0, bit 4 of element i is bit i of qh; value d · (q - 16).
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 22u;

fn block_get(b: u32, i: u32) -> f32 {
    let lo = (load_u8(b + 6u + (i & 15u)) >> ((i >> 4u) << 2u)) & 0xfu;
    let hi = (load_u32(b + 2u) >> i) & 1u;
    return load_f16(b) * f32(i32(lo | (hi << 4u)) - 16);
}
