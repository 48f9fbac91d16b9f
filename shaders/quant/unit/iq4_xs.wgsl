// unit_runs for IQ4_XS: unit ub is sub-block ib = ub (elements 32 ub .. + 32): run 0 the low
// nibbles of its 16 qs bytes, run 1 the high; weight d · (ls − 32) · value(q).
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 32u * ub;
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let q = load_16(b + 8u + 16u * ub);
    // Blocks of 136 bytes start on words: the header is two word loads.
    let a = iq4_xs_scale(w_word(b >> 2u), w_word((b >> 2u) + 1u), ub);
    return runs2(run_iq4(nibbles(q, 0u), a), run_iq4(nibbles(q, 1u), a));
}
