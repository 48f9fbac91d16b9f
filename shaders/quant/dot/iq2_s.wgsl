// unit_dot for IQ2_S: unit ub is sub-block ub; its four grid-index bytes, four sign bytes, qh
// byte and scale byte read once; scales as IQ2_XS.
fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let qs = load_u32(b + 2u + 4u * ub);
    let signs = load_u32(b + 34u + 4u * ub);
    let qh = load_u8(b + 66u + ub);
    let sc = load_u8(b + 74u + ub);
    let d = load_f16(b);
    var s = vec2<f32>(0.0);
    for (var l = 0u; l < 4u; l = l + 1u) {
        let x = group_x(x0, x1, l);
        let idx = ((qs >> (8u * l)) & 0xffu) | ((qh << (8u - 2u * l)) & 0x300u);
        let dot_l = iq2_group_dot(grid8(idx), (signs >> (8u * l)) & 0xffu, x[0], x[1]);
        s[l >> 1u] = s[l >> 1u] + dot_l;
    }
    let db0 = d * (0.5 + f32(sc & 0xfu)) * 0.25;
    let db1 = d * (0.5 + f32(sc >> 4u)) * 0.25;
    return db0 * s.x + db1 * s.y;
}
