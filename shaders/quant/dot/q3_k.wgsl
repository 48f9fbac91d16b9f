// part_dot for Q3_K: part p = 8n + 2j + s holds elements 16p .. 16p + 16: low 2 bits from bits 2j
// of qs[32n + 16s + l], the high bit from bit 4n + j of hmask[16s + l] (set: +0, clear: -4), the
// 6-bit scale `p`; Σ (q | h << 2) · x - 4 Σ x, scaled once by d · (scale - 32).
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let n = part >> 3u;
    let j = (part >> 1u) & 3u;
    let s = part & 1u;
    let lo = (load_16(b + 32u + 32u * n + 16u * s) >> vec4<u32>(2u * j)) & vec4<u32>(0x03030303u);
    let hi = (load_16(b + 16u * s) >> vec4<u32>(4u * n + j)) & vec4<u32>(0x01010101u);
    let q = lo | (hi << vec4<u32>(2u));
    return load_f16(b + 108u) * f32(q3_k_scale(b, part)) * (dot16_u8(q, x) - 4.0 * x.sum);
}
