// part_dot for Q8_0: part p is the 16 signed bytes qs[16p .. 16p + 16], Σ q · x scaled once by d.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let q = load_16(b + 2u + 16u * part);
    var acc = 0.0;
    for (var w = 0u; w < 4u; w = w + 1u) {
        acc = acc + dot(bytes_i8_f32(q[w]), (*xs)[w]);
    }
    return load_f16(b) * acc;
}
