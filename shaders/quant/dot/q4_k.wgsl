// unit_dot for Q4_K: element 64c + 32h + l is nibble h of qs[32c + l] with
// (sc, m) = scale_min_k4(2c + h). Unit ub = 2c + half takes l = 16·half .. + 16 of both nibbles
// (x0: h = 0, x1: h = 1) from one 16-byte load; d·sc Σ q·x - dmin·m Σ x. Blocks of 144 bytes keep
// every block 16-byte aligned.
const UNIT_RUN2: u32 = 32u;

fn unit_first(ub: u32) -> u32 {
    return 64u * (ub >> 1u) + 16u * (ub & 1u);
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let c = ub >> 1u;
    let q = load_16_aligned(b + 16u + 16u * ub);
    let m = vec4<u32>(0x0f0f0f0fu);
    // d, dmin and the 12 scale bytes are the block's first 16 bytes: one load.
    let hdr = load_16_aligned(b);
    let sm0 = scale_min_k4_hdr(hdr, 2u * c);
    let sm1 = scale_min_k4_hdr(hdr, 2u * c + 1u);
    let qx = f32(sm0.x) * dot16_u8(q & m, x0) + f32(sm1.x) * dot16_u8((q >> vec4<u32>(4u)) & m, x1);
    let mx = f32(sm0.y) * x0.sum + f32(sm1.y) * x1.sum;
    return f16_bits_to_f32(hdr.x & 0xffffu) * qx - f16_bits_to_f32(hdr.x >> 16u) * mx;
}
