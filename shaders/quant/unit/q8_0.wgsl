// unit_run for Q8_0 (one unit per block): run j the signed bytes qs[16j .. 16j + 16]; weight d · q.
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    let q = load_32(b + 2u);
    return run_i8(select(q[0], q[1], j == 1u), load_f16(b), 0.0);
}
