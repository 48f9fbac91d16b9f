// unit_runs for IQ4_NL (one unit per block): run 0 the low nibbles of qs[0..16] (elements 0..16),
// run 1 the high nibbles (16..32); weight d · value(q).
// Layout: quant/unit/consecutive.wgsl.
fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let q = load_16(b + 2u);
    let d = load_f16(b);
    return runs2(run_iq4(nibbles(q, 0u), d), run_iq4(nibbles(q, 1u), d));
}
