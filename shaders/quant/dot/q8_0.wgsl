// unit_dot for Q8_0 (one unit per block): the 32 signed bytes qs, Σ q · x scaled once by d.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let q = load_32(b + 2u);
    return load_f16(b) * (dot16_i8(q[0], x0) + dot16_i8(q[1], x1));
}
