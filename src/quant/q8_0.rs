//! Q8_0: 32 weights per block, one signed byte each.
//!   (34 bytes): d: f16 | qs[32]: i8    x = d·q, d = max|x|/127

use bytemuck::{Pod, Zeroable};

use super::float::Half;

pub const QK8_0: usize = 32;

/// block_q8_0
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ8_0 {
    /// delta
    pub d: Half,
    /// quants
    pub qs: [i8; QK8_0],
}
const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 34);

/// quantize_row_q8_0_ref: q = roundf(x/d), rounding halves away from zero.
pub fn quantize_row_q8_0_ref(x: &[f32], y: &mut [BlockQ8_0]) {
    for (x, y) in x.chunks_exact(QK8_0).zip(y.iter_mut()) {
        let mut amax = 0.0f32; // absolute max
        for &v in x {
            // MAX(amax, fabsf(v))
            amax = if amax > v.abs() { amax } else { v.abs() };
        }

        let d = amax / ((1 << 7) - 1) as f32;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };

        y.d = Half::from_f32(d);

        for (q, &v) in y.qs.iter_mut().zip(x) {
            let x0 = v * id;
            *q = x0.round() as i8;
        }
    }
}

/// dequantize_row_q8_0
pub fn dequantize_row_q8_0(x: &[BlockQ8_0], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK8_0)) {
        let d = x.d.to_f32();
        for (y, &q) in y.iter_mut().zip(&x.qs) {
            *y = q as f32 * d;
        }
    }
}
