// unit_dot for IQ3_XXS: unit ub is sub-block ub; its 8 grid-index bytes and its sign/scale word
// read once; db · Σ_l grid·sign·x.
fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let qa = load_u32(b + 2u + 8u * ub);
    let qb = load_u32(b + 6u + 8u * ub);
    let aux = load_u32(b + 66u + 4u * ub);
    let db = load_f16(b) * (0.5 + f32(aux >> 28u)) * 0.5;
    var s = 0.0;
    for (var l = 0u; l < 4u; l = l + 1u) {
        let x = group_x(x0, x1, l);
        let q = select(qa, qb, l >= 2u) >> (16u * (l & 1u));
        let g1 = w_word(q & 0xffu);
        let g2 = w_word((q >> 8u) & 0xffu);
        s = s + iq3_group_dot(g1, g2, ksigns((aux >> (7u * l)) & 127u), x[0], x[1]);
    }
    return db * s;
}
