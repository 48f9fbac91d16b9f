// block_dot for Q4_0: the 16 bytes of nibbles are read as 4 words; byte j holds element j (low
// nibble) and element j + 16 (high nibble); Σ (q - 8) · x is scaled once by d.
fn block_dot(b: u32, xb: u32) -> f32 {
    var acc = 0.0;
    for (var w = 0u; w < 4u; w = w + 1u) {
        let q = load_u32(b + 2u + 4u * w);
        for (var k = 0u; k < 4u; k = k + 1u) {
            let byte = (q >> (8u * k)) & 0xffu;
            let j = 4u * w + k;
            acc = acc + f32(i32(byte & 0xfu) - 8) * X[xb + j] + f32(i32(byte >> 4u) - 8) * X[xb + j + 16u];
        }
    }
    return load_f16(b) * acc;
}
