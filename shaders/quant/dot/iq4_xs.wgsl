// unit_dot for IQ4_XS: unit ub is sub-block ib = ub (elements 32 ub .. + 32): the low nibbles
// of its 16 qs bytes are the first 16 elements (x0), the high nibbles the next 16 (x1);
// d · (ls − 32) · Σ value(q) · x.
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 32u * ub;
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let q = load_16(b + 8u + 16u * ub);
    // Blocks of 136 bytes start on words: the header is two word loads.
    let scale = iq4_xs_scale(w_word(b >> 2u), w_word((b >> 2u) + 1u), ub);
    return scale * (dot16_iq4(nibbles_lo(q), x0) + dot16_iq4(nibbles_hi(q), x1));
}
