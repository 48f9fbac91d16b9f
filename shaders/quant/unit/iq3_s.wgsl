// unit_run for IQ3_S: unit ub is sub-block ub, run j its groups 2j and 2j + 1 (the halves of its
// grid-index word j, a ninth index bit each from qh) with their sign bytes; weight
// d · (1 + 2s) · grid · sign.
fn iq3_s_group(q: u32, qh: u32, signs: u32, l: u32) -> array<vec4<f32>, 2> {
    let i1 = (q & 0xffu) | ((qh << (8u - 2u * l)) & 256u);
    let i2 = ((q >> 8u) & 0xffu) | ((qh << (7u - 2u * l)) & 256u);
    return iq3_group(w_word(i1), w_word(i2), (signs >> (8u * l)) & 0xffu);
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let q = load_u32(b + 2u + 8u * ub + 4u * j);
    let qh = load_u8(b + 66u + ub);
    let signs = load_u32(b + 74u + 4u * ub);
    let l = 2u * j;
    let g0 = iq3_s_group(q, qh, signs, l);
    let g1 = iq3_s_group(q >> 16u, qh, signs, l + 1u);
    return run_groups(g0, g1, iq3_s_scale(b, ub), 0.0);
}
