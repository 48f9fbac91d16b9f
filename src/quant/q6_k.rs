//! Q6_K: 256 weights per super-block, 6 bits each, in 16 sub-blocks of 16 with a signed 8-bit
//! scale each: x = d·scale·(q − 32) (6.5625 bits per weight). No min.
//!
//! Layout (210 bytes): ql[128] | qh[64] | scales[16]: i8 | d: f16
//!   Two halves of 128 weights; half h uses ql[64h..64h+64] and qh[32h..32h+32]. Within a half,
//!   for l in 0..32: weight l is (ql[l] low nibble, qh[l] bits 0-1), weight 32 + l is
//!   (ql[32 + l] low, qh[l] bits 2-3), weight 64 + l is (ql[l] high, qh[l] bits 4-5), weight
//!   96 + l is (ql[32 + l] high, qh[l] bits 6-7). The high 2 bits are bits 4-5 of q.

// ggml's names (dequantize_row_q4_K, ...) and its indexed loops, kept so the code reads like ggml's.
#![allow(non_snake_case, clippy::needless_range_loop)]

use bytemuck::{Pod, Zeroable};

use super::float::Half;
use super::helpers::{make_qx_quants, nearest_int, GROUP_MAX_EPS};
use super::QK_K;

/// block_q6_K
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ6K {
    /// quants, lower 4 bits
    pub ql: [u8; QK_K / 2],
    /// quants, upper 2 bits
    pub qh: [u8; QK_K / 4],
    /// scales, quantized with 8 bits
    pub scales: [i8; QK_K / 16],
    /// super-block scale
    pub d: Half,
}
const _: () = assert!(std::mem::size_of::<BlockQ6K>() == 210);

/// quantize_row_q6_K_ref
pub fn quantize_row_q6_K_ref(x: &[f32], y: &mut [BlockQ6K]) {
    let mut l_q = [0i8; QK_K];
    let mut scales = [0f32; QK_K / 16];

    for (x, y) in x.chunks_exact(QK_K).zip(y.iter_mut()) {
        let mut max_scale = 0.0f32;
        let mut max_abs_scale = 0.0f32;

        for ib in 0..QK_K / 16 {
            let l_ib = &mut l_q[16 * ib..16 * ib + 16];
            let scale = make_qx_quants(16, 32, &x[16 * ib..16 * ib + 16], l_ib, 1, None);
            scales[ib] = scale;

            let abs_scale = scale.abs();
            if abs_scale > max_abs_scale {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }

        if max_abs_scale < GROUP_MAX_EPS {
            *y = BlockQ6K::zeroed();
            y.d = Half::from_f32(0.0);
            continue;
        }

        let iscale = -128.0 / max_scale;
        y.d = Half::from_f32(1.0 / iscale);
        for ib in 0..QK_K / 16 {
            y.scales[ib] = 127.min(nearest_int(iscale * scales[ib])) as i8;
        }

        for j in 0..QK_K / 16 {
            let d = y.d.to_f32() * y.scales[j] as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                let l = nearest_int(x[16 * j + ii] / d);
                l_q[16 * j + ii] = (l.clamp(-32, 31) + 32) as i8;
            }
        }

        for (h, (ql, qh)) in
            y.ql.chunks_exact_mut(64)
                .zip(y.qh.chunks_exact_mut(32))
                .enumerate()
        {
            let q = |k: usize| l_q[128 * h + k] as u8;
            for l in 0..32 {
                let q1 = q(l) & 0xF;
                let q2 = q(l + 32) & 0xF;
                let q3 = q(l + 64) & 0xF;
                let q4 = q(l + 96) & 0xF;
                ql[l] = q1 | (q3 << 4);
                ql[l + 32] = q2 | (q4 << 4);
                qh[l] = (q(l) >> 4)
                    | ((q(l + 32) >> 4) << 2)
                    | ((q(l + 64) >> 4) << 4)
                    | ((q(l + 96) >> 4) << 6);
            }
        }
    }
}

/// dequantize_row_q6_K
pub fn dequantize_row_q6_K(x: &[BlockQ6K], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();

        let halves = x.ql.chunks_exact(64).zip(x.qh.chunks_exact(32));
        for (h, ((ql, qh), y)) in halves.zip(y.chunks_exact_mut(128)).enumerate() {
            let sc = &x.scales[8 * h..8 * h + 8];
            for l in 0..32 {
                let is = l / 16;
                let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i8 - 32;
                let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
                let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
                let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
                y[l] = d * sc[is] as f32 * q1 as f32;
                y[l + 32] = d * sc[is + 2] as f32 * q2 as f32;
                y[l + 64] = d * sc[is + 4] as f32 * q3 as f32;
                y[l + 96] = d * sc[is + 6] as f32 * q4 as f32;
            }
        }
    }
}
