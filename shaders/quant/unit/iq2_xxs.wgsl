// unit_runs for IQ2_XXS: unit ub is sub-block ub, run j its groups 2j and 2j + 1; the words aux0
// (grid indices) and aux1 (signs, scale) of the sub-block read once; weight db · grid · sign.
fn iq2_xxs_group(aux0: u32, aux1: u32, l: u32) -> array<vec4<f32>, 2> {
    return iq2_group(grid8((aux0 >> (8u * l)) & 0xffu), ksigns((aux1 >> (7u * l)) & 127u));
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let aux0 = load_u32(b + 2u + 8u * ub);
    let aux1 = load_u32(b + 6u + 8u * ub);
    let db = load_f16(b) * (0.5 + f32(aux1 >> 28u)) * 0.25;
    let r0 = run_groups(iq2_xxs_group(aux0, aux1, 0u), iq2_xxs_group(aux0, aux1, 1u), db, 0.0);
    return runs2(r0, run_groups(iq2_xxs_group(aux0, aux1, 2u), iq2_xxs_group(aux0, aux1, 3u), db, 0.0));
}
