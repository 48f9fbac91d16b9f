//! wgpu-ds: DeepSeek V2 / V2-Lite / V3 / R1 inference from GGUF files.
//!
//! The path of one request (docs/ARCHITECTURE.md has the whole picture):
//! GGUF file(s) → [`gguf::GgufFile`] (mmap, typed metadata, tensor infos) → model config and
//! weights → tokenizer → one list of named ops per step, run by the CPU reference executor or the
//! GPU executor → sampler → detokenizer.

#[cfg(feature = "native")]
pub mod bench;
pub mod check;
#[cfg(feature = "native")]
pub mod convert;
pub mod cpu;
pub mod error;
#[cfg(feature = "native")]
pub mod fuzz;
pub mod gguf;
pub mod gpu;
pub mod model;
pub mod npy;
pub mod quant;
pub mod sample;
#[cfg(feature = "native")]
pub mod serve;
pub mod session;
pub mod tokenizer;

pub use error::{Error, Result};
