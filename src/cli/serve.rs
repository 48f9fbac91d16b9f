//! `wgpu-ds serve [-m FILE]`: the OpenAI-compatible server (`wgpu_ds::serve`). Without `-m` it
//! serves the embedded model.

use wgpu_ds::serve::{serve, MakeExecutor, ServeOptions};
use wgpu_ds::tokenizer::Tokenizer;
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
    /// Address to listen on (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Sequences decoded together, each with its own latent cache of -c positions (also -np, as
    /// llama-server spells it).
    #[arg(long = "parallel", default_value_t = 4)]
    pub parallel: usize,
    /// Positions per sequence.
    #[arg(short = 'c', long = "ctx-size", default_value_t = 4096)]
    pub ctx_size: usize,
    /// Requests that may wait for a free sequence slot; beyond them the server answers 503.
    #[arg(long, default_value_t = 64)]
    pub queue: usize,
    /// Require `Authorization: Bearer KEY` on every endpoint but /health.
    #[arg(long)]
    pub api_key: Option<String>,
    /// Prompt tokens per prefill step (one chunk runs between decode steps; also -ub).
    #[arg(long = "ubatch-size", default_value_t = 512)]
    pub ubatch: usize,
    /// Seconds a client has to send its request body (408 after).
    #[arg(long = "timeout", default_value_t = 30)]
    pub timeout: u64,
}

pub fn run(a: Args) -> Result<()> {
    if a.parallel == 0 {
        return Err(Error::Usage("-np must be at least 1".into()));
    }
    let model = a.model.open()?;
    let tok = Tokenizer::from_gguf(&model.file)?;
    if tok.chat_template().is_none() {
        log::warn!(
            "{} has no chat template: /v1/chat/completions will answer 400",
            a.model.display()
        );
    }
    let n_ctx = a.ctx_size.min(model.config.n_ctx_train).max(2);
    let model_id = match &a.model.model {
        Some(p) => p.file_stem().map_or_else(
            || p.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        ),
        None => "wgpu-ds-tiny".to_string(),
    };
    let (backend, precision, n_slots) = (a.backend.clone(), a.precision, a.parallel);
    let make: MakeExecutor = Box::new(move |m| executor(&backend, &precision, m, n_ctx, n_slots));
    let opts = ServeOptions {
        host: a.host,
        port: a.port,
        model_id,
        n_slots,
        n_ctx,
        queue: a.queue,
        api_key: a.api_key,
        prefill_chunk: a.ubatch.max(1),
        body_timeout: std::time::Duration::from_secs(a.timeout.max(1)),
    };
    serve(model, tok, make, opts)
}
