//! `wgpu-ds serve`: an OpenAI-compatible HTTP server. The HTTP side (`http`, on tokio and axum)
//! checks and tokenizes requests and streams replies; one engine thread (`engine`) owns the
//! executor, whose latent cache holds a slot per sequence served at once, and decodes the running
//! sequences together in batched steps.

pub mod api;
pub mod engine;
pub mod http;
pub mod stop;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::session::Executor;
use crate::tokenizer::Tokenizer;

/// Builds the executor from the model, on the engine thread (the GPU executor stays there).
pub type MakeExecutor = Box<dyn for<'m> FnOnce(&'m Model) -> Result<Box<dyn Executor + 'm>> + Send>;

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub host: String,
    /// 0: any free port (the address is printed).
    pub port: u16,
    /// The id clients name the model by (`/v1/models`).
    pub model_id: String,
    /// Sequences decoded together (cache slots).
    pub n_slots: usize,
    /// Positions per slot.
    pub n_ctx: usize,
    /// Requests that may wait for a slot; beyond them, 503.
    pub queue: usize,
    pub api_key: Option<String>,
    pub prefill_chunk: usize,
    /// Seconds a client has to send its request body.
    pub body_timeout: std::time::Duration,
}

/// Serves `model` until the process is stopped: binds first (so `/health` answers 503 while the
/// weights load), then loads the executor on the engine thread. An executor that cannot be made
/// (no adapter, out of memory) ends the server with that error.
pub fn serve(model: Model, tok: Tokenizer, make: MakeExecutor, o: ServeOptions) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("starting the async runtime: {e}")))?;
    rt.block_on(serve_async(model, tok, make, o))
}

async fn serve_async(
    model: Model,
    tok: Tokenizer,
    make: MakeExecutor,
    o: ServeOptions,
) -> Result<()> {
    let addr = format!("{}:{}", o.host, o.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::Usage(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Usage(format!("{addr}: {e}")))?;
    let tok = Arc::new(tok);
    let (jobs, rx) = mpsc::channel();
    let app = Arc::new(http::App {
        tok: tok.clone(),
        jobs,
        model_id: o.model_id.clone(),
        n_ctx: o.n_ctx,
        capacity: o.n_slots + o.queue,
        in_flight: AtomicUsize::new(0),
        ready: AtomicBool::new(false),
        api_key: o.api_key.clone(),
        next_id: AtomicU64::new(1),
        body_timeout: o.body_timeout,
    });
    eprintln!(
        "listening on http://{local} ({} slots of {} tokens, queue {})",
        o.n_slots, o.n_ctx, o.queue
    );
    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<Error>();
    let ready = app.clone();
    let opts = engine::EngineOptions {
        prefill_chunk: o.prefill_chunk,
    };
    std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            let mut exec = match make(&model) {
                Ok(e) => e,
                Err(e) => {
                    let _ = failed_tx.send(e);
                    return;
                }
            };
            ready.ready.store(true, Ordering::Release);
            eprintln!("model loaded; serving '{}'", ready.model_id);
            drop(ready);
            engine::run(exec.as_mut(), &tok, rx, opts);
        })
        .map_err(|e| Error::Usage(format!("starting the engine thread: {e}")))?;
    let server = axum::serve(listener, http::router(app));
    tokio::select! {
        r = server => r.map_err(|e| Error::Usage(format!("server: {e}"))),
        Ok(e) = failed_rx => Err(e),
    }
}
