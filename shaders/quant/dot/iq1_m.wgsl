// unit_dot for IQ1_M: unit ub is sub-block ub (groups 0, 1 in x0 with scale s1, 2, 3 in x1 with
// s2); per group Σ g·x + delta · Σ x.
fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    var s = vec2<f32>(0.0);
    for (var l = 0u; l < 4u; l = l + 1u) {
        let x = group_x(x0, x1, l);
        let grp = iq1_m_group(b, ub, l);
        s[l >> 1u] = s[l >> 1u] + iq1_group_dot(grid8(grp.idx), x[0], x[1]) + grp.delta * group_sum(x);
    }
    let d = iq1_m_d(b);
    return iq1_m_scale(b, d, ub, 0u) * s.x + iq1_m_scale(b, d, ub, 1u) * s.y;
}
