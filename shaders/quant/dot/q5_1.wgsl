// part_dot for Q5_1: 5-bit q as Q5_0, value d · q + m: d Σ q·x + m Σ x.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let lo = (load_16(b + 8u) >> vec4<u32>(4u * part)) & vec4<u32>(0x0f0f0f0fu);
    let qh = load_u32(b + 4u) >> (16u * part);
    let hi = vec4<u32>(spread_bits4(qh), spread_bits4(qh >> 4u), spread_bits4(qh >> 8u), spread_bits4(qh >> 12u));
    return load_f16(b) * dot16_u8(lo | hi, x) + load_f16(b + 2u) * x.sum;
}
