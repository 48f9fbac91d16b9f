//! The browser demo end to end: `web/tests/e2e.mjs` drives the built page (`web/dist`, made by
//! `web/build.sh`) in Debian's headless Chromium, WebGPU on its SwiftShader adapter: two quants of
//! the tiny model generate three tasks right, Check finds every node agreeing, a DeepSeek GGUF of
//! the fixtures loads through the file input and checks, and a screenshot is saved to
//! `target/web-e2e/web-demo.png`. CI (`.ci/run`) builds the page first; elsewhere the test skips
//! with the reason when the page, Node's packages or Chromium are missing.

use std::path::Path;
use std::process::Command;

fn missing() -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let need = [
        (
            root.join("web/dist/index.html"),
            "web/dist is not built (run web/build.sh)",
        ),
        (
            root.join("web/node_modules/playwright-core"),
            "web/node_modules has no playwright-core (cd web && npm ci)",
        ),
        (
            Path::new("/usr/bin/chromium").to_path_buf(),
            "no /usr/bin/chromium (apt-get install chromium)",
        ),
    ];
    need.iter()
        .find(|(p, _)| !p.exists())
        .map(|(_, why)| why.to_string())
}

#[test]
fn web_demo_answers_and_checks_in_headless_chromium() {
    if let Some(why) = missing() {
        assert!(std::env::var_os("CI").is_none(), "CI: {why}");
        eprintln!("skipping the browser demo test: {why}");
        return;
    }
    let fixture = "tests/fixtures/oracle/models/tiny-v3-s-Q4_0.gguf";
    let out = Command::new("node")
        .args([
            "web/tests/e2e.mjs",
            "--fixture",
            fixture,
            "--out",
            "target/web-e2e",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("node runs (apt-get install nodejs)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    eprintln!("{stderr}");
    assert!(out.status.success(), "the page failed: {stderr}");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    println!("{result}");
    // The driver asserts every answer; here, that it saw all it should have.
    assert_eq!(result["generations"].as_array().map(Vec::len), Some(6));
    assert_eq!(result["checks"].as_object().map(|c| c.len()), Some(3));
    assert!(Path::new(result["screenshot"].as_str().unwrap()).exists());
}
