// unit_run for IQ2_S: unit ub is sub-block ub, run j its groups 2j and 2j + 1: grid-index bytes
// and 2 high bits from qh, sign bytes, scale nibble j as IQ2_XS.
fn iq2_s_group(qs: u32, qh: u32, signs: u32, l: u32) -> array<vec4<f32>, 2> {
    let idx = ((qs >> (8u * l)) & 0xffu) | ((qh << (8u - 2u * l)) & 0x300u);
    return iq2_group(grid8(idx), (signs >> (8u * l)) & 0xffu);
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let qs = load_u32(b + 2u + 4u * ub);
    let signs = load_u32(b + 34u + 4u * ub);
    let qh = load_u8(b + 66u + ub);
    let sc = (load_u8(b + 74u + ub) >> (4u * j)) & 0xfu;
    let a = load_f16(b) * (0.5 + f32(sc)) * 0.25;
    let l = 2u * j;
    return run_groups(iq2_s_group(qs, qh, signs, l), iq2_s_group(qs, qh, signs, l + 1u), a, 0.0);
}
