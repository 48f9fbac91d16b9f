// unit_run for IQ1_S: unit ub is sub-block ub, run j its groups 2j and 2j + 1; the qh word and
// four index bytes of the sub-block; weight d · (2s + 1) · (g + delta).
fn iq1_s_group(qs: u32, qh: u32, l: u32) -> array<vec4<f32>, 2> {
    let idx = ((qs >> (8u * l)) & 0xffu) | (((qh >> (3u * l)) & 7u) << 8u);
    return iq1_group(grid8(idx), 0.0);
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let qh = load_u16(b + 34u + 2u * ub);
    let qs = load_u32(b + 2u + 4u * ub);
    let dl = load_f16(b) * f32(2u * ((qh >> 12u) & 7u) + 1u);
    let delta = select(IQ1S_DELTA, -IQ1S_DELTA, (qh & 0x8000u) != 0u);
    let l = 2u * j;
    return run_groups(iq1_s_group(qs, qh, l), iq1_s_group(qs, qh, l + 1u), dl, dl * delta);
}
