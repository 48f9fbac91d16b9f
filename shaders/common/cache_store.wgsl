// Stores for kernels whose output may be a latent cache: their output binding `Y` is
// array<u32>, holding f32 words, or (f16 = 1) halves packed two per word, element 2j in the low
// half of word j (rounded as common/half.wgsl says). Needs common/half.wgsl.

// Elements i and i + 1 (i even when f16 = 1).
fn store_pair(i: u32, a: f32, b: f32, f16: u32) {
    if (f16 != 0u) {
        Y[i >> 1u] = f32_to_f16_bits(a) | (f32_to_f16_bits(b) << 16u);
    } else {
        Y[i] = bitcast<u32>(a);
        Y[i + 1u] = bitcast<u32>(b);
    }
}
