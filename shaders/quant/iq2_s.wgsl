// IQ2_S (ggml block_iq2_s, 82 bytes / 256 elements): d f16 @0, qs[32] @2 (grid index low
// bits), signs[32] @34, qh[8] @66, scales[8] @74. Group l of sub-block ib is
// iq2s_grid[qs[4ib + l] | (qh[ib] << (8 − 2l) & 0x300)] with the sign byte signs[4ib + l]; scale
// as IQ2_XS. Needs quant/iq_grid.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 82u;
const TABLE_BYTES: u32 = 8192u;

fn block_get(b: u32, i: u32) -> f32 {
    let ib = i >> 5u;
    let l = (i >> 3u) & 3u;
    let j = i & 7u;
    let idx = load_u8(b + 2u + 4u * ib + l) | ((load_u8(b + 66u + ib) << (8u - 2u * l)) & 0x300u);
    let s = (load_u8(b + 74u + ib) >> (4u * (l >> 1u))) & 0xfu;
    let db = load_f16(b) * (0.5 + f32(s)) * 0.25;
    return db * f32(grid8_byte(idx, j)) * sign1(load_u8(b + 34u + 4u * ib + l), j);
}
