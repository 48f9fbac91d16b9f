// unit_run for Q4_1 (one unit per block): nibbles as Q4_0 (qs at byte 4); weight d · q + m.
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}

fn unit_run(b: u32, ub: u32, j: u32) -> Run {
    return run_u8(nibbles(load_16(b + 4u), j), load_f16(b), load_f16(b + 2u));
}
