//! `wgpu-ds convert`: a Hugging Face DeepSeek V2 / V2-Lite / V3 / R1 checkpoint folder
//! (`config.json`, `model*.safetensors` in F32/F16/BF16 or block-scaled FP8, `tokenizer.json`,
//! `tokenizer_config.json`) → one GGUF file with the metadata keys and tensor layout of
//! llama.cpp's `convert_hf_to_gguf.py` (`DeepseekV2Model`): MLA written as MQA
//! (`head_count_kv` = 1, `key_length` = kv_lora + rope, `value_length` = kv_lora, plus the
//! `*_mla` keys), `kv_b_proj` split into `attn_k_b` (ne [nope, kv_lora, n_head], each head
//! transposed) and `attn_v_b` (ne [kv_lora, v, n_head]), routed experts stacked into
//! `ffn_{gate,up,down}_exps`, multi-token-prediction layers dropped.
//!
//! ## Tensor types
//!
//! * F32 always: 1-D tensors, `*_norm.weight`, `ffn_gate_inp.weight`, anything not ending in
//!   `.weight` (`exp_probs_b.bias`) — as the converter and `llama-quantize` keep them.
//! * `--type f32|f16|bf16`: every other tensor in that type (the converter's `--outtype`).
//! * `--type q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|q5_k|q6_k`: every other tensor in that type,
//!   quantized with ggml's reference quantizers (what `llama-quantize` runs without an
//!   importance matrix), with `llama-quantize`'s rules:
//!   - `output.weight` (and `token_embd.weight` when the embeddings are tied) becomes Q6_K,
//!     or Q8_0 when its row length is not a multiple of the requested type's block, or stays
//!     Q8_0 when Q8_0 was asked for (`--pure` turns this rule off);
//!   - a row length that is not a multiple of the type's block falls back: Q2_K, Q3_K → Q4_0,
//!     Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0 (llama.cpp `tensor_type_fallback`), and to F16 when
//!     even that block (32) does not divide the row.
//!
//!   For q8_0, q4_0, q4_1, q5_0, q5_1 and q6_k this gives exactly the tensor types (and, from the
//!   same F16 weights, the bytes) of `llama-quantize <F16 GGUF> <TYPE>`. For q2_k … q5_k it is a
//!   uniform type, not llama.cpp's `_S`/`_M` mixes; `general.file_type` is then the matching
//!   `_S` value (Q3_K_S 11, Q4_K_S 14, Q5_K_S 16).
//!
//! The output is streamed: tensors are read from the memory-mapped safetensors, converted and
//! quantized a few MB at a time (quantization on every core) and written to `OUT.part`, renamed
//! to OUT at the end. Memory use stays near one chunk (plus one `kv_b_proj`), whatever the model
//! size.

mod general;
pub mod hf_config;
pub mod names;
pub mod safetensors;
pub mod tokenizer_json;
mod types;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use self::hf_config::HfConfig;
use self::names::Target;
use self::safetensors::{Dtype, SafeTensors, StTensor};
use self::tokenizer_json::HfTokenizer;
use crate::error::{Error, Result};
use crate::gguf::{encode_header, TensorHeader, Value, DEFAULT_ALIGNMENT};
use crate::quant::{self, QuantType};

pub use self::general::{id_to_title, size_label};
pub use self::types::{choose_type, file_type, OUT_TYPES};
use self::write::write_gguf;

/// How to convert.
#[derive(Clone, Debug)]
pub struct Options {
    /// Type of the weight matrices (see the module docs for the rules).
    pub out_type: QuantType,
    /// Do not give `output.weight` its own type (llama-quantize `--pure`).
    pub pure: bool,
    /// `tokenizer.ggml.pre`, when the pre-tokenizer is not recognized.
    pub pre: Option<String>,
    /// `general.name` (default: from the folder name, as gguf-py does).
    pub name: Option<String>,
    /// Quantization threads (0: every core).
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            out_type: QuantType::F16,
            pure: false,
            pre: None,
            name: None,
            threads: 0,
        }
    }
}

/// What was written.
#[derive(Debug)]
pub struct Report {
    pub path: PathBuf,
    pub n_tensors: usize,
    pub file_bytes: u64,
    /// Tensors and bytes per type.
    pub types: BTreeMap<String, (usize, u64)>,
    /// Tensors whose row length made them fall back: (name, requested, used).
    pub fallbacks: Vec<(String, QuantType, QuantType)>,
    /// HF tensors that were deliberately dropped, with the reason.
    pub skipped: Vec<(String, &'static str)>,
}

/// Where the data of an HF tensor is.
#[derive(Clone, Debug)]
struct Src {
    file: usize,
    name: String,
}

/// How an output tensor is produced from HF tensors.
#[derive(Clone, Debug)]
enum Source {
    Plain(Src),
    /// Experts stacked along the outermost dimension.
    Stack(Vec<Src>),
    /// `attn_k_b` from `kv_b_proj`.
    KB(Src),
    /// `attn_v_b` from `kv_b_proj`.
    VB(Src),
}

struct OutTensor {
    name: String,
    ne: Vec<u64>,
    ty: QuantType,
    source: Source,
}

impl OutTensor {
    fn n_bytes(&self) -> u64 {
        let rows: u64 = self.ne[1..].iter().product();
        self.ty
            .row_bytes(self.ne[0])
            .expect("type chosen to fit the row")
            * rows
    }
}

/// The opened checkpoint: config, safetensors parts and where each tensor is.
struct Checkpoint {
    dir: PathBuf,
    cfg: HfConfig,
    files: Vec<SafeTensors>,
    /// HF name → file index, in (file, name) order.
    index: BTreeMap<String, usize>,
    /// Block size of FP8 `weight_scale_inv` scales.
    fp8_block: (u64, u64),
}

impl Checkpoint {
    fn open(dir: &Path) -> Result<Checkpoint> {
        let cfg = HfConfig::load(dir)?;
        let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("model") && n.ends_with(".safetensors"))
            })
            .collect();
        parts.sort();
        if parts.is_empty() {
            return Err(Error::Model(format!(
                "{}: no model*.safetensors file (PyTorch .bin checkpoints are not supported)",
                dir.display()
            )));
        }
        let files: Vec<SafeTensors> = parts
            .iter()
            .map(SafeTensors::open)
            .collect::<Result<Vec<_>>>()?;
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for (i, f) in files.iter().enumerate() {
            for name in f.tensors().keys() {
                if let Some(&j) = index.get(name) {
                    return Err(Error::Model(format!(
                        "tensor '{name}' is in both {} and {}",
                        files[j].path().display(),
                        f.path().display()
                    )));
                }
                index.insert(name.clone(), i);
            }
        }
        // The index of a sharded checkpoint must agree with the parts.
        let index_path = dir.join("model.safetensors.index.json");
        if index_path.is_file() {
            let text =
                std::fs::read_to_string(&index_path).map_err(|e| Error::io(&index_path, e))?;
            let j: Json = serde_json::from_str(&text).map_err(|e| {
                Error::Model(format!("{}: not valid JSON: {e}", index_path.display()))
            })?;
            let map = j
                .get("weight_map")
                .and_then(Json::as_object)
                .ok_or_else(|| {
                    Error::Model(format!(
                        "{}: no \"weight_map\" object",
                        index_path.display()
                    ))
                })?;
            if let Some((name, file)) = map.iter().find(|(n, _)| !index.contains_key(*n)) {
                return Err(Error::Model(format!(
                    "tensor '{name}' is listed in {} (file {file}) but no safetensors part holds it (missing or incomplete part?)",
                    index_path.display()
                )));
            }
        }
        let fp8_block = cfg
            .json
            .get("quantization_config")
            .and_then(|q| q.get("weight_block_size"))
            .and_then(Json::as_array)
            .and_then(|a| Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?)))
            .filter(|&(a, b)| a > 0 && b > 0)
            .unwrap_or((128, 128));
        Ok(Checkpoint {
            dir: dir.to_path_buf(),
            cfg,
            files,
            index,
            fp8_block,
        })
    }

    fn tensor(&self, s: &Src) -> &StTensor {
        self.files[s.file].get(&s.name).expect("indexed")
    }

    fn where_is(&self, s: &Src) -> String {
        format!(
            "{}: tensor '{}'",
            self.files[s.file].path().display(),
            s.name
        )
    }

    /// The FP8 block scale of a weight (`<name>_scale_inv`), if it has one.
    fn scale_of(&self, s: &Src) -> Option<Src> {
        let n = format!("{}_scale_inv", s.name);
        self.index.get(&n).map(|&file| Src { file, name: n })
    }

    /// Rows `r0 .. r0 + n` (of length `row_len`, the innermost dimension) of a tensor, as f32,
    /// with an FP8 block scale applied.
    fn read_rows(&self, s: &Src, r0: u64, n: u64) -> Result<Vec<f32>> {
        let t = self.tensor(s);
        let row_len = t.row_len();
        let f = &self.files[s.file];
        let mut v = f.read_f32(&s.name, (r0 * row_len) as usize, (n * row_len) as usize)?;
        if let Some(sc) = self.scale_of(s) {
            let st = self.tensor(&sc);
            let rows = t.n_elements() / row_len.max(1);
            let (bo, bi) = self.fp8_block;
            let want = [rows.div_ceil(bo), row_len.div_ceil(bi)];
            if st.shape != want {
                return Err(Error::Model(format!(
                    "{}: shape {:?}, expected {want:?} for {}x{} blocks of {:?}",
                    self.where_is(&sc),
                    st.shape,
                    bo,
                    bi,
                    t.shape
                )));
            }
            let scales = self.files[sc.file].read_f32(&sc.name, 0, st.n_elements() as usize)?;
            for (i, row) in v.chunks_mut(row_len as usize).enumerate() {
                let br = (r0 + i as u64) / bo;
                for (j, x) in row.iter_mut().enumerate() {
                    *x *= scales[(br * want[1] + j as u64 / bi) as usize];
                }
            }
        } else if t.dtype == Dtype::F8E4M3 {
            return Err(Error::Model(format!(
                "{}: F8_E4M3 weight without a '{}_scale_inv' block scale",
                self.where_is(s),
                s.name
            )));
        }
        Ok(v)
    }

    fn read_all(&self, s: &Src) -> Result<Vec<f32>> {
        let t = self.tensor(s);
        let rl = t.row_len().max(1);
        self.read_rows(s, 0, t.n_elements() / rl)
    }
}

/// Converts the checkpoint in `dir` to the GGUF file `out`.
pub fn convert(dir: &Path, out: &Path, opts: &Options) -> Result<Report> {
    if !OUT_TYPES.contains(&opts.out_type) {
        return Err(Error::Usage(format!(
            "--type {} is not supported; use one of {}",
            opts.out_type,
            OUT_TYPES
                .iter()
                .map(|t| t.name().to_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let ck = Checkpoint::open(dir)?;
    let cfg = &ck.cfg;
    let tok = HfTokenizer::load(dir)?;

    // Map every HF tensor, check its shape, and lay out the GGUF tensors in the converter's
    // order (files in name order, tensors sorted; experts emitted when a layer's last one is
    // seen, as down, gate, up).
    let mut outs: Vec<OutTensor> = Vec::new();
    let mut skipped = Vec::new();
    let mut experts: HashMap<usize, BTreeMap<(&'static str, usize), Src>> = HashMap::new();
    let n_exp = cfg.n_expert.unwrap_or(0);
    let mut by_file: Vec<(usize, &String)> = ck.index.iter().map(|(n, &f)| (f, n)).collect();
    by_file.sort();
    let ne_of = |shape: &[u64]| shape.iter().rev().copied().collect::<Vec<u64>>();
    for (file, name) in by_file {
        if name.ends_with("_scale_inv") && ck.index.contains_key(&name[..name.len() - 10]) {
            continue; // an FP8 block scale, applied when its weight is read
        }
        let src = Src {
            file,
            name: name.clone(),
        };
        let t = ck.tensor(&src);
        let target = names::map(cfg, name).ok_or_else(|| {
            Error::Model(format!(
                "{}: no deepseek2 GGUF tensor corresponds to this name (not a DeepSeek V2/V3 tensor, or not expected by config.json)",
                ck.where_is(&src)
            ))
        })?;
        let check = |want: &[u64]| -> Result<()> {
            if t.shape != want {
                return Err(Error::Model(format!(
                    "{}: shape {:?}, but config.json implies {want:?}",
                    ck.where_is(&src),
                    t.shape
                )));
            }
            Ok(())
        };
        match target {
            Target::Skip(why) => skipped.push((name.clone(), why)),
            Target::Plain { name: gname, shape } => {
                check(&shape)?;
                outs.push(OutTensor {
                    name: gname,
                    ne: ne_of(&shape),
                    ty: QuantType::F32,
                    source: Source::Plain(src),
                });
            }
            Target::KvB { layer, shape } => {
                check(&shape)?;
                let (h, nope, v, kv) = (
                    cfg.n_head as u64,
                    cfg.nope as u64,
                    cfg.v_head as u64,
                    cfg.kv_lora_rank as u64,
                );
                outs.push(OutTensor {
                    name: format!("blk.{layer}.attn_k_b.weight"),
                    ne: vec![nope, kv, h],
                    ty: QuantType::F32,
                    source: Source::KB(src.clone()),
                });
                outs.push(OutTensor {
                    name: format!("blk.{layer}.attn_v_b.weight"),
                    ne: vec![kv, v, h],
                    ty: QuantType::F32,
                    source: Source::VB(src),
                });
            }
            Target::Expert {
                layer,
                expert,
                proj,
                shape,
            } => {
                check(&shape)?;
                let e = experts.entry(layer).or_default();
                e.insert((proj, expert), src);
                if e.len() == n_exp * 3 {
                    let e = experts.remove(&layer).unwrap();
                    for proj in ["down_proj", "gate_proj", "up_proj"] {
                        let srcs: Vec<Src> = (0..n_exp).map(|x| e[&(proj, x)].clone()).collect();
                        let mut ne = ne_of(&ck.tensor(&srcs[0]).shape);
                        ne.push(n_exp as u64);
                        outs.push(OutTensor {
                            name: names::exps_name(layer, proj),
                            ne,
                            ty: QuantType::F32,
                            source: Source::Stack(srcs),
                        });
                    }
                }
            }
        }
    }
    if let Some(missing) = names::required(cfg)
        .into_iter()
        .find(|n| !ck.index.contains_key(n))
    {
        return Err(Error::Model(format!(
            "tensor '{missing}' is missing: no model*.safetensors file in {} holds it",
            ck.dir.display()
        )));
    }
    debug_assert!(experts.is_empty(), "every expert is required");

    let mut fallbacks = Vec::new();
    for t in &mut outs {
        let (ty, fell) = choose_type(&t.name, &t.ne, cfg.tie_embeddings, opts);
        t.ty = ty;
        if fell {
            fallbacks.push((t.name.clone(), opts.out_type, ty));
        }
    }

    // Metadata, in the converter's order.
    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "model".into());
    let shapes: Vec<(String, Vec<u64>)> = outs
        .iter()
        .map(|t| (t.name.clone(), t.ne.clone()))
        .collect();
    let mut meta: Vec<(String, Value)> = vec![
        (
            "general.architecture".into(),
            Value::String("deepseek2".into()),
        ),
        ("general.type".into(), Value::String("model".into())),
        (
            "general.name".into(),
            Value::String(opts.name.clone().unwrap_or_else(|| id_to_title(&dir_name))),
        ),
        (
            "general.size_label".into(),
            Value::String(size_label(&shapes)),
        ),
    ];
    meta.extend(cfg.gguf_metadata(file_type(opts.out_type))?);
    meta.push(("general.quantization_version".into(), Value::U32(2)));
    meta.extend(tok.gguf_metadata(cfg.vocab_size, opts.pre.as_deref())?);

    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let part = PathBuf::from(format!("{}.part", out.display()));
    let result = write_gguf(&part, &meta, &outs, &ck, threads);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    std::fs::rename(&part, out).map_err(|e| Error::io(out, e))?;

    let mut types: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for t in &outs {
        let e = types.entry(t.ty.name().to_string()).or_default();
        e.0 += 1;
        e.1 += t.n_bytes();
    }
    Ok(Report {
        path: out.to_path_buf(),
        n_tensors: outs.len(),
        file_bytes: std::fs::metadata(out).map_err(|e| Error::io(out, e))?.len(),
        types,
        fallbacks,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use QuantType::*;

    #[test]
    fn names_and_size_labels_follow_gguf_py() {
        assert_eq!(id_to_title("tiny-v2lite-s"), "Tiny V2Lite S");
        assert_eq!(id_to_title("tiny-v3-s"), "Tiny v3 S");
        assert_eq!(id_to_title("tiny-v3-k256"), "Tiny v3 K256");
        assert_eq!(
            id_to_title("DeepSeek-V2-Lite-Chat"),
            "DeepSeek V2 Lite Chat"
        );
        assert_eq!(id_to_title("deepseek-v2.5"), "Deepseek v2.5");
        let t = |n: &str, ne: &[u64]| (n.to_string(), ne.to_vec());
        assert_eq!(size_label(&[t("a.weight", &[1000, 1500])]), "1.5M");
        assert_eq!(
            size_label(&[
                t("a.weight", &[100, 100]),
                t("blk.1.ffn_up_exps.weight", &[10, 10, 4])
            ]),
            "4x10K"
        );
    }

    #[test]
    fn type_rules_match_llama_quantize() {
        let o = |t| Options {
            out_type: t,
            ..Options::default()
        };
        let ct = |n: &str, ne: &[u64], t| choose_type(n, ne, false, &o(t));
        assert_eq!(ct("blk.0.attn_norm.weight", &[256], Q4K), (F32, false));
        assert_eq!(
            ct("blk.1.ffn_gate_inp.weight", &[256, 8], Q4K),
            (F32, false)
        );
        assert_eq!(ct("blk.1.exp_probs_b.bias", &[8], Q4K), (F32, false));
        assert_eq!(ct("blk.1.ffn_up.weight", &[256, 8], Q4K), (Q4K, false));
        assert_eq!(ct("blk.1.ffn_up.weight", &[32, 8], Q4K), (Q5_0, true));
        assert_eq!(ct("blk.1.ffn_up.weight", &[32, 8], Q2K), (Q4_0, true));
        assert_eq!(ct("blk.1.ffn_up.weight", &[32, 8], Q5K), (Q5_1, true));
        assert_eq!(ct("blk.1.ffn_up.weight", &[32, 8], Q6K), (Q8_0, true));
        assert_eq!(ct("blk.1.ffn_up.weight", &[48, 8], Q6K), (F16, true));
        assert_eq!(ct("blk.1.ffn_up.weight", &[48, 8], Q8_0), (F16, true));
        assert_eq!(ct("blk.1.ffn_up.weight", &[48, 8], F16), (F16, false));
        assert_eq!(ct("output.weight", &[256, 8], Q4_0), (Q6K, false));
        assert_eq!(ct("output.weight", &[32, 8], Q4_0), (Q8_0, true));
        assert_eq!(ct("output.weight", &[256, 8], Q8_0), (Q8_0, false));
        assert_eq!(ct("output.weight", &[256, 8], Q2K), (Q6K, false));
        let pure = Options {
            out_type: Q4_0,
            pure: true,
            ..Options::default()
        };
        assert_eq!(
            choose_type("output.weight", &[256, 8], false, &pure),
            (Q4_0, false)
        );
        assert_eq!(
            choose_type("token_embd.weight", &[256, 8], true, &o(Q4_0)),
            (Q6K, false)
        );
        assert_eq!(
            choose_type("token_embd.weight", &[256, 8], false, &o(Q4_0)),
            (Q4_0, false)
        );
    }
}
