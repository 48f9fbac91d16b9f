// Q2_K (ggml block_q2_K, 84 bytes / 256 elements): scales[16] @0 (low nibble scale, high nibble
// min), qs[64] @16 (2-bit), d f16 @80, dmin f16 @82.
// Element i: half n = i / 128, shift j = (i % 128) / 32, sub-row s = (i % 32) / 16, l = i % 16;
// q = (qs[32n + 16s + l] >> 2j) & 3, sc = scales[8n + 2j + s]; value d·(sc & 15)·q - dmin·(sc >> 4).
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 84u;

fn block_get(b: u32, i: u32) -> f32 {
    let n = i >> 7u;
    let j = (i & 127u) >> 5u;
    let s = (i & 31u) >> 4u;
    let l = i & 15u;
    let q = (load_u8(b + 16u + 32u * n + 16u * s + l) >> (2u * j)) & 3u;
    let sc = load_u8(b + 8u * n + 2u * j + s);
    let dl = load_f16(b + 80u) * f32(sc & 0xfu);
    let ml = load_f16(b + 82u) * f32(sc >> 4u);
    return dl * f32(q) - ml;
}
