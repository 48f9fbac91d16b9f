//! IQ4_NL and IQ4_XS: 4-bit non-linear quants. Each 4-bit index selects one of 16 fixed values
//! (`KVALUES_IQ4NL`, denser near zero) scaled by the block's scale.
//!
//! Both store 32 indices in 16 bytes as Q4_0 does: `qs[j]` holds element `j` in its low nibble
//! and element `j + 16` in its high nibble.
//!   IQ4_NL (18 bytes / 32):  d: f16 | qs[16]                          x = d·v[q]
//!   IQ4_XS (136 bytes / 256): d: f16 | scales_h: u16 | scales_l[4] | qs[128]; sub-block ib
//!     (32 elements) has the 6-bit scale ls = (nibble ib of scales_l) | (bits 2ib of scales_h)
//!     << 4, and x = d·(ls − 32)·v[q].

// Indexed loops as in ggml, so the two read side by side.
#![allow(clippy::needless_range_loop)]

use bytemuck::{Pod, Zeroable};

use super::float::Half;
use super::helpers::{nearest_int, GROUP_MAX_EPS};
use super::QK_K;

pub const QK4_NL: usize = 32;

/// kvalues_iq4nl: the 16 values an index selects.
pub const KVALUES_IQ4NL: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// block_iq4_nl
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ4NL {
    pub d: Half,
    pub qs: [u8; QK4_NL / 2],
}
const _: () = assert!(std::mem::size_of::<BlockIQ4NL>() == 18);

/// block_iq4_xs
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ4XS {
    pub d: Half,
    /// little-endian u16: the high 2 bits of the 8 sub-block scales
    pub scales_h: [u8; 2],
    /// the low 4 bits of the 8 sub-block scales, two per byte
    pub scales_l: [u8; QK_K / 64],
    pub qs: [u8; QK_K / 2],
}
const _: () = assert!(std::mem::size_of::<BlockIQ4XS>() == 136);

/// dequantize_row_iq4_nl
pub fn dequantize_row_iq4_nl(x: &[BlockIQ4NL], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK4_NL)) {
        let d = x.d.to_f32();
        for j in 0..QK4_NL / 2 {
            y[j] = d * KVALUES_IQ4NL[(x.qs[j] & 0xf) as usize] as f32;
            y[j + QK4_NL / 2] = d * KVALUES_IQ4NL[(x.qs[j] >> 4) as usize] as f32;
        }
    }
}

/// dequantize_row_iq4_xs
pub fn dequantize_row_iq4_xs(x: &[BlockIQ4XS], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        let scales_h = u16::from_le_bytes(x.scales_h) as i32;
        for ib in 0..QK_K / 32 {
            let ls = ((x.scales_l[ib / 2] as i32 >> (4 * (ib % 2))) & 0xf)
                | (((scales_h >> (2 * ib)) & 3) << 4);
            let dl = d * (ls - 32) as f32;
            let (qs, y) = (&x.qs[16 * ib..16 * ib + 16], &mut y[32 * ib..32 * ib + 32]);
            for j in 0..16 {
                y[j] = dl * KVALUES_IQ4NL[(qs[j] & 0xf) as usize] as f32;
                y[j + 16] = dl * KVALUES_IQ4NL[(qs[j] >> 4) as usize] as f32;
            }
        }
    }
}

/// best_index_int8: the index of the value of `val` (ascending) nearest to `x`, the lower one on
/// a tie.
fn best_index_int8(val: &[i8; 16], x: f32) -> u8 {
    if x <= val[0] as f32 {
        return 0;
    }
    if x >= val[15] as f32 {
        return 15;
    }
    let (mut ml, mut mu) = (0usize, 15usize);
    while mu - ml > 1 {
        let mav = (ml + mu) / 2;
        if x < val[mav] as f32 {
            mu = mav;
        } else {
            ml = mav;
        }
    }
    if x - (val[mu - 1] as f32) < val[mu] as f32 - x {
        (mu - 1) as u8
    } else {
        mu as u8
    }
}

/// What quantize_row_iq4_nl_impl writes besides the indices: the super-block scale, and for
/// super-blocks of several blocks (IQ4_XS) the packed 6-bit block scales.
struct Iq4Out<'a> {
    dh: &'a mut Half,
    q4: &'a mut [u8],
    scales: Option<(&'a mut [u8; 2], &'a mut [u8])>,
}

/// quantize_row_iq4_nl_impl without an importance matrix (weights x²) and with ntry = 7, as
/// llama-quantize runs it for both types: per block of 32, the scale of the best of 15 trial
/// scales around max/values[0]; with several blocks (IQ4_XS), 6-bit block scales relative to
/// the super-block scale and the indices chosen again with the rounded scales.
fn quantize_row_iq4_nl_impl(super_block_size: usize, block_size: usize, x: &[f32], out: Iq4Out) {
    let values = &KVALUES_IQ4NL;
    let ntry = 7i32;
    let mut scales = [0f32; QK_K / 32];
    let mut weight = [0f32; 32];
    let mut l = [0u8; QK_K];
    out.q4.fill(0);
    *out.dh = Half::from_f32(0.0);
    let (mut max_scale, mut amax_scale) = (0f32, 0f32);
    for ib in 0..super_block_size / block_size {
        let xb = &x[ib * block_size..(ib + 1) * block_size];
        let lb = &mut l[ib * block_size..(ib + 1) * block_size];
        for j in 0..block_size {
            weight[j] = xb[j] * xb[j];
        }
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in xb {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax < GROUP_MAX_EPS {
            scales[ib] = 0.0;
            continue;
        }
        let mut d = -max / values[0] as f32;
        let mut id = 1.0 / d;
        let (mut sumqx, mut sumq2) = (0f32, 0f32);
        for j in 0..block_size {
            let li = best_index_int8(values, id * xb[j]);
            lb[j] = li;
            let q = values[li as usize] as f32;
            let w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumqx / sumq2;
        let mut best = d * sumqx;
        for itry in -ntry..=ntry {
            id = (itry + values[0] as i32) as f32 / max;
            sumqx = 0.0;
            sumq2 = 0.0;
            for j in 0..block_size {
                let q = values[best_index_int8(values, id * xb[j]) as usize] as f32;
                let w = weight[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        if d.abs() > amax_scale {
            amax_scale = d.abs();
            max_scale = d;
        }
    }
    match out.scales {
        Some((scales_h, scales_l)) => {
            let mut sh = 0u16;
            let d = -max_scale / 32.0;
            *out.dh = Half::from_f32(d);
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            for ib in 0..super_block_size / block_size {
                let li = nearest_int(id * scales[ib]).clamp(-32, 31);
                let dl = d * li as f32;
                let idl = if dl != 0.0 { 1.0 / dl } else { 0.0 };
                let xb = &x[ib * block_size..(ib + 1) * block_size];
                for j in 0..block_size {
                    l[ib * block_size + j] = best_index_int8(values, idl * xb[j]);
                }
                let li = (li + 32) as u8;
                if ib % 2 == 0 {
                    scales_l[ib / 2] = li & 0xf;
                } else {
                    scales_l[ib / 2] |= (li & 0xf) << 4;
                }
                sh |= ((li >> 4) as u16) << (2 * (ib % 8));
            }
            *scales_h = sh.to_le_bytes();
        }
        None => {
            *out.dh = Half::from_f32(scales[0]);
            let id = if scales[0] != 0.0 {
                1.0 / scales[0]
            } else {
                0.0
            };
            for j in 0..super_block_size {
                l[j] = best_index_int8(values, id * x[j]);
            }
        }
    }
    for i in 0..super_block_size / 32 {
        for j in 0..16 {
            out.q4[16 * i + j] = l[32 * i + j] | (l[32 * i + 16 + j] << 4);
        }
    }
}

/// quantize_iq4_nl without an importance matrix (what llama-quantize writes without one).
pub fn quantize_row_iq4_nl_ref(x: &[f32], y: &mut [BlockIQ4NL]) {
    for (x, y) in x.chunks_exact(QK4_NL).zip(y.iter_mut()) {
        let out = Iq4Out {
            dh: &mut y.d,
            q4: &mut y.qs,
            scales: None,
        };
        quantize_row_iq4_nl_impl(QK4_NL, 32, x, out);
    }
}

/// quantize_row_iq4_xs_ref (quantize_iq4_xs without an importance matrix).
pub fn quantize_row_iq4_xs_ref(x: &[f32], y: &mut [BlockIQ4XS]) {
    for (x, y) in x.chunks_exact(QK_K).zip(y.iter_mut()) {
        let out = Iq4Out {
            dh: &mut y.d,
            q4: &mut y.qs,
            scales: Some((&mut y.scales_h, &mut y.scales_l)),
        };
        quantize_row_iq4_nl_impl(QK_K, 32, x, out);
    }
}
