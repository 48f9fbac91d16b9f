// part_dot for Q6_K: part p = 8n + 2k + half holds elements 16p .. 16p + 16: the low nibble k / 2
// of ql[64n + 32(k % 2) + 16·half + l], the high 2 bits from bits 2k of qh[32n + 16·half + l], the
// scale scales[p]; Σ (q - 32) · x = Σ q · x - 32 Σ x, scaled once by d · scale.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let n = part >> 3u;
    let k = (part >> 1u) & 3u;
    let half = part & 1u;
    let lo = (load_16(b + 64u * n + 32u * (k & 1u) + 16u * half) >> vec4<u32>(4u * (k >> 1u))) & vec4<u32>(0x0f0f0f0fu);
    let hi = (load_16(b + 128u + 32u * n + 16u * half) >> vec4<u32>(2u * k)) & vec4<u32>(0x03030303u);
    let q = lo | (hi << vec4<u32>(4u));
    return load_f16(b + 208u) * f32(load_i8(b + 192u + part)) * (dot16_u8(q, x) - 32.0 * x.sum);
}
