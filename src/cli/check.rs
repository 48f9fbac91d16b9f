//! `wgpu-ds check -m FILE [-p TEXT]`: the model on the CPU and the GPU for the same tokens, every
//! named node compared; a table per op kind × weight type; non-zero exit on any failure.

use wgpu_ds::check::{
    check_tier, default_tokens, node_tier, summarize, NodeReport, FAST_LOGITS_NMSE, NEAR_TIE_KIND,
};
use wgpu_ds::model::CacheType;
use wgpu_ds::tokenizer::Tokenizer;
use wgpu_ds::{Error, Result};

use super::backend::{BackendArgs, PrecisionArgs};
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
    #[command(flatten)]
    pub precision: PrecisionArgs,
}

pub fn run(a: Args) -> Result<()> {
    let model = a.model.open()?;
    let tokens = match (&a.prompt.prompt, &a.prompt.file, &a.prompt.prompt_ids) {
        (None, None, None) => default_tokens(model.config.n_vocab),
        // Ids need no tokenizer (synthetic models have none).
        (None, None, Some(ids)) => ids.clone(),
        _ => a.prompt.ids(&Tokenizer::from_gguf(&model.file)?)?,
    };
    // Exact first (f32 cache on both sides), then the fast default's cache type if it differs.
    let mut types = vec![CacheType::F32];
    if a.precision.cache_type() != CacheType::F32 {
        types.push(a.precision.cache_type());
    }
    let mut first_failure = None;
    for ty in types {
        let reports = check_tier(&model, a.backend.open_gpu()?, &tokens, ty)?;
        if ty == CacheType::F32 {
            println!("exact (--precision exact): GPU and CPU reference with an f32 latent cache");
            print_table(&reports);
        } else {
            println!(
                "\nfast (the default): GPU and CPU reference with a {} latent cache, rounded alike",
                ty.name()
            );
            // check_tier puts the fast-against-exact logits last.
            let (nodes, last) = reports.split_at(reports.len() - 1);
            print_table(nodes);
            let r = &last[0];
            println!(
                "fast logits against the exact CPU reference: NMSE {:.3e}, max |err| {:.3e} (tier {FAST_LOGITS_NMSE:e})",
                r.nmse, r.max_abs
            );
        }
        match reports.iter().find(|r| !r.ok) {
            None => {
                let ties = reports.iter().filter(|r| r.kind == NEAR_TIE_KIND).count();
                println!(
                    "all {} nodes agree (NMSE <= {:e}, routing ids identical{})",
                    reports.len() - ties,
                    node_tier(ty),
                    match ties {
                        0 => String::new(),
                        n => format!(
                            " after following the GPU at {n} near-tied expert choice(s), listed below"
                        ),
                    }
                );
                for r in reports.iter().filter(|r| r.kind == NEAR_TIE_KIND) {
                    println!(
                        "  near-tie {} (router logits differ by at most {:.3e})",
                        r.name, r.max_abs
                    );
                }
            }
            Some(r) => {
                let e = format!(
                    "first diverging node '{}' ({}, {} cache): NMSE {:.3e}, max abs error {:.3e}",
                    r.name,
                    r.kind,
                    ty.name(),
                    r.nmse,
                    r.max_abs
                );
                println!("{e}");
                first_failure.get_or_insert(e);
            }
        }
    }
    match first_failure {
        None => Ok(()),
        Some(e) => Err(Error::Gpu(e)),
    }
}

fn print_table(reports: &[NodeReport]) {
    println!(
        "{:<26} {:>6} {:>6} {:>12} {:>12}",
        "op (weight type)", "nodes", "fail", "worst NMSE", "max |err|"
    );
    for (kind, (n, fail, nmse, max_abs)) in summarize(reports) {
        println!("{kind:<26} {n:>6} {fail:>6} {nmse:>12.3e} {max_abs:>12.3e}");
    }
}
