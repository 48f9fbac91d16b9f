//! The official `openai` Python client against `wgpu-ds serve`: lists the model, streams a chat
//! completion (the tiny model's answer, finish_reason and usage), gets a whole one, and sees an
//! unknown model as a 404 error. `.ci/run` installs the client in a virtual environment and names
//! its Python in WGPU_DS_OPENAI_PYTHON; without it the test fails when CI is set and is skipped
//! otherwise.

mod serve_common;

#[test]
fn the_openai_python_client_streams_a_chat_completion() {
    let Some(python) = std::env::var_os("WGPU_DS_OPENAI_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs WGPU_DS_OPENAI_PYTHON (a Python with the openai package; .ci/run makes one)"
        );
        eprintln!("skipping: set WGPU_DS_OPENAI_PYTHON to a Python with the openai package");
        return;
    };
    let s = serve_common::start(&[
        "--backend",
        "cpu",
        "-np",
        "2",
        "-c",
        "128",
        "--api-key",
        "k",
    ]);
    let out = std::process::Command::new(python)
        .arg("tests/scripts/openai_stream.py")
        .arg(format!("http://{}/v1", s.addr))
        .arg("k")
        .output()
        .expect("running the openai client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "openai client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim_end().lines().last(), Some("12288"), "{stdout}");
}
