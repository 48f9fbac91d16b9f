// unit_run for Q2_K: element 128n + 32j + 16s + l is bits 2j of qs[32n + 16s + l] with scale
// byte scales[8n + 2j + s] (low nibble scale, high nibble min). Unit ub = 2n + s (four per block)
// is 64 elements, the 16 qs bytes of (n, s) with all four 2-bit fields: run j at
// unit_first(ub) + 32j, weight d·sc·q − dmin·m.
const UNIT: u32 = 64u;
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 128u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let n = ub >> 1u;
    let s = ub & 1u;
    // Blocks of 84 bytes start on words: four word loads, no funnel shift.
    let q = (load_16_words(b + 16u + 32u * n + 16u * s) >> vec4<u32>(2u * j)) & vec4<u32>(0x03030303u);
    // Scale byte 8n + 2j + s: byte s + 2 (j % 2) of word 2n + j / 2; d and dmin share the word
    // at byte 80.
    let sc = (w_word((b >> 2u) + 2u * n + (j >> 1u)) >> (8u * s + 16u * (j & 1u))) & 0xffu;
    let dd = w_word((b + 80u) >> 2u);
    let d = f16_bits_to_f32(dd & 0xffffu);
    let dmin = f16_bits_to_f32(dd >> 16u);
    return run_u8(q, d * f32(sc & 0xfu), -dmin * f32(sc >> 4u));
}
