// Q4_K (ggml block_q4_K, 144 bytes / 256 elements): d f16 @0, dmin f16 @2, scales[12] @4,
// qs[128] @16. Element i: chunk c = i / 64, h = (i % 64) / 32, l = i % 32; q = nibble h of
// qs[32c + l]; (sc, m) = scale_min_k4(2c + h); value d·sc·q - dmin·m.
// Needs quant/k4_scales.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 144u;

fn block_get(b: u32, i: u32) -> f32 {
    let c = i >> 6u;
    let h = (i & 63u) >> 5u;
    let l = i & 31u;
    let q = (load_u8(b + 16u + 32u * c + l) >> (4u * h)) & 0xfu;
    let sm = scale_min_k4(b + 4u, 2u * c + h);
    return load_f16(b) * f32(sm.x) * f32(q) - load_f16(b + 2u) * f32(sm.y);
}
