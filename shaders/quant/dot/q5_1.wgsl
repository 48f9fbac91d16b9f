// part_dot for Q5_1: 5-bit q as Q5_0, value d · q + m: d Σ q·x + m Σ x.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let lo = (load_16(b + 8u) >> vec4<u32>(4u * part)) & vec4<u32>(0x0f0f0f0fu);
    let qh = load_u32(b + 4u) >> (16u * part);
    var acc = 0.0;
    var sx = 0.0;
    for (var w = 0u; w < 4u; w = w + 1u) {
        let x = (*xs)[w];
        acc = acc + dot(bytes_f32(lo[w] | spread_bits4(qh >> (4u * w))), x);
        sx = sx + dot(x, vec4<f32>(1.0));
    }
    return load_f16(b) * acc + load_f16(b + 2u) * sx;
}
