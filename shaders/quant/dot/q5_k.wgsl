// part_dot for Q5_K: as Q4_K (part p = 4c + 2h + half), nibbles from qs at byte 48, and bit 4 of q
// from bit 2c + h of qh[16·half + l]; d·sc Σ q·x - dmin·m Σ x.
fn part_dot(b: u32, part: u32, xs: ptr<function, array<vec4<f32>, 4>>) -> f32 {
    let c = part >> 2u;
    let h = (part >> 1u) & 1u;
    let half = part & 1u;
    let lo = (load_16_aligned(b + 48u + 32u * c + 16u * half) >> vec4<u32>(4u * h)) & vec4<u32>(0x0f0f0f0fu);
    let hi = (load_16_aligned(b + 16u + 16u * half) >> vec4<u32>(2u * c + h)) & vec4<u32>(0x01010101u);
    let q = lo | (hi << vec4<u32>(4u));
    var acc = 0.0;
    var sx = 0.0;
    for (var w = 0u; w < 4u; w = w + 1u) {
        let x = (*xs)[w];
        acc = acc + dot(bytes_f32(q[w]), x);
        sx = sx + dot(x, vec4<f32>(1.0));
    }
    // d, dmin and the 12 scale bytes are the block's first 16 bytes: one load.
    let hdr = load_16_aligned(b);
    let sm = scale_min_k4_hdr(hdr, 2u * c + h);
    let d = f16_bits_to_f32(hdr.x & 0xffffu);
    let dmin = f16_bits_to_f32(hdr.x >> 16u);
    return d * f32(sm.x) * acc - dmin * f32(sm.y) * sx;
}
