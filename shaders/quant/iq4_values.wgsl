// The 16 values of ggml's kvalues_iq4nl, shared by IQ4_NL and IQ4_XS: a 4-bit index selects one,
// times the block's scale. The table is packed as signed bytes in four words (index i: byte i % 4
// of word i / 4) and read with selects and shifts: no array indexed at run time (which some
// compilers turn into a private copy of the table per lookup).
//   -127, -104, -83, -65 | -49, -35, -22, -10 | 1, 13, 25, 38 | 53, 69, 89, 113
const IQ4_K0: u32 = 0xbfad9881u;
const IQ4_K1: u32 = 0xf6eaddcfu;
const IQ4_K2: u32 = 0x26190d01u;
const IQ4_K3: u32 = 0x71594535u;

// The values of the four index bytes of `q` (each < 16), lowest byte first.
fn iq4_values4(q: u32) -> vec4<f32> {
    let i = (vec4<u32>(q) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu);
    let lo = select(vec4<u32>(IQ4_K0), vec4<u32>(IQ4_K1), i >= vec4<u32>(4u));
    let hi = select(vec4<u32>(IQ4_K2), vec4<u32>(IQ4_K3), i >= vec4<u32>(12u));
    let w = select(lo, hi, i >= vec4<u32>(8u));
    // Byte i % 4 to the top, then an arithmetic shift back down sign-extends it.
    let top = w << ((vec4<u32>(3u) - (i & vec4<u32>(3u))) * vec4<u32>(8u));
    return vec4<f32>(bitcast<vec4<i32>>(top) >> vec4<u32>(24u));
}

fn iq4_value(q: u32) -> f32 {
    return iq4_values4(q & 0xfu).x;
}

// A run of 16 index bytes (byte j of q[k] is element 4k + j) scaled by a.
fn run_iq4(q: vec4<u32>, a: f32) -> Run {
    return Run(iq4_values4(q.x), iq4_values4(q.y), iq4_values4(q.z), iq4_values4(q.w), a, 0.0);
}
