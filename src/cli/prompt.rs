//! Prompt input shared by subcommands: `-p TEXT`, `-f FILE` or `--prompt-ids 0,17,...`.

use std::path::PathBuf;

use wgpu_ds::tokenizer::Tokenizer;
use wgpu_ds::{Error, Result};

#[derive(clap::Args, Clone, Default)]
pub struct PromptArgs {
    /// Prompt text.
    #[arg(short = 'p', long = "prompt", conflicts_with_all = ["file", "prompt_ids"])]
    pub prompt: Option<String>,
    /// Read the prompt text from a file.
    #[arg(short = 'f', long = "file", conflicts_with = "prompt_ids")]
    pub file: Option<PathBuf>,
    /// Token ids to feed verbatim (no tokenization, no BOS added), comma-separated.
    #[arg(long = "prompt-ids", value_delimiter = ',')]
    pub prompt_ids: Option<Vec<u32>>,
}

impl PromptArgs {
    /// The prompt text, if given as text.
    pub fn text(&self) -> Result<Option<String>> {
        match (&self.prompt, &self.file) {
            (Some(p), _) => Ok(Some(p.clone())),
            (None, Some(f)) => std::fs::read_to_string(f)
                .map(Some)
                .map_err(|e| Error::io(f, e)),
            (None, None) => Ok(None),
        }
    }

    /// Token ids: verbatim ids, or the text tokenized with BOS and special tokens as llama.cpp does.
    pub fn ids(&self, tok: &Tokenizer) -> Result<Vec<u32>> {
        if let Some(ids) = &self.prompt_ids {
            return Ok(ids.clone());
        }
        match self.text()? {
            Some(t) => tok.encode(&t, true, true),
            None => Err(Error::Usage(
                "give a prompt with -p TEXT, -f FILE or --prompt-ids IDS".into(),
            )),
        }
    }
}
