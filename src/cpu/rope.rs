//! YaRN rotary embedding as ggml computes it for deepseek2 (`rope_yarn` in ggml-cpu ops.cpp, NORM
//! mode: adjacent pairs (2i, 2i+1) rotate together), evaluated in f64. The GPU uploads the same
//! table rather than trusting WGSL `sin`/`cos` at angles of ~100 rad.
//!
//! theta_extrap = pos · base^(-2i/n_dims), theta_interp = theta_extrap / factor;
//! ramp = 1 - clamp((i - low) / max(0.001, high - low), 0, 1) with [low, high] the YaRN correction
//! dims from beta_fast / beta_slow; theta = interp·(1 - ramp) + extrap·ramp.
//! llama.cpp pre-divides the rope's attn_factor so the YaRN magnitude factor cancels: cos/sin are
//! not rescaled; the attention temperature goes into kq_scale instead (Config::kq_scale).

use crate::model::Config;

#[derive(Clone, Copy, Debug)]
pub struct Rope {
    n_dims: usize,
    freq_base: f64,
    /// 1 / factor (1 without YaRN).
    freq_scale: f64,
    /// 1 with YaRN, 0 without (no ramp).
    ext_factor: f64,
    corr_dims: [f64; 2],
}

fn corr_dim(n_dims: usize, n_ctx_orig: usize, n_rot: f64, base: f64) -> f64 {
    n_dims as f64 * (n_ctx_orig as f64 / (n_rot * 2.0 * std::f64::consts::PI)).ln()
        / (2.0 * base.ln())
}

impl Rope {
    pub fn new(c: &Config) -> Rope {
        let n_dims = c.n_embd_head_qk_rope;
        let base = c.rope_freq_base as f64;
        match c.yarn {
            Some(y) if y.factor != 1.0 => {
                // ggml computes the correction dims in f32; floor/ceil make them small integers.
                let start = corr_dim(n_dims, y.original_context, y.beta_fast as f64, base).floor();
                let end = corr_dim(n_dims, y.original_context, y.beta_slow as f64, base).ceil();
                Rope {
                    n_dims,
                    freq_base: base,
                    freq_scale: 1.0 / y.factor as f64,
                    ext_factor: 1.0,
                    corr_dims: [start.max(0.0), end.min(n_dims as f64 - 1.0)],
                }
            }
            _ => Rope {
                n_dims,
                freq_base: base,
                freq_scale: 1.0,
                ext_factor: 0.0,
                corr_dims: [0.0, 0.0],
            },
        }
    }

    pub fn n_dims(&self) -> usize {
        self.n_dims
    }

    /// (cos, sin) of the angle of pair `i` (dims 2i, 2i+1) at position `pos`.
    pub fn cos_sin(&self, pos: usize, i: usize) -> (f64, f64) {
        let theta_extrap = pos as f64 * self.freq_base.powf(-2.0 * i as f64 / self.n_dims as f64);
        let theta_interp = self.freq_scale * theta_extrap;
        let theta = if self.ext_factor != 0.0 {
            let [low, high] = self.corr_dims;
            let y = (i as f64 - low) / (high - low).max(0.001);
            let ramp_mix = (1.0 - y.clamp(0.0, 1.0)) * self.ext_factor;
            theta_interp * (1.0 - ramp_mix) + theta_extrap * ramp_mix
        } else {
            theta_interp
        };
        (theta.cos(), theta.sin())
    }

    /// Table of (cos, sin) as f32 for positions pos0 .. pos0 + n: [n, n_dims / 2, 2].
    pub fn table(&self, pos0: usize, n: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(n * self.n_dims);
        for p in pos0..pos0 + n {
            for i in 0..self.n_dims / 2 {
                let (c, s) = self.cos_sin(p, i);
                out.push(c as f32);
                out.push(s as f32);
            }
        }
        out
    }

    /// Rotates one head's rope part in place: (x0, x1) → (x0·cos - x1·sin, x0·sin + x1·cos).
    pub fn apply(&self, x: &mut [f32], pos: usize) {
        for i in 0..self.n_dims / 2 {
            let (c, s) = self.cos_sin(pos, i);
            let (x0, x1) = (x[2 * i] as f64, x[2 * i + 1] as f64);
            x[2 * i] = (x0 * c - x1 * s) as f32;
            x[2 * i + 1] = (x0 * s + x1 * c) as f32;
        }
    }
}
