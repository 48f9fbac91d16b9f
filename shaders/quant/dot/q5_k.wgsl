// part_dot for Q5_K: as Q4_K (part p = 4c + 2h + half), nibbles from qs at byte 48, and bit 4 of q
// from bit 2c + h of qh[16·half + l]; d·sc Σ q·x - dmin·m Σ x. Blocks of 176 bytes keep every
// block 16-byte aligned.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let c = part >> 2u;
    let h = (part >> 1u) & 1u;
    let half = part & 1u;
    let lo = (load_16_aligned(b + 48u + 32u * c + 16u * half) >> vec4<u32>(4u * h)) & vec4<u32>(0x0f0f0f0fu);
    let hi = (load_16_aligned(b + 16u + 16u * half) >> vec4<u32>(2u * c + h)) & vec4<u32>(0x01010101u);
    let q = lo | (hi << vec4<u32>(4u));
    let hdr = load_16_aligned(b);
    let sm = scale_min_k4_hdr(hdr, 2u * c + h);
    let d = f16_bits_to_f32(hdr.x & 0xffffu);
    let dmin = f16_bits_to_f32(hdr.x >> 16u);
    return d * f32(sm.x) * dot16_u8(q, x) - dmin * f32(sm.y) * x.sum;
}
