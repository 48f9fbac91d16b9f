// unit_dot for IQ3_S: unit ub is sub-block ub; its 8 grid-index bytes, qh byte and four sign
// bytes read once; d · (1 + 2s) · Σ_l grid·sign·x.
fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let qa = load_u32(b + 2u + 8u * ub);
    let qb = load_u32(b + 6u + 8u * ub);
    let qh = load_u8(b + 66u + ub);
    let signs = load_u32(b + 74u + 4u * ub);
    var s = 0.0;
    for (var l = 0u; l < 4u; l = l + 1u) {
        let x = group_x(x0, x1, l);
        let q = select(qa, qb, l >= 2u) >> (16u * (l & 1u));
        let i1 = (q & 0xffu) | ((qh << (8u - 2u * l)) & 256u);
        let i2 = ((q >> 8u) & 0xffu) | ((qh << (7u - 2u * l)) & 256u);
        s = s + iq3_group_dot(w_word(i1), w_word(i2), (signs >> (8u * l)) & 0xffu, x[0], x[1]);
    }
    return iq3_s_scale(b, ub) * s;
}
