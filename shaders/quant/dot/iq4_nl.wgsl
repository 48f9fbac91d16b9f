// unit_dot for IQ4_NL (one unit per block): the low nibbles of qs[0..16] are elements 0..16
// (x0), the high nibbles elements 16..32 (x1); d · Σ value(q) · x.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let q = load_16(b + 2u);
    return load_f16(b) * (dot16_iq4(nibbles_lo(q), x0) + dot16_iq4(nibbles_hi(q), x1));
}
