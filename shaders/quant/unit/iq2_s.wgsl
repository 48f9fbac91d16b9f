// unit_runs for IQ2_S: unit ub is sub-block ub, run j its groups 2j and 2j + 1 (grid-index bytes
// with 2 high bits each from qh, sign bytes) with scale nibble j as IQ2_XS; the sub-block's bytes
// read once.
fn iq2_s_group(qs: u32, qh: u32, signs: u32, l: u32) -> array<vec4<f32>, 2> {
    let idx = ((qs >> (8u * l)) & 0xffu) | ((qh << (8u - 2u * l)) & 0x300u);
    return iq2_group(grid8(idx), (signs >> (8u * l)) & 0xffu);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let qs = load_u32(b + 2u + 4u * ub);
    let signs = load_u32(b + 34u + 4u * ub);
    let qh = load_u8(b + 66u + ub);
    let sc = load_u8(b + 74u + ub);
    let d = load_f16(b) * 0.25;
    let g = array<array<vec4<f32>, 2>, 4>(iq2_s_group(qs, qh, signs, 0u), iq2_s_group(qs, qh, signs, 1u),
                                          iq2_s_group(qs, qh, signs, 2u), iq2_s_group(qs, qh, signs, 3u));
    return runs2(run_groups(g[0], g[1], d * (0.5 + f32(sc & 0xfu)), 0.0),
                 run_groups(g[2], g[3], d * (0.5 + f32(sc >> 4u)), 0.0));
}
