// unit_runs for Q5_K: as Q4_K (unit ub = 2c + half, nibbles of qs at byte 48), and bit 4 of q from
// bit 2c + j of qh[16·half + l]. Blocks of 176 bytes keep every block 16-byte aligned.
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 64u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let c = ub >> 1u;
    let q = load_16_aligned(b + 48u + 16u * ub);
    let qh = load_16_aligned(b + 16u + 16u * (ub & 1u)) >> vec4<u32>(2u * c);
    let m1 = vec4<u32>(0x01010101u);
    let q0 = nibbles(q, 0u) | ((qh & m1) << vec4<u32>(4u));
    let q1 = nibbles(q, 1u) | (((qh >> vec4<u32>(1u)) & m1) << vec4<u32>(4u));
    return k4_runs(b, c, q0, q1);
}
