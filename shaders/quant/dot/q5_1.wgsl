// unit_dot for Q5_1 (one unit per block): 5-bit q as Q5_0, value
// d · q + m: d Σ q·x + m Σ x.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    // The 24-byte block in one 32-byte read: d @0, m @2, qh @4, qs @8.
    let w = load_32(b);
    let lo = w[0];
    let hi = w[1];
    let q = vec4<u32>(lo.z, lo.w, hi.x, hi.y);
    let qh = lo.y;
    let m = vec4<u32>(0x0f0f0f0fu);
    let s = dot16_u8((q & m) | spread_bits16(qh), x0)
          + dot16_u8(((q >> vec4<u32>(4u)) & m) | spread_bits16(qh >> 16u), x1);
    return f16_bits_to_f32(lo.x & 0xffffu) * s + f16_bits_to_f32(lo.x >> 16u) * (x0.sum + x1.sum);
}
