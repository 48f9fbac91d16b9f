//! Every input under fuzz/regressions/<target>/ (minimized crashes the fuzzers found) replayed
//! through the code its target runs, so a crash that comes back fails `cargo test`.

use std::path::Path;
use std::sync::OnceLock;

use wgpu_ds::gguf::GgufFile;
use wgpu_ds::tokenizer::Tokenizer;

/// Every file under fuzz/<dir>/<target>/ (none when the folder does not exist).
fn inputs(dir: &str, target: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Replays the target's minimized crashes (fuzz/regressions/<target>/) and its seed corpus
/// (fuzz/seeds/<target>/); a target must have at least one of either.
fn replay(target: &str, run: &dyn Fn(&[u8])) {
    let files: Vec<_> = ["regressions", "seeds"]
        .iter()
        .flat_map(|d| inputs(d, target))
        .collect();
    assert!(!files.is_empty(), "no inputs for {target}");
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data))).is_err() {
            panic!("{target}: {} panics again", f.display());
        }
    }
    eprintln!("{target}: {} inputs replayed", files.len());
}

fn vocab() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let file = GgufFile::open("tests/fixtures/oracle/vocab/vocab-deepseek-v3.gguf").unwrap();
        Tokenizer::from_gguf(&file).unwrap()
    })
}

#[test]
fn gguf_parse_regressions_replay_without_panic() {
    assert!(!inputs("regressions", "gguf_parse").is_empty());
    replay("gguf_parse", &wgpu_ds::fuzz::gguf_parse);
}

#[test]
fn tokenizer_inputs_replay_without_panic() {
    replay("tokenizer", &|d| wgpu_ds::fuzz::tokenizer(vocab(), d));
}

#[test]
fn chat_template_inputs_replay_without_panic() {
    replay("chat_template", &wgpu_ds::fuzz::chat_template);
}

#[test]
fn convert_reader_inputs_replay_without_panic() {
    replay("hf_config", &wgpu_ds::fuzz::hf_config);
    replay("safetensors", &wgpu_ds::fuzz::safetensors);
    replay("tokenizer_json", &wgpu_ds::fuzz::tokenizer_json);
}
