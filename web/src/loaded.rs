//! One model on the GPU: the parsed file, its tokenizer and the executor that borrows it.

use js_sys::Function;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use web_time::Instant;
use wgpu_ds::gguf::{Bytes, GgufFile};
use wgpu_ds::gpu::context::GpuContext;
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::model::{CacheShape, Model, Precision};
use wgpu_ds::sample::SamplerConfig;
use wgpu_ds::session::{generate_from_async, GenerateOptions};
use wgpu_ds::tokenizer::Tokenizer;
use wgpu_ds::{Error, Result};

pub struct Loaded {
    // Declared before `model`, so dropped before the model it borrows.
    exec: GpuExecutor<'static>,
    tok: Option<Tokenizer>,
    model: Box<Model>,
    file_bytes: usize,
    load_ms: f64,
}

/// What `Engine::generate` was asked for.
pub struct GenerateRequest {
    prompt: String,
    opts: GenerateOptions,
}

impl GenerateRequest {
    /// The prompt and the page's settings (JSON; missing fields take greedy defaults).
    pub fn parse(prompt: &str, settings: &str) -> Result<GenerateRequest> {
        let v: Value = serde_json::from_str(settings)
            .map_err(|e| Error::Usage(format!("settings are not JSON: {e}")))?;
        let num = |k: &str, d: f64| v.get(k).and_then(Value::as_f64).unwrap_or(d);
        let n_predict = num("n_predict", 32.0);
        if !(1.0..=4096.0).contains(&n_predict) {
            return Err(Error::Usage(
                "tokens to generate must be between 1 and 4096".into(),
            ));
        }
        let sampler = SamplerConfig {
            temperature: num("temperature", 0.0) as f32,
            top_k: num("top_k", 40.0) as usize,
            top_p: num("top_p", 0.95) as f32,
            seed: num("seed", 0.0) as u64,
            ..Default::default()
        };
        Ok(GenerateRequest {
            prompt: prompt.to_string(),
            opts: GenerateOptions {
                n_predict: n_predict as usize,
                sampler,
                ..Default::default()
            },
        })
    }
}

impl Loaded {
    /// Parses `bytes` as a GGUF and uploads the model to `ctx`'s device with an `n_ctx`-position
    /// latent cache of the fast default type.
    pub fn new(bytes: Vec<u8>, name: &str, ctx: GpuContext, n_ctx: usize) -> Result<Loaded> {
        let t0 = Instant::now();
        let file_bytes = bytes.len();
        let file = GgufFile::from_bytes(name, Bytes::Owned(bytes))?;
        let model = Box::new(Model::from_file(file)?);
        let tok = Tokenizer::from_gguf(&model.file).ok();
        let n_ctx = n_ctx.clamp(1, model.config.n_ctx_train.max(1));
        // SAFETY: the model is boxed, never moved out of or mutated while `exec` lives, and
        // `exec` is dropped first (field order), so the reference stays valid as long as it does.
        let model_ref: &'static Model = unsafe { &*(model.as_ref() as *const Model) };
        let shape = CacheShape::one(n_ctx, Precision::Fast.cache_type(None));
        let exec = GpuExecutor::load(model_ref, ctx, shape, &mut |_| {})?;
        Ok(Loaded {
            exec,
            tok,
            model,
            file_bytes,
            load_ms: t0.elapsed().as_secs_f64() * 1e3,
        })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Name, shape, weight types, context and load time, as JSON.
    pub fn summary(&self) -> Value {
        let m = &self.model;
        let c = &m.config;
        let mut types: Vec<String> = m.weights.tensors.iter().map(|w| w.ty.to_string()).collect();
        types.sort();
        types.dedup();
        let name = m.file.get_str("general.name").ok().flatten().unwrap_or("");
        json!({
            "name": name,
            "file_bytes": self.file_bytes,
            "types": types,
            "n_layer": c.n_layer,
            "n_embd": c.n_embd,
            "n_head": c.n_head,
            "n_expert": c.n_expert,
            "n_expert_used": c.n_expert_used,
            "n_vocab": c.n_vocab,
            "n_ctx": self.exec.n_ctx(),
            "cache_type": self.exec.cache_type().name(),
            "tokenizer": self.tok.is_some(),
            "load_ms": self.load_ms,
        })
    }

    fn tokenizer(&self) -> Result<&Tokenizer> {
        self.tok
            .as_ref()
            .ok_or_else(|| Error::Usage("this file has no tokenizer".into()))
    }

    /// The tokens `check` runs: the prompt's, or ids 0..8 when it is empty.
    pub fn check_tokens(&self, prompt: &str) -> Result<Vec<u32>> {
        if prompt.is_empty() {
            return Ok(wgpu_ds::check::default_tokens(self.model.config.n_vocab));
        }
        self.tokenizer()?.encode(prompt, true, true)
    }

    /// Generates for `req`, handing each decoded piece of text to `on_text`; returns the timings.
    pub async fn generate(&mut self, req: &GenerateRequest, on_text: &Function) -> Result<Value> {
        let tok = self
            .tok
            .as_ref()
            .ok_or_else(|| Error::Usage("this file has no tokenizer".into()))?;
        let prompt = tok.encode(&req.prompt, true, true)?;
        let mut stream = tok.stream_decoder();
        let t0 = Instant::now();
        let mut first: Option<Instant> = None;
        let mut on_token = |id: u32| -> Result<bool> {
            first.get_or_insert_with(Instant::now);
            let text = stream.push(id)?;
            let go = on_text
                .call1(&JsValue::NULL, &JsValue::from_str(&text))
                .map_err(|e| Error::Usage(format!("the page's text callback failed: {e:?}")))?;
            Ok(go.as_bool().unwrap_or(true))
        };
        let is_eog = |id: u32| tok.is_eog(id);
        let g = generate_from_async(
            &mut self.exec,
            &mut Vec::new(),
            &prompt,
            &req.opts,
            &is_eog,
            &mut on_token,
        )
        .await?;
        let end = Instant::now();
        let first = first.unwrap_or(end);
        // The first token comes from the prompt's step; each later one from a decode step.
        let prefill_s = (first - t0).as_secs_f64();
        let decode_s = (end - first).as_secs_f64();
        let decoded = g.ids.len().saturating_sub(1);
        Ok(json!({
            "prompt_tokens": prompt.len(),
            "generated": g.ids.len(),
            "prefill_ms": prefill_s * 1e3,
            "decode_ms": decode_s * 1e3,
            "prefill_tok_s": prompt.len() as f64 / prefill_s.max(1e-9),
            "decode_tok_s": if decoded > 0 { decoded as f64 / decode_s.max(1e-9) } else { 0.0 },
        }))
    }
}
