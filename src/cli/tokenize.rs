//! `wgpu-ds tokenize -m FILE -p TEXT`: token ids exactly as llama.cpp's tokenizer gives them.

use wgpu_ds::tokenizer::Tokenizer;
use wgpu_ds::{Error, Result};

use super::prompt::PromptArgs;
use super::ModelArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Treat special-token text such as <｜begin▁of▁sentence｜> as plain text.
    #[arg(long)]
    pub no_special: bool,
    /// Do not add BOS (add_special = false).
    #[arg(long)]
    pub no_bos: bool,
    /// Print {"ids": [...]} instead of one `id -> 'piece'` line per token.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> Result<()> {
    let f = a.model.open_file()?;
    let tok = Tokenizer::from_gguf(&f)?;
    let text = a
        .prompt
        .text()?
        .ok_or_else(|| Error::Usage("give the text with -p TEXT or -f FILE".into()))?;
    let ids = tok.encode(&text, !a.no_bos, !a.no_special)?;
    if a.json {
        println!("{}", serde_json::json!({ "ids": ids }));
    } else {
        for id in ids {
            let piece = tok.token_to_piece(id, true)?;
            println!("{id:>6} -> '{}'", String::from_utf8_lossy(&piece));
        }
    }
    Ok(())
}
