//! The step table: what a step's kernels read about where each token sits, written with one
//! `write_buffer` per step into a scratch kept across steps.
//!
//! Words: f32 [n_tok, n_dims / 2, 2], the (cos, sin) of each token's position
//! (`cpu::rope::Rope::cos_sin`, computed in f64: WGSL sin/cos are good to about 2^-11 and the
//! angles reach ~100 rad); then the places at word `places_at(n_tok, n_dims)`, u32 [n_tok, 2]:
//! the token's row in a layer's latent cache (slot · n_ctx + position) and the positions it
//! sees (position + 1). `shaders/common/places.wgsl` reads the places.

use wgpu::Buffer;

use crate::cpu::rope::Rope;
use crate::model::Place;

/// The word at which the places of a table of `n_tok` tokens start.
pub fn places_at(n_tok: usize, n_dims: usize) -> usize {
    n_tok * n_dims
}

/// The table of a step whose token i sits at `places[i]`, over caches of `n_ctx` positions per
/// slot.
pub fn build(rope: &Rope, places: &[Place], n_ctx: usize) -> Vec<u32> {
    let n_dims = rope.n_dims();
    let mut out = Vec::with_capacity(places.len() * (n_dims + 2));
    for p in places {
        for i in 0..n_dims / 2 {
            let (c, s) = rope.cos_sin(p.pos, i);
            out.push((c as f32).to_bits());
            out.push((s as f32).to_bits());
        }
    }
    for p in places {
        let row = p.slot * n_ctx + p.pos;
        out.push(u32::try_from(row).expect("cache rows fit u32 (gpu::limits)"));
        out.push((p.pos + 1) as u32);
    }
    out
}

/// The step table as a kernel binds it: the buffer and where its places start.
#[derive(Clone, Copy)]
pub struct StepTable<'a> {
    pub buf: &'a Buffer,
    pub places_at: usize,
    /// Tokens in the step.
    pub n_tok: usize,
}

impl StepTable<'_> {
    /// Checks that the buffer holds the places of `n_tok` tokens.
    pub fn check(&self, n_tok: usize, what: &str) {
        assert!(
            n_tok <= self.n_tok
                && self.buf.size() >= ((self.places_at + 2 * self.n_tok) * 4) as u64,
            "{what}: the step table holds no places for {n_tok} tokens"
        );
    }
}
