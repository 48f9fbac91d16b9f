//! Per-layer intermediates of prompt 0 against llama.cpp's pure-f32 dumps, node by node in graph
//! order, so a failure names the first node that diverges.

use std::path::Path;

use wgpu_ds::cpu::{Buf, CpuExecutor};
use wgpu_ds::model::{AttnForm, Model, StepSpec};

/// Our node name → llama.cpp's dump name, and whether the dump is [H, T, n] where ours is [T, H, n].
fn dump_name(ours: &str, dump_dir: &Path) -> Option<(String, bool)> {
    let (base, layer) = match ours.rsplit_once('-') {
        Some((b, l)) if l.chars().all(|c| c.is_ascii_digit()) => (b, format!("-{l}")),
        _ => (ours, String::new()),
    };
    let candidates: Vec<String> = match base {
        // Our final routing weights are llama.cpp's last weights node of the layer.
        "ffn_moe_weights" => [
            "ffn_moe_weights_scaled",
            "ffn_moe_weights_norm",
            "ffn_moe_weights",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        _ => vec![base.to_string()],
    };
    candidates
        .into_iter()
        .map(|c| format!("{c}{layer}"))
        .find(|n| dump_dir.join(format!("{n}.npy")).exists())
        .map(|n| {
            let permuted = base == "q_nope_absorbed";
            (n, permuted)
        })
}

fn check_model(stem: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle");
    let dump_dir = root.join(format!("refs/{stem}/deqf32_nofa_kvf32/dump_p0"));
    let model = Model::open(root.join(format!("models/{stem}.gguf"))).unwrap();
    let prompt: Vec<u32> = std::fs::read_to_string(root.join("prompts/p0.ids"))
        .unwrap()
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let spec = StepSpec {
        n_tokens: prompt.len(),
        pos0: 0,
        all_logits: true,
        attn: AttnForm::Absorbed,
    };
    let g = model.graph(spec);
    let mut ex = CpuExecutor::new(&model, prompt.len());
    let vals = ex.run(&g, &prompt, true).unwrap();
    let mut compared = 0;
    for (id, node) in g.nodes.iter().enumerate() {
        let Some((dump, permuted)) = dump_name(&node.name, &dump_dir) else {
            continue;
        };
        let (shape, want) = wgpu_ds::npy::read_f32(&dump_dir.join(format!("{dump}.npy"))).unwrap();
        let got: Vec<f32> = match vals.get(id).unwrap() {
            Buf::F32(v) => v.clone(),
            Buf::I32(v) => v.iter().map(|&x| x as f32).collect(),
        };
        let got = if permuted {
            // [H, T, n] in the dump.
            let (h, t, n) = (shape[0], shape[1], shape[2]);
            let mut p = vec![0f32; got.len()];
            for hi in 0..h {
                for ti in 0..t {
                    p[(hi * t + ti) * n..][..n].copy_from_slice(&got[(ti * h + hi) * n..][..n]);
                }
            }
            p
        } else {
            got
        };
        assert_eq!(
            got.len(),
            want.len(),
            "{stem}: node {} vs dump {dump} {shape:?}",
            node.name
        );
        let max_ref = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let tol = 1e-5 + 1e-5 * max_ref;
        let (i, err) = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .enumerate()
            // A NaN difference counts as the worst (and fails the bound).
            .fold((0, 0f32), |best, (i, e)| {
                if e.is_nan() || e > best.1 {
                    (i, if e.is_nan() { f32::INFINITY } else { e })
                } else {
                    best
                }
            });
        assert!(
            err <= tol,
            "{stem}: first diverging node is '{}' (dump {dump}): max abs error {err:.3e} > {tol:.3e} at flat index {i}: ours {} vs llama.cpp {}",
            node.name,
            got[i],
            want[i]
        );
        compared += 1;
    }
    compared
}

#[test]
fn intermediates_of_prompt_0_match_llama_cpp_dumps() {
    for stem in ["tiny-v2lite-s-F16", "tiny-v3-s-F16", "tiny-v3-k256-F16"] {
        let n = check_model(stem);
        println!("{stem}: {n} nodes match");
        assert!(n > 20, "{stem}: only {n} nodes compared");
    }
}
