// F32: one element per "block" of 4 bytes.
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 4u;

fn block_get(b: u32, i: u32) -> f32 {
    return bitcast<f32>(load_u32(b));
}
