// unit_runs for Q6_K: element 128n + 32k + l has its low 4 bits from nibble k / 2 of
// ql[64n + 32(k % 2) + l], its high 2 bits from bits 2k of qh[32n + l], the scale
// scales[8n + 2k + l / 16]. Unit ub = 4n + 2k' + half (k' < 2) takes l = 16·half .. + 16 for
// k = k' (run 0, low nibbles) and k' + 2 (run 1, high nibbles); weight d · scale · (q − 32).
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 64u;

fn unit_first(ub: u32) -> u32 {
    return 128u * (ub >> 2u) + 32u * ((ub >> 1u) & 1u) + 16u * (ub & 1u);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let n = ub >> 2u;
    let k = (ub >> 1u) & 1u;
    let half = ub & 1u;
    let lo = load_16(b + 64u * n + 32u * k + 16u * half);
    let hi = load_16(b + 128u + 32u * n + 16u * half) >> vec4<u32>(2u * k);
    let m2 = vec4<u32>(0x03030303u);
    let q0 = nibbles(lo, 0u) | ((hi & m2) << vec4<u32>(4u));
    let q1 = nibbles(lo, 1u) | (((hi >> vec4<u32>(4u)) & m2) << vec4<u32>(4u));
    let p = 8u * n + 2u * k + half;
    let d = load_f16(b + 208u);
    let a0 = d * f32(load_i8(b + 192u + p));
    let a1 = d * f32(load_i8(b + 196u + p));
    return runs2(run_u8(q0, a0, -32.0 * a0), run_u8(q1, a1, -32.0 * a1));
}
