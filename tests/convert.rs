//! `convert` against llama.cpp's converter and quantizer: the oracle's HF configs and tokenizers
//! plus weights taken back out of the oracle F16 GGUFs (inverse name mapping, `attn_k_b` /
//! `attn_v_b` re-joined into `kv_b_proj`, experts un-stacked, split over two safetensors parts)
//! must convert into the oracle files themselves: every key, tensor name, shape, type and byte
//! (F16, F32, Q8_0, Q4_0, Q6_K). The outputs reproduce the oracle's greedy ids; broken
//! checkpoints give errors naming the file and tensor.

mod convert_common;

use std::path::Path;
use std::process::Command;

use convert_common::{f32_bytes, hf_tensors, oracle, tmp, write_hf, HfTensor};
use wgpu_ds::convert::safetensors::{self, Dtype};
use wgpu_ds::convert::{convert, Options};
use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::gguf::{GgufFile, Value};
use wgpu_ds::model::Model;
use wgpu_ds::quant::{dequantize, QuantType};
use wgpu_ds::sample::SamplerConfig;
use wgpu_ds::session::{generate, GenerateOptions};

fn opts(t: QuantType) -> Options {
    Options {
        out_type: t,
        threads: 2,
        ..Options::default()
    }
}

/// Asserts `got` holds every key and value of `want` (and nothing else), and the same tensors:
/// names, shapes, types and bytes, and with `order` in the same order (llama-quantize sorts the
/// tensors of a block by name, the converter does not).
fn assert_same_file(got: &Path, want: &Path, order: bool) {
    let (g, w) = (GgufFile::open(got).unwrap(), GgufFile::open(want).unwrap());
    let label = want.file_name().unwrap().to_string_lossy();
    for (k, v) in w.metadata() {
        let gv = g
            .get(k)
            .unwrap_or_else(|| panic!("{label}: key {k} missing"));
        assert_eq!(gv, v, "{label}: key {k}");
    }
    let extra: Vec<&String> = g
        .metadata()
        .iter()
        .map(|(k, _)| k)
        .filter(|k| w.get(k).is_none())
        .collect();
    assert!(
        extra.is_empty(),
        "{label}: keys the oracle does not have: {extra:?}"
    );
    let names = |f: &GgufFile| {
        f.tensors()
            .iter()
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
    };
    let (mut gn, mut wn) = (names(&g), names(&w));
    if !order {
        gn.sort();
        wn.sort();
    }
    assert_eq!(gn, wn, "{label}: tensor names / order");
    for wt in w.tensors() {
        let gt = g.tensor(&wt.name).unwrap();
        assert_eq!(gt.ne, wt.ne, "{label}: {} shape", wt.name);
        assert_eq!(gt.ty, wt.ty, "{label}: {} type", wt.name);
        assert!(
            g.tensor_data(gt) == w.tensor_data(wt),
            "{label}: {} bytes differ",
            wt.name
        );
    }
}

fn greedy(path: &Path) -> Vec<u32> {
    let model = Model::from_file(GgufFile::open(path).unwrap()).unwrap();
    let prompt: Vec<u32> = std::fs::read_to_string(oracle().join("prompts/p0.ids"))
        .unwrap()
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let mut ex = CpuExecutor::new(&model, 64);
    let o = GenerateOptions {
        n_predict: 16,
        ignore_eos: true,
        sampler: SamplerConfig::greedy(),
        prefill_chunk: 512,
    };
    generate(&mut ex, &prompt, &o, &|_| false, &mut |_| Ok(true))
        .unwrap()
        .ids
}

fn ref_greedy(stem: &str) -> Vec<u32> {
    let p = oracle().join(format!("refs/{stem}/deqf32_nofa_kvf32/p0.json"));
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    j["greedy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// One oracle model: F16 round trip (bytes identical, greedy ids of the reference), then the
/// other output types that have an oracle file.
fn round_trip(stem: &str, also: &[(QuantType, &str)]) {
    let root = tmp(stem);
    // Named like the oracle's HF folder, so general.name comes out the same.
    let dir = root.join(stem);
    let mut tensors = hf_tensors(stem);
    let cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(oracle().join(format!("models/hf/{stem}/config.json"))).unwrap(),
    )
    .unwrap();
    if cfg.get("num_nextn_predict_layers").is_some() {
        // A multi-token-prediction layer, which the converter must drop.
        let n = cfg["num_hidden_layers"].as_u64().unwrap();
        tensors.push(HfTensor {
            name: format!("model.layers.{n}.eh_proj.weight"),
            dtype: Dtype::F32,
            shape: vec![2, 2],
            data: f32_bytes(&[1.0, 2.0, 3.0, 4.0]),
        });
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
    }
    write_hf(&dir, stem, &tensors);

    let out = root.join("out-f16.gguf");
    let t0 = std::time::Instant::now();
    let r = convert(&dir, &out, &opts(QuantType::F16)).unwrap();
    eprintln!(
        "{stem}: F16 in {:.2} s, {} tensors",
        t0.elapsed().as_secs_f64(),
        r.n_tensors
    );
    assert_same_file(
        &out,
        &oracle().join(format!("models/{stem}-F16.gguf")),
        true,
    );
    assert_eq!(
        greedy(&out),
        ref_greedy(&format!("{stem}-F16")),
        "{stem} F16 greedy"
    );

    for &(ty, suffix) in also {
        let out = root.join(format!("out-{suffix}.gguf"));
        let t0 = std::time::Instant::now();
        convert(&dir, &out, &opts(ty)).unwrap();
        eprintln!("{stem}: {suffix} in {:.2} s", t0.elapsed().as_secs_f64());
        let want = oracle().join(format!("models/{stem}-{suffix}.gguf"));
        // These oracle files come from llama-quantize (F32 included): order differs.
        assert_same_file(&out, &want, false);
        if ty == QuantType::Q8_0 {
            assert_eq!(
                greedy(&out),
                ref_greedy(&format!("{stem}-{suffix}")),
                "{stem} {suffix} greedy"
            );
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn v2lite_converts_to_the_oracle_files() {
    use QuantType::*;
    round_trip(
        "tiny-v2lite-s",
        &[(F32, "F32"), (Q8_0, "Q8_0"), (Q4_0, "Q4_0"), (Q6K, "Q6_K")],
    );
}

#[test]
fn v3_converts_to_the_oracle_files() {
    use QuantType::*;
    round_trip(
        "tiny-v3-s",
        &[(F32, "F32"), (Q8_0, "Q8_0"), (Q5_1, "Q5_1"), (Q6K, "Q6_K")],
    );
}

#[test]
fn v3_k256_converts_to_the_oracle_files() {
    round_trip("tiny-v3-k256", &[(QuantType::Q6K, "Q6_K")]);
}

#[test]
fn k_quants_load_and_run() {
    // q4_k on the hidden-256 model: K-quant where rows allow (256, 512), Q5_0 where they are 32.
    let root = tmp("k256-q4k");
    let dir = root.join("tiny-v3-k256");
    write_hf(&dir, "tiny-v3-k256", &hf_tensors("tiny-v3-k256"));
    let out = root.join("q4k.gguf");
    let r = convert(&dir, &out, &opts(QuantType::Q4K)).unwrap();
    let f = GgufFile::open(&out).unwrap();
    let ty = |n: &str| f.tensor(n).unwrap().ty;
    assert_eq!(ty("blk.1.ffn_up_exps.weight"), QuantType::Q4K);
    assert_eq!(ty("blk.1.ffn_down_exps.weight"), QuantType::Q5_0);
    assert_eq!(ty("blk.0.attn_k_b.weight"), QuantType::Q5_0);
    assert_eq!(ty("output.weight"), QuantType::Q6K);
    assert_eq!(ty("blk.1.ffn_gate_inp.weight"), QuantType::F32);
    assert_eq!(f.get("general.file_type"), Some(&Value::U32(14)));
    assert!(r
        .fallbacks
        .iter()
        .any(|(n, _, t)| n == "blk.0.attn_k_b.weight" && *t == QuantType::Q5_0));
    // llama-quantize made the oracle's Q4_K_M file from the same F16 values with the same
    // reference quantizer (no imatrix): every tensor that is Q4_K in both has the same bytes.
    let oracle_q4km = GgufFile::open(oracle().join("models/tiny-v3-k256-Q4_K_M.gguf")).unwrap();
    let mut same = 0;
    for t in f.tensors().iter().filter(|t| t.ty == QuantType::Q4K) {
        let Some(o) = oracle_q4km
            .tensor(&t.name)
            .filter(|o| o.ty == QuantType::Q4K)
        else {
            continue;
        };
        assert!(
            f.tensor_data(t) == oracle_q4km.tensor_data(o),
            "{}: Q4_K bytes differ from llama-quantize's",
            t.name
        );
        same += 1;
    }
    assert!(same >= 10, "only {same} Q4_K tensors compared");
    assert_eq!(greedy(&out).len(), 16);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn cli_converts_and_reports() {
    let root = tmp("cli");
    let dir = root.join("tiny-v3-s");
    write_hf(&dir, "tiny-v3-s", &hf_tensors("tiny-v3-s"));
    let out = root.join("cli.gguf");
    let o = Command::new(env!("CARGO_BIN_EXE_wgpu-ds"))
        .args([
            "convert",
            dir.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--type",
            "q8_0",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("83 tensors") && stdout.contains("Q8_0"),
        "{stdout}"
    );
    assert_same_file(&out, &oracle().join("models/tiny-v3-s-Q8_0.gguf"), false);
    let o = Command::new(env!("CARGO_BIN_EXE_wgpu-ds"))
        .args([
            "convert",
            dir.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--type",
            "iq2_xs",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--type iq2_xs"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn broken_checkpoints_give_errors_naming_file_and_tensor() {
    let stem = "tiny-v3-s";
    let base = hf_tensors(stem);
    let root = tmp("broken");
    let err = |name: &str, edit: &dyn Fn(&mut Vec<HfTensor>)| -> String {
        let dir = root.join(name);
        let mut t: Vec<HfTensor> = base
            .iter()
            .map(|x| HfTensor {
                name: x.name.clone(),
                dtype: x.dtype,
                shape: x.shape.clone(),
                data: x.data.clone(),
            })
            .collect();
        edit(&mut t);
        write_hf(&dir, stem, &t);
        let out = root.join(format!("{name}.gguf"));
        let e = convert(&dir, &out, &opts(QuantType::F16))
            .unwrap_err()
            .to_string();
        assert!(!out.exists(), "{name}: no output may be left behind");
        assert!(
            !root.join(format!("{name}.gguf.part")).exists(),
            "{name}: partial output removed"
        );
        e
    };

    let victim = "model.layers.3.self_attn.o_proj.weight";
    let e = err("missing", &|t| t.retain(|x| x.name != victim));
    assert!(e.contains(victim) && e.contains("missing"), "{e}");

    let e = err("shape", &|t| {
        let x = t.iter_mut().find(|x| x.name == victim).unwrap();
        x.shape = vec![x.shape[1], x.shape[0]];
    });
    assert!(
        e.contains(victim) && e.contains("shape") && e.contains(".safetensors"),
        "{e}"
    );

    let e = err("unknown", &|t| {
        t.push(HfTensor {
            name: "model.layers.0.self_attn.mystery.weight".into(),
            dtype: Dtype::F32,
            shape: vec![1],
            data: f32_bytes(&[0.0]),
        })
    });
    assert!(e.contains("mystery"), "{e}");

    let e = err("expert", &|t| {
        t.retain(|x| x.name != "model.layers.4.mlp.experts.17.up_proj.weight")
    });
    assert!(e.contains("experts.17.up_proj"), "{e}");

    // Truncated part: the header claims more bytes than the file has.
    let dir = root.join("truncated");
    write_hf(&dir, stem, &base);
    let part = dir.join("model-00002-of-00002.safetensors");
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..100]).unwrap();
    let e = convert(&dir, &root.join("t.gguf"), &opts(QuantType::F16))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model-00002-of-00002.safetensors") && e.contains("truncated"),
        "{e}"
    );
    // Data cut short: a tensor's byte range runs past the end.
    std::fs::write(&part, &bytes[..bytes.len() - 10]).unwrap();
    let e = convert(&dir, &root.join("t.gguf"), &opts(QuantType::F16))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model-00002-of-00002.safetensors") && e.contains("outside"),
        "{e}"
    );
    // A part the index lists but nobody has.
    std::fs::remove_file(&part).unwrap();
    let e = convert(&dir, &root.join("t.gguf"), &opts(QuantType::F16))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.safetensors.index.json") && e.contains("model-00002-of-00002"),
        "{e}"
    );

    // A pre-tokenizer that is not DeepSeek's must be named.
    let dir = root.join("pre");
    write_hf(&dir, stem, &base);
    let tj = dir.join("tokenizer.json");
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tj).unwrap()).unwrap();
    j["pre_tokenizer"] = serde_json::json!({"type": "ByteLevel", "add_prefix_space": false});
    std::fs::write(&tj, j.to_string()).unwrap();
    let e = convert(&dir, &root.join("t.gguf"), &opts(QuantType::F16))
        .unwrap_err()
        .to_string();
    assert!(e.contains("tokenizer.json") && e.contains("--pre"), "{e}");
    let named = Options {
        pre: Some("gpt-2".into()),
        ..opts(QuantType::F16)
    };
    convert(&dir, &root.join("t.gguf"), &named).unwrap();
    let f = GgufFile::open(root.join("t.gguf")).unwrap();
    assert_eq!(
        f.get("tokenizer.ggml.pre"),
        Some(&Value::String("gpt-2".into()))
    );

    // No tokenizer.
    let dir = root.join("notok");
    write_hf(&dir, stem, &base);
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let e = convert(&dir, &root.join("t.gguf"), &opts(QuantType::F16))
        .unwrap_err()
        .to_string();
    assert!(e.contains("tokenizer.json"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn fp8_block_scaled_weights_are_dequantized() {
    // DeepSeek-V3's release format: F8_E4M3 weights with one f32 scale per 128×128 block
    // (weight_scale_inv). Replace one matrix of tiny-v3-s by FP8 with 2×2 blocks of 16 and
    // check the F32 conversion holds weight × scale.
    let stem = "tiny-v3-s";
    let root = tmp("fp8");
    let dir = root.join(stem);
    let mut t = hf_tensors(stem);
    let victim = "model.layers.0.self_attn.o_proj.weight"; // [32, 128]
    let x = t.iter_mut().find(|x| x.name == victim).unwrap();
    assert_eq!(x.shape, [32, 128]);
    // e4m3 byte b for element (r, c): a few exact values.
    let codes = [0x38u8, 0xbe, 0x30, 0x44, 0x01];
    let fp8: Vec<u8> = (0..32 * 128).map(|i| codes[i % codes.len()]).collect();
    x.dtype = Dtype::F8E4M3;
    x.data = fp8.clone();
    let scales: Vec<f32> = (0..2 * 8).map(|i| 0.5 + i as f32 * 0.25).collect();
    t.push(HfTensor {
        name: format!("{victim}_scale_inv"),
        dtype: Dtype::F32,
        shape: vec![2, 8],
        data: f32_bytes(&scales),
    });
    t.sort_by(|a, b| a.name.cmp(&b.name));
    write_hf(&dir, stem, &t);
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    cfg["quantization_config"] =
        serde_json::json!({"quant_method": "fp8", "weight_block_size": [16, 16]});
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    let out = root.join("fp8.gguf");
    convert(&dir, &out, &opts(QuantType::F32)).unwrap();
    let f = GgufFile::open(&out).unwrap();
    let g = f.tensor("blk.0.attn_output.weight").unwrap();
    assert_eq!(g.ty, QuantType::F32);
    let got = dequantize(g.ty, f.tensor_data(g), 32 * 128).unwrap();
    for r in 0..32 {
        for c in 0..128 {
            let w = safetensors::f8_e4m3_to_f32(fp8[r * 128 + c]) * scales[(r / 16) * 8 + c / 16];
            assert_eq!(got[r * 128 + c], w, "({r}, {c})");
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}
