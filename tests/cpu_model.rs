//! The CPU reference against llama.cpp's pure-f32 outputs (tests/fixtures/oracle): on every model
//! file and prompt, 16 greedy ids, the top-10 ids at every prompt position, last-position logits
//! within the f32 tier; per-layer intermediates of prompt 0 against llama.cpp's dumps; the two
//! MLA forms and the two file layouts agree.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::model::{AttnForm, Model, Place, StepSpec};

fn oracle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle")
}

/// f32 tier of the oracle README: |runtime - ref| <= 5e-4 + 1e-4 · max|ref|.
const LOGIT_ABS: f32 = 5e-4;
const LOGIT_REL: f32 = 1e-4;
const GREEDY_TIE_ABS: f64 = 2e-3;

fn argmax(x: &[f32]) -> usize {
    // Ties to the lower id, like the references.
    (0..x.len()).fold(0, |best, i| if x[i] > x[best] { i } else { best })
}

fn top10(x: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[b].total_cmp(&x[a]).then(a.cmp(&b)));
    idx.truncate(10);
    idx
}

struct Run {
    /// [T, n_vocab] logits of the prompt positions.
    prompt_logits: Vec<Vec<f32>>,
    greedy: Vec<usize>,
}

fn run(model: &Model, prompt: &[u32], attn: AttnForm, n_gen: usize) -> Run {
    let n_vocab = model.config.n_vocab;
    let mut ex = CpuExecutor::new(model, prompt.len() + n_gen);
    let spec = StepSpec::run(prompt.len(), true, attn);
    let g = model.graph(spec);
    let vals = ex.run(&g, prompt, false).unwrap();
    let prompt_logits: Vec<Vec<f32>> = vals
        .f32(g.logits)
        .unwrap()
        .chunks(n_vocab)
        .map(|c| c.to_vec())
        .collect();
    let mut greedy = vec![argmax(prompt_logits.last().unwrap())];
    for step in 1..n_gen {
        let pos = prompt.len() + step - 1;
        let g = model.graph_at(StepSpec::run(1, false, attn), Place::run(0, pos, 1));
        let vals = ex
            .run(&g, &[*greedy.last().unwrap() as u32], false)
            .unwrap();
        greedy.push(argmax(vals.f32(g.logits).unwrap()));
    }
    Run {
        prompt_logits,
        greedy,
    }
}

fn json(path: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ids(v: &Json) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// Checks one model × prompt against its reference; returns the max abs logit error.
fn check_case(model: &Model, stem: &str, prompt: &str) -> f32 {
    let dir = oracle().join("refs").join(stem).join("deqf32_nofa_kvf32");
    let r = json(&dir.join(format!("{prompt}.json")));
    let tokens: Vec<u32> = ids(&r["tokens"]).iter().map(|&t| t as u32).collect();
    let out = run(model, &tokens, AttnForm::Absorbed, 16);

    // Last-position logits within tolerance.
    let (_, ref_logits) =
        wgpu_ds::npy::read_f32(&dir.join(format!("{prompt}_last_logits.npy"))).unwrap();
    let last = out.prompt_logits.last().unwrap();
    let max_ref = ref_logits.iter().fold(0f32, |m, v| m.max(v.abs()));
    let tol = LOGIT_ABS + LOGIT_REL * max_ref;
    let err = last
        .iter()
        .zip(&ref_logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        err <= tol,
        "{stem} {prompt}: last logits max abs error {err} > {tol}"
    );

    // Top-10 ids at every prompt position (ids whose logit is within 2·tol of a neighbour may swap).
    for (pos, (got, want)) in out
        .prompt_logits
        .iter()
        .zip(r["prompt_top10"].as_array().unwrap())
        .enumerate()
    {
        let want_ids = ids(&want["ids"]);
        let want_logits: Vec<f64> = want["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let got_ids = top10(got);
        for (i, id) in want_ids.iter().enumerate() {
            let clear = want_logits[i] - want_logits[9] > 2.0 * tol as f64;
            let neighbours_close = (i > 0
                && want_logits[i - 1] - want_logits[i] < 2.0 * tol as f64)
                || (i < 9 && want_logits[i] - want_logits[i + 1] < 2.0 * tol as f64);
            if clear {
                assert!(
                    got_ids.contains(id),
                    "{stem} {prompt} pos {pos}: ref top-10 id {id} missing from {got_ids:?}"
                );
            }
            if !neighbours_close && clear {
                assert_eq!(
                    got_ids[i], *id,
                    "{stem} {prompt} pos {pos}: rank {i} of top-10 {got_ids:?} vs {want_ids:?}"
                );
            }
        }
    }

    // 16 greedy ids identical, or diverging only at a near tie of the reference.
    let want = ids(&r["greedy"]);
    if let Some(step) = (0..16).find(|&i| out.greedy[i] != want[i]) {
        let top = &r["greedy_steps_top10"][step];
        let tids = ids(&top["ids"]);
        let tl: Vec<f64> = top["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let pos = tids.iter().position(|&i| i == out.greedy[step]);
        assert!(
            pos.is_some_and(|p| tl[0] - tl[p] <= GREEDY_TIE_ABS),
            "{stem} {prompt}: greedy diverges at step {step}: {:?} vs {want:?}",
            out.greedy
        );
    }
    err
}

fn model_stems() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(oracle().join("models"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".gguf").map(str::to_owned))
        .collect();
    v.sort();
    v
}

#[test]
fn every_oracle_model_and_prompt_matches_llama_cpp_f32() {
    let mut worst = (0f32, String::new());
    for stem in model_stems() {
        let model = Model::open(oracle().join("models").join(format!("{stem}.gguf"))).unwrap();
        for prompt in ["p0", "p1", "p2"] {
            let err = check_case(&model, &stem, prompt);
            if err > worst.0 {
                worst = (err, format!("{stem} {prompt}"));
            }
        }
    }
    println!("worst last-logit error: {:.3e} ({})", worst.0, worst.1);
}

#[test]
fn absorbed_and_materialized_attention_agree() {
    for stem in ["tiny-v2lite-s-F32", "tiny-v3-s-Q4_K_M", "tiny-v3-k256-Q6_K"] {
        let model = Model::open(oracle().join("models").join(format!("{stem}.gguf"))).unwrap();
        let prompt: Vec<u32> = ids(&json(
            &oracle()
                .join("refs")
                .join(stem)
                .join("deqf32_nofa_kvf32/p1.json"),
        )["tokens"])
        .iter()
        .map(|&t| t as u32)
        .collect();
        let a = run(&model, &prompt, AttnForm::Absorbed, 4);
        let m = run(&model, &prompt, AttnForm::Materialized, 4);
        assert_eq!(a.greedy, m.greedy, "{stem}");
        for (x, y) in a
            .prompt_logits
            .iter()
            .flatten()
            .zip(m.prompt_logits.iter().flatten())
        {
            assert!((x - y).abs() <= 1e-5 + 1e-5 * x.abs(), "{stem}: {x} vs {y}");
        }
    }
}

#[test]
fn legacy_kv_b_and_split_layouts_give_the_same_logits() {
    for base in ["tiny-v2lite-s", "tiny-v3-s"] {
        let split = Model::open(oracle().join(format!("models/{base}-F16.gguf"))).unwrap();
        let legacy =
            Model::open(oracle().join(format!("models/{base}-legacy-kvb-F16.gguf"))).unwrap();
        assert_eq!(legacy.config.kv_layout, wgpu_ds::model::KvLayout::Legacy);
        assert_eq!(split.config.kv_layout, wgpu_ds::model::KvLayout::Split);
        let prompt = [0u32, 116, 352, 116, 47, 483, 19, 443];
        let a = run(&split, &prompt, AttnForm::Absorbed, 8);
        let b = run(&legacy, &prompt, AttnForm::Absorbed, 8);
        assert_eq!(a.greedy, b.greedy, "{base}");
        for (x, y) in a
            .prompt_logits
            .iter()
            .flatten()
            .zip(b.prompt_logits.iter().flatten())
        {
            assert!((x - y).abs() <= 1e-5 + 1e-5 * x.abs(), "{base}: {x} vs {y}");
        }
    }
}

#[test]
fn continuing_from_a_cached_prefix_gives_the_same_tokens_as_a_fresh_run() {
    use wgpu_ds::sample::SamplerConfig;
    use wgpu_ds::session::{generate, generate_from, GenerateOptions};
    let model = Model::open(oracle().join("models/tiny-v3-s-F32.gguf")).unwrap();
    let a: Vec<u32> =
        ids(&json(&oracle().join("refs/tiny-v3-s-F32/deqf32_nofa_kvf32/p1.json"))["tokens"])
            .iter()
            .map(|&t| t as u32)
            .collect();
    let mut b = a[..15].to_vec();
    b.extend([5, 9, 33]);
    let opts = GenerateOptions {
        n_predict: 8,
        ignore_eos: true,
        sampler: SamplerConfig::greedy(),
        prefill_chunk: 4,
    };
    let fresh = generate(
        &mut CpuExecutor::new(&model, 64),
        &b,
        &opts,
        &|_| false,
        &mut |_| Ok(true),
    )
    .unwrap();

    let mut ex = CpuExecutor::new(&model, 64);
    let mut cached = Vec::new();
    generate_from(&mut ex, &mut cached, &a, &opts, &|_| false, &mut |_| {
        Ok(true)
    })
    .unwrap();
    assert_eq!(
        cached.len(),
        a.len() + 7,
        "prompt and the generated tokens fed back"
    );
    let cont = generate_from(&mut ex, &mut cached, &b, &opts, &|_| false, &mut |_| {
        Ok(true)
    })
    .unwrap();
    assert_eq!(cont.ids, fresh.ids);
    for (x, y) in cont.prompt_logits.iter().zip(&fresh.prompt_logits) {
        assert!((x - y).abs() <= 1e-5, "{x} vs {y}");
    }
}
