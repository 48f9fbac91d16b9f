//! The scheduler of `serve`: one thread that owns the executor and its latent-cache slots. It
//! admits requests into free slots (the rest wait in arrival order), prefills one chunk of one
//! new prompt between decode steps so running streams keep flowing, and decodes every running
//! sequence together in one batched step (`Executor::step_places`: one token per sequence, each
//! over its own slot). A slot is returned when its request finishes or its client goes away.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::stop::StopScan;
use crate::model::Place;
use crate::sample::{Sampler, SamplerConfig};
use crate::session::Executor;
use crate::tokenizer::{StreamDecoder, Tokenizer};

/// One generation request, tokenized and checked against the context by the HTTP side.
pub struct Job {
    /// Request id for the logs.
    pub id: u64,
    pub prompt: Vec<u32>,
    /// Tokens to generate at most (prompt + max_tokens fits the context).
    pub max_tokens: usize,
    pub sampler: SamplerConfig,
    /// Strings that end the generation; none of them is sent.
    pub stop: Vec<String>,
    /// Where the generated text goes; dropped by the HTTP side when the client goes away.
    pub events: UnboundedSender<Event>,
}

/// What a job streams back.
#[derive(Debug)]
pub enum Event {
    /// Generated text, in order.
    Text(String),
    Done(Summary),
    /// The step failed (a device error); nothing more comes.
    Failed(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// An end-of-generation token or a stop string.
    Stop,
    /// max_tokens, or the context is full.
    Length,
}

impl Finish {
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub finish: Finish,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub prefill: Duration,
    pub decode: Duration,
}

/// Engine settings.
#[derive(Clone, Copy, Debug)]
pub struct EngineOptions {
    /// Prompt tokens per prefill step.
    pub prefill_chunk: usize,
}

/// A request holding a slot.
struct Active<'t> {
    job: Job,
    slot: usize,
    /// Prompt tokens in the cache so far.
    prefilled: usize,
    /// The sampled token not yet in the cache, at position `pos`.
    pending: Option<u32>,
    pos: usize,
    generated: usize,
    sampler: Sampler,
    text: StreamDecoder<'t>,
    stop: StopScan,
    started: Instant,
    prefill: Duration,
    first_token: Option<Instant>,
}

/// Runs the scheduler until every sender of `jobs` is gone and the running requests finished.
pub fn run(exec: &mut dyn Executor, tok: &Tokenizer, jobs: Receiver<Job>, opts: EngineOptions) {
    let n_slots = exec.n_slots();
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut active: Vec<Active> = Vec::new();
    let mut open = true;
    loop {
        // Take what arrived; block only when there is nothing to do.
        loop {
            let next = if active.is_empty() && waiting.is_empty() && open {
                jobs.recv().map_err(|_| TryRecvError::Disconnected)
            } else {
                jobs.try_recv()
            };
            match next {
                Ok(job) => waiting.push_back(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if !open && active.is_empty() && waiting.is_empty() {
            return;
        }
        // Clients that went away give their slots back.
        active.retain(|a| {
            let gone = a.job.events.is_closed();
            if gone {
                log::info!("request {}: client gone, slot {} freed", a.job.id, a.slot);
            }
            !gone
        });
        waiting.retain(|j| {
            let gone = j.events.is_closed();
            if gone {
                log::info!("request {}: client gone before it got a slot", j.id);
            }
            !gone
        });
        while active.len() < n_slots {
            let Some(job) = waiting.pop_front() else {
                break;
            };
            let slot = (0..n_slots)
                .find(|s| active.iter().all(|a| a.slot != *s))
                .expect("a slot is free");
            active.push(admit(job, slot, tok));
        }
        prefill_one(exec, tok, &mut active, opts.prefill_chunk.max(1));
        decode_all(exec, tok, &mut active);
    }
}

fn admit(job: Job, slot: usize, tok: &Tokenizer) -> Active<'_> {
    let mut sampler = Sampler::new(job.sampler.clone());
    job.prompt.iter().for_each(|&t| sampler.accept(t));
    log::info!(
        "request {}: slot {slot}, {} prompt tokens",
        job.id,
        job.prompt.len()
    );
    Active {
        stop: StopScan::new(job.stop.clone()),
        job,
        slot,
        prefilled: 0,
        pending: None,
        pos: 0,
        generated: 0,
        sampler,
        text: tok.stream_decoder(),
        started: Instant::now(),
        prefill: Duration::ZERO,
        first_token: None,
    }
}

/// One prefill chunk of the first request still prefilling (arrival order), and its first token
/// when the prompt is done.
fn prefill_one(exec: &mut dyn Executor, tok: &Tokenizer, active: &mut Vec<Active>, chunk: usize) {
    let Some(i) = active.iter().position(|a| a.prefilled < a.job.prompt.len()) else {
        return;
    };
    let a = &mut active[i];
    let (p, n) = (a.prefilled, chunk.min(a.job.prompt.len() - a.prefilled));
    let t = Instant::now();
    let res = exec.step_places(&a.job.prompt[p..p + n], &Place::run(a.slot, p, n), false);
    a.prefill += t.elapsed();
    match res {
        Err(e) => fail(active.remove(i), &e.to_string()),
        Ok(logits) => {
            a.prefilled += n;
            if a.prefilled == a.job.prompt.len() {
                a.pos = a.prefilled;
                let id = a.sampler.sample(&logits);
                if let Some(done) = emit(a, tok, id) {
                    finish(active.remove(i), done);
                }
            }
        }
    }
}

/// One batched step over every request with a token to feed, and their next tokens.
fn decode_all(exec: &mut dyn Executor, tok: &Tokenizer, active: &mut Vec<Active>) {
    let rows: Vec<usize> = (0..active.len())
        .filter(|&i| active[i].pending.is_some())
        .collect();
    if rows.is_empty() {
        return;
    }
    let tokens: Vec<u32> = rows.iter().map(|&i| active[i].pending.unwrap()).collect();
    let places: Vec<Place> = rows
        .iter()
        .map(|&i| Place {
            slot: active[i].slot,
            pos: active[i].pos,
        })
        .collect();
    let n_vocab = exec.config().n_vocab;
    match exec.step_places(&tokens, &places, false) {
        Err(e) => {
            let msg = e.to_string();
            for &i in rows.iter().rev() {
                fail(active.remove(i), &msg);
            }
        }
        Ok(logits) => {
            let mut done = Vec::new();
            for (r, &i) in rows.iter().enumerate() {
                let a = &mut active[i];
                a.pos += 1;
                let id = a.sampler.sample(&logits[r * n_vocab..][..n_vocab]);
                if let Some(f) = emit(a, tok, id) {
                    done.push((i, f));
                }
            }
            for (i, f) in done.into_iter().rev() {
                finish(active.remove(i), f);
            }
        }
    }
}

/// Takes a sampled token: sends its text, and says whether the request ends here. Otherwise the
/// token is pending, to be fed at the next decode step.
fn emit(a: &mut Active, tok: &Tokenizer, id: u32) -> Option<Finish> {
    a.first_token.get_or_insert_with(Instant::now);
    a.sampler.accept(id);
    a.generated += 1;
    a.pending = None;
    if tok.is_eog(id) {
        let rest = a.text.finish();
        let out = a.stop.flush(&rest);
        send_text(a, out);
        return Some(Finish::Stop);
    }
    let piece = match a.text.push(id) {
        Ok(p) => p,
        Err(e) => {
            let _ = a.job.events.send(Event::Failed(e.to_string()));
            return Some(Finish::Stop);
        }
    };
    let (out, hit) = a.stop.push(&piece);
    send_text(a, out);
    if hit {
        return Some(Finish::Stop);
    }
    // The prompt and max_tokens fit the context (checked at admission): the last token is never
    // fed, so every fed position exists.
    if a.generated >= a.job.max_tokens {
        let rest = a.text.finish();
        let out = a.stop.flush(&rest);
        send_text(a, out);
        return Some(Finish::Length);
    }
    a.pending = Some(id);
    None
}

fn send_text(a: &Active, s: String) {
    if !s.is_empty() {
        // A closed channel is noticed before the next step.
        let _ = a.job.events.send(Event::Text(s));
    }
}

fn finish(a: Active, finish: Finish) {
    let decode = a.first_token.map_or(Duration::ZERO, |t| t.elapsed());
    let s = Summary {
        finish,
        prompt_tokens: a.job.prompt.len(),
        completion_tokens: a.generated,
        prefill: a.prefill,
        decode,
    };
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    log::info!(
        "request {}: slot {} done ({}), prompt {} tokens at {:.1} tok/s, generated {} at {:.1} tok/s, {:.2} s in all",
        a.job.id,
        a.slot,
        finish.as_str(),
        s.prompt_tokens,
        rate(s.prompt_tokens, s.prefill),
        s.completion_tokens,
        rate(s.completion_tokens.saturating_sub(1), decode),
        a.started.elapsed().as_secs_f64()
    );
    let _ = a.job.events.send(Event::Done(s));
}

fn fail(a: Active, msg: &str) {
    log::error!("request {}: slot {}: {msg}", a.job.id, a.slot);
    let _ = a.job.events.send(Event::Failed(msg.to_string()));
}
