// unit_run for IQ1_M: unit ub is sub-block ub, run j its groups 2j and 2j + 1 (each with its own
// offset) with scale j of the sub-block; weight d · (2s + 1) · (g + delta).
fn iq1_m_values(b: u32, ub: u32, l: u32) -> array<vec4<f32>, 2> {
    let grp = iq1_m_group(b, ub, l);
    return iq1_group(grid8(grp.idx), grp.delta);
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let a = iq1_m_scale(b, iq1_m_d(b), ub, j);
    return run_groups(iq1_m_values(b, ub, 2u * j), iq1_m_values(b, ub, 2u * j + 1u), a, 0.0);
}
