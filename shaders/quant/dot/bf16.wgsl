// part_dot for BF16: the 16 values at byte b (2-byte aligned), two per word, low half first; a
// bf16 is the top half of an f32.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    var acc = 0.0;
    for (var i = 0u; i < 2u; i = i + 1u) {
        let q = load_16(b + 16u * i);
        let lo = bitcast<vec4<f32>>(vec4<u32>(q.x << 16u, q.x & 0xffff0000u, q.y << 16u, q.y & 0xffff0000u));
        let hi = bitcast<vec4<f32>>(vec4<u32>(q.z << 16u, q.z & 0xffff0000u, q.w << 16u, q.w & 0xffff0000u));
        acc = acc + dot(lo, (*xs)[2u * i]) + dot(hi, (*xs)[2u * i + 1u]);
    }
    return acc;
}
