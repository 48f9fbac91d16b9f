// Q4_0 (ggml block_q4_0, 18 bytes / 32 elements): d f16 @0, qs[16] @2.
// Element j < 16 is the low nibble of qs[j], element 16 + j the high nibble; value d · (q - 8).
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 18u;

fn block_get(b: u32, i: u32) -> f32 {
    let q = (load_u8(b + 2u + (i & 15u)) >> ((i >> 4u) << 2u)) & 0xfu;
    return load_f16(b) * f32(i32(q) - 8);
}
