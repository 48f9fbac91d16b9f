// unit_runs for Q5_1 (one unit per block): 5-bit q as Q5_0; weight d · q + m.
// Layout: quant/unit/consecutive.wgsl.
fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    // The 24-byte block in one read: d @0, m @2, qh @4, qs @8.
    let w = load_24(b);
    let q = vec4<u32>(w[0].z, w[0].w, w[1].x, w[1].y);
    let d = f16_bits_to_f32(w[0].x & 0xffffu);
    let m = f16_bits_to_f32(w[0].x >> 16u);
    let r0 = run_u8(nibbles(q, 0u) | spread_bits16(w[0].y), d, m);
    return runs2(r0, run_u8(nibbles(q, 1u) | spread_bits16(w[0].y >> 16u), d, m));
}
