//! The grid i-quants: IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S and IQ1_M. Groups of 8 (IQ2,
//! IQ1) or 4 (IQ3) weights are stored as an index into a fixed grid of magnitude patterns
//! ([`super::iq_grids`]), with separate sign bits (IQ2, IQ3) or a shared offset (IQ1), and
//! scales per 32 (IQ1_S, IQ2_XXS, IQ3_XXS), per 16 (IQ1_M, IQ2_XS, IQ2_S) or per 64 (IQ3_S)
//! weights. llama.cpp quantizes them only with an importance matrix, so this build reads them
//! (ggml's `dequantize_row_*`, bit for bit) and does not write them.
//!
//! Block layouts (256 elements each; sub-block ib = 32 elements, group l = 8 of them):
//!   IQ2_XXS (66 B):  d f16 | qs: u16[32]. Per ib, words aux0 = qs[4ib..4ib+2], aux1 =
//!     qs[4ib+2..4ib+4] (as two u32): aux0's byte l indexes iq2xxs_grid, 7 bits of aux1 at 7l
//!     index ksigns_iq2xs, aux1 >> 28 is the scale: d·(0.5 + s)·0.25.
//!   IQ2_XS (74 B):   d | qs: u16[32] (9-bit grid index, 7-bit sign index) | scales[8] (two 4-bit
//!     scales per ib, one per 16).
//!   IQ2_S (82 B):    d | qs[64] (grid index low 8 bits, then 32 sign bytes) | qh[8] (2 high bits
//!     per group) | scales[8].
//!   IQ3_XXS (98 B):  d | qs[64] (one iq3xxs_grid index per 4) | 32 bytes of per-ib u32: 4×7
//!     sign-index bits, scale in the top 4: d·(0.5 + s)·0.5.
//!   IQ3_S (110 B):   d | qs[64] | qh[8] (9th index bit) | signs[32] (one bit per weight) |
//!     scales[4] (4 bits per 64 weights: d·(1 + 2s)).
//!   IQ1_S (50 B):    d | qs[32] (low 8 bits of an 11-bit iq1s_grid index) | qh: u16[8] (per ib:
//!     3 high bits per group, a 3-bit scale at 12, the offset's sign at 15).
//!   IQ1_M (56 B):    qs[32] | qh[16] (3 high bits and the offset's sign per group) | scales[8]:
//!     u16[4] holding 3-bit scales per 16 weights and, in their top nibbles, the block's f16 d.

// Indexed loops as in ggml, so the two read side by side.
#![allow(clippy::needless_range_loop)]

use bytemuck::{Pod, Zeroable};

use super::float::Half;
use super::iq_grids::{
    IQ1S_GRID, IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID, KMASK_IQ2XS,
    KSIGNS_IQ2XS,
};
use super::QK_K;

/// ggml's IQ1S_DELTA (also IQ1_M's): the offset added to every grid value before scaling.
pub const IQ1S_DELTA: f32 = 0.125;

/// block_iq2_xxs
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ2XXS {
    pub d: Half,
    /// u16[QK_K / 8], little-endian
    pub qs: [u8; QK_K / 4],
}
const _: () = assert!(std::mem::size_of::<BlockIQ2XXS>() == 66);

/// block_iq2_xs
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ2XS {
    pub d: Half,
    /// u16[QK_K / 8], little-endian
    pub qs: [u8; QK_K / 4],
    pub scales: [u8; QK_K / 32],
}
const _: () = assert!(std::mem::size_of::<BlockIQ2XS>() == 74);

/// block_iq2_s
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ2S {
    pub d: Half,
    /// grid index low bits [QK_K / 8], then the sign bytes [QK_K / 8]
    pub qs: [u8; QK_K / 4],
    pub qh: [u8; QK_K / 32],
    pub scales: [u8; QK_K / 32],
}
const _: () = assert!(std::mem::size_of::<BlockIQ2S>() == 82);

/// block_iq3_xxs
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ3XXS {
    pub d: Half,
    /// grid indices [QK_K / 4], then scales and signs as u32[QK_K / 32]
    pub qs: [u8; 3 * QK_K / 8],
}
const _: () = assert!(std::mem::size_of::<BlockIQ3XXS>() == 98);

/// block_iq3_s
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ3S {
    pub d: Half,
    pub qs: [u8; QK_K / 4],
    pub qh: [u8; QK_K / 32],
    pub signs: [u8; QK_K / 8],
    pub scales: [u8; QK_K / 64],
}
const _: () = assert!(std::mem::size_of::<BlockIQ3S>() == 110);

/// block_iq1_s
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ1S {
    pub d: Half,
    pub qs: [u8; QK_K / 8],
    /// u16[QK_K / 32], little-endian
    pub qh: [u8; QK_K / 16],
}
const _: () = assert!(std::mem::size_of::<BlockIQ1S>() == 50);

/// block_iq1_m
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BlockIQ1M {
    pub qs: [u8; QK_K / 8],
    pub qh: [u8; QK_K / 16],
    /// u16[4], little-endian: 3-bit scales, and the block's f16 scale in the top nibbles
    pub scales: [u8; QK_K / 32],
}
const _: () = assert!(std::mem::size_of::<BlockIQ1M>() == 56);

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[2 * i], b[2 * i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

/// Byte j of a grid entry.
fn grid_byte(entry: u64, j: usize) -> u8 {
    (entry >> (8 * j)) as u8
}

/// ±1 for bit j of a sign byte (set: negative).
fn sign(signs: u8, j: usize) -> f32 {
    if signs & KMASK_IQ2XS[j] != 0 {
        -1.0
    } else {
        1.0
    }
}

/// Eight weights of an IQ2 group: db · grid[j] · sign j.
fn iq2_group(y: &mut [f32], db: f32, entry: u64, signs: u8) {
    for j in 0..8 {
        y[j] = db * grid_byte(entry, j) as f32 * sign(signs, j);
    }
}

/// dequantize_row_iq2_xxs
pub fn dequantize_row_iq2_xxs(x: &[BlockIQ2XXS], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        for ib32 in 0..QK_K / 32 {
            let aux0 = u32_at(&x.qs, 2 * ib32);
            let aux1 = u32_at(&x.qs, 2 * ib32 + 1);
            let db = d * (0.5 + (aux1 >> 28) as f32) * 0.25;
            for l in 0..4 {
                let entry = IQ2XXS_GRID[((aux0 >> (8 * l)) & 0xff) as usize];
                let signs = KSIGNS_IQ2XS[((aux1 >> (7 * l)) & 127) as usize];
                iq2_group(&mut y[32 * ib32 + 8 * l..], db, entry, signs);
            }
        }
    }
}

/// dequantize_row_iq2_xs
pub fn dequantize_row_iq2_xs(x: &[BlockIQ2XS], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        for ib32 in 0..QK_K / 32 {
            let db = [
                d * (0.5 + (x.scales[ib32] & 0xf) as f32) * 0.25,
                d * (0.5 + (x.scales[ib32] >> 4) as f32) * 0.25,
            ];
            for l in 0..4 {
                let q = u16_at(&x.qs, 4 * ib32 + l);
                let entry = IQ2XS_GRID[(q & 511) as usize];
                let signs = KSIGNS_IQ2XS[(q >> 9) as usize];
                iq2_group(&mut y[32 * ib32 + 8 * l..], db[l / 2], entry, signs);
            }
        }
    }
}

/// dequantize_row_iq2_s
pub fn dequantize_row_iq2_s(x: &[BlockIQ2S], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        let (qs, signs) = x.qs.split_at(QK_K / 8);
        for ib32 in 0..QK_K / 32 {
            let db = [
                d * (0.5 + (x.scales[ib32] & 0xf) as f32) * 0.25,
                d * (0.5 + (x.scales[ib32] >> 4) as f32) * 0.25,
            ];
            for l in 0..4 {
                let high = ((x.qh[ib32] as usize) << (8 - 2 * l)) & 0x300;
                let entry = IQ2S_GRID[qs[4 * ib32 + l] as usize | high];
                iq2_group(
                    &mut y[32 * ib32 + 8 * l..],
                    db[l / 2],
                    entry,
                    signs[4 * ib32 + l],
                );
            }
        }
    }
}

/// Eight IQ3 weights from two 4-value grid entries: db · grid[j] · sign j.
fn iq3_group(y: &mut [f32], db: f32, grid1: u32, grid2: u32, signs: u8) {
    for j in 0..4 {
        y[j] = db * grid_byte(grid1 as u64, j) as f32 * sign(signs, j);
        y[j + 4] = db * grid_byte(grid2 as u64, j) as f32 * sign(signs, j + 4);
    }
}

/// dequantize_row_iq3_xxs
pub fn dequantize_row_iq3_xxs(x: &[BlockIQ3XXS], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        let (qs, scales_and_signs) = x.qs.split_at(QK_K / 4);
        for ib32 in 0..QK_K / 32 {
            let aux32 = u32_at(scales_and_signs, ib32);
            let db = d * (0.5 + (aux32 >> 28) as f32) * 0.5;
            for l in 0..4 {
                let signs = KSIGNS_IQ2XS[((aux32 >> (7 * l)) & 127) as usize];
                let grid1 = IQ3XXS_GRID[qs[8 * ib32 + 2 * l] as usize];
                let grid2 = IQ3XXS_GRID[qs[8 * ib32 + 2 * l + 1] as usize];
                iq3_group(&mut y[32 * ib32 + 8 * l..], db, grid1, grid2, signs);
            }
        }
    }
}

/// dequantize_row_iq3_s
pub fn dequantize_row_iq3_s(x: &[BlockIQ3S], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        for ib32 in 0..QK_K / 32 {
            let sc = x.scales[ib32 / 2];
            let db = d * (1 + 2 * (if ib32 % 2 == 0 { sc & 0xf } else { sc >> 4 }) as i32) as f32;
            let qh = x.qh[ib32] as usize;
            for l in 0..4 {
                let q1 = x.qs[8 * ib32 + 2 * l] as usize | ((qh << (8 - 2 * l)) & 256);
                let q2 = x.qs[8 * ib32 + 2 * l + 1] as usize | ((qh << (7 - 2 * l)) & 256);
                let signs = x.signs[4 * ib32 + l];
                iq3_group(
                    &mut y[32 * ib32 + 8 * l..],
                    db,
                    IQ3S_GRID[q1],
                    IQ3S_GRID[q2],
                    signs,
                );
            }
        }
    }
}

/// Eight IQ1 weights: dl · (grid[j] + delta), grid values signed bytes.
fn iq1_group(y: &mut [f32], dl: f32, entry: u64, delta: f32) {
    for j in 0..8 {
        y[j] = dl * (grid_byte(entry, j) as i8 as f32 + delta);
    }
}

/// dequantize_row_iq1_s
pub fn dequantize_row_iq1_s(x: &[BlockIQ1S], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = x.d.to_f32();
        for ib in 0..QK_K / 32 {
            let qh = u16_at(&x.qh, ib) as usize;
            let dl = d * (2 * ((qh >> 12) & 7) + 1) as f32;
            let delta = if qh & 0x8000 != 0 {
                -IQ1S_DELTA
            } else {
                IQ1S_DELTA
            };
            for l in 0..4 {
                let entry = IQ1S_GRID[x.qs[4 * ib + l] as usize | (((qh >> (3 * l)) & 7) << 8)];
                iq1_group(&mut y[32 * ib + 8 * l..], dl, entry, delta);
            }
        }
    }
}

/// IQ1_M's block scale: the top nibbles of its four scale words, as an f16.
pub fn iq1m_scale(scales: &[u8; QK_K / 32]) -> f32 {
    let sc = |i| u16_at(scales, i);
    let u = (sc(0) >> 12) | ((sc(1) >> 8) & 0x00f0) | ((sc(2) >> 4) & 0x0f00) | (sc(3) & 0xf000);
    Half(u.to_le_bytes()).to_f32()
}

/// dequantize_row_iq1_m
pub fn dequantize_row_iq1_m(x: &[BlockIQ1M], y: &mut [f32]) {
    for (x, y) in x.iter().zip(y.chunks_exact_mut(QK_K)) {
        let d = iq1m_scale(&x.scales);
        for ib in 0..QK_K / 32 {
            let sc = u16_at(&x.scales, ib / 2) as usize;
            let dl1 = d * (2 * ((sc >> (6 * (ib % 2))) & 0x7) + 1) as f32;
            let dl2 = d * (2 * ((sc >> (6 * (ib % 2) + 3)) & 0x7) + 1) as f32;
            let (qs, qh) = (&x.qs[4 * ib..], &x.qh[2 * ib..]);
            let (h0, h1) = (qh[0] as usize, qh[1] as usize);
            let idx = [
                qs[0] as usize | ((h0 << 8) & 0x700),
                qs[1] as usize | ((h0 << 4) & 0x700),
                qs[2] as usize | ((h1 << 8) & 0x700),
                qs[3] as usize | ((h1 << 4) & 0x700),
            ];
            let delta = |h: usize, bit: usize| {
                if h & bit != 0 {
                    -IQ1S_DELTA
                } else {
                    IQ1S_DELTA
                }
            };
            let deltas = [
                delta(h0, 0x08),
                delta(h0, 0x80),
                delta(h1, 0x08),
                delta(h1, 0x80),
            ];
            for l in 0..4 {
                let dl = if l < 2 { dl1 } else { dl2 };
                iq1_group(&mut y[32 * ib + 8 * l..], dl, IQ1S_GRID[idx[l]], deltas[l]);
            }
        }
    }
}

/// The lookup table the GPU kernels of a grid type read: its grid's entries as little-endian
/// bytes (ggml's layout: one value per byte), a multiple of 16 bytes, placed at the start of every
/// weight chunk (shaders/quant/iq_grid.wgsl). None for the other types.
pub fn grid_bytes(ty: super::QuantType) -> Option<Vec<u8>> {
    use super::QuantType::*;
    let wide = |g: &[u64]| g.iter().flat_map(|e| e.to_le_bytes()).collect::<Vec<u8>>();
    let narrow = |g: &[u32]| g.iter().flat_map(|e| e.to_le_bytes()).collect::<Vec<u8>>();
    Some(match ty {
        IQ2_XXS => wide(&IQ2XXS_GRID),
        IQ2_XS => wide(&IQ2XS_GRID),
        IQ2_S => wide(&IQ2S_GRID),
        IQ3_XXS => narrow(&IQ3XXS_GRID),
        IQ3_S => narrow(&IQ3S_GRID),
        IQ1_S | IQ1_M => wide(&IQ1S_GRID),
        _ => return None,
    })
}

/// `n_blocks` blocks of `ty` with random quants and a finite block scale near `scale` (the f16 at
/// byte 0, or IQ1_M's in the top nibbles of its scale words), from a 64-bit LCG seeded by
/// `seed`. Valid input for every grid type, which has no quantizer here (tests, `bench`).
pub fn random_blocks(ty: super::QuantType, n_blocks: usize, scale: f32, seed: u64) -> Vec<u8> {
    let size = ty.info().type_size;
    let d = half::f16::from_f32(scale).to_bits();
    let mut state = seed;
    let mut out = Vec::with_capacity(size * n_blocks);
    for _ in 0..n_blocks {
        let start = out.len();
        for _ in 0..size {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.push((state >> 56) as u8);
        }
        let block = &mut out[start..];
        if ty == super::QuantType::IQ1_M {
            // Nibble k of d goes to the top of scale word k (bytes 48 + 2k, 49 + 2k).
            for k in 0..4 {
                let at = 49 + 2 * k;
                block[at] = (block[at] & 0x0f) | ((((d >> (4 * k)) & 0xf) as u8) << 4);
            }
        } else {
            block[..2].copy_from_slice(&d.to_le_bytes());
        }
    }
    out
}

/// `n_blocks` random blocks of grid type `ty` whose values have a root mean square near `rms`:
/// [`random_blocks`] at scale 1, measured, then made again at the scale that gives `rms`.
pub fn random_blocks_rms(ty: super::QuantType, n_blocks: usize, rms: f32, seed: u64) -> Vec<u8> {
    let unit = random_blocks(ty, n_blocks, 1.0, seed);
    let n = n_blocks * ty.info().blck_size;
    let values = super::dequantize(ty, &unit, n).expect("whole blocks of a grid type");
    let mean_sq = values.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / n.max(1) as f64;
    let scale = if mean_sq > 0.0 {
        (rms as f64 / mean_sq.sqrt()) as f32
    } else {
        rms
    };
    random_blocks(ty, n_blocks, scale, seed)
}
