// part_dot for F32: the 16 floats at byte b.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    var acc = 0.0;
    for (var w = 0u; w < 4u; w = w + 1u) {
        acc = acc + dot(bitcast<vec4<f32>>(load_16(b + 16u * w)), (*xs)[w]);
    }
    return acc;
}
