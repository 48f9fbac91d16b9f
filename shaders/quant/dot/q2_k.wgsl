// part_dot for Q2_K: part p = 8n + 2j + s holds elements 16p .. 16p + 16: 2-bit q from bits 2j of
// qs[32n + 16s + l], scale byte scales[p] (low nibble scale, high nibble min);
// Σ (d·sc·q - dmin·m) · x = d·sc Σ q·x - dmin·m Σ x.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let n = part >> 3u;
    let j = (part >> 1u) & 3u;
    let s = part & 1u;
    let q = (load_16(b + 16u + 32u * n + 16u * s) >> vec4<u32>(2u * j)) & vec4<u32>(0x03030303u);
    let sc = load_u8(b + part);
    return load_f16(b + 80u) * f32(sc & 0xfu) * dot16_u8(q, x) - load_f16(b + 82u) * f32(sc >> 4u) * x.sum;
}
