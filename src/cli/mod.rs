//! The `wgpu-ds` command line: one file per subcommand, each thin over the library.

pub mod backend;
pub mod bench;
pub mod chat;
pub mod check;
pub mod convert;
pub mod devices;
pub mod info;
pub mod prompt;
pub mod run;
pub mod serve;
pub mod tokenize;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use wgpu_ds::gguf::GgufFile;
use wgpu_ds::model::{embedded, Model};

#[derive(Parser)]
#[command(
    name = "wgpu-ds",
    version,
    about = "DeepSeek V2 / V2-Lite / V3 / R1 from GGUF files, on any GPU through wgpu"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Print a model's architecture, hyperparameters, tensor types and tokenizer.
    Info(info::Args),
    /// Turn text into token ids as llama.cpp does.
    Tokenize(tokenize::Args),
    /// Generate text from a prompt.
    Run(run::Args),
    /// Chat through the model's chat template (stdin/stdout).
    Chat(chat::Args),
    /// List GPU adapters with their features and limits.
    Devices(devices::Args),
    /// Run the model on the CPU reference and the GPU and compare every node.
    Check(check::Args),
    /// Measure prefill and decode tokens/s and per-matvec GB/s against the bandwidth roofline.
    Bench(bench::Args),
    /// An OpenAI-compatible HTTP server (chat and text completions, streamed or whole).
    Serve(serve::Args),
    /// Convert a Hugging Face DeepSeek V2/V3 checkpoint (safetensors) to GGUF.
    Convert(convert::Args),
}

/// `-m FILE`, as llama.cpp tools spell it; without it, the model embedded in the binary.
#[derive(clap::Args, Clone)]
pub struct ModelArg {
    /// GGUF model file (for a split model, its first part: name-00001-of-0000N.gguf). Default: the
    /// embedded wgpu-ds-tiny model (arithmetic and digit tasks, e.g. -p "12345+67890=").
    #[arg(short = 'm', long = "model")]
    pub model: Option<PathBuf>,
}

impl ModelArg {
    pub fn open_file(&self) -> wgpu_ds::Result<GgufFile> {
        match &self.model {
            Some(p) => GgufFile::open(p),
            None => embedded::open(),
        }
    }

    pub fn open(&self) -> wgpu_ds::Result<Model> {
        Model::from_file(self.open_file()?)
    }

    /// The file name for messages.
    pub fn display(&self) -> String {
        match &self.model {
            Some(p) => p.display().to_string(),
            None => embedded::NAME.to_string(),
        }
    }
}

pub fn main() -> wgpu_ds::Result<()> {
    // llama.cpp's two-letter short flags: `-np` reads as `--parallel`, `-ub` as
    // `--ubatch-size`.
    let args = std::env::args().map(|a| match a.as_str() {
        "-np" => "--parallel".into(),
        "-ub" => "--ubatch-size".into(),
        _ => a,
    });
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Info(a) => info::run(a),
        Command::Tokenize(a) => tokenize::run(a),
        Command::Run(a) => run::run(a),
        Command::Chat(a) => chat::run(a),
        Command::Devices(a) => devices::run(a),
        Command::Check(a) => check::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Convert(a) => convert::run(a),
    }
}
