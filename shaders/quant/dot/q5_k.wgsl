// unit_dot for Q5_K: as Q4_K (unit ub = 2c + half, nibbles of qs at byte 48), and bit 4 of q from
// bit 2c + h of qh[16·half + l]; d·sc Σ q·x - dmin·m Σ x. Blocks of 176 bytes keep every block
// 16-byte aligned.
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 64u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let c = ub >> 1u;
    let q = load_16_aligned(b + 48u + 16u * ub);
    let qh = load_16_aligned(b + 16u + 16u * (ub & 1u)) >> vec4<u32>(2u * c);
    let m1 = vec4<u32>(0x01010101u);
    let q0 = nibbles_lo(q) | ((qh & m1) << vec4<u32>(4u));
    let q1 = nibbles_hi(q) | (((qh >> vec4<u32>(1u)) & m1) << vec4<u32>(4u));
    return k4_unit(b, c, dot16_u8(q0, x0), dot16_u8(q1, x1), x0, x1);
}
