// block_dot for any type: Σ_i block_get(b, i) · X[xb + i]. Types with a faster decoder of whole
// blocks have their own file in quant/dot/ with the same signature.
fn block_dot(b: u32, xb: u32) -> f32 {
    var acc = 0.0;
    for (var i = 0u; i < QK; i = i + 1u) {
        acc = acc + block_get(b, i) * X[xb + i];
    }
    return acc;
}
