// IQ2_XXS (ggml block_iq2_xxs, 66 bytes / 256 elements): d f16 @0, qs u16[32] @2. Sub-block
// ib (32 elements) holds words aux0, aux1 at byte 2 + 8ib: group l (8 elements) is
// iq2xxs_grid[byte l of aux0] with signs ksigns(bits 7l.. of aux1); scale
// d · (0.5 + aux1 >> 28) · 0.25. Needs quant/iq_grid.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 66u;
const TABLE_BYTES: u32 = 2048u;

fn block_get(b: u32, i: u32) -> f32 {
    let ib = i >> 5u;
    let l = (i >> 3u) & 3u;
    let j = i & 7u;
    let aux0 = load_u32(b + 2u + 8u * ib);
    let aux1 = load_u32(b + 6u + 8u * ib);
    let db = load_f16(b) * (0.5 + f32(aux1 >> 28u)) * 0.25;
    let g = grid8_byte((aux0 >> (8u * l)) & 0xffu, j);
    return db * f32(g) * sign1(ksigns((aux1 >> (7u * l)) & 127u), j);
}
