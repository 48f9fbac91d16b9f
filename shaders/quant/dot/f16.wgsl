// part_dot for F16: the 16 halves at byte b (2-byte aligned), two per word, low half first.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    var acc = 0.0;
    for (var i = 0u; i < 2u; i = i + 1u) {
        let q = load_16(b + 16u * i);
        let lo = vec4<f32>(f16_bits_to_f32(q.x & 0xffffu), f16_bits_to_f32(q.x >> 16u),
                           f16_bits_to_f32(q.y & 0xffffu), f16_bits_to_f32(q.y >> 16u));
        let hi = vec4<f32>(f16_bits_to_f32(q.z & 0xffffu), f16_bits_to_f32(q.z >> 16u),
                           f16_bits_to_f32(q.w & 0xffffu), f16_bits_to_f32(q.w >> 16u));
        acc = acc + dot(lo, (*xs)[2u * i]) + dot(hi, (*xs)[2u * i + 1u]);
    }
    return acc;
}
