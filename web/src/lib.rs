//! wgpu-ds in the browser: the page's one object, [`Engine`]. It loads a DeepSeek GGUF from bytes,
//! runs it on the tab's WebGPU adapter through the same executor as the native tool, streams
//! generated text, and runs `check` (the WebGPU path against the CPU reference compiled to wasm,
//! node by node). Every method returns a Promise; errors are messages naming the problem.

mod loaded;
mod report;

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use wgpu_ds::gpu::context::{GpuContext, GpuOptions};

use loaded::{GenerateRequest, Loaded};

fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// WebGPU only: wgpu's WebGL fallback cannot run compute shaders.
fn options() -> GpuOptions {
    GpuOptions {
        backends: Some(wgpu::Backends::BROWSER_WEBGPU),
        ..Default::default()
    }
}

async fn context() -> Result<GpuContext, JsValue> {
    GpuContext::new(&options()).await.map_err(js_err)
}

#[derive(Default)]
struct State {
    loaded: Option<Loaded>,
}

/// The page's engine: at most one model loaded at a time.
#[wasm_bindgen]
pub struct Engine {
    state: Rc<RefCell<State>>,
}

/// The state, unless another call (one still awaiting the GPU) holds it.
fn lock(state: &RefCell<State>) -> Result<RefMut<'_, State>, JsValue> {
    state
        .try_borrow_mut()
        .map_err(|_| js_err("the engine is busy with another request"))
}

impl State {
    fn loaded(&mut self) -> Result<&mut Loaded, JsValue> {
        self.loaded
            .as_mut()
            .ok_or_else(|| js_err("no model is loaded"))
    }
}

#[wasm_bindgen]
impl Engine {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Engine {
        Engine {
            state: Rc::default(),
        }
    }

    /// The WebGPU adapter as JSON (name, backend, optional features, limits), or an error saying
    /// why there is none.
    pub fn adapter(&self) -> Promise {
        future_to_promise(async move {
            let ctx = context().await?;
            Ok(JsValue::from_str(&report::adapter(&ctx).to_string()))
        })
    }

    /// Loads a GGUF from `bytes` (`name` for messages) onto the GPU with a context of `n_ctx`
    /// positions; resolves to the model's summary as JSON.
    pub fn load(&self, bytes: Vec<u8>, name: String, n_ctx: usize) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            lock(&state)?.loaded = None;
            let ctx = context().await?;
            let loaded = Loaded::new(bytes, &name, ctx, n_ctx).map_err(js_err)?;
            let summary = loaded.summary().to_string();
            lock(&state)?.loaded = Some(loaded);
            Ok(JsValue::from_str(&summary))
        })
    }

    /// Generates after `prompt` with the sampling settings of `settings` (JSON: n_predict,
    /// temperature, top_k, top_p, seed); `on_text(piece)` sees the text as it is decoded and stops
    /// the generation by returning false. Resolves to the timings as JSON.
    pub fn generate(&self, prompt: String, settings: String, on_text: Function) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let req = GenerateRequest::parse(&prompt, &settings).map_err(js_err)?;
            let mut s = lock(&state)?;
            let stats = s.loaded()?.generate(&req, &on_text).await.map_err(js_err)?;
            Ok(JsValue::from_str(&stats.to_string()))
        })
    }

    /// `wgpu-ds check` in the tab: one step of `prompt` (empty: ids 0..8) on WebGPU and on the
    /// CPU reference, exact (f32 cache) and fast (f16 cache); resolves to the report as JSON.
    pub fn check(&self, prompt: String) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let mut s = lock(&state)?;
            let loaded = s.loaded()?;
            let tokens = loaded.check_tokens(&prompt).map_err(js_err)?;
            let mut tiers = Vec::new();
            for ty in report::CHECK_TIERS {
                let ctx = context().await?;
                let reports = wgpu_ds::check::check_tier_async(loaded.model(), ctx, &tokens, ty)
                    .await
                    .map_err(js_err)?;
                tiers.push((ty, reports));
            }
            Ok(JsValue::from_str(
                &report::check(&tokens, &tiers).to_string(),
            ))
        })
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}
