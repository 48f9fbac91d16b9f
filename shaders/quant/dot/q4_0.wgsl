// part_dot for Q4_0: part 0 is the low nibbles of qs[0..16] (elements 0..16), part 1 the high
// nibbles (elements 16..32); Σ (q - 8) · x scaled once by d.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let q = (load_16(b + 2u) >> vec4<u32>(4u * part)) & vec4<u32>(0x0f0f0f0fu);
    var acc = 0.0;
    for (var w = 0u; w < 4u; w = w + 1u) {
        let x = (*xs)[w];
        acc = acc + dot(bytes_f32(q[w]) - vec4<f32>(8.0), x);
    }
    return load_f16(b) * acc;
}
