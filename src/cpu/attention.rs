//! Multi-head latent attention over the latent cache, in both forms. They compute the same thing:
//!   absorbed:      score(t, s) = (W_kb·q_nope)·c_kv[s] + q_pe·k_pe[s],  out = W_vb·Σ_s p·c_kv[s]
//!   materialized:  score(t, s) = q_nope·(W_kb^T c_kv[s]) + q_pe·k_pe[s], out = Σ_s p·(W_vb c_kv[s])
//! Both are causal: a token at position p of a slot sees that slot's cache positions 0 ..= p.

use crate::error::Result;

use super::ops::{dot, softmax, QMatrix};

use crate::model::{CacheType, Place};

/// The latent cache of every layer: per position `kv_lora` values of normalized `kv_cmpr`
/// followed by `rope` values of roped `k_pe`, for each of `n_slots` sequences.
/// data: [n_layer, n_slots, n_ctx, kv_lora + rope]
pub struct LatentCache {
    pub n_ctx: usize,
    pub n_slots: usize,
    pub kv_lora: usize,
    pub rope: usize,
    /// How stored values are rounded (`store`): f32 as they are, or to the nearest half.
    pub ty: CacheType,
    data: Vec<f32>,
}

impl LatentCache {
    pub fn new(n_layer: usize, n_ctx: usize, kv_lora: usize, rope: usize) -> LatentCache {
        LatentCache::with_type(n_layer, n_ctx, kv_lora, rope, CacheType::F32)
    }

    pub fn with_type(
        n_layer: usize,
        n_ctx: usize,
        kv_lora: usize,
        rope: usize,
        ty: CacheType,
    ) -> LatentCache {
        LatentCache::with_slots(n_layer, n_ctx, 1, kv_lora, rope, ty)
    }

    pub fn with_slots(
        n_layer: usize,
        n_ctx: usize,
        n_slots: usize,
        kv_lora: usize,
        rope: usize,
        ty: CacheType,
    ) -> LatentCache {
        LatentCache {
            n_ctx,
            n_slots,
            kv_lora,
            rope,
            ty,
            data: vec![0.0; n_layer * n_slots * n_ctx * (kv_lora + rope)],
        }
    }

    /// Writes the row of `at` in `layer`: kv_cmpr ‖ k_pe, each value as the cache type holds it.
    pub fn store(&mut self, layer: usize, at: Place, kv_cmpr: &[f32], k_pe: &[f32]) {
        let ty = self.ty;
        let row = self.row_mut(layer, at);
        for (r, &v) in row.iter_mut().zip(kv_cmpr.iter().chain(k_pe)) {
            *r = ty.round(v);
        }
    }
    pub fn width(&self) -> usize {
        self.kv_lora + self.rope
    }
    /// Rows of positions 0 .. n of one layer's `slot`: [n, kv_lora + rope]
    pub fn rows(&self, layer: usize, slot: usize, n: usize) -> &[f32] {
        let start = (layer * self.n_slots + slot) * self.n_ctx * self.width();
        &self.data[start..start + n * self.width()]
    }
    pub fn row_mut(&mut self, layer: usize, at: Place) -> &mut [f32] {
        let w = self.width();
        let start = ((layer * self.n_slots + at.slot) * self.n_ctx + at.pos) * w;
        &mut self.data[start..start + w]
    }
}

/// Absorbed form, token t at `places[t]`. q_abs: [T, H, kv_lora]; q_pe: [T, H, rope]; returns
/// [T, H, kv_lora].
pub fn attn_absorbed(
    cache: &LatentCache,
    layer: usize,
    places: &[Place],
    q_abs: &[f32],
    q_pe: &[f32],
    n_head: usize,
    scale: f32,
) -> Vec<f32> {
    let (kv, rope, w) = (cache.kv_lora, cache.rope, cache.width());
    let n_tok = q_abs.len() / (n_head * kv);
    let mut out = vec![0f32; n_tok * n_head * kv];
    for (t, at) in places.iter().enumerate().take(n_tok) {
        let n_kv = at.pos + 1;
        let rows = cache.rows(layer, at.slot, n_kv);
        for h in 0..n_head {
            let qa = &q_abs[(t * n_head + h) * kv..][..kv];
            let qp = &q_pe[(t * n_head + h) * rope..][..rope];
            let mut p: Vec<f32> = (0..n_kv)
                .map(|s| {
                    let row = &rows[s * w..(s + 1) * w];
                    (dot(qa, &row[..kv]) as f64 + dot(qp, &row[kv..]) as f64) as f32 * scale
                })
                .collect();
            softmax(&mut p);
            let o = &mut out[(t * n_head + h) * kv..][..kv];
            for (c, oc) in o.iter_mut().enumerate() {
                *oc = (0..n_kv)
                    .map(|s| p[s] as f64 * rows[s * w + c] as f64)
                    .sum::<f64>() as f32;
            }
        }
    }
    out
}

/// Materialized form for consecutive tokens of one sequence, the first at `first`.
/// q_nope: [T, H, nope]; q_pe: [T, H, rope]; k_b ne [nope, kv_lora, H]; v_b ne [kv_lora, v, H];
/// returns [T, H, v].
#[allow(clippy::too_many_arguments)]
pub fn attn_materialized(
    cache: &LatentCache,
    layer: usize,
    first: Place,
    q_nope: &[f32],
    q_pe: &[f32],
    k_b: QMatrix,
    v_b: QMatrix,
    n_head: usize,
    scale: f32,
) -> Result<Vec<f32>> {
    let (kv, rope, w) = (cache.kv_lora, cache.rope, cache.width());
    let (nope, n_v) = (k_b.cols, v_b.rows / n_head);
    let n_tok = q_nope.len() / (n_head * nope);
    let pos0 = first.pos;
    let n_kv = pos0 + n_tok;
    let rows = cache.rows(layer, first.slot, n_kv);
    let c_kv: Vec<f32> = rows
        .chunks_exact(w)
        .flat_map(|r| r[..kv].iter().copied())
        .collect();
    let mut out = vec![0f32; n_tok * n_head * n_v];
    for h in 0..n_head {
        // K_nope[s, d] = Σ_c W_kb[h][c][d] · c_kv[s, c]: the transpose of k_b, so go through W_kbᵀ.
        let kb = k_b.slab(h, kv);
        let mut kb_t = vec![0f32; nope * kv]; // [nope, kv_lora]
        let mut row = vec![0f32; nope];
        for c in 0..kv {
            kb.dequantize_row(c, &mut row)?;
            for d in 0..nope {
                kb_t[d * kv + c] = row[d];
            }
        }
        let k_nope = super::ops::matmul(
            QMatrix {
                ty: crate::quant::QuantType::F32,
                bytes: bytemuck::cast_slice(&kb_t),
                rows: nope,
                cols: kv,
            },
            &c_kv,
            n_kv,
        )?; // [n_kv, nope]
        let v = super::ops::matmul(v_b.slab(h, n_v), &c_kv, n_kv)?; // [n_kv, v]
        for t in 0..n_tok {
            let qn = &q_nope[(t * n_head + h) * nope..][..nope];
            let qp = &q_pe[(t * n_head + h) * rope..][..rope];
            let n_vis = pos0 + t + 1;
            let mut p: Vec<f32> = (0..n_vis)
                .map(|s| {
                    (dot(qn, &k_nope[s * nope..][..nope]) as f64
                        + dot(qp, &rows[s * w + kv..][..rope]) as f64) as f32
                        * scale
                })
                .collect();
            softmax(&mut p);
            let o = &mut out[(t * n_head + h) * n_v..][..n_v];
            for (j, oj) in o.iter_mut().enumerate() {
                *oj = (0..n_vis)
                    .map(|s| p[s] as f64 * v[s * n_v + j] as f64)
                    .sum::<f64>() as f32;
            }
        }
    }
    Ok(out)
}
