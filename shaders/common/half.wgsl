// IEEE binary16 <-> f32 with integer operations only: unpack2x16float and pack2x16float need
// capabilities some backends lack, and leave the rounding to the implementation, while the
// latent cache in f16 must round exactly as the CPU reference does (half::f16::from_f32: to
// nearest, ties to even), so a GPU and the CPU holding the same cache agree bit for bit.

// An IEEE half (bits in the low 16 of `h`) widened exactly to f32.
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

// The half nearest to `v` (ties to even; overflow to infinity, NaN kept a quiet NaN), as bits
// in the low 16.
fn f32_to_f16_bits(v: f32) -> u32 {
    let x = bitcast<u32>(v);
    let sign = (x >> 16u) & 0x8000u;
    let exp = (x >> 23u) & 0xffu;
    let mant = x & 0x7fffffu;
    if (exp == 255u) {
        return sign | 0x7c00u | select(0u, 0x200u | (mant >> 13u), mant != 0u);
    }
    // The value's exponent as a half's: e = exp - 127 + 15.
    let e = i32(exp) - 112;
    if (e >= 31) {
        return sign | 0x7c00u;
    }
    if (e <= 0) {
        // Subnormal or zero: the 24-bit significand shifted right by 14 - e, rounded.
        if (e < -10) {
            return sign;
        }
        let m = mant | 0x800000u;
        let shift = u32(14 - e);
        let q = m >> shift;
        let rem = m & ((1u << shift) - 1u);
        let half = 1u << (shift - 1u);
        let up = rem > half || (rem == half && (q & 1u) != 0u);
        return sign | (q + select(0u, 1u, up));
    }
    // Normal: drop 13 bits, rounded; a carry into the exponent is right (up to infinity).
    let q = (u32(e) << 10u) | (mant >> 13u);
    let rem = mant & 0x1fffu;
    let up = rem > 0x1000u || (rem == 0x1000u && (q & 1u) != 0u);
    return sign | (q + select(0u, 1u, up));
}
