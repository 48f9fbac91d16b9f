// unit_runs for Q3_K: element 128n + 32j + 16s + l has its low 2 bits from bits 2j of
// qs[32n + 16s + l], its high bit from bit 4n + j of hmask[16s + l] (set: +0, clear: -4), the
// 6-bit scale 8n + 2j + s. Unit ub = 2n + s (four per block) is 64 elements: the 16 qs bytes of
// (n, s) with all four 2-bit fields and the 16 hmask bytes of s: run j at unit_first(ub) + 32j,
// weight d · (scale − 32) · ((q | h << 2) − 4).
const UNIT: u32 = 64u;
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 128u * (ub >> 1u) + 16u * (ub & 1u);
}

// q3_k_scale from the 12 scale bytes held in words x, y, z.
fn q3_k_scale_words(t: vec4<u32>, is: u32) -> i32 {
    let packed = (select(t.x, t.y, (is & 7u) >= 4u) >> (8u * (is & 3u))) & 0xffu;
    let lo = select(packed >> 4u, packed & 0xfu, is < 8u);
    let hi = (t.z >> (8u * (is & 3u) + 2u * (is >> 2u))) & 3u;
    return i32(lo | (hi << 4u)) - 32;
}

// Run j's 16 3-bit quants: bits 2j of q, bit j of h (h already shifted by 4n) above them.
fn q3_k_run(q: vec4<u32>, h: vec4<u32>, j: u32) -> vec4<u32> {
    let low = (q >> vec4<u32>(2u * j)) & vec4<u32>(0x03030303u);
    return low | (((h >> vec4<u32>(j)) & vec4<u32>(0x01010101u)) << vec4<u32>(2u));
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let n = ub >> 1u;
    let s = ub & 1u;
    let q = load_16(b + 32u + 32u * n + 16u * s);
    let h = load_16(b + 16u * s) >> vec4<u32>(4u * n);
    // scales[12] and d: the block's last 14 bytes, in one 16-byte read.
    let tail = load_16(b + 96u);
    let p = 8u * n + s;
    let sc = vec4<f32>(
        f32(q3_k_scale_words(tail, p)),
        f32(q3_k_scale_words(tail, p + 2u)),
        f32(q3_k_scale_words(tail, p + 4u)),
        f32(q3_k_scale_words(tail, p + 6u)),
    );
    let a = f16_bits_to_f32(tail.w & 0xffffu) * sc;
    return array<Run, 4>(
        run_u8(q3_k_run(q, h, 0u), a.x, -4.0 * a.x),
        run_u8(q3_k_run(q, h, 1u), a.y, -4.0 * a.y),
        run_u8(q3_k_run(q, h, 2u), a.z, -4.0 * a.z),
        run_u8(q3_k_run(q, h, 3u), a.w, -4.0 * a.w),
    );
}
