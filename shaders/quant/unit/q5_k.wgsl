// unit_run for Q5_K: as Q4_K (unit ub = 2c + half, nibbles of qs at byte 48), and bit 4 of q from
// bit 2c + j of qh[16·half + l]. Blocks of 176 bytes keep every block 16-byte aligned.
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 64u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let is = 2u * (ub >> 1u) + j;
    let q = load_16_aligned(b + 48u + 16u * ub);
    let qh = load_16_aligned(b + 16u + 16u * (ub & 1u)) >> vec4<u32>(is);
    return k4_run(b, is, nibbles(q, j) | ((qh & vec4<u32>(0x01010101u)) << vec4<u32>(4u)));
}
