//! Q4_0 and Q4_1: 32 weights per block, 4 bits each.
//!
//! Both store the 32 quants in 16 bytes: `qs[j]` holds element `j` in its low nibble and element
//! `j + 16` in its high nibble.
//!   Q4_0 (18 bytes): d: f16 | qs[16]          x = d·(q − 8)
//!   Q4_1 (20 bytes): d: f16 | m: f16 | qs[16]  x = d·q + m

use bytemuck::{Pod, Zeroable};

use super::float::Half;

pub const QK4_0: usize = 32;
pub const QK4_1: usize = 32;

/// block_q4_0
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ4_0 {
    /// delta
    pub d: Half,
    /// nibbles / quants
    pub qs: [u8; QK4_0 / 2],
}
const _: () = assert!(std::mem::size_of::<BlockQ4_0>() == 18);

/// block_q4_1
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ4_1 {
    /// delta
    pub d: Half,
    /// min
    pub m: Half,
    /// nibbles / quants
    pub qs: [u8; QK4_1 / 2],
}
const _: () = assert!(std::mem::size_of::<BlockQ4_1>() == 20);

/// quantize_row_q4_0_ref: d = (the element of largest magnitude) / −8, so that element maps to
/// q = 0 and the others to round(x/d) + 8, capped at 15.
pub fn quantize_row_q4_0_ref(x: &[f32], y: &mut [BlockQ4_0]) {
    let qk = QK4_0;
    for (x, y) in x.chunks_exact(qk).zip(y.iter_mut()) {
        let mut amax = 0.0f32; // absolute max
        let mut max = 0.0f32;
        for &v in x {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }

        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };

        y.d = Half::from_f32(d);

        for j in 0..qk / 2 {
            let x0 = x[j] * id;
            let x1 = x[qk / 2 + j] * id;

            let xi0 = 15.min((x0 + 8.5) as i8) as u8;
            let xi1 = 15.min((x1 + 8.5) as i8) as u8;

            y.qs[j] = xi0 | (xi1 << 4);
        }
    }
}

/// quantize_row_q4_1_ref: d = (max − min)/15, m = min.
pub fn quantize_row_q4_1_ref(x: &[f32], y: &mut [BlockQ4_1]) {
    let qk = QK4_1;
    for (x, y) in x.chunks_exact(qk).zip(y.iter_mut()) {
        let mut min = f32::MAX;
        let mut max = -f32::MAX;
        for &v in x {
            if v < min {
                min = v;
            }
            if v > max {
                max = v;
            }
        }

        let d = (max - min) / ((1 << 4) - 1) as f32;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };

        y.d = Half::from_f32(d);
        y.m = Half::from_f32(min);

        for j in 0..qk / 2 {
            let x0 = (x[j] - min) * id;
            let x1 = (x[qk / 2 + j] - min) * id;

            let xi0 = 15.min((x0 + 0.5) as i8) as u8;
            let xi1 = 15.min((x1 + 0.5) as i8) as u8;

            y.qs[j] = xi0 | (xi1 << 4);
        }
    }
}

/// dequantize_row_q4_0
pub fn dequantize_row_q4_0(x: &[BlockQ4_0], y: &mut [f32]) {
    let qk = QK4_0;
    for (x, y) in x.iter().zip(y.chunks_exact_mut(qk)) {
        let d = x.d.to_f32();
        for j in 0..qk / 2 {
            let x0 = (x.qs[j] & 0x0F) as i32 - 8;
            let x1 = (x.qs[j] >> 4) as i32 - 8;

            y[j] = x0 as f32 * d;
            y[j + qk / 2] = x1 as f32 * d;
        }
    }
}

/// dequantize_row_q4_1
pub fn dequantize_row_q4_1(x: &[BlockQ4_1], y: &mut [f32]) {
    let qk = QK4_1;
    for (x, y) in x.iter().zip(y.chunks_exact_mut(qk)) {
        let d = x.d.to_f32();
        let m = x.m.to_f32();
        for j in 0..qk / 2 {
            let x0 = (x.qs[j] & 0x0F) as i32;
            let x1 = (x.qs[j] >> 4) as i32;

            y[j] = x0 as f32 * d + m;
            y[j + qk / 2] = x1 as f32 * d + m;
        }
    }
}
