//! The GPU path: shader variants composed from WGSL files, and (next) the wgpu executor.

pub mod kernels;
