// Q6_K (ggml block_q6_K, 210 bytes / 256 elements): ql[128] @0 (low 4 bits), qh[64] @128
// (high 2 bits), scales[16] i8 @192, d f16 @208.
// Element i: n = i / 128, quarter k = (i % 128) / 32, l = i % 32;
// low = nibble (k / 2) of ql[64n + 32(k % 2) + l], high = (qh[32n + l] >> 2k) & 3,
// q = (low | high << 4) - 32; value d · scales[8n + l / 16 + 2k] · q.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 210u;

fn block_get(b: u32, i: u32) -> f32 {
    let n = i >> 7u;
    let k = (i & 127u) >> 5u;
    let l = i & 31u;
    let lo = (load_u8(b + 64u * n + 32u * (k & 1u) + l) >> (4u * (k >> 1u))) & 0xfu;
    let hi = (load_u8(b + 128u + 32u * n + l) >> (2u * k)) & 3u;
    let q = i32(lo | (hi << 4u)) - 32;
    let sc = load_i8(b + 192u + 8u * n + (l >> 4u) + 2u * k);
    return load_f16(b + 208u) * f32(sc) * f32(q);
}
