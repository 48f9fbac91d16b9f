// unit_runs for Q5_0 (one unit per block): low nibbles as Q4_0, bit 4 of element i is bit i of
// qh; weight d · (q − 16).
// Layout: quant/unit/consecutive.wgsl.
fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    // The 22-byte block in one 24-byte read: d @0, qh @2, qs @6.
    let w = load_24(b);
    let lo = w[0];
    let hi = w[1];
    let qh = (lo.x >> 16u) | (lo.y << 16u);
    let q = vec4<u32>((lo.y >> 16u) | (lo.z << 16u), (lo.z >> 16u) | (lo.w << 16u),
                      (lo.w >> 16u) | (hi.x << 16u), (hi.x >> 16u) | (hi.y << 16u));
    let d = f16_bits_to_f32(lo.x & 0xffffu);
    let r0 = run_u8(nibbles(q, 0u) | spread_bits16(qh), d, -16.0 * d);
    return runs2(r0, run_u8(nibbles(q, 1u) | spread_bits16(qh >> 16u), d, -16.0 * d));
}
