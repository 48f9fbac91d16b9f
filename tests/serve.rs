//! `wgpu-ds serve` end to end: the real binary on a free loopback port with the embedded model,
//! on the CPU reference and on the GPU (lavapipe in CI). Answers to the tiny model's tasks,
//! whole and streamed (OpenAI's chunk format), the other endpoints, every kind of bad input
//! answered with its status and an OpenAI-style JSON error while the server keeps serving,
//! abandoned streams giving their slot back, the busy 503, and the API key.

mod serve_common;

use serde_json::Value;
use serve_common::{chat_body, start, Server};

/// (prompt, answer) the embedded model gets right greedily (held_out.tsv).
const TASKS: [(&str, &str); 4] = [
    ("4096+8192=", "12288"),
    ("922+3=", "925"),
    ("max(1331,2453)=", "2453"),
    ("rev(73484)=", "48437"),
];

fn content(v: &Value) -> &str {
    v["choices"][0]["message"]["content"].as_str().unwrap()
}

/// Whole and streamed chat completions answer every task; usage counts the tokens.
fn answers_tasks(s: &Server) {
    for (prompt, answer) in TASKS {
        let r = s.post("/v1/chat/completions", &chat_body(prompt, ""));
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!(content(&v), answer, "{prompt}");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        let u = &v["usage"];
        assert!(u["prompt_tokens"].as_u64().unwrap() >= 3);
        assert_eq!(
            u["total_tokens"].as_u64(),
            Some(u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap())
        );

        let body = chat_body(
            prompt,
            r#", "stream": true, "stream_options": {"include_usage": true}"#,
        );
        let r = s.post("/v1/chat/completions", &body);
        assert_eq!(r.status, 200);
        assert!(r.headers.contains("text/event-stream"), "{}", r.headers);
        let events = r.events();
        assert_eq!(
            events.last().map(String::as_str),
            Some("[DONE]"),
            "{events:?}"
        );
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        assert!(chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"]));
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, answer, "{prompt} streamed");
        let finish: Vec<&Value> = chunks
            .iter()
            .map(|c| &c["choices"][0]["finish_reason"])
            .filter(|f| !f.is_null())
            .collect();
        assert_eq!(finish, [&Value::from("stop")]);
        let usage = chunks.last().unwrap();
        assert_eq!(usage["choices"].as_array().map(Vec::len), Some(0));
        assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn serves_the_tiny_models_answers_on_the_cpu() {
    let s = start(&["--backend", "cpu", "-np", "2", "-c", "256"]);
    answers_tasks(&s);
    // Text completions, token ids as the prompt, /v1/models, tokenize and detokenize.
    let r = s.post(
        "/v1/completions",
        r#"{"prompt": "922+3=", "temperature": 0, "max_tokens": 16}"#,
    );
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], "925");
    let t = s
        .post("/tokenize", r#"{"content": "922+3=", "add_special": true}"#)
        .json();
    let ids = t["tokens"].to_string();
    let v = s
        .post(
            "/v1/completions",
            &format!(r#"{{"prompt": {ids}, "temperature": 0}}"#),
        )
        .json();
    assert_eq!(v["choices"][0]["text"], "925", "{v}");
    let d = s
        .post("/detokenize", &format!(r#"{{"tokens": {ids}}}"#))
        .json();
    assert!(d["content"].as_str().unwrap().ends_with("922+3="), "{d}");
    let m = s.get("/v1/models").unwrap().json();
    assert_eq!(m["data"][0]["id"], "wgpu-ds-tiny");
    // A stop string ends the text before it; max_tokens ends it with "length".
    let v = s
        .post(
            "/v1/completions",
            r#"{"prompt": "4096+8192=", "temperature": 0, "stop": "28"}"#,
        )
        .json();
    assert_eq!(
        (
            v["choices"][0]["text"].as_str(),
            v["choices"][0]["finish_reason"].as_str()
        ),
        (Some("12"), Some("stop"))
    );
    let v = s
        .post(
            "/v1/completions",
            r#"{"prompt": "4096+8192=", "temperature": 0, "max_tokens": 2}"#,
        )
        .json();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 2);
}

#[test]
fn serves_the_tiny_models_answers_on_the_gpu() {
    if std::env::var_os("CI").is_none()
        && wgpu_ds::gpu::GpuContext::new_blocking(&Default::default()).is_err()
    {
        eprintln!("skipping: no GPU adapter");
        return;
    }
    let s = start(&["-np", "3", "-c", "128"]);
    answers_tasks(&s);
}

/// Every bad input gets its status and an OpenAI-style error; the next request still succeeds.
#[test]
fn bad_input_gets_a_json_error_and_the_server_keeps_serving() {
    let s = start(&["--backend", "cpu", "-np", "1", "-c", "64"]);
    let long = "1+".repeat(60) + "1=";
    let big = format!(r#"{{"prompt": "{}"}}"#, "x".repeat(1 << 21));
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "/v1/chat/completions",
            "{not json".into(),
            400,
            "not valid JSON",
        ),
        ("/v1/chat/completions", "[1, 2]".into(), 400, "JSON object"),
        (
            "/v1/chat/completions",
            r#"{"messages": "hi"}"#.into(),
            400,
            "invalid request",
        ),
        (
            "/v1/chat/completions",
            r#"{"messages": [{"role": "user", "content": "1+1="}], "temperature": "hot"}"#.into(),
            400,
            "invalid request",
        ),
        (
            "/v1/chat/completions",
            r#"{"messages": []}"#.into(),
            400,
            "'messages' is empty",
        ),
        (
            "/v1/chat/completions",
            chat_body("1+1=", r#", "model": "gpt-4o""#),
            404,
            "'gpt-4o' does not exist",
        ),
        (
            "/v1/chat/completions",
            chat_body(&long, ""),
            400,
            "context holds 64",
        ),
        (
            "/v1/chat/completions",
            chat_body("1+1=", r#", "max_tokens": 500"#),
            400,
            "exceed the context",
        ),
        (
            "/v1/chat/completions",
            chat_body("1+1=", r#", "n": 3"#),
            400,
            "'n' is not supported",
        ),
        (
            "/v1/chat/completions",
            chat_body("1+1=", r#", "logprobs": true"#),
            400,
            "'logprobs' is not supported",
        ),
        (
            "/v1/chat/completions",
            chat_body("1+1=", r#", "temperature": 9"#),
            400,
            "'temperature' is 9",
        ),
        (
            "/v1/chat/completions",
            r#"{"messages": [{"role": "tool", "content": "x"}]}"#.into(),
            400,
            "role 'tool'",
        ),
        (
            "/v1/completions",
            r#"{"prompt": [999999]}"#.into(),
            400,
            "outside the vocabulary",
        ),
        (
            "/v1/completions",
            r#"{"prompt": []}"#.into(),
            400,
            "prompt is empty",
        ),
        ("/v1/completions", big, 413, "exceeds"),
        ("/v1/nothing", "{}".into(), 404, "no route"),
    ];
    for (path, body, status, says) in cases {
        let r = s.post(path, &body);
        assert_eq!(
            r.status,
            status,
            "{path} {}: {}",
            &body[..body.len().min(80)],
            r.body
        );
        let v = r.json();
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(says), "{msg:?} should say {says:?}");
        assert!(v["error"]["type"].is_string(), "{v}");
        let ok = s.post("/v1/chat/completions", &chat_body("922+3=", ""));
        assert_eq!(content(&ok.json()), "925", "after {path} {status}");
    }
}

/// A client that sends half its body and stalls gets 408 after --timeout; others are served
/// meanwhile.
#[test]
fn a_stalled_body_times_out_and_others_are_served() {
    let s = start(&["--backend", "cpu", "-np", "1", "-c", "64", "--timeout", "1"]);
    let mut slow = s.open(
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\": ",
    );
    let ok = s.post("/v1/chat/completions", &chat_body("922+3=", ""));
    assert_eq!(content(&ok.json()), "925");
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut slow, &mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("did not arrive in time"), "{reply}");
}

/// A client that goes away mid-stream gives its slot back (one slot: the next request runs), and
/// a request beyond the slot and the queue is answered 503 at once.
#[test]
fn abandoned_streams_free_their_slot_and_a_full_server_says_503() {
    // Prefill 16 tokens per step: a 400-token prompt takes 25 steps, time to notice the client
    // has gone before it is done.
    let args = [
        "--backend",
        "cpu",
        "-np",
        "1",
        "--queue",
        "0",
        "-c",
        "512",
        "--ubatch-size",
        "16",
    ];
    let s = start(&args);
    let long = "1".repeat(400);
    let body = chat_body(&long, r#", "stream": true, "max_tokens": 8"#);
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = s.open(&req);
    // The role chunk arrives once the request is admitted; then the client goes away.
    let mut first = [0u8; 64];
    std::io::Read::read(&mut stream, &mut first).unwrap();
    drop(stream);
    // Freed from its slot mid-prefill, or dropped from the queue if the engine had not
    // admitted it yet.
    s.wait_log("client gone");
    let ok = s.post("/v1/chat/completions", &chat_body("922+3=", ""));
    assert_eq!(content(&ok.json()), "925");
    // A long prompt holds the only slot while it prefills; a request meanwhile is refused.
    let body = chat_body(&long, r#", "max_tokens": 8"#);
    let busy = std::thread::scope(|sc| {
        let admitted = s.log.lock().unwrap().matches("slot 0, ").count();
        let first = sc.spawn(|| s.post("/v1/chat/completions", &body));
        // Once the engine has given it the slot, it is in flight until its 25 prefill steps
        // and 8 tokens are done.
        let t = std::time::Instant::now();
        while s.log.lock().unwrap().matches("slot 0, ").count() == admitted {
            assert!(
                t.elapsed().as_secs() < 60,
                "the long request was never admitted"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let second = s.post("/v1/chat/completions", &chat_body("922+3=", ""));
        assert_eq!(first.join().unwrap().status, 200);
        second
    });
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.json()["error"]["code"], "server_busy");
    let ok = s.post("/v1/chat/completions", &chat_body("922+3=", ""));
    assert_eq!(content(&ok.json()), "925");
}

#[test]
fn the_api_key_guards_every_endpoint_but_health() {
    let s = start(&[
        "--backend",
        "cpu",
        "-np",
        "1",
        "-c",
        "64",
        "--api-key",
        "sesame",
    ]);
    let body = chat_body("922+3=", "");
    for headers in [
        "",
        "Authorization: Bearer wrong\r\n",
        "Authorization: sesame\r\n",
    ] {
        let r = s.post_with("/v1/chat/completions", &body, headers).unwrap();
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.json()["error"]["type"], "authentication_error");
    }
    let r = s.post_with("/tokenize", r#"{"content": "x"}"#, "").unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(s.get("/health").unwrap().status, 200);
    let r = s
        .post_with(
            "/v1/chat/completions",
            &body,
            "Authorization: Bearer sesame\r\n",
        )
        .unwrap();
    assert_eq!(content(&r.json()), "925");
}
