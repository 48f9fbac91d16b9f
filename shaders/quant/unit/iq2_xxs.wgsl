// unit_run for IQ2_XXS: unit ub is sub-block ub, run j its groups 2j and 2j + 1; the words aux0
// (grid indices) and aux1 (signs, scale) of the sub-block; weight db · grid · sign.
fn iq2_xxs_group(aux0: u32, aux1: u32, l: u32) -> array<vec4<f32>, 2> {
    return iq2_group(grid8((aux0 >> (8u * l)) & 0xffu), ksigns((aux1 >> (7u * l)) & 127u));
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let aux0 = load_u32(b + 2u + 8u * ub);
    let aux1 = load_u32(b + 6u + 8u * ub);
    let db = load_f16(b) * (0.5 + f32(aux1 >> 28u)) * 0.25;
    return run_groups(iq2_xxs_group(aux0, aux1, 2u * j), iq2_xxs_group(aux0, aux1, 2u * j + 1u), db, 0.0);
}
