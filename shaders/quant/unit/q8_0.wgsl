// unit_runs for Q8_0 (one unit per block): run j the signed bytes qs[16j .. 16j + 16]; weight d · q.
// Layout: quant/unit/consecutive.wgsl.
fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let q = load_32(b + 2u);
    let d = load_f16(b);
    return runs2(run_i8(q[0], d, 0.0), run_i8(q[1], d, 0.0));
}
