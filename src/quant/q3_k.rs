//! Q3_K: 256 weights per super-block, 3 bits each, in 16 sub-blocks of 16 with a signed 6-bit
//! scale each: x = d·(scale − 32)·(q − 4) (3.4375 bits per weight). No min.
//!
//! Layout (110 bytes): hmask[32] | qs[64] | scales[12] | d: f16
//!   qs: the low 2 bits, packed like Q2_K (half h, byte l, bits 2s..2s+2 → weight 128h + 32s + l).
//!   hmask: the high bit; bit b of hmask[l] belongs to weight 32b + l. A set bit means q ≥ 4.
//!   scales: 16 6-bit values. Bytes 0..8 hold the low 4 bits (scale j in byte j%8, low nibble for
//!   j < 8, high nibble for j ≥ 8); bytes 8..12 hold the high 2 bits (scale j in byte 8 + j%4,
//!   bits 2(j/4)..2(j/4)+2).

// ggml's names (dequantize_row_q4_K, ...) and its indexed loops, kept so the code reads like ggml's.
#![allow(non_snake_case, clippy::needless_range_loop)]

use bytemuck::{Pod, Zeroable};

use super::float::Half;
use super::helpers::{make_q3_quants, nearest_int};
use super::QK_K;

/// block_q3_K
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockQ3K {
    /// quants - high bit
    pub hmask: [u8; QK_K / 8],
    /// quants - low 2 bits
    pub qs: [u8; QK_K / 4],
    /// scales, quantized with 6 bits
    pub scales: [u8; 12],
    /// super-block scale
    pub d: Half,
}
const _: () = assert!(std::mem::size_of::<BlockQ3K>() == 110);

/// quantize_row_q3_K_ref
pub fn quantize_row_q3_K_ref(x: &[f32], y: &mut [BlockQ3K]) {
    let mut l_q = [0i8; QK_K];
    let mut scales = [0f32; QK_K / 16];

    for (x, y) in x.chunks_exact(QK_K).zip(y.iter_mut()) {
        let mut max_scale = 0.0f32;
        let mut amax = 0.0f32;
        for j in 0..QK_K / 16 {
            let l_j = &mut l_q[16 * j..16 * j + 16];
            scales[j] = make_q3_quants(16, 4, &x[16 * j..16 * j + 16], l_j, true);
            let scale = scales[j].abs();
            if scale > amax {
                amax = scale;
                max_scale = scales[j];
            }
        }

        y.scales = [0; 12];
        if max_scale != 0.0 {
            let iscale = -32.0 / max_scale;
            for j in 0..QK_K / 16 {
                let l = nearest_int(iscale * scales[j]) as i8;
                let mut l = (l.clamp(-32, 31) + 32) as u8;
                if j < 8 {
                    y.scales[j] = l & 0xF;
                } else {
                    y.scales[j - 8] |= (l & 0xF) << 4;
                }
                l >>= 4;
                y.scales[j % 4 + 8] |= l << (2 * (j / 4));
            }
            y.d = Half::from_f32(1.0 / iscale);
        } else {
            y.d = Half::from_f32(0.0);
        }

        for j in 0..QK_K / 16 {
            let sc = if j < 8 {
                y.scales[j] & 0xF
            } else {
                y.scales[j - 8] >> 4
            };
            let sc = (sc | (((y.scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) as i32 - 32;
            let d = y.d.to_f32() * sc as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                let l = nearest_int(x[16 * j + ii] / d);
                l_q[16 * j + ii] = (l.clamp(-4, 3) + 4) as i8;
            }
        }

        y.hmask = [0; QK_K / 8];
        // We put the high-bit for the 1st 8 quants into bit 0, the next 8 into bit 1, etc.
        let mut m = 0;
        let mut hm = 1u8;
        for l in l_q.iter_mut() {
            if *l > 3 {
                y.hmask[m] |= hm;
                *l -= 4;
            }
            m += 1;
            if m == QK_K / 8 {
                m = 0;
                hm <<= 1;
            }
        }
        for j in (0..QK_K).step_by(128) {
            let q = |k: usize| l_q[j + k] as u8;
            for l in 0..32 {
                y.qs[j / 4 + l] = q(l) | (q(l + 32) << 2) | (q(l + 64) << 4) | (q(l + 96) << 6);
            }
        }
    }
}

/// The 16 scales of a block as stored (0..64, before the −32), unpacked the way
/// dequantize_row_q3_K does it: through four u32 with masks 0x03030303 and 0x0f0f0f0f.
pub fn unpack_q3_k_scales(scales: &[u8; 12]) -> [i8; 16] {
    const KMASK1: u32 = 0x0303_0303;
    const KMASK2: u32 = 0x0f0f_0f0f;
    let word =
        |k: usize| u32::from_le_bytes([scales[k], scales[k + 1], scales[k + 2], scales[k + 3]]);
    let (a0, a1, tmp) = (word(0), word(4), word(8));
    let aux = [
        (a0 & KMASK2) | ((tmp & KMASK1) << 4),
        (a1 & KMASK2) | (((tmp >> 2) & KMASK1) << 4),
        ((a0 >> 4) & KMASK2) | (((tmp >> 4) & KMASK1) << 4),
        ((a1 >> 4) & KMASK2) | (((tmp >> 6) & KMASK1) << 4),
    ];
    let mut out = [0i8; 16];
    for (k, a) in aux.iter().enumerate() {
        for (b, v) in a.to_le_bytes().iter().enumerate() {
            out[4 * k + b] = *v as i8;
        }
    }
    out
}

/// dequantize_row_q3_K
pub fn dequantize_row_q3_K(x: &[BlockQ3K], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d_all = x.d.to_f32();
        let scales = unpack_q3_k_scales(&x.scales);
        let hm = &x.hmask;
        let mut m = 1u8;

        let mut out = 0;
        let mut is = 0;
        for q in x.qs.chunks_exact(32) {
            let mut shift = 0;
            for _j in 0..4 {
                for half in [0, 16] {
                    let dl = d_all * (scales[is] as i32 - 32) as f32;
                    is += 1;
                    for l in half..half + 16 {
                        let low = ((q[l] >> shift) & 3) as i32;
                        let high = if hm[l] & m != 0 { 0 } else { 4 };
                        y[out] = dl * (low - high) as f32;
                        out += 1;
                    }
                }
                shift += 2;
                m <<= 1;
            }
        }
    }
}
