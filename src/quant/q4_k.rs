//! Q4_K: 256 weights per super-block, 4 bits each, in 8 sub-blocks of 32 with a 6-bit scale and
//! a 6-bit min each: x = d·scale·q − dmin·min (4.5 bits per weight).
//!
//! Layout (144 bytes): d: f16 | dmin: f16 | scales[12] | qs[128]
//!   scales: 8 scales and 8 mins of 6 bits, packed as get_scale_min_k4 reads them.
//!   qs: four chunks of 32 bytes; chunk c holds sub-block 2c in the low nibbles and sub-block
//!   2c + 1 in the high nibbles (weight 64c + l low, 64c + 32 + l high, of byte l).

// ggml's names (dequantize_row_q4_K, ...) and its indexed loops, kept so the code reads like ggml's.
#![allow(non_snake_case, clippy::needless_range_loop)]

use bytemuck::{Pod, Zeroable};

use super::float::Half;
use super::helpers::{get_scale_min_k4, make_qkx2_quants, nearest_int};
use super::QK_K;

/// Bytes of packed 6-bit scales and mins in Q4_K and Q5_K (K_SCALE_SIZE).
pub const K_SCALE_SIZE: usize = 12;

/// block_q4_K
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ4K {
    /// super-block scale for quantized scales
    pub d: Half,
    /// super-block scale for quantized mins
    pub dmin: Half,
    /// scales and mins, quantized with 6 bits
    pub scales: [u8; K_SCALE_SIZE],
    /// 4-bit quants
    pub qs: [u8; QK_K / 2],
}
const _: () = assert!(std::mem::size_of::<BlockQ4K>() == 144);

/// The scale/min search shared by quantize_row_q4_K_ref and quantize_row_q5_K_ref: per sub-block
/// of 32, make_qkx2_quants with weights av_x + |x|, then the 8 scales and mins quantized to 6
/// bits against their maxima and packed into `scales_out`. Returns (d, dmin) as f32, before the
/// caller stores them as f16.
pub(super) fn quantize_k_scales(
    x: &[f32],
    nmax: i32,
    rmin: f32,
    nstep: i32,
    l_q: &mut [u8; QK_K],
    scales_out: &mut [u8; K_SCALE_SIZE],
) -> (f32, f32) {
    let mut l_aux = [0u8; 32];
    let mut weights = [0f32; 32];
    let mut mins = [0f32; QK_K / 32];
    let mut scales = [0f32; QK_K / 32];

    let mut max_scale = 0.0f32; // as we are deducting the min, scales are always positive
    let mut max_min = 0.0f32;
    for j in 0..QK_K / 32 {
        let xj = &x[32 * j..32 * j + 32];
        let mut sum_x2 = 0.0f32;
        for &v in xj {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        for l in 0..32 {
            weights[l] = av_x + xj[l].abs();
        }
        let l_j = &mut l_q[32 * j..32 * j + 32];
        (scales[j], mins[j]) = make_qkx2_quants(
            32, nmax, xj, &weights, l_j, &mut l_aux, rmin, 0.1, nstep, false,
        );
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }

    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    for j in 0..QK_K / 32 {
        let ls = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        let lm = (nearest_int(inv_min * mins[j]) as u8).min(63);
        if j < 4 {
            scales_out[j] = ls;
            scales_out[j + 4] = lm;
        } else {
            scales_out[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
            scales_out[j - 4] |= (ls >> 4) << 6;
            scales_out[j] |= (lm >> 4) << 6;
        }
    }
    (max_scale / 63.0, max_min / 63.0)
}

/// quantize_row_q4_K_ref
pub fn quantize_row_q4_K_ref(x: &[f32], y: &mut [BlockQ4K]) {
    let mut l_q = [0u8; QK_K];

    for (x, y) in x.chunks_exact(QK_K).zip(y.iter_mut()) {
        let (d, dmin) = quantize_k_scales(x, 15, -1.0, 20, &mut l_q, &mut y.scales);
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
                l_q[32 * j + ii] = l.clamp(0, 15) as u8;
            }
        }

        for (c, q) in y.qs.chunks_exact_mut(32).enumerate() {
            let j = 64 * c;
            for l in 0..32 {
                q[l] = l_q[j + l] | (l_q[j + l + 32] << 4);
            }
        }
    }
}

/// dequantize_row_q4_K
pub fn dequantize_row_q4_K(x: &[BlockQ4K], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        let min = x.dmin.to_f32();

        for (c, (q, y)) in
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
                y[l] = d1 * (q[l] & 0xF) as f32 - m1;
            }
            for l in 0..32 {
                y[32 + l] = d2 * (q[l] >> 4) as f32 - m2;
            }
        }
    }
}
