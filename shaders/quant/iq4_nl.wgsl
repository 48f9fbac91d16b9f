// IQ4_NL (ggml block_iq4_nl, 18 bytes / 32 elements): d f16 @0, qs[16] @2.
// Element j < 16 is the low nibble of qs[j], element 16 + j the high nibble; value
// d · KVALUES_IQ4NL[q]. Needs quant/iq4_values.wgsl.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 18u;

fn block_get(b: u32, i: u32) -> f32 {
    let q = load_u8(b + 2u + (i & 15u)) >> ((i >> 4u) << 2u);
    return load_f16(b) * iq4_value(q);
}
