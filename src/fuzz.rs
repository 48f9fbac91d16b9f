//! The bodies of the fuzz targets under `fuzz/`, in the library so that `cargo test` replays the
//! committed crash inputs (`fuzz/regressions/<target>/`) through exactly the code the fuzzer runs.
//! Each takes arbitrary bytes; any panic is a bug, errors are the expected outcome for almost
//! every input.

use crate::gguf::{Bytes, GgufFile};

/// `gguf_parse`: the GGUF parser and, when the bytes parse, everything that reads a parsed file:
/// tensor data, the model config, the weight loader and the tokenizer.
pub fn gguf_parse(data: &[u8]) {
    let Ok(file) = GgufFile::from_bytes("fuzz.gguf", Bytes::Owned(data.to_vec())) else {
        return;
    };
    for t in file.tensors() {
        assert_eq!(file.tensor_data(t).len() as u64, t.n_bytes);
    }
    if let Ok(config) = crate::model::Config::from_gguf(&file) {
        let _ = crate::model::Weights::load(&file, &config);
    }
    let _ = crate::tokenizer::Tokenizer::from_gguf(&file);
}
