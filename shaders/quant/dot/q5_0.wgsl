// part_dot for Q5_0: low nibbles as Q4_0 (part 0 low, part 1 high), bit 4 of element 16·part + j
// is bit 16·part + j of qh; Σ (q - 16) · x, scaled once by d.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let lo = (load_16(b + 6u) >> vec4<u32>(4u * part)) & vec4<u32>(0x0f0f0f0fu);
    let qh = load_u32(b + 2u) >> (16u * part);
    var acc = 0.0;
    for (var w = 0u; w < 4u; w = w + 1u) {
        let x = (*xs)[w];
        acc = acc + dot(bytes_f32(lo[w] | spread_bits4(qh >> (4u * w))) - vec4<f32>(16.0), x);
    }
    return load_f16(b) * acc;
}
