// part_dot for Q8_0: part p is the 16 signed bytes qs[16p .. 16p + 16], Σ q · x scaled once by d.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    return load_f16(b) * dot16_i8(load_16(b + 2u + 16u * part), x);
}
