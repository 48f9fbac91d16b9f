//! The whole model on the GPU (lavapipe in CI): on every oracle file, every node of a prefill step
//! agrees with the CPU reference (both MLA forms), and 16 greedy ids are identical to llama.cpp's
//! pure-f32 run (prompt 0 on every file, all three prompts on the F32/F16 files); and with the
//! f16 latent cache, against the CPU holding one. Fails without an adapter when CI is set; skips with a reason otherwise.

mod common;

use std::path::{Path, PathBuf};

use wgpu_ds::check::{check_prefill, fast_vs_exact_logits};
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::model::{CacheType, Model};
use wgpu_ds::sample::SamplerConfig;
use wgpu_ds::session::{generate, GenerateOptions};

fn oracle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle")
}

fn stems() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(oracle().join("models"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".gguf").map(str::to_owned))
        .collect();
    v.sort();
    v
}

fn json_ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn every_oracle_model_on_the_gpu_matches_the_cpu_node_by_node_and_llama_cpp_greedy() {
    if common::gpu().is_none() {
        return;
    }
    for stem in stems() {
        let model = Model::open(oracle().join(format!("models/{stem}.gguf"))).unwrap();
        let refs = oracle().join(format!("refs/{stem}/deqf32_nofa_kvf32"));
        let p0: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(refs.join("p0.json")).unwrap()).unwrap();
        let mut ex = GpuExecutor::new(&model, common::gpu().unwrap(), 64).unwrap();

        let reports = check_prefill(&model, &mut ex, &json_ids(&p0["tokens"])).unwrap();
        if let Some(r) = reports.iter().find(|r| !r.ok) {
            panic!(
                "{stem}: first diverging node '{}' ({}): NMSE {:.3e}, max abs {:.3e}",
                r.name, r.kind, r.nmse, r.max_abs
            );
        }

        // All three prompts on the unquantized bases, prompt 0 elsewhere (keeps CI on lavapipe short).
        let prompts: &[&str] = if stem.ends_with("-F32") || stem.ends_with("-F16") {
            &["p0", "p1", "p2"]
        } else {
            &["p0"]
        };
        for &prompt in prompts {
            let r: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(refs.join(format!("{prompt}.json"))).unwrap(),
            )
            .unwrap();
            let opts = GenerateOptions {
                n_predict: 16,
                ignore_eos: true,
                sampler: SamplerConfig::greedy(),
                ..Default::default()
            };
            let gen = generate(
                &mut ex,
                &json_ids(&r["tokens"]),
                &opts,
                &|_| false,
                &mut |_| Ok(true),
            )
            .unwrap();
            assert_eq!(
                gen.ids,
                json_ids(&r["greedy"]),
                "{stem} {prompt}: GPU greedy ids differ from llama.cpp"
            );
        }
    }
}

/// The fast default's f16 latent cache on every oracle file: every node of a prefill step agrees
/// with the CPU reference holding an f16 cache rounded alike (check::F16_CACHE_NMSE), and the
/// fused logits stay within check::FAST_LOGITS_NMSE of the exact f32-cache reference.
#[test]
fn every_oracle_model_with_an_f16_cache_matches_the_cpu_with_an_f16_cache() {
    if common::gpu().is_none() {
        return;
    }
    // The files in reverse: this test runs beside the one above, and most of both is compiling
    // the same pipelines (lavapipe). From opposite ends each finds the other's in the driver's
    // shader cache instead of compiling them at the same time.
    for stem in stems().into_iter().rev() {
        let model = Model::open(oracle().join(format!("models/{stem}.gguf"))).unwrap();
        let refs = oracle().join(format!("refs/{stem}/deqf32_nofa_kvf32"));
        let p0: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(refs.join("p0.json")).unwrap()).unwrap();
        let ctx = common::gpu().unwrap();
        let mut ex = GpuExecutor::with_cache(&model, ctx, 64, CacheType::F16).unwrap();
        let tokens = json_ids(&p0["tokens"]);
        let mut reports = check_prefill(&model, &mut ex, &tokens).unwrap();
        reports.push(fast_vs_exact_logits(&model, &mut ex, &tokens).unwrap());
        if let Some(r) = reports.iter().find(|r| !r.ok) {
            panic!(
                "{stem} (f16 cache): first diverging node '{}' ({}): NMSE {:.3e}, max abs {:.3e}",
                r.name, r.kind, r.nmse, r.max_abs
            );
        }
    }
}

/// `wgpu-ds check -m tiny-v2lite-s-Q4_0.gguf -p "The quick brown fox"` with the f16 cache: on
/// lavapipe the GPU's router logits of one token at layer 18 tip a near-tie to another expert
/// than the CPU's (both within the f16 tier). check follows the GPU's choice there
/// (check::cpu_following_near_ties) and every node, after it too, agrees within the tier.
#[test]
fn a_near_tied_expert_choice_is_followed_and_the_rest_agrees() {
    if common::gpu().is_none() {
        return;
    }
    let model = Model::open(oracle().join("models/tiny-v2lite-s-Q4_0.gguf")).unwrap();
    let tokens = [0, 54, 263, 223, 403, 297, 77, 291, 307, 89, 80, 285, 81, 90];
    let mut ex =
        GpuExecutor::with_cache(&model, common::gpu().unwrap(), 64, CacheType::F16).unwrap();
    let reports = check_prefill(&model, &mut ex, &tokens).unwrap();
    if let Some(r) = reports.iter().find(|r| !r.ok) {
        panic!(
            "first diverging node '{}' ({}): NMSE {:.3e}",
            r.name, r.kind, r.nmse
        );
    }
    for r in reports
        .iter()
        .filter(|r| r.kind == wgpu_ds::check::NEAR_TIE_KIND)
    {
        println!(
            "followed {} (router logits within {:.3e})",
            r.name, r.max_abs
        );
    }
}
