//! Q5_0 and Q5_1: 32 weights per block, 5 bits each.
//!
//! The low 4 bits are packed like Q4_*: `qs[j]` holds element `j` (low nibble) and `j + 16` (high
//! nibble). The 5th bits are the 32 bits of `qh`, a little-endian u32: bit `j` belongs to element `j`.
//!   Q5_0 (22 bytes): d: f16 | qh[4] | qs[16]          x = d·(q − 16)
//!   Q5_1 (24 bytes): d: f16 | m: f16 | qh[4] | qs[16]  x = d·q + m

use bytemuck::{Pod, Zeroable};

use super::float::Half;

pub const QK5_0: usize = 32;
pub const QK5_1: usize = 32;

/// block_q5_0
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ5_0 {
    /// delta
    pub d: Half,
    /// 5-th bit of quants
    pub qh: [u8; 4],
    /// nibbles / quants
    pub qs: [u8; QK5_0 / 2],
}
const _: () = assert!(std::mem::size_of::<BlockQ5_0>() == 22);

/// block_q5_1
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ5_1 {
    /// delta
    pub d: Half,
    /// min
    pub m: Half,
    /// 5-th bit of quants
    pub qh: [u8; 4],
    /// nibbles / quants
    pub qs: [u8; QK5_1 / 2],
}
const _: () = assert!(std::mem::size_of::<BlockQ5_1>() == 24);

/// quantize_row_q5_0_ref: d = (the element of largest magnitude) / −16.
pub fn quantize_row_q5_0_ref(x: &[f32], y: &mut [BlockQ5_0]) {
    let qk = QK5_0;
    for (x, y) in x.chunks_exact(qk).zip(y.iter_mut()) {
        let mut amax = 0.0f32; // absolute max
        let mut max = 0.0f32;
        for &v in x {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }

        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };

        y.d = Half::from_f32(d);

        let mut qh = 0u32;
        for j in 0..qk / 2 {
            let x0 = x[j] * id;
            let x1 = x[qk / 2 + j] * id;

            let xi0 = 31.min((x0 + 16.5) as i8) as u8;
            let xi1 = 31.min((x1 + 16.5) as i8) as u8;

            y.qs[j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);

            // get the 5-th bit and store it in qh at the right position
            qh |= (((xi0 & 0x10) >> 4) as u32) << j;
            qh |= (((xi1 & 0x10) >> 4) as u32) << (j + qk / 2);
        }
        y.qh = qh.to_le_bytes();
    }
}

/// quantize_row_q5_1_ref: d = (max − min)/31, m = min.
pub fn quantize_row_q5_1_ref(x: &[f32], y: &mut [BlockQ5_1]) {
    let qk = QK5_1;
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

        let d = (max - min) / ((1 << 5) - 1) as f32;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };

        y.d = Half::from_f32(d);
        y.m = Half::from_f32(min);

        let mut qh = 0u32;
        for j in 0..qk / 2 {
            let x0 = (x[j] - min) * id;
            let x1 = (x[qk / 2 + j] - min) * id;

            let xi0 = (x0 + 0.5) as u8;
            let xi1 = (x1 + 0.5) as u8;

            y.qs[j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);

            // get the 5-th bit and store it in qh at the right position
            qh |= (((xi0 & 0x10) >> 4) as u32) << j;
            qh |= (((xi1 & 0x10) >> 4) as u32) << (j + qk / 2);
        }
        y.qh = qh.to_le_bytes();
    }
}

/// dequantize_row_q5_0
pub fn dequantize_row_q5_0(x: &[BlockQ5_0], y: &mut [f32]) {
    let qk = QK5_0;
    for (x, y) in x.iter().zip(y.chunks_exact_mut(qk)) {
        let d = x.d.to_f32();
        let qh = u32::from_le_bytes(x.qh);
        for j in 0..qk / 2 {
            let xh_0 = (((qh >> j) << 4) & 0x10) as u8;
            let xh_1 = ((qh >> (j + 12)) & 0x10) as u8;

            let x0 = ((x.qs[j] & 0x0F) | xh_0) as i32 - 16;
            let x1 = ((x.qs[j] >> 4) | xh_1) as i32 - 16;

            y[j] = x0 as f32 * d;
            y[j + qk / 2] = x1 as f32 * d;
        }
    }
}

/// dequantize_row_q5_1
pub fn dequantize_row_q5_1(x: &[BlockQ5_1], y: &mut [f32]) {
    let qk = QK5_1;
    for (x, y) in x.iter().zip(y.chunks_exact_mut(qk)) {
        let d = x.d.to_f32();
        let m = x.m.to_f32();
        let qh = u32::from_le_bytes(x.qh);
        for j in 0..qk / 2 {
            let xh_0 = (((qh >> j) << 4) & 0x10) as u8;
            let xh_1 = ((qh >> (j + 12)) & 0x10) as u8;

            let x0 = ((x.qs[j] & 0x0F) | xh_0) as i32;
            let x1 = ((x.qs[j] >> 4) | xh_1) as i32;

            y[j] = x0 as f32 * d + m;
            y[j + qk / 2] = x1 as f32 * d + m;
        }
    }
}
