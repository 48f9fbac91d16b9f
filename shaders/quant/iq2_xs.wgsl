// IQ2_XS (ggml block_iq2_xs, 74 bytes / 256 elements): d f16 @0, qs u16[32] @2, scales[8] @66.
// Group l of sub-block ib is qs[4ib + l]: iq2xs_grid[q & 511] with signs ksigns(q >> 9); groups
// 0, 1 take the low nibble of scales[ib], groups 2, 3 the high: d · (0.5 + s) · 0.25. Needs
// quant/iq_grid.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 74u;
const TABLE_BYTES: u32 = 4096u;

fn block_get(b: u32, i: u32) -> f32 {
    let ib = i >> 5u;
    let l = (i >> 3u) & 3u;
    let j = i & 7u;
    let q = load_u16(b + 2u + 2u * (4u * ib + l));
    let s = (load_u8(b + 66u + ib) >> (4u * (l >> 1u))) & 0xfu;
    let db = load_f16(b) * (0.5 + f32(s)) * 0.25;
    return db * f32(grid8_byte(q & 511u, j)) * sign1(ksigns(q >> 9u), j);
}
