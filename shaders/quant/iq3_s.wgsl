// IQ3_S (ggml block_iq3_s, 110 bytes / 256 elements): d f16 @0, qs[64] @2, qh[8] @66 (a 9th
// index bit per entry), signs[32] @74 (one bit per element), scales[4] @106 (4 bits per 64
// elements: d · (1 + 2s)). Group l of sub-block ib is iq3s_grid entries
// qs[8ib + 2l] | (qh[ib] << (8 − 2l) & 256) and qs[8ib + 2l + 1] | (qh[ib] << (7 − 2l) & 256)
// with the sign byte signs[4ib + l]. Needs quant/iq_grid.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 110u;
const TABLE_BYTES: u32 = 2048u;

// d · (1 + 2s) of sub-block ib.
fn iq3_s_scale(b: u32, ib: u32) -> f32 {
    let s = (load_u8(b + 106u + (ib >> 1u)) >> (4u * (ib & 1u))) & 0xfu;
    return load_f16(b) * f32(1u + 2u * s);
}

// Grid index of entry e (0: elements 0..4, 1: 4..8) of group l of sub-block ib.
fn iq3_s_index(b: u32, ib: u32, l: u32, e: u32) -> u32 {
    let qh = load_u8(b + 66u + ib);
    return load_u8(b + 2u + 8u * ib + 2u * l + e) | ((qh << (8u - 2u * l - e)) & 256u);
}

fn block_get(b: u32, i: u32) -> f32 {
    let ib = i >> 5u;
    let l = (i >> 3u) & 3u;
    let j = i & 7u;
    let g = grid4_byte(iq3_s_index(b, ib, l, j >> 2u), j & 3u);
    return iq3_s_scale(b, ib) * f32(g) * sign1(load_u8(b + 74u + 4u * ib + l), j);
}
