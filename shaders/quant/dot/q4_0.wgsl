// part_dot for Q4_0: part 0 is the low nibbles of qs[0..16] (elements 0..16), part 1 the high
// nibbles (elements 16..32); Σ (q - 8) · x = Σ q · x - 8 Σ x, scaled once by d.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let q = (load_16(b + 2u) >> vec4<u32>(4u * part)) & vec4<u32>(0x0f0f0f0fu);
    return load_f16(b) * (dot16_u8(q, x) - 8.0 * x.sum);
}
