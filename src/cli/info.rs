//! `wgpu-ds info -m FILE`: what a GGUF file holds, and how wgpu-ds reads it.

use std::collections::BTreeMap;

use wgpu_ds::model::Config;
use wgpu_ds::tokenizer::Tokenizer;
use wgpu_ds::Result;

use super::ModelArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArg,
    /// Also list every tensor.
    #[arg(long)]
    pub tensors: bool,
}

pub fn run(a: Args) -> Result<()> {
    let f = a.model.open_file()?;
    let parts = f.part_paths();
    println!(
        "file:          {} (GGUF v{}, {} bytes, alignment {})",
        f.path().display(),
        f.version(),
        f.file_bytes(),
        f.alignment()
    );
    if parts.len() > 1 {
        println!("split parts:   {}", parts.len());
        for p in &parts {
            println!("               {}", p.display());
        }
    }
    println!(
        "architecture:  {}",
        f.get_str("general.architecture")?.unwrap_or("(none)")
    );
    if let Some(name) = f.get_str("general.name")? {
        println!("name:          {name}");
    }

    println!("\nhyperparameters:");
    match Config::from_gguf(&f) {
        Ok(c) => print_config(&c),
        Err(e) => println!("  not runnable: {e}"),
    }

    let mut by_type: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for t in f.tensors() {
        let e = by_type.entry(t.ty.name()).or_default();
        e.0 += 1;
        e.1 += t.n_bytes;
    }
    let total: u64 = f.tensors().iter().map(|t| t.n_bytes).sum();
    println!("\ntensors:       {} ({} bytes)", f.tensors().len(), total);
    for (ty, (n, bytes)) in &by_type {
        println!("  {ty:<8} {n:>6} tensors {bytes:>14} bytes");
    }
    if a.tensors {
        for t in f.tensors() {
            println!("  {:<40} {:<8} {:?}", t.name, t.ty.name(), t.ne);
        }
    }

    println!("\ntokenizer:");
    match Tokenizer::from_gguf(&f) {
        Ok(t) => {
            println!("  model gpt2 (byte-level BPE), pre-tokenizer '{}'", t.pre());
            println!("  {} tokens, {} merges", t.n_vocab(), t.n_merges());
            println!(
                "  bos {:?}, eos {:?}, add_bos {}",
                t.bos(),
                t.eos(),
                t.add_bos()
            );
            match t.chat_template() {
                Some(tpl) => println!("  chat template: {} characters", tpl.len()),
                None => println!("  chat template: none"),
            }
        }
        Err(e) => println!("  unavailable: {e}"),
    }

    println!("\nmetadata ({} keys):", f.metadata().len());
    for (k, v) in f.metadata() {
        println!("  {k:<50} {}", v.summary());
    }
    Ok(())
}

fn print_config(c: &Config) {
    let q = match c.q_lora_rank {
        Some(r) => format!("q-LoRA rank {r}"),
        None => "direct attn_q".to_string(),
    };
    let rows: Vec<(&str, String)> = vec![
        (
            "layers",
            format!(
                "{} ({} dense lead, {} MoE)",
                c.n_layer,
                c.n_layer_dense_lead,
                c.n_layer - c.n_layer_dense_lead
            ),
        ),
        ("embedding", c.n_embd.to_string()),
        ("vocab", c.n_vocab.to_string()),
        ("context (train)", c.n_ctx_train.to_string()),
        ("heads", c.n_head.to_string()),
        ("query", q),
        ("kv_lora_rank", c.kv_lora_rank.to_string()),
        (
            "head dims",
            format!(
                "nope {}, rope {}, v {}",
                c.n_embd_head_qk_nope, c.n_embd_head_qk_rope, c.n_embd_head_v
            ),
        ),
        (
            "latent cache",
            format!("{} values per token per layer", c.n_embd_latent()),
        ),
        ("kv tensors", format!("{:?}", c.kv_layout)),
        ("dense ffn", c.n_ff.to_string()),
        (
            "experts",
            format!(
                "{} routed ({} used, width {}), {} shared",
                c.n_expert, c.n_expert_used, c.n_ff_exp, c.n_expert_shared
            ),
        ),
        (
            "groups",
            format!("{} ({} used)", c.n_expert_groups, c.n_group_used),
        ),
        (
            "gating",
            format!(
                "{:?}, weights norm {}, scale {}",
                c.gating, c.expert_weights_norm, c.expert_weights_scale
            ),
        ),
        ("rms eps", format!("{:e}", c.rms_eps)),
        ("rope base", c.rope_freq_base.to_string()),
        (
            "yarn",
            match c.yarn {
                Some(y) => format!(
                    "factor {}, original ctx {}, beta {}/{}, log multiplier {}",
                    y.factor, y.original_context, y.beta_fast, y.beta_slow, y.log_multiplier
                ),
                None => "none".into(),
            },
        ),
        (
            "kq scale",
            format!("{} (mscale {})", c.kq_scale(), c.yarn_mscale()),
        ),
    ];
    for (k, v) in rows {
        println!("  {k:<16} {v}");
    }
}
