// part_dot for Q4_1: nibbles as Q4_0 (part 0 low, part 1 high); Σ (d·q + m) · x = d Σ q·x + m Σ x.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let q = (load_16(b + 4u) >> vec4<u32>(4u * part)) & vec4<u32>(0x0f0f0f0fu);
    var acc = 0.0;
    var sx = 0.0;
    for (var w = 0u; w < 4u; w = w + 1u) {
        let x = (*xs)[w];
        acc = acc + dot(bytes_f32(q[w]), x);
        sx = sx + dot(x, vec4<f32>(1.0));
    }
    return load_f16(b) * acc + load_f16(b + 2u) * sx;
}
