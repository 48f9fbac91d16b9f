// part_dot for F32: the 16 floats at byte b.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    return dot(bitcast<vec4<f32>>(load_16(b)), x.v0) + dot(bitcast<vec4<f32>>(load_16(b + 16u)), x.v1)
         + dot(bitcast<vec4<f32>>(load_16(b + 32u)), x.v2) + dot(bitcast<vec4<f32>>(load_16(b + 48u)), x.v3);
}
