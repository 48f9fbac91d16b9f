// unit_runs for IQ2_XS: unit ub is sub-block ub, run j its groups 2j and 2j + 1 (the two halves of
// qs word j, 9-bit grid index and 7 sign bits each) with scale nibble j of its scale byte.
fn iq2_xs_group(q: u32) -> array<vec4<f32>, 2> {
    return iq2_group(grid8(q & 511u), ksigns(q >> 9u));
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let qa = load_u32(b + 2u + 8u * ub);
    let qb = load_u32(b + 6u + 8u * ub);
    let sc = load_u8(b + 66u + ub);
    let d = load_f16(b) * 0.25;
    let r0 = run_groups(iq2_xs_group(qa & 0xffffu), iq2_xs_group(qa >> 16u), d * (0.5 + f32(sc & 0xfu)), 0.0);
    return runs2(r0, run_groups(iq2_xs_group(qb & 0xffffu), iq2_xs_group(qb >> 16u), d * (0.5 + f32(sc >> 4u)), 0.0));
}
