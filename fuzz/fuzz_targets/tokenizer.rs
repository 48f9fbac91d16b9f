//! Arbitrary bytes through `wgpu_ds::fuzz::tokenizer` on the DeepSeek-V3 vocabulary of the test
//! fixtures (which `cargo test` also runs on every committed regression and seed).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wgpu_ds::gguf::GgufFile;
use wgpu_ds::tokenizer::Tokenizer;

fn vocab() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/oracle/vocab/vocab-deepseek-v3.gguf"
        );
        let file = GgufFile::open(path).expect("the fixture vocabulary");
        Tokenizer::from_gguf(&file).expect("a tokenizer")
    })
}

fuzz_target!(|data: &[u8]| wgpu_ds::fuzz::tokenizer(vocab(), data));
