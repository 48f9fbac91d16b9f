//! `wgpu-ds check -m FILE [-p TEXT]`: the model on the CPU and the GPU for the same tokens, every
//! named node compared; a table per op kind × weight type; non-zero exit on any failure.

use wgpu_ds::check::{check_prefill, summarize, MAX_NMSE};
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::tokenizer::Tokenizer;
use wgpu_ds::{Error, Result};

use super::backend::BackendArgs;
use super::prompt::PromptArgs;
use super::ModelArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub prompt: PromptArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
}

pub fn run(a: Args) -> Result<()> {
    let model = a.model.open()?;
    let tokens = match (&a.prompt.prompt, &a.prompt.file, &a.prompt.prompt_ids) {
        (None, None, None) => vec![0, 1, 2, 3, 4, 5, 6, 7]
            .into_iter()
            .map(|i: u32| i % model.config.n_vocab as u32)
            .collect(),
        _ => a.prompt.ids(&Tokenizer::from_gguf(&model.file)?)?,
    };
    let ctx = a.backend.open_gpu()?;
    let mut gpu = GpuExecutor::new(&model, ctx, tokens.len())?;
    let reports = check_prefill(&model, &mut gpu, &tokens)?;
    println!(
        "{:<24} {:>6} {:>6} {:>12} {:>12}",
        "op (weight type)", "nodes", "fail", "worst NMSE", "max |err|"
    );
    for (kind, (n, fail, nmse, max_abs)) in summarize(&reports) {
        println!("{kind:<24} {n:>6} {fail:>6} {nmse:>12.3e} {max_abs:>12.3e}");
    }
    match reports.iter().find(|r| !r.ok) {
        None => {
            println!(
                "\nall {} nodes agree (NMSE <= {MAX_NMSE:e}, routing ids identical)",
                reports.len()
            );
            Ok(())
        }
        Some(r) => Err(Error::Gpu(format!(
            "first diverging node '{}' ({}): NMSE {:.3e}, max abs error {:.3e}",
            r.name, r.kind, r.nmse, r.max_abs
        ))),
    }
}
