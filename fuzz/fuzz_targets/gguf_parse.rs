//! Feeds arbitrary bytes to the GGUF parser and, when they parse, to everything that reads a
//! parsed file: tensor data, the model config, the weight loader and the tokenizer. Any panic is a
//! bug; errors are the expected outcome for almost every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wgpu_ds::gguf::{Bytes, GgufFile};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = GgufFile::from_bytes("fuzz.gguf", Bytes::Owned(data.to_vec())) else { return };
    for t in file.tensors() {
        assert_eq!(file.tensor_data(t).len() as u64, t.n_bytes);
    }
    if let Ok(config) = wgpu_ds::model::Config::from_gguf(&file) {
        let _ = wgpu_ds::model::Weights::load(&file, &config);
    }
    let _ = wgpu_ds::tokenizer::Tokenizer::from_gguf(&file);
});
