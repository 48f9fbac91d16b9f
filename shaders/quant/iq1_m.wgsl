// IQ1_M (ggml block_iq1_m, 56 bytes / 256 elements): qs[32] @0, qh[16] @32, scales u16[4] @48.
// The block's f16 scale d is the top nibbles of the four scale words; sub-block ib has 3-bit
// scales s1 (groups 0, 1) and s2 (groups 2, 3) at bits 6 (ib % 2) and + 3 of word ib / 2. Group
// l takes qh byte 2ib + l / 2: its low (l even) or high nibble holds 3 high index bits and the
// offset's sign; value d · (2s + 1) · (g + delta), grid iq1s_grid as IQ1_S. Needs
// quant/iq_grid.wgsl.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 56u;
const TABLE_BYTES: u32 = 16384u;
const IQ1S_DELTA: f32 = 0.125;

fn iq1_m_d(b: u32) -> f32 {
    let s0 = load_u16(b + 48u);
    let s1 = load_u16(b + 50u);
    let s2 = load_u16(b + 52u);
    let s3 = load_u16(b + 54u);
    return f16_bits_to_f32((s0 >> 12u) | ((s1 >> 8u) & 0xf0u) | ((s2 >> 4u) & 0xf00u) | (s3 & 0xf000u));
}

// d · (2s + 1) for groups 0, 1 (h = 0) or 2, 3 (h = 1) of sub-block ib.
fn iq1_m_scale(b: u32, d: f32, ib: u32, h: u32) -> f32 {
    let sc = load_u16(b + 48u + 2u * (ib >> 1u));
    return d * f32(2u * ((sc >> (6u * (ib & 1u) + 3u * h)) & 7u) + 1u);
}

// Grid index and offset of one group.
struct Iq1Group {
    idx: u32,
    delta: f32,
}

// Group l of sub-block ib.
fn iq1_m_group(b: u32, ib: u32, l: u32) -> Iq1Group {
    let nib = (load_u8(b + 32u + 2u * ib + (l >> 1u)) >> (4u * (l & 1u))) & 0xfu;
    let idx = load_u8(b + 4u * ib + l) | ((nib & 7u) << 8u);
    return Iq1Group(idx, select(IQ1S_DELTA, -IQ1S_DELTA, (nib & 8u) != 0u));
}

fn block_get(b: u32, i: u32) -> f32 {
    let ib = i >> 5u;
    let l = (i >> 3u) & 3u;
    let grp = iq1_m_group(b, ib, l);
    let g = f32((i32(grid8_byte(grp.idx, i & 7u)) << 24u) >> 24u);
    return iq1_m_scale(b, iq1_m_d(b), ib, l >> 1u) * (g + grp.delta);
}
