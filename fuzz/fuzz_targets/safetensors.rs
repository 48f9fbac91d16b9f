//! Arbitrary bytes through `wgpu_ds::fuzz::safetensors` (which `cargo test` also runs on every
//! committed regression and seed).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wgpu_ds::fuzz::safetensors(data));
