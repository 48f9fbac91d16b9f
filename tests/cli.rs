//! The `wgpu-ds` binary as users call it: info and tokenize on every oracle file (and on a split
//! copy), run with --json and --dump-logits against the oracle, and the errors users hit.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use wgpu_ds::gguf::{GgufFile, GgufWriter, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle")
}

fn wgpu_ds(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wgpu-ds"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wgpu-ds-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn info_and_tokenize_work_on_every_oracle_file_and_a_split_copy() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
        .collect();
    files.push(fixtures().join("vocab/vocab-deepseek-v3.gguf"));
    let dir = tmp("split");
    let prefix = dir.join("v3s").to_str().unwrap().to_string();
    let parts = GgufWriter::from_file(
        &GgufFile::open(fixtures().join("models/tiny-v3-s-Q5_K_M.gguf")).unwrap(),
    )
    .write_split(&prefix, 2)
    .unwrap();
    files.push(parts[0].clone());
    for f in &files {
        let f = f.to_str().unwrap();
        let (ok, out, err) = wgpu_ds(&["info", "-m", f]);
        assert!(
            ok && out.contains("architecture:  deepseek2") && out.contains("tokenizer:"),
            "info {f}: {err}"
        );
        let (ok, out, err) = wgpu_ds(&["tokenize", "-m", f, "-p", "Hello, 世界!", "--json"]);
        assert!(ok, "tokenize {f}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ids"][0], 0, "BOS first");
    }
    let (_, out, _) = wgpu_ds(&["info", "-m", parts[0].to_str().unwrap()]);
    assert!(out.contains("split parts:   2"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn run_json_and_dump_logits_reproduce_the_oracle() {
    let stem = "tiny-v3-k256-Q4_K_M";
    let refs = fixtures().join(format!("refs/{stem}/deqf32_nofa_kvf32"));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(refs.join("p1.json")).unwrap()).unwrap();
    let ids: Vec<String> = r["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let npy = tmp("dump").join("last.npy");
    let model = fixtures().join(format!("models/{stem}.gguf"));
    let (ok, out, err) = wgpu_ds(&[
        "run",
        "-m",
        model.to_str().unwrap(),
        "--prompt-ids",
        &ids.join(","),
        "-n",
        "16",
        "--temp",
        "0",
        "--ignore-eos",
        "--backend",
        "cpu",
        "--json",
        "--dump-logits",
        npy.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ids"], r["greedy"]);
    assert_eq!(v["prompt_ids"], r["tokens"]);
    let (_, got) = wgpu_ds::npy::read_f32(&npy).unwrap();
    let (_, want) = wgpu_ds::npy::read_f32(&refs.join("p1_last_logits.npy")).unwrap();
    assert!(!want.is_empty(), "empty reference logits");
    let err = common::max_abs_diff(&got, &want);
    assert!(err < 1e-3, "dumped logits differ by {err}");
}

#[test]
fn user_errors_are_clear_and_never_panics() {
    let model = fixtures().join("models/tiny-v3-s-Q8_0.gguf");
    let m = model.to_str().unwrap();
    let vocab = fixtures().join("vocab/vocab-deepseek-v3.gguf");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "run",
                "-m",
                m,
                "-p",
                "a prompt longer than the context",
                "-c",
                "4",
            ],
            "context holds 4",
        ),
        (
            vec!["run", "-m", m, "--prompt-ids", "0,5,9999"],
            "outside the vocabulary",
        ),
        (
            vec!["run", "-m", "/nonexistent.gguf", "-p", "x"],
            "/nonexistent.gguf",
        ),
        (
            vec!["run", "-m", vocab.to_str().unwrap(), "-p", "x"],
            "deepseek2.block_count",
        ),
        (vec!["tokenize", "-m", m], "-p TEXT"),
    ];
    for (args, needle) in cases {
        let (ok, _, err) = wgpu_ds(&args);
        assert!(
            !ok && err.contains(needle) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    // A well-formed GGUF of another architecture.
    let dir = tmp("arch");
    let path = dir.join("llama.gguf");
    let mut w = GgufWriter::from_file(&GgufFile::open(&model).unwrap());
    w.set("general.architecture", Value::String("llama".into()));
    w.write(&path).unwrap();
    let (ok, _, err) = wgpu_ds(&["run", "-m", path.to_str().unwrap(), "-p", "x"]);
    assert!(
        !ok && err.contains("architecture 'llama' is not supported"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn chat_answers_each_line_and_ends_at_end_of_input() {
    use std::io::Write;
    let model = fixtures().join("models/tiny-v3-s-Q8_0.gguf");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgpu-ds"))
        .args([
            "chat",
            "-m",
            model.to_str().unwrap(),
            "--backend",
            "cpu",
            "-n",
            "4",
            "--temp",
            "0",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Hello\nAnd again\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("> ").count(),
        3,
        "two turns, then end of input: {err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).matches('\n').count(),
        2,
        "one reply line per turn"
    );
}

/// The README's first command, on the CPU path: no `-m` runs the embedded model, with the default
/// sampling settings, and the answer is right. `info` names the embedded file.
#[test]
fn without_m_the_embedded_model_answers() {
    for prompt_and_answer in [("4096+8192=", "12288"), ("max(381,92)=", "381")] {
        let (prompt, want) = prompt_and_answer;
        let (ok, out, err) = wgpu_ds(&["run", "-p", prompt, "--backend", "cpu"]);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), want, "{prompt}");
        // The prompt in chunks of 3 tokens (llama.cpp's -ub) gives the same answer.
        let (ok, out, err) = wgpu_ds(&["run", "-p", prompt, "--backend", "cpu", "-ub", "3"]);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), want, "{prompt} in chunks of 3");
    }
    let (ok, out, err) = wgpu_ds(&["info"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("(embedded)") && out.contains("wgpu-ds-tiny"),
        "{out}"
    );
}

#[test]
fn bench_kernels_refuses_types_the_gpu_does_not_decode() {
    let (ok, _, err) = wgpu_ds(&["bench", "--kernels", "--types", "tq1_0"]);
    assert!(
        !ok && err.contains("tq1_0: not a type the GPU kernels decode"),
        "{err}"
    );
}

#[test]
fn bench_times_prefill_at_each_size_asked() {
    let (ok, out, err) = wgpu_ds(&[
        "bench",
        "--backend",
        "cpu",
        "-p",
        "4",
        "-n",
        "2",
        "--pp",
        "3,9",
    ]);
    assert!(ok, "{err}");
    for n in [3, 9] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("cpu pp{n}: ")))
            .unwrap_or_else(|| panic!("no pp{n} line in {out}"));
        assert!(
            line.contains("tok/s") && line.contains("× decode"),
            "{line}"
        );
    }
}
