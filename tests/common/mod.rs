//! Helpers shared by the GPU test files.
#![allow(dead_code)]

use wgpu_ds::gpu::{GpuContext, GpuOptions};

/// A device on the default adapter (lavapipe in CI). Without one the test fails when CI is set
/// and is skipped with the reason printed otherwise.
pub fn gpu_with(opts: GpuOptions) -> Option<GpuContext> {
    match GpuContext::new_blocking(&opts) {
        Ok(ctx) => Some(ctx),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI needs a GPU adapter (lavapipe): {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

pub fn gpu() -> Option<GpuContext> {
    gpu_with(GpuOptions::default())
}
