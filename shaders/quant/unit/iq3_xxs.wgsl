// unit_runs for IQ3_XXS: unit ub is sub-block ub, run j its groups 2j and 2j + 1 (the halves of
// its grid-index word j: two 4-value entries each) with the sub-block's sign/scale word; weight
// db · grid · sign.
fn iq3_xxs_group(q: u32, aux: u32, l: u32) -> array<vec4<f32>, 2> {
    return iq3_group(w_word(q & 0xffu), w_word((q >> 8u) & 0xffu), ksigns((aux >> (7u * l)) & 127u));
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let qa = load_u32(b + 2u + 8u * ub);
    let qb = load_u32(b + 6u + 8u * ub);
    let aux = load_u32(b + 66u + 4u * ub);
    let db = load_f16(b) * (0.5 + f32(aux >> 28u)) * 0.5;
    let r0 = run_groups(iq3_xxs_group(qa, aux, 0u), iq3_xxs_group(qa >> 16u, aux, 1u), db, 0.0);
    return runs2(r0, run_groups(iq3_xxs_group(qb, aux, 2u), iq3_xxs_group(qb >> 16u, aux, 3u), db, 0.0));
}
