// part_dot for Q4_K: part p = 4c + 2h + half holds elements 16p .. 16p + 16: nibble h of
// qs[32c + 16·half + l], (sc, m) = scale_min_k4(2c + h); d·sc Σ q·x - dmin·m Σ x. Blocks of
// 144 bytes keep every block 16-byte aligned.
fn part_dot(b: u32, part: u32, x: X16) -> f32 {
    let c = part >> 2u;
    let h = (part >> 1u) & 1u;
    let half = part & 1u;
    let q = (load_16_aligned(b + 16u + 32u * c + 16u * half) >> vec4<u32>(4u * h)) & vec4<u32>(0x0f0f0f0fu);
    // d, dmin and the 12 scale bytes are the block's first 16 bytes: one load.
    let hdr = load_16_aligned(b);
    let sm = scale_min_k4_hdr(hdr, 2u * c + h);
    let d = f16_bits_to_f32(hdr.x & 0xffffu);
    let dmin = f16_bits_to_f32(hdr.x >> 16u);
    return d * f32(sm.x) * dot16_u8(q, x) - dmin * f32(sm.y) * x.sum;
}
