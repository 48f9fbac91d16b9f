// unit_runs for Q4_0 (one unit per block): run 0 the low nibbles of qs[0..16] (elements 0..16),
// run 1 the high nibbles (16..32); weight d · (q − 8).
// Layout: quant/unit/consecutive.wgsl.
fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let d = load_f16(b);
    let q = load_16(b + 2u);
    return runs2(run_u8(nibbles(q, 0u), d, -8.0 * d), run_u8(nibbles(q, 1u), d, -8.0 * d));
}
