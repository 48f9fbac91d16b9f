//! `wgpu-ds chat -m FILE`: a conversation on stdin/stdout through the model's chat template.
//! Each turn renders the whole conversation, and only the tokens after what the latent cache
//! already holds are prefilled.

use std::io::{BufRead, Write};

use wgpu_ds::sample::SamplerConfig;
use wgpu_ds::session::{generate_from, GenerateOptions};
use wgpu_ds::tokenizer::{ChatMessage, Tokenizer};
use wgpu_ds::{Error, Result};

use super::backend::{executor, BackendArgs, PrecisionArgs};
use super::ModelArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// A system prompt for the conversation.
    #[arg(long)]
    pub system: Option<String>,
    /// Tokens per reply at most.
    #[arg(short = 'n', long = "n-predict", default_value_t = 512)]
    pub n_predict: usize,
    #[arg(short = 'c', long = "ctx-size", default_value_t = 4096)]
    pub ctx_size: usize,
    #[arg(long = "temp", default_value_t = 0.8)]
    pub temperature: f32,
    #[arg(long = "seed", default_value_t = 0)]
    pub seed: u64,
    /// Prompt tokens per prefill step (also -ub, as llama.cpp spells it): a long prompt runs in
    /// chunks, so the activation memory stays bounded.
    #[arg(long = "ubatch-size", default_value_t = 512)]
    pub ubatch: usize,
}

fn io_err(e: std::io::Error) -> Error {
    Error::Usage(format!("terminal: {e}"))
}

pub fn run(a: Args) -> Result<()> {
    let model = a.model.open()?;
    let tok = Tokenizer::from_gguf(&model.file)?;
    if tok.chat_template().is_none() {
        return Err(Error::Template(format!(
            "{} has no tokenizer.chat_template",
            a.model.display()
        )));
    }
    let n_ctx = a.ctx_size.min(model.config.n_ctx_train).max(1);
    let mut exec = executor(&a.backend, &a.precision, &model, n_ctx, 1)?;
    let opts = GenerateOptions {
        n_predict: a.n_predict,
        prefill_chunk: a.ubatch.max(1),
        sampler: SamplerConfig {
            temperature: a.temperature,
            seed: a.seed,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut messages: Vec<ChatMessage> = a
        .system
        .iter()
        .map(|s| ChatMessage::new("system", s))
        .collect();
    let mut cached = Vec::new();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    eprintln!(
        "chatting with {} ({} tokens of context); end with Ctrl-D or /exit",
        a.model.display(),
        n_ctx
    );
    loop {
        eprint!("> ");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line).map_err(io_err)? == 0 || line.trim() == "/exit" {
            return Ok(());
        }
        messages.push(ChatMessage::new(
            "user",
            line.trim_end_matches(['\n', '\r']),
        ));
        let prompt = tok.encode(&tok.apply_chat_template(&messages, true)?, true, true)?;
        let mut stream = tok.stream_decoder();
        let mut reply = String::new();
        let mut on_token = |id: u32| -> Result<bool> {
            if !tok.is_eog(id) {
                let piece = stream.push(id)?;
                reply.push_str(&piece);
                out.write_all(piece.as_bytes())
                    .and_then(|_| out.flush())
                    .map_err(io_err)?;
            }
            Ok(true)
        };
        generate_from(
            exec.as_mut(),
            &mut cached,
            &prompt,
            &opts,
            &|id| tok.is_eog(id),
            &mut on_token,
        )?;
        let tail = stream.finish();
        reply.push_str(&tail);
        println!("{tail}");
        messages.push(ChatMessage::new("assistant", &reply));
    }
}
