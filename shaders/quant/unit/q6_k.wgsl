// unit_runs for Q6_K: element 128n + 32k + l has its low 4 bits from nibble k / 2 of
// ql[64n + 32(k % 2) + l], its high 2 bits from bits 2k of qh[32n + l], the scale
// scales[8n + 2k + l / 16]; weight d · scale · (q − 32). Two unit widths, chosen per adapter
// (`override UNIT`, set with UNIT_RUN2 by gpu::pipelines):
// - 32 (GPUs): unit ub = 4n + 2k' + half (k' < 2) takes l = 16·half .. + 16 for k = k' (run 0,
//   low nibbles) and k' + 2 (run 1, high nibbles);
// - 64 (CPU adapters, which pay per 32-bit word a lane loads): unit ub = 2n + half takes
//   l = 16·half .. + 16 for every k (run k), so each qh byte loaded serves its four elements,
//   not two.
override UNIT: u32 = 32u;
override UNIT_RUN2: u32 = 64u;

fn unit_first(ub: u32) -> u32 {
    if (UNIT == 64u) {
        return 128u * (ub >> 1u) + 16u * (ub & 1u);
    }
    return 128u * (ub >> 2u) + 32u * ((ub >> 1u) & 1u) + 16u * (ub & 1u);
}

// Run k of sub-block (n, half): 16 6-bit quants, low nibbles h of `lo`, high bits 2k of `hi`,
// with the scale at byte `p` of the scales.
fn q6_k_run(b: u32, lo: vec4<u32>, h: u32, hi: vec4<u32>, k: u32, p: u32, d: f32) -> Run {
    let q = nibbles(lo, h) | (((hi >> vec4<u32>(2u * k)) & vec4<u32>(0x03030303u)) << vec4<u32>(4u));
    let a = d * f32(load_i8(b + 192u + p));
    return run_u8(q, a, -32.0 * a);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let d = load_f16(b + 208u);
    if (UNIT == 64u) {
        let n = ub >> 1u;
        let half = ub & 1u;
        let lo0 = load_16(b + 64u * n + 16u * half);
        let lo1 = load_16(b + 64u * n + 32u + 16u * half);
        let hi = load_16(b + 128u + 32u * n + 16u * half);
        let p = 8u * n + half;
        return array<Run, 4>(q6_k_run(b, lo0, 0u, hi, 0u, p, d), q6_k_run(b, lo1, 0u, hi, 1u, p + 2u, d),
                             q6_k_run(b, lo0, 1u, hi, 2u, p + 4u, d), q6_k_run(b, lo1, 1u, hi, 3u, p + 6u, d));
    }
    let n = ub >> 2u;
    let k = (ub >> 1u) & 1u;
    let half = ub & 1u;
    let lo = load_16(b + 64u * n + 32u * k + 16u * half);
    let hi = load_16(b + 128u + 32u * n + 16u * half);
    let p = 8u * n + 2u * k + half;
    return runs2(q6_k_run(b, lo, 0u, hi, k, p, d), q6_k_run(b, lo, 1u, hi, k + 2u, p + 4u, d));
}
