// Q8_0 (ggml block_q8_0, 34 bytes / 32 elements): d f16 @0, qs[32] i8 @2; value d · q.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;

fn block_get(b: u32, i: u32) -> f32 {
    return load_f16(b) * f32(load_i8(b + 2u + i));
}
