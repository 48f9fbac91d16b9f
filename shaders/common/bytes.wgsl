// Needs common/half.wgsl (f16_bits_to_f32).
//
// Byte loaders over the weight binding `W`, which holds GGUF tensor bytes exactly as stored
// (little-endian, padded to whole 16-byte units). Blocks of 18, 34, 110 or 210 bytes are not
// 4-byte aligned, so every quant file reads its fields through these functions. The op file
// declares `W` (as array<u32> or array<vec4<u32>>) and its two accessors:
//   w_word(i) -> u32        bytes 4i .. 4i + 4
//   w_quad(i) -> vec4<u32>  bytes 16i .. 16i + 16 (one 128-bit load where W is array<vec4<u32>>)

// true: load_16 and load_32 read only 32-bit words (the 4 or 5 words covering 16 bytes, 8 or 9
// for 32, shifted into place) instead of 16-byte loads (two or three where the bytes are not
// 16-byte aligned). Chosen per adapter (pipelines.rs, MatVecShape::loads): a CPU adapter such
// as lavapipe loads a storage buffer one invocation and one 32-bit word at a time, so a word
// costs it the same as any other and the unaligned 16-byte loads read up to twice the words
// needed; GPUs keep the wider loads.
override WORD_LOADS: bool = false;

fn load_u8(b: u32) -> u32 {
    return (w_word(b >> 2u) >> ((b & 3u) << 3u)) & 0xffu;
}

fn load_i8(b: u32) -> i32 {
    return (i32(load_u8(b)) << 24u) >> 24u;
}

// Two bytes, little-endian; `b` may be odd.
fn load_u16(b: u32) -> u32 {
    if ((b & 3u) != 3u) {
        return (w_word(b >> 2u) >> ((b & 3u) << 3u)) & 0xffffu;
    }
    return load_u8(b) | (load_u8(b + 1u) << 8u);
}

fn load_u32(b: u32) -> u32 {
    if ((b & 3u) == 0u) {
        return w_word(b >> 2u);
    }
    return load_u16(b) | (load_u16(b + 2u) << 16u);
}

fn load_f16(b: u32) -> f32 {
    return f16_bits_to_f32(load_u16(b));
}

// Bytes o .. o + 16 of lo ‖ hi (o < 16, a multiple of 2 or not): words k .. k + 4 (k = o / 4),
// then the bit shift s = 8 (o % 4).
fn funnel16(lo: vec4<u32>, hi: vec4<u32>, o: u32) -> vec4<u32> {
    let k = o >> 2u;
    let a1 = vec4<u32>(lo.yzw, hi.x);
    let a2 = vec4<u32>(lo.zw, hi.xy);
    let a3 = vec4<u32>(lo.w, hi.xyz);
    let w0 = select(select(select(lo, a1, k == 1u), a2, k == 2u), a3, k == 3u);
    let w1 = select(select(select(a1, a2, k == 1u), a3, k == 2u), hi, k == 3u);
    let s = (o & 3u) << 3u;
    // For s = 0 the shift by 32 - s would be out of range: the words are already in place.
    let r = select(32u - s, 0u, s == 0u);
    return select((w0 >> vec4<u32>(s)) | (w1 << vec4<u32>(r)), w0, s == 0u);
}

// 16 bytes from byte `b` (any alignment): one 16-byte load when `b` is 16-aligned, else two and
// a funnel shift across them.
fn load_16(b: u32) -> vec4<u32> {
    if (WORD_LOADS) {
        return words_16(b);
    }
    let lo = w_quad(b >> 4u);
    let o = b & 15u;
    if (o == 0u) {
        return lo;
    }
    return funnel16(lo, w_quad((b >> 4u) + 1u), o);
}

// 16 bytes from a 4-byte-aligned byte `b`: four word loads, no shifts.
fn load_16_words(b: u32) -> vec4<u32> {
    let i = b >> 2u;
    return vec4<u32>(w_word(i), w_word(i + 1u), w_word(i + 2u), w_word(i + 3u));
}

// 32 bytes from byte `b` (any alignment) as two 16-byte halves: three 16-byte loads (two when
// `b` is 16-aligned), where two load_16 calls would take four.
fn load_32(b: u32) -> array<vec4<u32>, 2> {
    if (WORD_LOADS) {
        return words_32(b);
    }
    let q0 = w_quad(b >> 4u);
    let q1 = w_quad((b >> 4u) + 1u);
    let o = b & 15u;
    if (o == 0u) {
        return array<vec4<u32>, 2>(q0, q1);
    }
    let q2 = w_quad((b >> 4u) + 2u);
    return array<vec4<u32>, 2>(funnel16(q0, q1, o), funnel16(q1, q2, o));
}

// Words w and their successors n (n.w the word after w.w) shifted right by the byte offset
// s = 8 (b % 4) of the bytes wanted.
fn shift_words(w: vec4<u32>, n: vec4<u32>, s: u32) -> vec4<u32> {
    return (w >> vec4<u32>(s)) | (n << vec4<u32>(32u - s));
}

// load_16 with WORD_LOADS: the 4 words from b / 4, and a fifth when `b` is not on a word.
fn words_16(b: u32) -> vec4<u32> {
    let i = b >> 2u;
    let w = vec4<u32>(w_word(i), w_word(i + 1u), w_word(i + 2u), w_word(i + 3u));
    let s = (b & 3u) << 3u;
    if (s == 0u) {
        return w;
    }
    return shift_words(w, vec4<u32>(w.yzw, w_word(i + 4u)), s);
}

// load_32 with WORD_LOADS: 8 words, and a ninth when `b` is not on a word.
fn words_32(b: u32) -> array<vec4<u32>, 2> {
    let i = b >> 2u;
    let w0 = vec4<u32>(w_word(i), w_word(i + 1u), w_word(i + 2u), w_word(i + 3u));
    let w1 = vec4<u32>(w_word(i + 4u), w_word(i + 5u), w_word(i + 6u), w_word(i + 7u));
    let s = (b & 3u) << 3u;
    if (s == 0u) {
        return array<vec4<u32>, 2>(w0, w1);
    }
    let n1 = vec4<u32>(w1.yzw, w_word(i + 8u));
    return array<vec4<u32>, 2>(shift_words(w0, vec4<u32>(w0.yzw, w1.x), s), shift_words(w1, n1, s));
}

// 24 bytes from byte `b` (any alignment) in the first six words of load_32's answer; the last
// two hold what load_32 reads with 16-byte loads and zero with WORD_LOADS, which reads 6 words
// (7 when `b` is not on a word) instead of 8 or 9. Q5_0's 22- and Q5_1's 24-byte blocks.
fn load_24(b: u32) -> array<vec4<u32>, 2> {
    if (!WORD_LOADS) {
        return load_32(b);
    }
    let i = b >> 2u;
    let w0 = vec4<u32>(w_word(i), w_word(i + 1u), w_word(i + 2u), w_word(i + 3u));
    let w1 = vec4<u32>(w_word(i + 4u), w_word(i + 5u), 0u, 0u);
    let s = (b & 3u) << 3u;
    if (s == 0u) {
        return array<vec4<u32>, 2>(w0, w1);
    }
    let n1 = vec4<u32>(w1.y, w_word(i + 6u), 0u, 0u);
    return array<vec4<u32>, 2>(shift_words(w0, vec4<u32>(w0.yzw, w1.x), s), shift_words(w1, n1, s));
}

// 16 bytes from a 16-byte-aligned byte `b`: one load.
fn load_16_aligned(b: u32) -> vec4<u32> {
    return w_quad(b >> 4u);
}

// The four bytes of `q` as floats, lowest byte first.
fn bytes_f32(q: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(q) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

// The four bytes of `q` as signed floats, lowest byte first.
fn bytes_i8_f32(q: u32) -> vec4<f32> {
    return vec4<f32>((vec4<i32>(bitcast<i32>(q)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

// The low four bits of `h` moved to bit 4 of bytes 0..3 (the fifth bit of four packed nibbles).
fn spread_bits4(h: u32) -> u32 {
    return ((h & 1u) << 4u) | ((h & 2u) << 11u) | ((h & 4u) << 18u) | ((h & 8u) << 25u);
}

// The low 16 bits of `h` as bit 4 of 16 packed bytes (Q5_0/Q5_1's high bits).
fn spread_bits16(h: u32) -> vec4<u32> {
    return vec4<u32>(spread_bits4(h), spread_bits4(h >> 4u), spread_bits4(h >> 8u), spread_bits4(h >> 12u));
}

// 16 activations (elements 4k .. 4k + 4 in v[k]) and their sum, loaded once per 16-element run
// and shared by every row a workgroup dots with them.
struct X16 {
    v0: vec4<f32>,
    v1: vec4<f32>,
    v2: vec4<f32>,
    v3: vec4<f32>,
    sum: f32,
}

// 16 weights of a unit as the quant files decode them (quant/unit/<type>.wgsl's unit_runs: a
// unit's runs j < UNIT / 16, elements unit_first(ub) + j · UNIT_RUN2 + l): values q (elements 4k .. 4k + 4 in v[k]) and one affine scale, weight l being
// a · q_l + c. A dot applies the scale once per 16 weights: Σ w · x = a Σ q·x + c Σ x.
struct Run {
    v0: vec4<f32>,
    v1: vec4<f32>,
    v2: vec4<f32>,
    v3: vec4<f32>,
    a: f32,
    c: f32,
}

// Σ_l w_l · x_l over a run.
fn run_dot(r: Run, x: X16) -> f32 {
    let qx = dot(r.v0, x.v0) + dot(r.v1, x.v1) + dot(r.v2, x.v2) + dot(r.v3, x.v3);
    return r.a * qx + r.c * x.sum;
}

// The runs of a 32-element unit in unit_runs' four places (the last two unused).
fn runs2(r0: Run, r1: Run) -> array<Run, 4> {
    return array<Run, 4>(r0, r1, r0, r1);
}

// A run of 16 unsigned bytes (byte j of q[k] is element 4k + j).
fn run_u8(q: vec4<u32>, a: f32, c: f32) -> Run {
    return Run(bytes_f32(q.x), bytes_f32(q.y), bytes_f32(q.z), bytes_f32(q.w), a, c);
}

// A run of 16 signed bytes.
fn run_i8(q: vec4<u32>, a: f32, c: f32) -> Run {
    return Run(bytes_i8_f32(q.x), bytes_i8_f32(q.y), bytes_i8_f32(q.z), bytes_i8_f32(q.w), a, c);
}

// Nibble h (0 low, 1 high) of 16 packed bytes: elements j and j + 16 of a 32-element block.
fn nibbles(q: vec4<u32>, h: u32) -> vec4<u32> {
    return (q >> vec4<u32>(4u * h)) & vec4<u32>(0x0f0f0f0fu);
}
