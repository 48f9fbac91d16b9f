// BF16: the top 16 bits of an f32.
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 2u;

fn block_get(b: u32, i: u32) -> f32 {
    return bitcast<f32>(load_u16(b) << 16u);
}
