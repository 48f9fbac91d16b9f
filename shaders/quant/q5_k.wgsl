// Q5_K (ggml block_q5_K, 176 bytes / 256 elements): d f16 @0, dmin f16 @2, scales[12] @4,
// qh[32] @16, qs[128] @48. As Q4_K, plus bit 4 of q from bit 2c + h of qh[l].
// Needs quant/k4_scales.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 176u;

fn block_get(b: u32, i: u32) -> f32 {
    let c = i >> 6u;
    let h = (i & 63u) >> 5u;
    let l = i & 31u;
    let lo = (load_u8(b + 48u + 32u * c + l) >> (4u * h)) & 0xfu;
    let hi = (load_u8(b + 16u + l) >> (2u * c + h)) & 1u;
    let sm = scale_min_k4(b + 4u, 2u * c + h);
    return load_f16(b) * f32(sm.x) * f32(lo | (hi << 4u)) - load_f16(b + 2u) * f32(sm.y);
}
