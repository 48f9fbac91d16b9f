// unit_run for Q5_1 (one unit per block): 5-bit q as Q5_0; weight d · q + m.
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    // The 24-byte block in one 32-byte read: d @0, m @2, qh @4, qs @8.
    let w = load_32(b);
    let q = vec4<u32>(w[0].z, w[0].w, w[1].x, w[1].y);
    let q5 = nibbles(q, j) | spread_bits16(w[0].y >> (16u * j));
    return run_u8(q5, f16_bits_to_f32(w[0].x & 0xffffu), f16_bits_to_f32(w[0].x >> 16u));
}
