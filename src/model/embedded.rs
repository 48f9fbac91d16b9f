//! The model embedded in the binary: wgpu-ds-tiny, used when no `-m` is given.
//!
//! A DeepSeek-V2-Lite-architecture model (MLA with a latent cache, YaRN RoPE, one dense lead layer,
//! MoE with shared experts and softmax routing) of 4.2 M parameters, trained by
//! `tools/train_tiny` on generated arithmetic and digit tasks, exported by `wgpu-ds convert` and
//! quantized to Q8_0. `models/wgpu-ds-tiny/` holds the checkpoint, the training report and the
//! reference logits the tests compare against.

use crate::error::Result;
use crate::gguf::{Bytes, GgufFile};

/// The name messages use for the embedded file.
pub const NAME: &str = "wgpu-ds-tiny-Q8_0.gguf (embedded)";

/// 64-byte aligned like a memory map would be (the readers do not need it; GPU uploads like it).
#[repr(C, align(64))]
struct Aligned<T: ?Sized>(T);

static FILE: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../models/wgpu-ds-tiny/wgpu-ds-tiny-Q8_0.gguf"
));

/// The embedded GGUF bytes.
pub fn bytes() -> &'static [u8] {
    &FILE.0
}

/// The embedded model as an opened GGUF file (no copy: the tensors are read from the binary).
pub fn open() -> Result<GgufFile> {
    GgufFile::from_bytes(NAME, Bytes::Static(bytes()))
}
