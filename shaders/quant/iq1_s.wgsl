// IQ1_S (ggml block_iq1_s, 50 bytes / 256 elements): d f16 @0, qs[32] @2, qh u16[8] @34. Per
// sub-block ib, qh[ib] holds 3 high index bits per group (bits 3l..), a 3-bit scale at 12 and
// the offset's sign at 15: group l is iq1s_grid[qs[4ib + l] | high << 8] (signed bytes −1, 0, 1)
// and element value d · (2s + 1) · (g + delta), delta = ±IQ1S_DELTA. Needs quant/iq_grid.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 50u;
const TABLE_BYTES: u32 = 16384u;
const IQ1S_DELTA: f32 = 0.125;

fn block_get(b: u32, i: u32) -> f32 {
    let ib = i >> 5u;
    let l = (i >> 3u) & 3u;
    let qh = load_u16(b + 34u + 2u * ib);
    let dl = load_f16(b) * f32(2u * ((qh >> 12u) & 7u) + 1u);
    let delta = select(IQ1S_DELTA, -IQ1S_DELTA, (qh & 0x8000u) != 0u);
    let idx = load_u8(b + 2u + 4u * ib + l) | (((qh >> (3u * l)) & 7u) << 8u);
    let g = f32((i32(grid8_byte(idx, i & 7u)) << 24u) >> 24u);
    return dl * (g + delta);
}
