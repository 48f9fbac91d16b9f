// unit_dot for Q2_K: element 128n + 32j + 16s + l is bits 2j of qs[32n + 16s + l] with scale
// byte scales[8n + 2j + s] (low nibble scale, high nibble min). Unit ub = 4n + 2j' + s (j' < 2)
// takes j = j' (x0) and j' + 2 (x1) from the same 16 qs bytes;
// Σ (d·sc·q - dmin·m) · x = d·sc Σ q·x - dmin·m Σ x.
const UNIT_RUN2: u32 = 64u;

fn unit_first(ub: u32) -> u32 {
    return 128u * (ub >> 2u) + 32u * ((ub >> 1u) & 1u) + 16u * (ub & 1u);
}

fn unit_dot(b: u32, ub: u32, x0: X16, x1: X16) -> f32 {
    let n = ub >> 2u;
    let j = (ub >> 1u) & 1u;
    let s = ub & 1u;
    let q = load_16(b + 16u + 32u * n + 16u * s) >> vec4<u32>(2u * j);
    let m = vec4<u32>(0x03030303u);
    // Blocks of 84 bytes start on words: scale bytes p and p + 4 sit at one shift in two
    // neighbouring words, d and dmin share the word at byte 80.
    let p = 8u * n + 2u * j + s;
    let sh = 8u * (p & 3u);
    let sw = (b + p) >> 2u;
    let sc0 = (w_word(sw) >> sh) & 0xffu;
    let sc1 = (w_word(sw + 1u) >> sh) & 0xffu;
    let dd = w_word((b + 80u) >> 2u);
    let d = f16_bits_to_f32(dd & 0xffffu);
    let dmin = f16_bits_to_f32(dd >> 16u);
    let qx = f32(sc0 & 0xfu) * dot16_u8(q & m, x0) + f32(sc1 & 0xfu) * dot16_u8((q >> vec4<u32>(4u)) & m, x1);
    return d * qx - dmin * (f32(sc0 >> 4u) * x0.sum + f32(sc1 >> 4u) * x1.sum);
}
