// part_dot for Q4_1: nibbles as Q4_0 (part 0 low, part 1 high); Σ (d·q + m) · x = d Σ q·x + m Σ x.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let q = (load_16(b + 4u) >> vec4<u32>(4u * part)) & vec4<u32>(0x0f0f0f0fu);
    return load_f16(b) * dot16_u8(q, x) + load_f16(b + 2u) * x.sum;
}
