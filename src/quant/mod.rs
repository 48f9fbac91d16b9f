//! GGUF tensor types: the size table, block layouts, scalar dequantization and reference
//! quantization, named and structured like ggml's reference code (ggml-quants.c).
//!
//! One file per block family, each with its `#[repr(C)]` block structs (every field a byte array,
//! so blocks have alignment 1 and are viewed in place over unaligned GGUF bytes), ggml's
//! `dequantize_row_*` and `quantize_row_*_ref`. Dequantization is bit-exact with llama.cpp (f16
//! scales converted to f32, then the same float operations in the same order); the quantizers
//! follow the `_ref` functions (no importance matrix), which is what `llama-quantize` runs when no
//! imatrix is given.
//!
//! Everything type-dependent goes through [`kernels`], the single table of what this build can
//! compute.

pub mod float;
pub mod helpers;
pub mod iq4;
pub mod iq_grid;
pub mod iq_grids;
pub mod q2_k;
pub mod q3_k;
pub mod q4;
pub mod q4_k;
pub mod q5;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
mod types;

pub use types::{QuantType, TypeInfo, QK_K};

use crate::error::{Error, Result};

/// The row functions of one type, over raw little-endian bytes: `dequantize(src, dst)` with `src`
/// exactly the bytes of `dst.len()` elements; `quantize(src, dst)` the other way round, for the
/// types llama.cpp quantizes without an importance matrix.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub dequantize: fn(&[u8], &mut [f32]),
    pub quantize: Option<QuantizeRow>,
}

/// A row quantizer: `src` values into the bytes of their blocks.
pub type QuantizeRow = fn(&[f32], &mut [u8]);

/// Wraps a block-typed dequantize/quantize pair into byte-level row functions. The block structs
/// have alignment 1, so the casts only check that the length is a whole number of blocks.
macro_rules! block_kernels {
    ($dequantize:path, $quantize:path) => {
        Kernels {
            dequantize: |x, y| $dequantize(bytemuck::cast_slice(x), y),
            quantize: Some(|x, y| $quantize(x, bytemuck::cast_slice_mut(y))),
        }
    };
    ($dequantize:path) => {
        Kernels {
            dequantize: |x, y| $dequantize(bytemuck::cast_slice(x), y),
            quantize: None,
        }
    };
}

/// The one table of readable types. To support another type (TQ1_0/TQ2_0, MXFP4), add a file with
/// its block struct and ggml's row functions, its WGSL decoder under shaders/quant/, then one
/// line here and the type in [`SUPPORTED`]; everything else (GGUF loading, tests) follows.
pub fn kernels(ty: QuantType) -> Option<Kernels> {
    use QuantType::*;
    let k = match ty {
        F32 => Kernels {
            dequantize: float::dequantize_row_f32,
            quantize: Some(float::quantize_row_f32),
        },
        F16 => Kernels {
            dequantize: float::dequantize_row_f16,
            quantize: Some(float::quantize_row_f16),
        },
        BF16 => Kernels {
            dequantize: float::dequantize_row_bf16,
            quantize: Some(float::quantize_row_bf16),
        },
        Q4_0 => block_kernels!(q4::dequantize_row_q4_0, q4::quantize_row_q4_0_ref),
        Q4_1 => block_kernels!(q4::dequantize_row_q4_1, q4::quantize_row_q4_1_ref),
        Q5_0 => block_kernels!(q5::dequantize_row_q5_0, q5::quantize_row_q5_0_ref),
        Q5_1 => block_kernels!(q5::dequantize_row_q5_1, q5::quantize_row_q5_1_ref),
        Q8_0 => block_kernels!(q8_0::dequantize_row_q8_0, q8_0::quantize_row_q8_0_ref),
        Q2K => block_kernels!(q2_k::dequantize_row_q2_K, q2_k::quantize_row_q2_K_ref),
        Q3K => block_kernels!(q3_k::dequantize_row_q3_K, q3_k::quantize_row_q3_K_ref),
        Q4K => block_kernels!(q4_k::dequantize_row_q4_K, q4_k::quantize_row_q4_K_ref),
        Q5K => block_kernels!(q5_k::dequantize_row_q5_K, q5_k::quantize_row_q5_K_ref),
        Q6K => block_kernels!(q6_k::dequantize_row_q6_K, q6_k::quantize_row_q6_K_ref),
        IQ4_NL => block_kernels!(iq4::dequantize_row_iq4_nl, iq4::quantize_row_iq4_nl_ref),
        IQ4_XS => block_kernels!(iq4::dequantize_row_iq4_xs, iq4::quantize_row_iq4_xs_ref),
        IQ2_XXS => block_kernels!(iq_grid::dequantize_row_iq2_xxs),
        IQ2_XS => block_kernels!(iq_grid::dequantize_row_iq2_xs),
        IQ2_S => block_kernels!(iq_grid::dequantize_row_iq2_s),
        IQ3_XXS => block_kernels!(iq_grid::dequantize_row_iq3_xxs),
        IQ3_S => block_kernels!(iq_grid::dequantize_row_iq3_s),
        IQ1_S => block_kernels!(iq_grid::dequantize_row_iq1_s),
        IQ1_M => block_kernels!(iq_grid::dequantize_row_iq1_m),
        // Not yet: Q8_1, Q8_K (ggml's dot-product operand types, never stored in model files),
        // TQ1_0/TQ2_0, MXFP4, and the integer/F64 types.
        _ => return None,
    };
    Some(k)
}

/// Every type both executors run ([`dequantize_row`] accepts them and the GPU decodes them);
/// [`quantize_row`] accepts those llama.cpp quantizes without an importance matrix, all but the
/// grid i-quants.
pub const SUPPORTED: &[QuantType] = {
    use QuantType::*;
    &[
        F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2K, Q3K, Q4K, Q5K, Q6K, IQ4_NL, IQ4_XS,
        IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M,
    ]
};

/// The grid i-quants: read, not written (their blocks for tests and benches come from
/// [`iq_grid::random_blocks`]).
pub const GRID_TYPES: &[QuantType] = {
    use QuantType::*;
    &[IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M]
};

/// Whether this build reads `ty`.
pub fn is_supported(ty: QuantType) -> bool {
    kernels(ty).is_some()
}

/// Whether this build writes `ty` ([`quantize_row`]).
pub fn quantizes(ty: QuantType) -> bool {
    kernels(ty).is_some_and(|k| k.quantize.is_some())
}

fn kernels_or_err(ty: QuantType, what: &str) -> Result<Kernels> {
    kernels(ty).ok_or_else(|| Error::Quant {
        type_name: ty.name().to_string(),
        problem: format!("{what} is not implemented for this type in this build"),
    })
}

/// The bytes of `n` elements of `ty`, or an error naming the block size `n` must be a multiple of.
fn row_bytes(ty: QuantType, n: usize) -> Result<usize> {
    ty.row_bytes(n as u64)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| Error::Quant {
            type_name: ty.name().to_string(),
            problem: format!(
                "{n} elements is not a whole number of {}-element blocks",
                ty.info().blck_size
            ),
        })
}

/// Dequantizes `dst.len()` elements from `src`, which must hold exactly their bytes (any number
/// of whole blocks: one row, or all rows of a tensor).
pub fn dequantize_row(ty: QuantType, src: &[u8], dst: &mut [f32]) -> Result<()> {
    let k = kernels_or_err(ty, "dequantization")?;
    let need = row_bytes(ty, dst.len())?;
    if src.len() != need {
        return Err(Error::Quant {
            type_name: ty.name().to_string(),
            problem: format!(
                "{} elements need {need} bytes, but {} bytes were given",
                dst.len(),
                src.len()
            ),
        });
    }
    (k.dequantize)(src, dst);
    Ok(())
}

/// Dequantizes `n` elements into a new vector.
pub fn dequantize(ty: QuantType, src: &[u8], n: usize) -> Result<Vec<f32>> {
    let mut out = vec![0.0; n];
    dequantize_row(ty, src, &mut out)?;
    Ok(out)
}

/// Quantizes `src` (a whole number of blocks) with ggml's reference quantizer for `ty`.
pub fn quantize_row(ty: QuantType, src: &[f32]) -> Result<Vec<u8>> {
    let quantize = kernels_or_err(ty, "quantization")?
        .quantize
        .ok_or_else(|| Error::Quant {
            type_name: ty.name().to_string(),
            problem: "llama.cpp quantizes this type only with an importance matrix; this build reads it but does not write it".into(),
        })?;
    let mut out = vec![0u8; row_bytes(ty, src.len())?];
    quantize(src, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn supported_list_matches_the_table() {
        for ty in QuantType::ALL {
            assert_eq!(is_supported(ty), SUPPORTED.contains(&ty), "{ty}");
            let writes = SUPPORTED.contains(&ty) && !GRID_TYPES.contains(&ty);
            assert_eq!(quantizes(ty), writes, "{ty}");
        }
    }

    #[test]
    fn block_structs_match_the_type_table() {
        use QuantType::*;
        let sizes = [
            (Q4_0, size_of::<q4::BlockQ4_0>()),
            (Q4_1, size_of::<q4::BlockQ4_1>()),
            (Q5_0, size_of::<q5::BlockQ5_0>()),
            (IQ4_NL, size_of::<iq4::BlockIQ4NL>()),
            (IQ4_XS, size_of::<iq4::BlockIQ4XS>()),
            (IQ2_XXS, size_of::<iq_grid::BlockIQ2XXS>()),
            (IQ2_XS, size_of::<iq_grid::BlockIQ2XS>()),
            (IQ2_S, size_of::<iq_grid::BlockIQ2S>()),
            (IQ3_XXS, size_of::<iq_grid::BlockIQ3XXS>()),
            (IQ3_S, size_of::<iq_grid::BlockIQ3S>()),
            (IQ1_S, size_of::<iq_grid::BlockIQ1S>()),
            (IQ1_M, size_of::<iq_grid::BlockIQ1M>()),
            (Q5_1, size_of::<q5::BlockQ5_1>()),
            (Q8_0, size_of::<q8_0::BlockQ8_0>()),
            (Q2K, size_of::<q2_k::BlockQ2K>()),
            (Q3K, size_of::<q3_k::BlockQ3K>()),
            (Q4K, size_of::<q4_k::BlockQ4K>()),
            (Q5K, size_of::<q5_k::BlockQ5K>()),
            (Q6K, size_of::<q6_k::BlockQ6K>()),
        ];
        for (ty, size) in sizes {
            assert_eq!(ty.info().type_size, size, "{ty}");
        }
    }

    #[test]
    fn every_supported_type_round_trips_one_block() {
        for &ty in SUPPORTED.iter().filter(|t| quantizes(**t)) {
            let n = ty.info().blck_size.max(32);
            let x: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0).collect();
            let q = quantize_row(ty, &x).unwrap();
            let y = dequantize(ty, &q, n).unwrap();
            let max_err = x
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(max_err < 0.6, "{ty}: max error {max_err}");
        }
    }

    #[test]
    fn quantizers_do_not_panic_on_non_finite_or_huge_input() {
        for &ty in SUPPORTED.iter().filter(|t| quantizes(**t)) {
            let n = ty.info().blck_size.max(32);
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, 1e-45] {
                let mut x: Vec<f32> = (0..n).map(|i| i as f32 - 7.0).collect();
                x[3] = bad;
                let q = quantize_row(ty, &x).unwrap();
                dequantize(ty, &q, n).unwrap();
            }
        }
    }

    #[test]
    fn lengths_and_types_are_checked() {
        let mut y = vec![0.0; 32];
        assert!(dequantize_row(QuantType::Q8_0, &[0; 33], &mut y).is_err());
        assert!(dequantize_row(QuantType::Q8_0, &[0; 34], &mut y[..31]).is_err());
        assert!(dequantize_row(QuantType::IQ2_XXS, &[0; 66], &mut y).is_err());
        assert!(quantize_row(QuantType::Q4K, &[0.0; 255]).is_err());
        assert!(dequantize_row(QuantType::Q8_0, &[0; 34], &mut y).is_ok());
    }
}
