// F16: one IEEE half per element.
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 2u;

fn block_get(b: u32, i: u32) -> f32 {
    return load_f16(b);
}
