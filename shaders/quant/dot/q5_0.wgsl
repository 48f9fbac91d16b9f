// part_dot for Q5_0: low nibbles as Q4_0 (part 0 low, part 1 high), bit 4 of element 16·part + j
// is bit 16·part + j of qh; Σ (q - 16) · x = Σ q · x - 16 Σ x, scaled once by d.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let lo = (load_16(b + 6u) >> vec4<u32>(4u * part)) & vec4<u32>(0x0f0f0f0fu);
    let qh = load_u32(b + 2u) >> (16u * part);
    let hi = vec4<u32>(spread_bits4(qh), spread_bits4(qh >> 4u), spread_bits4(qh >> 8u), spread_bits4(qh >> 12u));
    return load_f16(b) * (dot16_u8(lo | hi, x) - 16.0 * x.sum);
}
