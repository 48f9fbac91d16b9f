//! GGUF tensor types: the size table, block layouts, scalar dequantization and reference
//! quantization, named and structured like ggml's reference code (ggml-quants.c).

mod types;

pub use types::{QuantType, TypeInfo, QK_K};
