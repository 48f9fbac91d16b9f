// unit_dot for Q5_0 (one unit per block): low nibbles as Q4_0, bit 4 of element j is bit j of
// qh; Σ (q - 16) · x = Σ q · x - 16 Σ x, scaled once by d.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    // The 22-byte block in one 32-byte read: d @0, qh @2, qs @6.
    let w = load_32(b);
    let lo = w[0];
    let hi = w[1];
    let qh = (lo.x >> 16u) | (lo.y << 16u);
    let q = vec4<u32>((lo.y >> 16u) | (lo.z << 16u), (lo.z >> 16u) | (lo.w << 16u),
                      (lo.w >> 16u) | (hi.x << 16u), (hi.x >> 16u) | (hi.y << 16u));
    return f16_bits_to_f32(lo.x & 0xffffu) * (dot_q5(q, qh, x0, x1) - 16.0 * (x0.sum + x1.sum));
}
