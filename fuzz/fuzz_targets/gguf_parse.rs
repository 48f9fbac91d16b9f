//! Arbitrary bytes through the GGUF parser and everything that reads a parsed file
//! (`wgpu_ds::fuzz::gguf_parse`, which `cargo test` also runs on every committed regression).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wgpu_ds::fuzz::gguf_parse(data));
