//! Per-layer intermediates of prompt 0 against llama.cpp's pure-f32 dumps, node by node in graph
//! order, so a failure names the first node that diverges.

use std::collections::BTreeSet;
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
    let spec = StepSpec::run(prompt.len(), true, AttnForm::Absorbed);
    let g = model.graph(spec);
    let mut ex = CpuExecutor::new(&model, prompt.len());
    let vals = ex.run(&g, &prompt, true).unwrap();
    let mut matched = BTreeSet::new();
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
        compare(stem, &node.name, &dump, &got, &want);
        matched.insert(dump);
    }
    let node = |name: &str| -> Vec<f32> {
        let id = g
            .nodes
            .iter()
            .position(|n| n.name == name)
            .unwrap_or_else(|| panic!("{stem}: no node {name}"));
        match vals.get(id).unwrap() {
            Buf::F32(v) => v.clone(),
            Buf::I32(v) => v.iter().map(|&x| x as f32).collect(),
        }
    };
    let derived = derived_dumps(&model, &node);
    for (dump, got) in derived {
        let path = dump_dir.join(format!("{dump}.npy"));
        if !path.exists() {
            continue;
        }
        let (_, want) = wgpu_ds::npy::read_f32(&path).unwrap();
        compare(stem, "(derived)", &dump, &got, &want);

        matched.insert(dump);
    }
    let unmatched: Vec<String> = std::fs::read_dir(&dump_dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".npy").map(str::to_owned))
        .filter(|n| !matched.contains(n))
        .collect();
    assert!(
        unmatched.is_empty(),
        "{stem}: {} dumps match no node: {unmatched:?}",
        unmatched.len()
    );
    matched.len()
}

/// Asserts our values are within 1e-5 + 1e-5·max|ref| of a dump (infinities equal), naming the
/// first diverging one.
fn compare(stem: &str, node: &str, dump: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{stem}: node {node} vs dump {dump}");
    // The scale of the finite values (masked scores hold -inf, which must match exactly).
    let max_ref = want
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f32, |m, v| m.max(v.abs()));
    let tol = 1e-5 + 1e-5 * max_ref;
    let (i, err) = got
        .iter()
        .zip(want)
        .map(|(a, b)| if a == b { 0.0 } else { (a - b).abs() })
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
            node,
            got[i],
            want[i]
        );
}

/// llama.cpp's dumps that are not one of our nodes but follow from them: the MLA step's
/// concatenated Q, K and V (absorbed form), and DeepSeek-V3 routing's intermediates (the
/// selection bias added, the chosen groups, the masked scores, the chosen probabilities, their
/// sum and their normalization). Every layer's, by dump name.
fn derived_dumps(model: &Model, node: &dyn Fn(&str) -> Vec<f32>) -> Vec<(String, Vec<f32>)> {
    let c = &model.config;
    let (kv, rope, h) = (c.kv_lora_rank, c.n_embd_head_qk_rope, c.n_head);
    let mut out = Vec::new();
    for il in 0..c.n_layer {
        // Qcur [T, H, kv + rope] = q_nope_absorbed ‖ q_pe; Kcur [T, 1, kv + rope] = kv_cmpr ‖
        // k_pe; Vcur [T, 1, kv] = kv_cmpr.
        let (qa, qpe) = (
            node(&format!("q_nope_absorbed-{il}")),
            node(&format!("q_pe-{il}")),
        );
        let (kvc, kpe) = (node(&format!("kv_cmpr-{il}")), node(&format!("k_pe-{il}")));
        let t = kvc.len() / kv;
        let mut q = Vec::with_capacity(t * h * (kv + rope));
        let mut k = Vec::with_capacity(t * (kv + rope));
        for ti in 0..t {
            for hi in 0..h {
                q.extend_from_slice(&qa[(ti * h + hi) * kv..][..kv]);
                q.extend_from_slice(&qpe[(ti * h + hi) * rope..][..rope]);
            }
            k.extend_from_slice(&kvc[ti * kv..][..kv]);
            k.extend_from_slice(&kpe[ti * rope..][..rope]);
        }
        out.push((format!("Qcur-{il}"), q));
        out.push((format!("Kcur-{il}"), k));
        out.push((format!("Vcur-{il}"), kvc));
        if il >= c.n_layer_dense_lead && c.n_expert > 0 {
            out.extend(routing_dumps(model, il, node));
        }
    }
    out
}

/// The routing intermediates of MoE layer `il` from our probabilities and chosen experts.
fn routing_dumps(
    model: &Model,
    il: usize,
    node: &dyn Fn(&str) -> Vec<f32>,
) -> Vec<(String, Vec<f32>)> {
    let c = &model.config;
    let (e, k) = (c.n_expert, c.n_expert_used);
    let probs = node(&format!("ffn_moe_probs-{il}"));
    let topk = node(&format!("ffn_moe_topk-{il}"));
    let t = probs.len() / e;
    let mut out = Vec::new();
    // The chosen experts' probabilities [T, K, 1], their sum [T, 1], normalized [T, K].
    let weights: Vec<f32> = (0..t * k)
        .map(|i| probs[(i / k) * e + topk[i] as usize])
        .collect();
    let sums: Vec<f32> = weights.chunks(k).map(|w| w.iter().sum()).collect();
    let norm: Vec<f32> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| w / sums[i / k])
        .collect();
    out.push((format!("ffn_moe_weights-{il}"), weights));
    out.push((format!("ffn_moe_weights_sum-{il}"), sums));
    out.push((format!("ffn_moe_weights_norm-{il}"), norm));
    let Some(bias) = model
        .weights
        .tensors
        .iter()
        .position(|w| w.name == format!("blk.{il}.exp_probs_b.bias"))
    else {
        return out;
    };
    let bias =
        wgpu_ds::quant::dequantize(model.weights.tensors[bias].ty, model.weight_bytes(bias), e)
            .unwrap();
    let biased: Vec<f32> = probs
        .iter()
        .enumerate()
        .map(|(i, p)| p + bias[i % e])
        .collect();
    // Groups: each scored by the sum of its two best biased probabilities; the best
    // n_group_used kept (as llama.cpp lists them: best first), the rest masked to -inf.
    let (groups, used) = (c.n_expert_groups.max(1), c.n_group_used);
    let per = e / groups;
    let mut chosen = Vec::new();
    let mut masked = biased.clone();
    for ti in 0..t {
        let row = &biased[ti * e..][..e];
        let score = |g: usize| {
            let mut v: Vec<f32> = row[g * per..][..per].to_vec();
            v.sort_by(|a, b| b.total_cmp(a));
            v[0] + v.get(1).copied().unwrap_or(0.0)
        };
        let mut order: Vec<usize> = (0..groups).collect();
        order.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
        chosen.extend(order[..used].iter().map(|&g| g as f32));
        for g in order[used..].iter() {
            masked[ti * e + g * per..][..per].fill(f32::NEG_INFINITY);
        }
    }
    out.push((format!("ffn_moe_probs_biased-{il}"), biased));
    out.push((format!("ffn_moe_group_topk-{il}"), chosen));
    out.push((format!("ffn_moe_probs_masked-{il}"), masked));
    out
}

#[test]
fn intermediates_of_prompt_0_match_llama_cpp_dumps() {
    for stem in ["tiny-v2lite-s-F16", "tiny-v3-s-F16", "tiny-v3-k256-F16"] {
        let n = check_model(stem);
        println!("{stem}: all {n} dumps match a node or follow from ours");
    }
}
