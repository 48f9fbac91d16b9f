// Shared by the grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M). Their grid
// (ggml's iqN_grid, each entry's values one per byte, lowest first) lies at byte 0 of every
// weight binding, TABLE_BYTES long (a multiple of 16), and the matrices follow it: the uploader
// writes it at the start of each chunk (`quant::iq_grid::grid_bytes`), so a lookup is one or two
// word loads from the binding the block is read from.

// The unit of every grid type (quant/unit/<type>.wgsl): sub-block ub, 32 elements in two runs
// of 16 (groups 0, 1 and 2, 3 of 8).
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 32u * ub;
}

// ggml's ksigns_iq2xs[s]: the 7 stored sign bits and an eighth that makes the count of minus
// signs even.
fn ksigns(s: u32) -> u32 {
    return s | ((countOneBits(s) & 1u) << 7u);
}

// ±1 for bits j0 .. j0 + 4 of a sign byte (set: −1).
fn signs4(signs: u32, j0: u32) -> vec4<f32> {
    let bits = (vec4<u32>(signs) >> (vec4<u32>(0u, 1u, 2u, 3u) + vec4<u32>(j0))) & vec4<u32>(1u);
    return vec4<f32>(1.0) - 2.0 * vec4<f32>(bits);
}

// ±1 for bit j of a sign byte.
fn sign1(signs: u32, j: u32) -> f32 {
    return select(1.0, -1.0, ((signs >> j) & 1u) != 0u);
}

// The two words of 8-byte grid entry `idx` (IQ2, IQ1).
fn grid8(idx: u32) -> vec2<u32> {
    return vec2<u32>(w_word(2u * idx), w_word(2u * idx + 1u));
}

// Byte j of 8-byte grid entry `idx`.
fn grid8_byte(idx: u32, j: u32) -> u32 {
    return (w_word(2u * idx + (j >> 2u)) >> (8u * (j & 3u))) & 0xffu;
}

// Byte j of 4-byte grid entry `idx` (IQ3).
fn grid4_byte(idx: u32, j: u32) -> u32 {
    return (w_word(idx) >> (8u * j)) & 0xffu;
}

// The 8 values of an IQ2 group: grid magnitudes with their signs.
fn iq2_group(g: vec2<u32>, signs: u32) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(bytes_f32(g.x) * signs4(signs, 0u), bytes_f32(g.y) * signs4(signs, 4u));
}

// The same for IQ3: two 4-value entries g1 (values 0..4) and g2 (4..8).
fn iq3_group(g1: u32, g2: u32, signs: u32) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(bytes_f32(g1) * signs4(signs, 0u), bytes_f32(g2) * signs4(signs, 4u));
}

// The 8 values of an IQ1 group: signed grid values (−1, 0, 1) plus the group's offset.
fn iq1_group(g: vec2<u32>, delta: f32) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(bytes_i8_f32(g.x) + vec4<f32>(delta), bytes_i8_f32(g.y) + vec4<f32>(delta));
}

// Run j of a grid unit: its groups 2j (g0) and 2j + 1 (g1), scaled by a.
fn run_groups(g0: array<vec4<f32>, 2>, g1: array<vec4<f32>, 2>, a: f32, c: f32) -> Run {
    return Run(g0[0], g0[1], g1[0], g1[1], a, c);
}
