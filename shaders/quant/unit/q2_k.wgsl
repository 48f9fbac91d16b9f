// unit_runs for Q2_K: element 128n + 32j + 16s + l is bits 2j of qs[32n + 16s + l] with scale
// byte scales[8n + 2j + s] (low nibble scale, high nibble min). Unit ub = 2n + s (four per block)
// is 64 elements, the 16 qs bytes of (n, s) with all four 2-bit fields: run j at
// unit_first(ub) + 32j, weight d·sc·q − dmin·m.
const UNIT: u32 = 64u;
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 128u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let n = ub >> 1u;
    let s = ub & 1u;
    // Blocks of 84 bytes start on words: four word loads, no funnel shift.
    let q = load_16_words(b + 16u + 32u * n + 16u * s);
    // The scale bytes 8n + s + 2j of runs j = 0, 1 lie in word 2n of the block, those of
    // j = 2, 3 in word 2n + 1; d and dmin share the word at byte 80.
    let w0 = w_word((b >> 2u) + 2u * n);
    let w1 = w_word((b >> 2u) + 2u * n + 1u);
    let sh = vec4<u32>(8u * s, 8u * s + 16u, 8u * s, 8u * s + 16u);
    let sc = (vec4<u32>(w0, w0, w1, w1) >> sh) & vec4<u32>(0xffu);
    let dd = w_word((b + 80u) >> 2u);
    let a = f16_bits_to_f32(dd & 0xffffu) * vec4<f32>(sc & vec4<u32>(0xfu));
    let c = -f16_bits_to_f32(dd >> 16u) * vec4<f32>(sc >> vec4<u32>(4u));
    let m = vec4<u32>(0x03030303u);
    return array<Run, 4>(
        run_u8(q & m, a.x, c.x),
        run_u8((q >> vec4<u32>(2u)) & m, a.y, c.y),
        run_u8((q >> vec4<u32>(4u)) & m, a.z, c.z),
        run_u8((q >> vec4<u32>(6u)) & m, a.w, c.w),
    );
}
