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

// A Q4_K/Q5_K unit of sub-blocks 2c (dot0 = Σ q·x over x0) and 2c + 1 (dot1 over x1):
// d·(sc0·dot0 + sc1·dot1) − dmin·(m0·Σx0 + m1·Σx1), with d, dmin and the scales from the
// block's 16-byte header (one load; 144- and 176-byte blocks keep it 16-byte aligned).
fn k4_unit(b: u32, c: u32, dot0: f32, dot1: f32, x0: X16, x1: X16) -> f32 {
    let hdr = load_16_aligned(b);
    let sm0 = scale_min_k4_hdr(hdr, 2u * c);
    let sm1 = scale_min_k4_hdr(hdr, 2u * c + 1u);
    let qx = f32(sm0.x) * dot0 + f32(sm1.x) * dot1;
    let mx = f32(sm0.y) * x0.sum + f32(sm1.y) * x1.sum;
    return f16_bits_to_f32(hdr.x & 0xffffu) * qx - f16_bits_to_f32(hdr.x >> 16u) * mx;
}
