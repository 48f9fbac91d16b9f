// block_dot for Q8_0: the 32 signed bytes are read four at a time (8 word loads instead of 32 byte
// loads), the integer-valued products summed in f32, then scaled once by d.
fn block_dot(b: u32, xb: u32) -> f32 {
    var acc = 0.0;
    for (var w = 0u; w < 8u; w = w + 1u) {
        let q = load_u32(b + 2u + 4u * w);
        let x = xb + 4u * w;
        acc = acc + f32((i32(q << 24u) >> 24u)) * X[x]
                  + f32((i32(q << 16u) >> 24u)) * X[x + 1u]
                  + f32((i32(q << 8u) >> 24u)) * X[x + 2u]
                  + f32(i32(q) >> 24u) * X[x + 3u];
    }
    return load_f16(b) * acc;
}
