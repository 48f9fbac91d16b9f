// unit_runs for IQ3_S: unit ub is sub-block ub, run j its groups 2j and 2j + 1 (the halves of its
// grid-index word j, a ninth index bit each from qh) with their sign bytes; weight
// d · (1 + 2s) · grid · sign.
fn iq3_s_group(q: u32, qh: u32, signs: u32, l: u32) -> array<vec4<f32>, 2> {
    let i1 = (q & 0xffu) | ((qh << (8u - 2u * l)) & 256u);
    let i2 = ((q >> 8u) & 0xffu) | ((qh << (7u - 2u * l)) & 256u);
    return iq3_group(w_word(i1), w_word(i2), (signs >> (8u * l)) & 0xffu);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let qa = load_u32(b + 2u + 8u * ub);
    let qb = load_u32(b + 6u + 8u * ub);
    let qh = load_u8(b + 66u + ub);
    let signs = load_u32(b + 74u + 4u * ub);
    let a = iq3_s_scale(b, ub);
    let r0 = run_groups(iq3_s_group(qa, qh, signs, 0u), iq3_s_group(qa >> 16u, qh, signs, 1u), a, 0.0);
    return runs2(r0, run_groups(iq3_s_group(qb, qh, signs, 2u), iq3_s_group(qb >> 16u, qh, signs, 3u), a, 0.0));
}
