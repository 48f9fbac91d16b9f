// unit_dot for IQ2_XS: unit ub is sub-block ub (groups 0, 1 in x0 with the low scale nibble,
// 2, 3 in x1 with the high); its four qs words and scale byte read once.
fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let qa = load_u32(b + 2u + 8u * ub);
    let qb = load_u32(b + 6u + 8u * ub);
    let q = vec4<u32>(qa & 0xffffu, qa >> 16u, qb & 0xffffu, qb >> 16u);
    let sc = load_u8(b + 66u + ub);
    let d = load_f16(b);
    var s = vec2<f32>(0.0);
    for (var l = 0u; l < 4u; l = l + 1u) {
        let x = group_x(x0, x1, l);
        let dot_l = iq2_group_dot(grid8(q[l] & 511u), ksigns(q[l] >> 9u), x[0], x[1]);
        s[l >> 1u] = s[l >> 1u] + dot_l;
    }
    let db0 = d * (0.5 + f32(sc & 0xfu)) * 0.25;
    let db1 = d * (0.5 + f32(sc >> 4u)) * 0.25;
    return db0 * s.x + db1 * s.y;
}
