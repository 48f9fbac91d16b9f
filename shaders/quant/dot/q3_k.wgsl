// unit_dot for Q3_K: element 128n + 32j + 16s + l has its low 2 bits from bits 2j of
// qs[32n + 16s + l], its high bit from bit 4n + j of hmask[16s + l] (set: +0, clear: -4), the
// 6-bit scale 8n + 2j + s. Unit ub = 4n + 2j' + s (j' < 2) takes j = j' (x0) and j' + 2 (x1);
// Σ (q | h << 2) · x - 4 Σ x, scaled by d · (scale - 32).
const UNIT_RUN2: u32 = 64u;

fn unit_first(ub: u32) -> u32 {
    return 128u * (ub >> 2u) + 32u * ((ub >> 1u) & 1u) + 16u * (ub & 1u);
}

// q3_k_scale from the 12 scale bytes held in words x, y, z.
fn q3_k_scale_words(t: vec4<u32>, is: u32) -> i32 {
    let packed = (select(t.x, t.y, (is & 7u) >= 4u) >> (8u * (is & 3u))) & 0xffu;
    let lo = select(packed >> 4u, packed & 0xfu, is < 8u);
    let hi = (t.z >> (8u * (is & 3u) + 2u * (is >> 2u))) & 3u;
    return i32(lo | (hi << 4u)) - 32;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let n = ub >> 2u;
    let j = (ub >> 1u) & 1u;
    let s = ub & 1u;
    let q = load_16(b + 32u + 32u * n + 16u * s) >> vec4<u32>(2u * j);
    let h = load_16(b + 16u * s) >> vec4<u32>(4u * n + j);
    let m2 = vec4<u32>(0x03030303u);
    let m1 = vec4<u32>(0x01010101u);
    let q0 = (q & m2) | ((h & m1) << vec4<u32>(2u));
    let q1 = ((q >> vec4<u32>(4u)) & m2) | (((h >> vec4<u32>(2u)) & m1) << vec4<u32>(2u));
    let p = 8u * n + 2u * j + s;
    // scales[12] and d: the block's last 14 bytes, in one 16-byte read.
    let tail = load_16(b + 96u);
    let s0 = f32(q3_k_scale_words(tail, p)) * (dot16_u8(q0, x0) - 4.0 * x0.sum);
    let s1 = f32(q3_k_scale_words(tail, p + 4u)) * (dot16_u8(q1, x1) - 4.0 * x1.sum);
    return f16_bits_to_f32(tail.w & 0xffffu) * (s0 + s1);
}
