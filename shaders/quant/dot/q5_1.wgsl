// unit_dot for Q5_1 (one unit per block): 5-bit q as Q5_0, value
// d · q + m: d Σ q·x + m Σ x.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    // The 24-byte block in one 32-byte read: d @0, m @2, qh @4, qs @8.
    let w = load_32(b);
    let q = vec4<u32>(w[0].z, w[0].w, w[1].x, w[1].y);
    let s = dot_q5(q, w[0].y, x0, x1);
    return f16_bits_to_f32(w[0].x & 0xffffu) * s + f16_bits_to_f32(w[0].x >> 16u) * (x0.sum + x1.sum);
}
