// unit_dot for F16: the 32 halves at byte b (2-byte aligned), two per word, low half first.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn halves_f32(a: u32, b: u32) -> vec4<f32> {
    return vec4<f32>(f16_bits_to_f32(a & 0xffffu), f16_bits_to_f32(a >> 16u),
                     f16_bits_to_f32(b & 0xffffu), f16_bits_to_f32(b >> 16u));
}

fn dot16_f16(b: u32, x: X16) -> f32 {
    let p = load_16(b);
    let q = load_16(b + 16u);
    return dot(halves_f32(p.x, p.y), x.v0) + dot(halves_f32(p.z, p.w), x.v1)
         + dot(halves_f32(q.x, q.y), x.v2) + dot(halves_f32(q.z, q.w), x.v3);
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    return dot16_f16(b, x0) + dot16_f16(b + 32u, x1);
}
