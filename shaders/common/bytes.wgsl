// Byte loaders over the weight array `W: array<u32>`, which holds GGUF tensor bytes exactly as
// stored (little-endian). Blocks of 18, 34, 110 or 210 bytes are not 4-byte aligned, so every
// quant file reads its fields through these functions. The op file declares `W`.

fn load_u8(b: u32) -> u32 {
    return (W[b >> 2u] >> ((b & 3u) << 3u)) & 0xffu;
}

fn load_i8(b: u32) -> i32 {
    return (i32(load_u8(b)) << 24u) >> 24u;
}

// Two bytes, little-endian; `b` may be odd.
fn load_u16(b: u32) -> u32 {
    if ((b & 3u) != 3u) {
        return (W[b >> 2u] >> ((b & 3u) << 3u)) & 0xffffu;
    }
    return load_u8(b) | (load_u8(b + 1u) << 8u);
}

fn load_u32(b: u32) -> u32 {
    if ((b & 3u) == 0u) {
        return W[b >> 2u];
    }
    return load_u16(b) | (load_u16(b + 2u) << 16u);
}

// An IEEE half (bits in the low 16 of `h`) widened exactly to f32 with integer operations only:
// unpack2x16float needs a capability some backends lack, and no shader-f16 is needed either.
fn f16_bits_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let exp = (h >> 10u) & 0x1fu;
    let mant = h & 0x3ffu;
    if (exp == 0u) {
        // Zero or subnormal: mant · 2^-24, exact in f32.
        let v = f32(mant) * 5.9604644775390625e-8;
        return select(v, -v, sign != 0u);
    }
    if (exp == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (mant << 13u));
    }
    return bitcast<f32>(sign | ((exp + 112u) << 23u) | (mant << 13u));
}

fn load_f16(b: u32) -> f32 {
    return f16_bits_to_f32(load_u16(b));
}
