//! `wgpu-ds run -m FILE -p TEXT`: generate text, streaming it to stdout.

use std::io::Write;
use std::path::PathBuf;

use wgpu_ds::sample::SamplerConfig;
use wgpu_ds::session::{self, GenerateOptions};
use wgpu_ds::tokenizer::Tokenizer;
use wgpu_ds::{Error, Result};

use super::backend::{executor, BackendArgs, PrecisionArgs};
use super::prompt::PromptArgs;
use super::ModelArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Tokens to generate at most.
    #[arg(short = 'n', long = "n-predict", default_value_t = 64)]
    pub n_predict: usize,
    /// Context size in tokens (prompt + generated); default min(4096, the model's training context).
    #[arg(short = 'c', long = "ctx-size")]
    pub ctx_size: Option<usize>,
    /// Temperature; 0 is greedy.
    #[arg(long = "temp", default_value_t = 0.8)]
    pub temperature: f32,
    #[arg(long = "top-k", default_value_t = 40)]
    pub top_k: usize,
    #[arg(long = "top-p", default_value_t = 0.95)]
    pub top_p: f32,
    #[arg(long = "min-p", default_value_t = 0.05)]
    pub min_p: f32,
    #[arg(long = "repeat-penalty", default_value_t = 1.0)]
    pub repeat_penalty: f32,
    #[arg(long = "seed", default_value_t = 0)]
    pub seed: u64,
    /// Keep generating after an end-of-generation token.
    #[arg(long)]
    pub ignore_eos: bool,
    /// Prompt tokens per prefill step (also -ub, as llama.cpp spells it): a long prompt runs in
    /// chunks, so the activation memory stays bounded.
    #[arg(long = "ubatch-size", default_value_t = 512)]
    pub ubatch: usize,
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// Print {"prompt_ids": [...], "ids": [...], "text": "..."} at the end instead of streaming.
    #[arg(long)]
    pub json: bool,
    /// Write the last prompt position's logits as a float32 .npy file.
    #[arg(long = "dump-logits")]
    pub dump_logits: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    let model = a.model.open()?;
    // A model without a usable tokenizer can still run verbatim ids.
    let tok = match Tokenizer::from_gguf(&model.file) {
        Ok(t) => Some(t),
        Err(e) if a.prompt.prompt_ids.is_some() => {
            log::warn!("no tokenizer ({e}); printing ids only");
            None
        }
        Err(e) => return Err(e),
    };
    let prompt = match &tok {
        Some(t) => a.prompt.ids(t)?,
        None => a.prompt.prompt_ids.clone().expect("checked above"),
    };
    let n_ctx = a.ctx_size.unwrap_or(model.config.n_ctx_train.min(4096));
    if n_ctx == 0 {
        return Err(Error::Usage("-c must be at least 1".into()));
    }
    session::check_prompt(&prompt, n_ctx, model.config.n_vocab)?;

    let opts = GenerateOptions {
        n_predict: a.n_predict,
        ignore_eos: a.ignore_eos,
        prefill_chunk: a.ubatch.max(1),
        sampler: SamplerConfig {
            temperature: a.temperature,
            top_k: a.top_k,
            top_p: a.top_p,
            min_p: a.min_p,
            repeat_penalty: a.repeat_penalty,
            seed: a.seed,
            ..Default::default()
        },
    };
    let mut exec = executor(&a.backend, &a.precision, &model, n_ctx, 1)?;
    let mut stream = tok.as_ref().map(|t| t.stream_decoder());
    let mut out = std::io::stdout().lock();
    let is_eog = |id: u32| tok.as_ref().is_some_and(|t| t.is_eog(id));
    let json = a.json;
    let mut on_token = |id: u32| -> Result<bool> {
        if !json {
            // Without a tokenizer the ids themselves, as the warning above says.
            let text = match stream.as_mut() {
                Some(s) => s.push(id)?,
                None => format!("{id} "),
            };
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| Error::Usage(format!("stdout: {e}")))?;
        }
        Ok(true)
    };
    let gen = session::generate(exec.as_mut(), &prompt, &opts, &is_eog, &mut on_token)?;
    if let Some(path) = &a.dump_logits {
        wgpu_ds::npy::write_f32(path, &[gen.prompt_logits.len()], &gen.prompt_logits)?;
    }
    if json {
        let text = match &tok {
            Some(t) => t.decode(&gen.ids, false, false)?,
            None => String::new(),
        };
        println!(
            "{}",
            serde_json::json!({ "prompt_ids": prompt, "ids": gen.ids, "text": text })
        );
    } else {
        if let Some(s) = stream.as_mut() {
            print!("{}", s.finish());
        }
        println!();
    }
    Ok(())
}
