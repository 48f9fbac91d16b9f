//! `wgpu-ds convert DIR -o OUT.gguf [--type TYPE]`: a Hugging Face DeepSeek V2/V3 checkpoint to a
//! GGUF file laid out as llama.cpp's converter writes it (see `wgpu_ds::convert`).

use std::path::PathBuf;

use wgpu_ds::convert::{self, Options, OUT_TYPES};
use wgpu_ds::quant::QuantType;
use wgpu_ds::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint folder: config.json, model*.safetensors, tokenizer.json, tokenizer_config.json.
    pub dir: PathBuf,
    /// Output GGUF file.
    #[arg(short = 'o', long = "outfile")]
    pub out: PathBuf,
    /// Weight type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k.
    /// Norms, the router and biases stay F32; rows that do not fit a type's block fall back as
    /// llama-quantize does.
    #[arg(short = 't', long = "type", default_value = "f16")]
    pub ty: String,
    /// Give output.weight the requested type too (llama-quantize --pure); by default it gets
    /// Q6_K (Q8_0 for q8_0 or when its rows do not fit), as llama-quantize does.
    #[arg(long)]
    pub pure: bool,
    /// tokenizer.ggml.pre, when the pre-tokenizer is not recognized (deepseek-v3, deepseek-llm).
    #[arg(long)]
    pub pre: Option<String>,
    /// general.name (default: from the folder name).
    #[arg(long)]
    pub name: Option<String>,
    /// Quantization threads (default: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub fn run(a: Args) -> Result<()> {
    let out_type = QuantType::from_name(&a.ty)
        .filter(|t| OUT_TYPES.contains(t))
        .ok_or_else(|| {
            Error::Usage(format!(
                "--type {}: not a supported type; use one of {}",
                a.ty,
                OUT_TYPES
                    .iter()
                    .map(|t| t.name().to_lowercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let opts = Options {
        out_type,
        pure: a.pure,
        pre: a.pre,
        name: a.name,
        threads: a.threads,
    };
    let t0 = std::time::Instant::now();
    let r = convert::convert(&a.dir, &a.out, &opts)?;
    println!(
        "wrote {} ({} tensors, {} bytes) in {:.2} s",
        r.path.display(),
        r.n_tensors,
        r.file_bytes,
        t0.elapsed().as_secs_f64()
    );
    for (ty, (n, bytes)) in &r.types {
        println!("  {ty:<6} {n:>6} tensors {bytes:>14} bytes");
    }
    if !r.fallbacks.is_empty() {
        println!(
            "  {} tensors fell back (row length not a multiple of the block), e.g. {} {} -> {}",
            r.fallbacks.len(),
            r.fallbacks[0].0,
            r.fallbacks[0].1,
            r.fallbacks[0].2
        );
    }
    if !r.skipped.is_empty() {
        println!(
            "  {} source tensors dropped, e.g. {} ({})",
            r.skipped.len(),
            r.skipped[0].0,
            r.skipped[0].1
        );
    }
    Ok(())
}
