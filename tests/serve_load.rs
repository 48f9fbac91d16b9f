//! Load on `wgpu-ds serve` (ignored by default: a benchmark, not a timed test). 16 clients send
//! 25 chat requests each against `-np 4`, every answer checked against the tiny model's
//! held-out answers; errors other than the documented 503 fail it; the server's resident memory
//! after the load is compared with after a warm-up; then the same load against `-np 1`, and the
//! aggregate tokens/s of the two are printed with their ratio. Run it with
//! `tools/serve_load.sh` (GPU through WGPU_BACKEND, or `--backend cpu` via SERVE_LOAD_BACKEND).

mod serve_common;

use std::time::Instant;

const CLIENTS: usize = 16;
const PER_CLIENT: usize = 25;

/// (prompt, answer) of held-out prompts the model answers right.
fn tasks() -> Vec<(String, String)> {
    std::fs::read_to_string("models/wgpu-ds-tiny/held_out.tsv")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 4 && f[2] == f[3]).then(|| (f[1].to_string(), f[2].to_string()))
        })
        .collect()
}

struct Load {
    tokens: u64,
    seconds: f64,
    busy: usize,
}

fn load(s: &serve_common::Server, tasks: &[(String, String)]) -> Load {
    let t = Instant::now();
    let results: Vec<(u64, usize)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                sc.spawn(move || {
                    let (mut tokens, mut busy) = (0u64, 0usize);
                    for i in 0..PER_CLIENT {
                        let (prompt, answer) = &tasks[(c * PER_CLIENT + i) % tasks.len()];
                        let body = serve_common::chat_body(prompt, "");
                        loop {
                            let r = s.post("/v1/chat/completions", &body);
                            if r.status == 503 {
                                busy += 1;
                                std::thread::sleep(std::time::Duration::from_millis(20));
                                continue;
                            }
                            assert_eq!(r.status, 200, "{}", r.body);
                            let v = r.json();
                            let got = v["choices"][0]["message"]["content"].as_str().unwrap();
                            assert_eq!(got, answer, "{prompt}");
                            tokens += v["usage"]["completion_tokens"].as_u64().unwrap();
                            break;
                        }
                    }
                    (tokens, busy)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    Load {
        tokens: results.iter().map(|r| r.0).sum(),
        seconds: t.elapsed().as_secs_f64(),
        busy: results.iter().map(|r| r.1).sum(),
    }
}

#[test]
#[ignore = "a load benchmark: tools/serve_load.sh"]
fn sixteen_clients_against_four_slots_and_against_one() {
    let tasks = tasks();
    let backend = std::env::var("SERVE_LOAD_BACKEND").unwrap_or_else(|_| "auto".into());
    let mut rates = Vec::new();
    for np in ["4", "1"] {
        let s = serve_common::start(&["--backend", &backend, "-np", np, "-c", "64"]);
        // Warm-up: every pipeline and buffer of prefill and batched decode made once.
        load_small(&s, &tasks);
        let before = s.rss_kb();
        let l = load(&s, &tasks);
        let after = s.rss_kb();
        let rate = l.tokens as f64 / l.seconds;
        println!(
            "-np {np} ({backend}): {} requests, {} completion tokens in {:.2} s = {rate:.1} tok/s aggregate; {} busy answers (503, retried); RSS {:?} kB -> {:?} kB",
            CLIENTS * PER_CLIENT,
            l.tokens,
            l.seconds,
            l.busy,
            before,
            after
        );
        if let (Some(b), Some(a)) = (before, after) {
            assert!(a < b + 8 * 1024, "RSS grew from {b} kB to {a} kB");
        }
        rates.push(rate);
    }
    println!(
        "batched (-np 4) / one at a time (-np 1): {:.2}x",
        rates[0] / rates[1]
    );
    assert!(
        rates[0] > rates[1],
        "batched decode should beat one sequence at a time"
    );
}

/// A short concurrent round (4 clients × 4 requests).
fn load_small(s: &serve_common::Server, tasks: &[(String, String)]) {
    std::thread::scope(|sc| {
        for c in 0..4 {
            sc.spawn(move || {
                for i in 0..4 {
                    let (p, _) = &tasks[c * 4 + i];
                    s.post("/v1/chat/completions", &serve_common::chat_body(p, ""));
                }
            });
        }
    });
}
