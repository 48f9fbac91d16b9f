// unit_dot for Q4_0 (one unit per block): the low nibbles of qs[0..16] are elements 0..16 (x0),
// the high nibbles elements 16..32 (x1); Σ (q - 8) · x = Σ q · x - 8 Σ x, scaled once by d.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    return load_f16(b) * (dot_q4(load_16(b + 2u), x0, x1) - 8.0 * (x0.sum + x1.sum));
}
