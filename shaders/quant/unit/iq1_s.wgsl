// unit_runs for IQ1_S: unit ub is sub-block ub, run j its groups 2j and 2j + 1; the qh word and
// four index bytes of the sub-block read once; weight d · (2s + 1) · (g + delta).
fn iq1_s_group(qs: u32, qh: u32, l: u32) -> array<vec4<f32>, 2> {
    let idx = ((qs >> (8u * l)) & 0xffu) | (((qh >> (3u * l)) & 7u) << 8u);
    return iq1_group(grid8(idx), 0.0);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let qh = load_u16(b + 34u + 2u * ub);
    let qs = load_u32(b + 2u + 4u * ub);
    let dl = load_f16(b) * f32(2u * ((qh >> 12u) & 7u) + 1u);
    let c = dl * select(IQ1S_DELTA, -IQ1S_DELTA, (qh & 0x8000u) != 0u);
    let r0 = run_groups(iq1_s_group(qs, qh, 0u), iq1_s_group(qs, qh, 1u), dl, c);
    return runs2(r0, run_groups(iq1_s_group(qs, qh, 2u), iq1_s_group(qs, qh, 3u), dl, c));
}
