// The unit layout of the types whose unit is 32 consecutive elements (F32, F16, BF16, and the
// 32-element blocks Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL): run j is elements 16j .. 16j + 16.
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 16u;

fn unit_first(ub: u32) -> u32 {
    return 0u;
}
