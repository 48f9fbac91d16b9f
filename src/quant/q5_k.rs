//! Q5_K: 256 weights per super-block, 5 bits each, in 8 sub-blocks of 32 with a 6-bit scale and
//! a 6-bit min each: x = d·scale·q − dmin·min (5.5 bits per weight).
//!
//! Layout (176 bytes): d: f16 | dmin: f16 | scales[12] | qh[32] | qs[128]
//!   scales: as in Q4_K (get_scale_min_k4).
//!   qs: the low 4 bits, packed as in Q4_K (chunk c: sub-block 2c low nibbles, 2c + 1 high).
//!   qh: the 5th bit; bit 2c of qh[l] belongs to weight 64c + l, bit 2c + 1 to weight 64c + 32 + l.

// ggml's names (dequantize_row_q4_K, ...) and its indexed loops, kept so the code reads like ggml's.
#![allow(non_snake_case, clippy::needless_range_loop)]

use bytemuck::{Pod, Zeroable};

use super::float::Half;
use super::helpers::{get_scale_min_k4, nearest_int};
use super::q4_k::{quantize_k_scales, K_SCALE_SIZE};
use super::QK_K;

/// block_q5_K
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ5K {
    /// super-block scale for quantized scales
    pub d: Half,
    /// super-block scale for quantized mins
    pub dmin: Half,
    /// scales and mins, quantized with 6 bits
    pub scales: [u8; K_SCALE_SIZE],
    /// quants, high bit
    pub qh: [u8; QK_K / 8],
    /// quants, low 4 bits
    pub qs: [u8; QK_K / 2],
}
const _: () = assert!(std::mem::size_of::<BlockQ5K>() == 176);

/// quantize_row_q5_K_ref
pub fn quantize_row_q5_K_ref(x: &[f32], y: &mut [BlockQ5K]) {
    let mut l_q = [0u8; QK_K];

    for (x, y) in x.chunks_exact(QK_K).zip(y.iter_mut()) {
        let (d, dmin) = quantize_k_scales(x, 31, -0.5, 15, &mut l_q, &mut y.scales);
        y.d = Half::from_f32(d);
        y.dmin = Half::from_f32(dmin);

        for j in 0..QK_K / 32 {
            let (sc, m) = get_scale_min_k4(j, &y.scales);
            let d = y.d.to_f32() * sc as f32;
            if d == 0.0 {
                continue;
            }
            let dm = y.dmin.to_f32() * m as f32;
            for ii in 0..32 {
                let l = nearest_int((x[32 * j + ii] + dm) / d);
                l_q[32 * j + ii] = l.clamp(0, 31) as u8;
            }
        }

        y.qh = [0; QK_K / 8];
        let (mut m1, mut m2) = (1u8, 2u8);
        for (c, ql) in y.qs.chunks_exact_mut(32).enumerate() {
            let n = 64 * c;
            for j in 0..32 {
                let mut l1 = l_q[n + j];
                if l1 > 15 {
                    l1 -= 16;
                    y.qh[j] |= m1;
                }
                let mut l2 = l_q[n + j + 32];
                if l2 > 15 {
                    l2 -= 16;
                    y.qh[j] |= m2;
                }
                ql[j] = l1 | (l2 << 4);
            }
            m1 <<= 2;
            m2 <<= 2;
        }
    }
}

/// dequantize_row_q5_K
pub fn dequantize_row_q5_K(x: &[BlockQ5K], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        let min = x.dmin.to_f32();
        let qh = &x.qh;

        let (mut u1, mut u2) = (1u8, 2u8);
        for (c, (ql, y)) in
            x.qs.chunks_exact(32)
                .zip(y.chunks_exact_mut(64))
                .enumerate()
        {
            let is = 2 * c;
            let (sc, m) = get_scale_min_k4(is, &x.scales);
            let d1 = d * sc as f32;
            let m1 = min * m as f32;
            let (sc, m) = get_scale_min_k4(is + 1, &x.scales);
            let d2 = d * sc as f32;
            let m2 = min * m as f32;
            for l in 0..32 {
                let high = if qh[l] & u1 != 0 { 16 } else { 0 };
                y[l] = d1 * ((ql[l] & 0xF) + high) as f32 - m1;
            }
            for l in 0..32 {
                let high = if qh[l] & u2 != 0 { 16 } else { 0 };
                y[32 + l] = d2 * ((ql[l] >> 4) + high) as f32 - m2;
            }
            u1 <<= 2;
            u2 <<= 2;
        }
    }
}
