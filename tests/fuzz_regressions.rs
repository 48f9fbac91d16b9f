//! Every input under fuzz/regressions/<target>/ (minimized crashes the fuzzers found) replayed
//! through the code its target runs, so a crash that comes back fails `cargo test`.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("{target}: {} panics again", f.display());
        }
    }
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn gguf_parse_regressions_replay_without_panic() {
    replay("gguf_parse", wgpu_ds::fuzz::gguf_parse);
}
