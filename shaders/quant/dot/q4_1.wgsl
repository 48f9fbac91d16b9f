// unit_dot for Q4_1 (one unit per block): nibbles as Q4_0; Σ (d·q + m) · x = d Σ q·x + m Σ x.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    return load_f16(b) * dot_q4(load_16(b + 4u), x0, x1) + load_f16(b + 2u) * (x0.sum + x1.sum);
}
