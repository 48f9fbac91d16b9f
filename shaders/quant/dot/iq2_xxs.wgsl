// unit_dot for IQ2_XXS: unit ub is sub-block ub (32 elements: groups 0, 1 in x0, 2, 3 in x1),
// its words aux0, aux1 read once; db · Σ_l grid·sign·x.
fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let aux0 = load_u32(b + 2u + 8u * ub);
    let aux1 = load_u32(b + 6u + 8u * ub);
    let db = load_f16(b) * (0.5 + f32(aux1 >> 28u)) * 0.25;
    var s = 0.0;
    for (var l = 0u; l < 4u; l = l + 1u) {
        let x = group_x(x0, x1, l);
        let g = grid8((aux0 >> (8u * l)) & 0xffu);
        s = s + iq2_group_dot(g, ksigns((aux1 >> (7u * l)) & 127u), x[0], x[1]);
    }
    return db * s;
}
