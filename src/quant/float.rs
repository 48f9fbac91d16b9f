//! Float rows (F32, F16, BF16) and `Half`, the little-endian f16 field every quant block starts or
//! ends with (ggml's `ggml_half`).
//!
//! Conversions are ggml's: f16 → f32 is exact; f32 → f16 rounds to nearest, ties to even
//! (`GGML_FP32_TO_FP16`, the same as numpy's `astype(float16)`); f32 → bf16 is
//! `ggml_compute_fp32_to_bf16` (round to nearest even, NaN kept quiet); bf16 → f32 is exact.

use bytemuck::{Pod, Zeroable};
use half::f16;

/// An IEEE half stored as two little-endian bytes, so that blocks holding it have alignment 1 and
/// can be viewed in place over unaligned GGUF tensor bytes.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Half(pub [u8; 2]);

impl Half {
    /// GGML_FP16_TO_FP32 (exact).
    #[inline]
    pub fn to_f32(self) -> f32 {
        f16::from_bits(u16::from_le_bytes(self.0)).to_f32()
    }

    /// GGML_FP32_TO_FP16 (round to nearest, ties to even).
    #[inline]
    pub fn from_f32(x: f32) -> Half {
        Half(f16::from_f32(x).to_bits().to_le_bytes())
    }
}

/// ggml_compute_fp32_to_bf16.
#[inline]
pub fn fp32_to_bf16(x: f32) -> u16 {
    let u = x.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        // NaN: keep the payload's top bits and force it quiet.
        return ((u >> 16) | 64) as u16;
    }
    (u.wrapping_add(0x7fff + ((u >> 16) & 1)) >> 16) as u16
}

/// ggml_compute_bf16_to_fp32 (exact).
#[inline]
pub fn bf16_to_fp32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

// ---- rows over raw little-endian bytes: x holds exactly 4 (F32) or 2 (F16, BF16) bytes per element of y

pub fn dequantize_row_f32(x: &[u8], y: &mut [f32]) {
    for (b, y) in x.chunks_exact(4).zip(y.iter_mut()) {
        *y = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

pub fn quantize_row_f32(x: &[f32], y: &mut [u8]) {
    for (v, b) in x.iter().zip(y.chunks_exact_mut(4)) {
        b.copy_from_slice(&v.to_le_bytes());
    }
}

/// ggml_fp16_to_fp32_row.
pub fn dequantize_row_f16(x: &[u8], y: &mut [f32]) {
    for (b, y) in x.chunks_exact(2).zip(y.iter_mut()) {
        *y = Half([b[0], b[1]]).to_f32();
    }
}

/// ggml_fp32_to_fp16_row.
pub fn quantize_row_f16(x: &[f32], y: &mut [u8]) {
    for (v, b) in x.iter().zip(y.chunks_exact_mut(2)) {
        b.copy_from_slice(&Half::from_f32(*v).0);
    }
}

/// ggml_bf16_to_fp32_row.
pub fn dequantize_row_bf16(x: &[u8], y: &mut [f32]) {
    for (b, y) in x.chunks_exact(2).zip(y.iter_mut()) {
        *y = bf16_to_fp32(u16::from_le_bytes([b[0], b[1]]));
    }
}

/// ggml_fp32_to_bf16_row_ref.
pub fn quantize_row_bf16(x: &[f32], y: &mut [u8]) {
    for (v, b) in x.iter().zip(y.chunks_exact_mut(2)) {
        b.copy_from_slice(&fp32_to_bf16(*v).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even_and_keeps_nan_quiet() {
        assert_eq!(fp32_to_bf16(1.0), 0x3f80);
        // 1 + 2^-8 is halfway between two bf16 values: ties go to the even one (1.0).
        assert_eq!(fp32_to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(fp32_to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert_eq!(fp32_to_bf16(f32::from_bits(0x7f80_0001)), 0x7fc0);
        assert_eq!(fp32_to_bf16(f32::INFINITY), 0x7f80);
        assert_eq!(bf16_to_fp32(0xc040), -3.0);
    }

    #[test]
    fn half_rounds_to_nearest_even() {
        assert_eq!(Half::from_f32(1.0).0, [0x00, 0x3c]);
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even gives 1.
        assert_eq!(Half::from_f32(1.0 + 1.0 / 2048.0).to_f32(), 1.0);
        assert_eq!(Half::from_f32(65520.0).to_f32(), f32::INFINITY);
        assert_eq!(Half([0x01, 0x00]).to_f32(), 2f32.powi(-24));
    }
}
