//! How the latent cache stores its values, and the `--precision` switch that picks it.

/// The element type of the latent cache (c_kv ‖ k_pe per position and layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
pub enum CacheType {
    /// f32, as the graph computes the values: the exact path.
    #[default]
    F32,
    /// IEEE binary16, each value rounded to the nearest half (ties to even) when stored: half the
    /// memory and half the bytes attention reads per position. The CPU reference and the GPU
    /// round identically, so both still agree node for node.
    F16,
}

/// The latent cache an executor holds: `n_slots` sequences of `n_ctx` positions each, values of
/// type `ty`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheShape {
    pub n_ctx: usize,
    pub n_slots: usize,
    pub ty: CacheType,
}

impl CacheShape {
    /// One sequence of `n_ctx` positions.
    pub fn one(n_ctx: usize, ty: CacheType) -> CacheShape {
        CacheShape {
            n_ctx,
            n_slots: 1,
            ty,
        }
    }
}

impl CacheType {
    /// Bytes per cached value.
    pub fn bytes(self) -> usize {
        match self {
            CacheType::F32 => 4,
            CacheType::F16 => 2,
        }
    }

    /// A value as the cache holds it.
    pub fn round(self, v: f32) -> f32 {
        match self {
            CacheType::F32 => v,
            CacheType::F16 => half::f16::from_f32(v).to_f32(),
        }
    }

    /// Values as the cache holds them.
    pub fn round_row(self, v: &[f32]) -> Vec<f32> {
        v.iter().map(|&x| self.round(x)).collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            CacheType::F32 => "f32",
            CacheType::F16 => "f16",
        }
    }
}

/// `--precision`: whether paths that change numerics for speed may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
pub enum Precision {
    /// The fast defaults: the f16 latent cache (unless `--cache-type` says otherwise).
    #[default]
    Fast,
    /// Every numerics-changing path off: the f32 cache, whatever `--cache-type` says.
    Exact,
}

impl Precision {
    /// The cache type a run uses: `asked` (or f16 by default) on the fast path, f32 when exact.
    pub fn cache_type(self, asked: Option<CacheType>) -> CacheType {
        match self {
            Precision::Exact => CacheType::F32,
            Precision::Fast => asked.unwrap_or(CacheType::F16),
        }
    }
}
