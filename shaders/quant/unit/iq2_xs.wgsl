// unit_run for IQ2_XS: unit ub is sub-block ub, run j its groups 2j and 2j + 1 (the two halves of
// qs word j, 9-bit grid index and 7 sign bits each) with scale nibble j of its scale byte.
fn iq2_xs_group(q: u32) -> array<vec4<f32>, 2> {
    return iq2_group(grid8(q & 511u), ksigns(q >> 9u));
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let q = load_u32(b + 2u + 8u * ub + 4u * j);
    let sc = (load_u8(b + 66u + ub) >> (4u * j)) & 0xfu;
    let a = load_f16(b) * (0.5 + f32(sc)) * 0.25;
    return run_groups(iq2_xs_group(q & 0xffffu), iq2_xs_group(q >> 16u), a, 0.0);
}
