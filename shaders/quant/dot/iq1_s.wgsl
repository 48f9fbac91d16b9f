// unit_dot for IQ1_S: unit ub is sub-block ub; its qh word and four index bytes read once;
// d · (2s + 1) · (Σ g·x + delta · Σ x).
fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let qh = load_u16(b + 34u + 2u * ub);
    let qs = load_u32(b + 2u + 4u * ub);
    let dl = load_f16(b) * f32(2u * ((qh >> 12u) & 7u) + 1u);
    let delta = select(IQ1S_DELTA, -IQ1S_DELTA, (qh & 0x8000u) != 0u);
    var s = 0.0;
    for (var l = 0u; l < 4u; l = l + 1u) {
        let x = group_x(x0, x1, l);
        let idx = ((qs >> (8u * l)) & 0xffu) | (((qh >> (3u * l)) & 7u) << 8u);
        s = s + iq1_group_dot(grid8(idx), x[0], x[1]);
    }
    return dl * (s + delta * (x0.sum + x1.sum));
}
