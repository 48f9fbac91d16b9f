//! The generation loop, one for the CLI, the server and the web page:
//! prompt ids → prefill (in chunks) → sample → decode one token at a time → stream ids out.

use crate::cpu::CpuExecutor;
use crate::error::{Error, Result};
use crate::model::{AttnForm, Config, Place, StepSpec};
use crate::sample::{Sampler, SamplerConfig};

/// Something that runs steps of the model: the CPU reference or the GPU.
pub trait Executor {
    /// Runs a step whose token i sits at `places[i]`: consecutive positions of one sequence
    /// (a prefill chunk or a decode token), or one decode token of each of several sequences
    /// (distinct slots). Returns logits: [T, n_vocab] if `all_logits` or the step is a batch,
    /// else the last position's [n_vocab].
    fn step_places(
        &mut self,
        tokens: &[u32],
        places: &[Place],
        all_logits: bool,
    ) -> Result<Vec<f32>>;
    /// Runs `tokens` of the sequence in slot 0 at positions pos0.. (see `step_places`).
    fn step(&mut self, tokens: &[u32], pos0: usize, all_logits: bool) -> Result<Vec<f32>> {
        self.step_places(tokens, &Place::run(0, pos0, tokens.len()), all_logits)
    }
    /// Runs one step and returns the argmax of the last position's logits (greedy decoding). The
    /// GPU computes it in place and reads back one id instead of the logits.
    fn step_argmax(&mut self, tokens: &[u32], pos0: usize) -> Result<u32> {
        Ok(crate::sample::argmax(&self.step(tokens, pos0, false)?) as u32)
    }
    /// Positions each slot of the cache holds.
    fn n_ctx(&self) -> usize;
    /// Sequences the cache holds at once.
    fn n_slots(&self) -> usize {
        1
    }
    fn config(&self) -> &Config;
    /// Weight bytes the last step's matrix products read from memory, where the executor
    /// counts them (the GPU's encoders note each dispatch's); None elsewhere.
    fn last_weight_bytes(&self) -> Option<u64> {
        None
    }
}

/// The steps generation needs, awaited: in the browser the GPU answers every readback through the
/// event loop, so its steps are futures. Every [`Executor`] is one (its futures are ready at
/// once); the GPU executor is one on the web, where it is no `Executor`.
#[allow(async_fn_in_trait)]
pub trait StepAsync {
    /// [`Executor::step`] of the last position's logits.
    async fn step_async(&mut self, tokens: &[u32], pos0: usize) -> Result<Vec<f32>>;
    /// [`Executor::step_argmax`].
    async fn step_argmax_async(&mut self, tokens: &[u32], pos0: usize) -> Result<u32>;
    /// Positions the cache holds.
    fn context_size(&self) -> usize;
    fn vocab_size(&self) -> usize;
}

impl<E: Executor + ?Sized> StepAsync for E {
    async fn step_async(&mut self, tokens: &[u32], pos0: usize) -> Result<Vec<f32>> {
        self.step(tokens, pos0, false)
    }
    async fn step_argmax_async(&mut self, tokens: &[u32], pos0: usize) -> Result<u32> {
        self.step_argmax(tokens, pos0)
    }
    fn context_size(&self) -> usize {
        self.n_ctx()
    }
    fn vocab_size(&self) -> usize {
        self.config().n_vocab
    }
}

/// The shape of a step over `places` (see [`Executor::step_places`]): one sequence when every
/// token is in one slot, else a batch of one token per sequence.
pub fn spec_for(c: &Config, places: &[Place], all_logits: bool) -> StepSpec {
    let one_seq = places.windows(2).all(|w| w[0].slot == w[1].slot);
    if !one_seq {
        return StepSpec::batch(places.len());
    }
    let n = places.len();
    let n_kv = places.last().map_or(0, |p| p.pos + 1);
    StepSpec::run(n, all_logits, choose_attn_form(c, n, n_kv))
}

/// The cheaper MLA form for a step of `n_tokens` queries over `n_kv` cached positions, by
/// multiply-add count: absorbed maps every query into latent space; materialized expands every
/// cached position's K and V.
pub fn choose_attn_form(c: &Config, n_tokens: usize, n_kv: usize) -> AttnForm {
    let (h, kv, nope, rope, v) = (
        c.n_head,
        c.kv_lora_rank,
        c.n_embd_head_qk_nope,
        c.n_embd_head_qk_rope,
        c.n_embd_head_v,
    );
    let (t, s) = (n_tokens, n_kv);
    let absorbed = t * h * kv * (nope + v) + t * s * h * (2 * kv + rope);
    let materialized = s * h * kv * (nope + v) + t * s * h * (nope + rope + v);
    if materialized < absorbed {
        AttnForm::Materialized
    } else {
        AttnForm::Absorbed
    }
}

impl Executor for CpuExecutor<'_> {
    fn step_places(
        &mut self,
        tokens: &[u32],
        places: &[Place],
        all_logits: bool,
    ) -> Result<Vec<f32>> {
        let spec = spec_for(&self.model().config, places, all_logits);
        let mut graph = self.model().graph(spec);
        graph.places = places.to_vec();
        let mut vals = self.run(&graph, tokens, false)?;
        Ok(vals.take_f32(graph.logits).expect("logits are kept"))
    }
    fn n_ctx(&self) -> usize {
        self.cache.n_ctx
    }
    fn n_slots(&self) -> usize {
        self.cache.n_slots
    }
    fn config(&self) -> &Config {
        &self.model().config
    }
}

#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Tokens to generate at most (-n).
    pub n_predict: usize,
    /// Keep going past end-of-generation tokens.
    pub ignore_eos: bool,
    pub sampler: SamplerConfig,
    /// Prompt tokens per prefill step.
    pub prefill_chunk: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            n_predict: 64,
            ignore_eos: false,
            sampler: SamplerConfig::default(),
            prefill_chunk: 512,
        }
    }
}

pub struct Generation {
    pub ids: Vec<u32>,
    /// Logits of the last prompt position.
    pub prompt_logits: Vec<f32>,
}

/// Checks a prompt against the context before any work is done.
pub fn check_prompt(prompt: &[u32], n_ctx: usize, n_vocab: usize) -> Result<()> {
    if prompt.is_empty() {
        return Err(Error::Usage("the prompt is empty".into()));
    }
    if prompt.len() > n_ctx {
        return Err(Error::Usage(format!(
            "the prompt has {} tokens but the context holds {n_ctx}; raise -c or shorten the prompt",
            prompt.len()
        )));
    }
    if let Some(&bad) = prompt.iter().find(|&&t| t as usize >= n_vocab) {
        return Err(Error::Usage(format!(
            "prompt token id {bad} is outside the vocabulary of {n_vocab}"
        )));
    }
    Ok(())
}

/// Generates after `prompt`. `is_eog` tells end-of-generation tokens; `on_token` sees each new id
/// as soon as it is sampled and may stop the loop by returning false.
#[cfg(feature = "native")]
pub fn generate(
    exec: &mut dyn Executor,
    prompt: &[u32],
    opts: &GenerateOptions,
    is_eog: &dyn Fn(u32) -> bool,
    on_token: &mut dyn FnMut(u32) -> Result<bool>,
) -> Result<Generation> {
    generate_from(exec, &mut Vec::new(), prompt, opts, is_eog, on_token)
}

/// Like [`generate`], for a prompt that may continue what the cache already holds: `cached` are
/// the tokens whose latent rows are in the cache (positions 0..). Only the part of `prompt` after
/// their common prefix is prefilled (a chat turn costs its new tokens, not the whole history).
/// Afterwards `cached` holds the prompt and the generated tokens that were fed back.
#[cfg(feature = "native")]
pub fn generate_from(
    exec: &mut dyn Executor,
    cached: &mut Vec<u32>,
    prompt: &[u32],
    opts: &GenerateOptions,
    is_eog: &dyn Fn(u32) -> bool,
    on_token: &mut dyn FnMut(u32) -> Result<bool>,
) -> Result<Generation> {
    pollster::block_on(generate_from_async(
        exec, cached, prompt, opts, is_eog, on_token,
    ))
}

/// [`generate_from`] with awaited steps: the one generation loop, which the native functions
/// run to completion and the web page awaits.
pub async fn generate_from_async<E: StepAsync + ?Sized>(
    exec: &mut E,
    cached: &mut Vec<u32>,
    prompt: &[u32],
    opts: &GenerateOptions,
    is_eog: &dyn Fn(u32) -> bool,
    on_token: &mut dyn FnMut(u32) -> Result<bool>,
) -> Result<Generation> {
    let n_ctx = exec.context_size();
    check_prompt(prompt, n_ctx, exec.vocab_size())?;
    let mut sampler = Sampler::new(opts.sampler.clone());
    prompt.iter().for_each(|&t| sampler.accept(t));

    // Reuse the common prefix, but always run at least the last prompt token to get its logits.
    let common = cached
        .iter()
        .zip(prompt)
        .take_while(|(a, b)| a == b)
        .count();
    let reuse = common.min(prompt.len() - 1);
    cached.truncate(reuse);
    let chunk = opts.prefill_chunk.max(1);
    let mut prompt_logits = Vec::new();
    for (i, part) in prompt[reuse..].chunks(chunk).enumerate() {
        prompt_logits = exec.step_async(part, reuse + i * chunk).await?;
    }
    cached.extend_from_slice(&prompt[reuse..]);

    let mut ids = Vec::new();
    // Greedy decoding needs only the argmax of each step, which the GPU computes in place.
    let greedy = sampler.is_greedy();
    let mut next = sampler.sample(&prompt_logits);
    while ids.len() < opts.n_predict {
        let id = next;
        sampler.accept(id);
        ids.push(id);
        let pos = cached.len();
        if !on_token(id)?
            || (!opts.ignore_eos && is_eog(id))
            || ids.len() == opts.n_predict
            || pos >= n_ctx
        {
            break;
        }
        next = if greedy {
            exec.step_argmax_async(&[id], pos).await?
        } else {
            let logits = exec.step_async(&[id], pos).await?;
            sampler.sample(&logits)
        };
        cached.push(id);
    }
    Ok(Generation { ids, prompt_logits })
}
