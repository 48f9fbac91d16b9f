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

// 16 bytes from byte `b` (any alignment) as four little-endian words: five word loads and funnel
// shifts, no branch (the fifth load is unused when `b` is aligned).
fn load_16(b: u32) -> vec4<u32> {
    let i = b >> 2u;
    let sh = (b & 3u) << 3u;
    let w = vec4<u32>(W[i], W[i + 1u], W[i + 2u], W[i + 3u]);
    let next = vec4<u32>(w.yzw, W[i + 4u]);
    // For sh = 0 the shift by 32 - sh would be out of range: select the aligned words instead.
    let r = select(32u - sh, 0u, sh == 0u);
    let shifted = (w >> vec4<u32>(sh)) | (next << vec4<u32>(r));
    return select(shifted, w, sh == 0u);
}

// 16 bytes from a 4-byte-aligned byte `b`: four word loads.
fn load_16_aligned(b: u32) -> vec4<u32> {
    let i = b >> 2u;
    return vec4<u32>(W[i], W[i + 1u], W[i + 2u], W[i + 3u]);
}

// The four bytes of `q` as floats, lowest byte first.
fn bytes_f32(q: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(q) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

// The four bytes of `q` as signed floats, lowest byte first.
fn bytes_i8_f32(q: u32) -> vec4<f32> {
    return vec4<f32>((vec4<i32>(bitcast<i32>(q)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

// The low four bits of `h` moved to bit 4 of bytes 0..3 (the fifth bit of four packed nibbles).
fn spread_bits4(h: u32) -> u32 {
    return ((h & 1u) << 4u) | ((h & 2u) << 11u) | ((h & 4u) << 18u) | ((h & 8u) << 25u);
}
