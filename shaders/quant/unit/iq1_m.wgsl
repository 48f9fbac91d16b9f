// unit_runs for IQ1_M: unit ub is sub-block ub, run j its groups 2j and 2j + 1 (each with its own
// offset) with scale j of the sub-block; weight d · (2s + 1) · (g + delta).
fn iq1_m_values(b: u32, ub: u32, l: u32) -> array<vec4<f32>, 2> {
    let grp = iq1_m_group(b, ub, l);
    return iq1_group(grid8(grp.idx), grp.delta);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let d = iq1_m_d(b);
    let r0 = run_groups(iq1_m_values(b, ub, 0u), iq1_m_values(b, ub, 1u), iq1_m_scale(b, d, ub, 0u), 0.0);
    return runs2(r0, run_groups(iq1_m_values(b, ub, 2u), iq1_m_values(b, ub, 3u), iq1_m_scale(b, d, ub, 1u), 0.0));
}
