// unit_runs for Q4_K: element 64c + 32h + l is nibble h of qs[32c + l] with
// (sc, m) = scale_min_k4(2c + h). Two unit widths, chosen per adapter (`override UNIT`, set with
// UNIT_RUN2 by gpu::pipelines):
// - 32 (GPUs): unit ub = 2c + half takes l = 16·half .. + 16 of both nibbles from one 16-byte
//   load, run j is nibble j (sub-block 2c + j): 64 units of a 2048-wide row keep a 64-wide
//   workgroup busy;
// - 64 (CPU adapters, which pay per 32-bit word a lane loads): unit ub = c takes all 32 qs bytes
//   of sub-blocks 2c and 2c + 1, run j the 16 elements 64c + 16j, so the block header's 4 words
//   serve 64 weights instead of 32.
// Blocks of 144 bytes keep every block 16-byte aligned.
override UNIT: u32 = 32u;
override UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    if (UNIT == 64u) {
        return 64u * ub;
    }
    return 64u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    if (UNIT == 64u) {
        let q0 = load_16_aligned(b + 16u + 32u * ub);
        let q1 = load_16_aligned(b + 32u + 32u * ub);
        let s = k4_affine(b, ub);
        return array<Run, 4>(run_u8(nibbles(q0, 0u), s.x, s.y), run_u8(nibbles(q1, 0u), s.x, s.y),
                             run_u8(nibbles(q0, 1u), s.z, s.w), run_u8(nibbles(q1, 1u), s.z, s.w));
    }
    let q = load_16_aligned(b + 16u + 16u * ub);
    return k4_runs(b, ub >> 1u, nibbles(q, 0u), nibbles(q, 1u));
}
