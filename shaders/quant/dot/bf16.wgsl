// unit_dot for BF16: the 32 values at byte b (2-byte aligned), two per word, low half first; a
// bf16 is the top half of an f32.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn bf16s_f32(a: u32, b: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xffff0000u, b << 16u, b & 0xffff0000u));
}

fn dot16_bf16(b: u32, x: X16) -> f32 {
    let p = load_16(b);
    let q = load_16(b + 16u);
    return dot(bf16s_f32(p.x, p.y), x.v0) + dot(bf16s_f32(p.z, p.w), x.v1)
         + dot(bf16s_f32(q.x, q.y), x.v2) + dot(bf16s_f32(q.z, q.w), x.v3);
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    return dot16_bf16(b, x0) + dot16_bf16(b + 32u, x1);
}
