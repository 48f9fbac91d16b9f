// unit_dot for Q4_K: element 64c + 32h + l is nibble h of qs[32c + l] with
// (sc, m) = scale_min_k4(2c + h). Unit ub = 2c + half takes l = 16·half .. + 16 of both nibbles
// (x0: h = 0, x1: h = 1) from one 16-byte load; d·sc Σ q·x - dmin·m Σ x. Blocks of 144 bytes keep
// every block 16-byte aligned.
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 64u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let q = load_16_aligned(b + 16u + 16u * ub);
    return k4_unit(b, ub >> 1u, dot16_u8(nibbles_lo(q), x0), dot16_u8(nibbles_hi(q), x1), x0, x1);
}
