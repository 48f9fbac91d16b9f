// IQ3_XXS (ggml block_iq3_xxs, 98 bytes / 256 elements): d f16 @0, qs[64] @2 (one iq3xxs_grid
// index per 4 elements), then u32[8] @66: per sub-block ib, 4 × 7 sign-index bits and the scale
// in the top 4, d · (0.5 + s) · 0.5. Group l of ib is grid entries qs[8ib + 2l] (elements 0..4)
// and qs[8ib + 2l + 1] (4..8) with signs ksigns(bits 7l..). Needs quant/iq_grid.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 98u;
const TABLE_BYTES: u32 = 1024u;

fn block_get(b: u32, i: u32) -> f32 {
    let ib = i >> 5u;
    let l = (i >> 3u) & 3u;
    let j = i & 7u;
    let aux = load_u32(b + 66u + 4u * ib);
    let db = load_f16(b) * (0.5 + f32(aux >> 28u)) * 0.5;
    let idx = load_u8(b + 2u + 8u * ib + 2u * l + (j >> 2u));
    return db * f32(grid4_byte(idx, j & 3u)) * sign1(ksigns((aux >> (7u * l)) & 127u), j);
}
