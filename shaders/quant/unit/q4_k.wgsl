// unit_runs for Q4_K: element 64c + 32h + l is nibble h of qs[32c + l] with
// (sc, m) = scale_min_k4(2c + h). Unit ub = 2c + half takes l = 16·half .. + 16 of both nibbles
// from one 16-byte load: run j is nibble j (sub-block 2c + j). Blocks of 144 bytes keep every
// block 16-byte aligned.
const UNIT: u32 = 32u;
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 64u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    let q = load_16_aligned(b + 16u + 16u * ub);
    return k4_runs(b, ub >> 1u, nibbles(q, 0u), nibbles(q, 1u));
}
