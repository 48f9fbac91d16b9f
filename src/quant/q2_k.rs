//! Q2_K: 256 weights per super-block, 2 bits each, in 16 sub-blocks of 16 with a 4-bit scale and
//! a 4-bit min each: x = d·scale·q − dmin·min (2.625 bits per weight).
//!
//! Layout (84 bytes): scales[16] | qs[64] | d: f16 | dmin: f16
//!   scales[j]: low nibble = scale of sub-block j, high nibble = its min.
//!   qs: two halves of 128 weights, 32 bytes each. In half h, byte `l` (0..32) holds weight
//!   `128h + 32s + l` in bits 2s..2s+2, for s = 0..4. Sub-block j is 16 consecutive weights.

// ggml's names (dequantize_row_q4_K, ...) and its indexed loops, kept so the code reads like ggml's.
#![allow(non_snake_case, clippy::needless_range_loop)]

use bytemuck::{Pod, Zeroable};

use super::float::Half;
use super::helpers::{make_qkx2_quants, nearest_int};
use super::QK_K;

/// block_q2_K
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ2K {
    /// scales and mins, quantized with 4 bits
    pub scales: [u8; QK_K / 16],
    /// quants
    pub qs: [u8; QK_K / 4],
    /// super-block scale for quantized scales
    pub d: Half,
    /// super-block scale for quantized mins
    pub dmin: Half,
}
const _: () = assert!(std::mem::size_of::<BlockQ2K>() == 84);

/// quantize_row_q2_K_ref
pub fn quantize_row_q2_K_ref(x: &[f32], y: &mut [BlockQ2K]) {
    let mut l_q = [0u8; QK_K];
    let mut l_aux = [0u8; 16];
    let mut weights = [0f32; 16];
    let mut mins = [0f32; QK_K / 16];
    let mut scales = [0f32; QK_K / 16];

    let q4scale = 15.0f32;

    for (x, y) in x.chunks_exact(QK_K).zip(y.iter_mut()) {
        let mut max_scale = 0.0f32; // as we are deducting the min, scales are always positive
        let mut max_min = 0.0f32;
        for j in 0..QK_K / 16 {
            let xj = &x[16 * j..16 * j + 16];
            for l in 0..16 {
                weights[l] = xj[l].abs();
            }
            let l_j = &mut l_q[16 * j..16 * j + 16];
            (scales[j], mins[j]) =
                make_qkx2_quants(16, 3, xj, &weights, l_j, &mut l_aux, -0.5, 0.1, 15, true);
            if scales[j] > max_scale {
                max_scale = scales[j];
            }
            if mins[j] > max_min {
                max_min = mins[j];
            }
        }

        if max_scale > 0.0 {
            let iscale = q4scale / max_scale;
            for j in 0..QK_K / 16 {
                y.scales[j] = nearest_int(iscale * scales[j]) as u8;
            }
            y.d = Half::from_f32(max_scale / q4scale);
        } else {
            y.scales = [0; QK_K / 16];
            y.d = Half::from_f32(0.0);
        }
        if max_min > 0.0 {
            let iscale = q4scale / max_min;
            for j in 0..QK_K / 16 {
                let l = nearest_int(iscale * mins[j]);
                y.scales[j] |= (l << 4) as u8;
            }
            y.dmin = Half::from_f32(max_min / q4scale);
        } else {
            y.dmin = Half::from_f32(0.0);
        }
        for j in 0..QK_K / 16 {
            let d = y.d.to_f32() * (y.scales[j] & 0xF) as f32;
            if d == 0.0 {
                continue;
            }
            let dm = y.dmin.to_f32() * (y.scales[j] >> 4) as f32;
            for ii in 0..16 {
                let l = nearest_int((x[16 * j + ii] + dm) / d);
                l_q[16 * j + ii] = l.clamp(0, 3) as u8;
            }
        }

        for j in (0..QK_K).step_by(128) {
            for l in 0..32 {
                let q = &l_q[j..];
                y.qs[j / 4 + l] = q[l] | (q[l + 32] << 2) | (q[l + 64] << 4) | (q[l + 96] << 6);
            }
        }
    }
}

/// dequantize_row_q2_K
pub fn dequantize_row_q2_K(x: &[BlockQ2K], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        let min = x.dmin.to_f32();

        let mut out = 0;
        let mut is = 0;
        for q in x.qs.chunks_exact(32) {
            let mut shift = 0;
            for _j in 0..4 {
                for half in [&q[..16], &q[16..]] {
                    let sc = x.scales[is];
                    is += 1;
                    let dl = d * (sc & 0xF) as f32;
                    let ml = min * (sc >> 4) as f32;
                    for &ql in half {
                        y[out] = dl * ((ql >> shift) & 3) as f32 - ml;
                        out += 1;
                    }
                }
                shift += 2;
            }
        }
    }
}
