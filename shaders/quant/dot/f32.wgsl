// unit_dot for F32: the 32 floats at byte b (x0 the first 16, x1 the next).
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn dot16_f32(b: u32, x: X16) -> f32 {
    return dot(bitcast<vec4<f32>>(load_16(b)), x.v0) + dot(bitcast<vec4<f32>>(load_16(b + 16u)), x.v1)
         + dot(bitcast<vec4<f32>>(load_16(b + 32u)), x.v2) + dot(bitcast<vec4<f32>>(load_16(b + 48u)), x.v3);
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    return dot16_f32(b, x0) + dot16_f32(b + 64u, x1);
}
