// ggml's get_scale_min_k4: eight 6-bit (scale, min) pairs packed in 12 bytes at byte `s`, shared
// by Q4_K and Q5_K.
fn scale_min_k4(s: u32, j: u32) -> vec2<u32> {
    if (j < 4u) {
        return vec2<u32>(load_u8(s + j) & 63u, load_u8(s + j + 4u) & 63u);
    }
    let d = (load_u8(s + j + 4u) & 0xfu) | ((load_u8(s + j - 4u) >> 6u) << 4u);
    let m = (load_u8(s + j + 4u) >> 4u) | ((load_u8(s + j) >> 6u) << 4u);
    return vec2<u32>(d, m);
}

// The same pair from the 16-byte Q4_K/Q5_K header already loaded as words: hdr.y, hdr.z, hdr.w
// hold scales[0..4], scales[4..8], scales[8..12].
fn scale_min_k4_hdr(hdr: vec4<u32>, j: u32) -> vec2<u32> {
    let lo = (select(hdr.y, hdr.w, j >= 4u) >> (8u * (j & 3u))) & 0xffu;
    let mid = (hdr.z >> (8u * (j & 3u))) & 0xffu;
    if (j < 4u) {
        return vec2<u32>(lo & 63u, mid & 63u);
    }
    let hi6 = (hdr.y >> (8u * (j & 3u) + 6u)) & 3u;
    return vec2<u32>((lo & 0xfu) | (hi6 << 4u), (lo >> 4u) | ((mid >> 6u) << 4u));
}

// d·sc and −dmin·m of sub-blocks 2c (x, y) and 2c + 1 (z, w) of a Q4_K/Q5_K block, from its
// 16-byte header (one load; 144- and 176-byte blocks keep it 16-byte aligned).
fn k4_affine(b: u32, c: u32) -> vec4<f32> {
    let hdr = load_16_aligned(b);
    let sm0 = scale_min_k4_hdr(hdr, 2u * c);
    let sm1 = scale_min_k4_hdr(hdr, 2u * c + 1u);
    let d = f16_bits_to_f32(hdr.x & 0xffffu);
    let dmin = f16_bits_to_f32(hdr.x >> 16u);
    return vec4<f32>(d * f32(sm0.x), -dmin * f32(sm0.y), d * f32(sm1.x), -dmin * f32(sm1.y));
}

// The runs of sub-blocks 2c (quants q0) and 2c + 1 (q1) of a Q4_K/Q5_K block: weight
// d·sc·q − dmin·m.
fn k4_runs(b: u32, c: u32, q0: vec4<u32>, q1: vec4<u32>) -> array<Run, 4> {
    let s = k4_affine(b, c);
    return runs2(run_u8(q0, s.x, s.y), run_u8(q1, s.z, s.w));
}
