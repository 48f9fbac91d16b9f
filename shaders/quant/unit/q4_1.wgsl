// unit_runs for Q4_1 (one unit per block): nibbles as Q4_0 (qs at byte 4); weight d · q + m.
// Layout: quant/unit/consecutive.wgsl.
fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let d = load_f16(b);
    let m = load_f16(b + 2u);
    let q = load_16(b + 4u);
    return runs2(run_u8(nibbles(q, 0u), d, m), run_u8(nibbles(q, 1u), d, m));
}
