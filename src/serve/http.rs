//! The HTTP side of `serve` (axum on tokio): routes, the API key, body limits, admission into
//! the engine's slots and queue, and the replies, whole or as server-sent events in OpenAI's
//! chunk format.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::api::{self, ApiError, Settings};
use super::engine::{Event, Job, Summary};
use crate::tokenizer::Tokenizer;

/// Largest request body read (1 MiB): a longer one is answered 413.
pub const MAX_BODY: usize = 1 << 20;

/// What every handler shares.
pub struct App {
    pub tok: Arc<Tokenizer>,
    pub jobs: mpsc::Sender<Job>,
    pub model_id: String,
    pub n_ctx: usize,
    /// Requests admitted at most: the slots plus the queue.
    pub capacity: usize,
    pub in_flight: AtomicUsize,
    /// Set once the weights are loaded.
    pub ready: AtomicBool,
    pub api_key: Option<String>,
    pub next_id: AtomicU64,
    /// A client must send its whole body within this time (408 otherwise).
    pub body_timeout: Duration,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .route("/tokenize", post(tokenize))
        .route("/detokenize", post(detokenize))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), auth))
        .with_state(app)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self.body())).into_response()
    }
}

async fn auth(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let Some(key) = &app.api_key else {
        return next.run(req).await;
    };
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(key.as_str()) {
        return next.run(req).await;
    }
    ApiError::invalid("invalid or missing API key (send Authorization: Bearer KEY)")
        .status(401, "authentication_error")
        .code("invalid_api_key")
        .into_response()
}

async fn not_found(req: Request) -> ApiError {
    ApiError::invalid(format!("no route {} {}", req.method(), req.uri().path()))
        .status(404, "not_found_error")
}

async fn health(State(app): State<Arc<App>>) -> Response {
    if app.ready.load(Ordering::Acquire) {
        Json(json!({"status": "ok"})).into_response()
    } else {
        loading().into_response()
    }
}

fn loading() -> ApiError {
    ApiError::invalid("the model is still loading")
        .status(503, "unavailable_error")
        .code("loading")
}

async fn models(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({"object": "list", "data": [{
        "id": app.model_id, "object": "model", "created": 0, "owned_by": "wgpu-ds",
        "meta": {"n_ctx": app.n_ctx, "n_vocab": app.tok.n_vocab()},
    }]}))
}

/// The body, at most MAX_BODY bytes, within the app's body timeout.
async fn read_body(app: &App, body: Body) -> Result<Vec<u8>, ApiError> {
    match tokio::time::timeout(app.body_timeout, axum::body::to_bytes(body, MAX_BODY)).await {
        Err(_) => Err(ApiError::invalid("the request body did not arrive in time")
            .status(408, "invalid_request_error")),
        Ok(Err(e)) => {
            let big = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if big {
                Err(
                    ApiError::invalid(format!("the request body exceeds {MAX_BODY} bytes"))
                        .status(413, "invalid_request_error"),
                )
            } else {
                Err(ApiError::invalid(format!("reading the request body: {e}")))
            }
        }
        Ok(Ok(b)) => Ok(b.to_vec()),
    }
}

async fn tokenize(State(app): State<Arc<App>>, body: Body) -> Result<Json<Value>, ApiError> {
    let r: api::TokenizeRequest = api::parse(&read_body(&app, body).await?)?;
    let ids = app
        .tok
        .encode(&r.content, r.add_special, true)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(Json(json!({ "tokens": ids })))
}

async fn detokenize(State(app): State<Arc<App>>, body: Body) -> Result<Json<Value>, ApiError> {
    let r: api::DetokenizeRequest = api::parse(&read_body(&app, body).await?)?;
    let text = app
        .tok
        .decode(&r.tokens, false, false)
        .map_err(|e| ApiError::invalid(e.to_string()).param("tokens"))?;
    Ok(Json(json!({ "content": text })))
}

async fn chat(State(app): State<Arc<App>>, body: Body) -> Result<Response, ApiError> {
    let r: api::ChatRequest = api::parse(&read_body(&app, body).await?)?;
    let id = app.next_id.fetch_add(1, Ordering::Relaxed);
    let s = api::settings(&r.common, &app.model_id, id)?;
    let messages = api::chat_messages(&r.messages)?;
    let text = app
        .tok
        .apply_chat_template(&messages, true)
        .map_err(|e| ApiError::invalid(format!("chat template: {e}")))?;
    let prompt = app
        .tok
        .encode(&text, true, true)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    submit(&app, id, prompt, s, Kind::Chat).await
}

async fn completions(State(app): State<Arc<App>>, body: Body) -> Result<Response, ApiError> {
    let r: api::CompletionRequest = api::parse(&read_body(&app, body).await?)?;
    let id = app.next_id.fetch_add(1, Ordering::Relaxed);
    let s = api::settings(&r.common, &app.model_id, id)?;
    let text = match r.prompt {
        api::PromptIn::Ids(ids) => {
            if let Some(&bad) = ids.iter().find(|&&t| t as usize >= app.tok.n_vocab()) {
                return Err(ApiError::invalid(format!(
                    "prompt token id {bad} is outside the vocabulary of {}",
                    app.tok.n_vocab()
                ))
                .param("prompt"));
            }
            return submit(&app, id, ids, s, Kind::Text).await;
        }
        api::PromptIn::Text(t) => t,
        api::PromptIn::Texts(mut v) if v.len() == 1 => v.remove(0),
        api::PromptIn::Texts(v) => {
            return Err(ApiError::invalid(format!(
                "'prompt' holds {} prompts; this server takes one per request",
                v.len()
            ))
            .param("prompt"))
        }
    };
    let prompt = app
        .tok
        .encode(&text, true, true)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    submit(&app, id, prompt, s, Kind::Text).await
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Chat,
    Text,
}

/// A request counted against the capacity while it lives (dropped with the reply or its stream).
struct Admitted(Arc<App>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

fn admit(app: &Arc<App>) -> Result<Admitted, ApiError> {
    if !app.ready.load(Ordering::Acquire) {
        return Err(loading());
    }
    let n = app.in_flight.fetch_add(1, Ordering::AcqRel);
    let guard = Admitted(app.clone());
    if n >= app.capacity {
        return Err(ApiError::invalid(format!(
            "the server is busy: {} requests are running or queued; retry later",
            app.capacity
        ))
        .status(503, "unavailable_error")
        .code("server_busy"));
    }
    Ok(guard)
}

/// Checks the prompt against the context, queues the job and answers.
async fn submit(
    app: &Arc<App>,
    id: u64,
    prompt: Vec<u32>,
    s: Settings,
    kind: Kind,
) -> Result<Response, ApiError> {
    if prompt.is_empty() {
        return Err(ApiError::invalid("the prompt is empty").param("prompt"));
    }
    let n_ctx = app.n_ctx;
    if prompt.len() >= n_ctx {
        return Err(ApiError::invalid(format!(
            "the prompt has {} tokens but the context holds {n_ctx} (with room for one generated token)",
            prompt.len()
        ))
        .code("context_length_exceeded"));
    }
    let room = n_ctx - prompt.len();
    let max_tokens = match s.max_tokens {
        Some(m) if m > room => {
            return Err(ApiError::invalid(format!(
                "max_tokens {m} and the prompt's {} tokens exceed the context of {n_ctx}; at most {room}",
                prompt.len()
            ))
            .code("context_length_exceeded")
            .param("max_tokens"))
        }
        Some(m) => m,
        None => room,
    };
    let guard = admit(app)?;
    let (tx, rx) = unbounded_channel();
    let n_prompt = prompt.len();
    let job = Job {
        id,
        prompt,
        max_tokens,
        sampler: s.sampler,
        stop: s.stop,
        events: tx,
    };
    log::info!(
        "request {id}: {n_prompt} prompt tokens, max_tokens {max_tokens}, stream {}",
        s.stream
    );
    app.jobs
        .send(job)
        .map_err(|_| ApiError::invalid("the engine has stopped").status(500, "server_error"))?;
    let reply = Reply {
        id: format!(
            "{}-{id}",
            if kind == Kind::Chat {
                "chatcmpl"
            } else {
                "cmpl"
            }
        ),
        model: app.model_id.clone(),
        created: unix_now(),
        kind,
    };
    if s.stream {
        Ok(stream(reply, rx, guard, s.include_usage).into_response())
    } else {
        whole(reply, rx).await.map(|v| Json(v).into_response())
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The fields every reply object repeats.
struct Reply {
    id: String,
    model: String,
    created: u64,
    kind: Kind,
}

impl Reply {
    fn object(&self, chunk: bool) -> &'static str {
        match (self.kind, chunk) {
            (Kind::Chat, false) => "chat.completion",
            (Kind::Chat, true) => "chat.completion.chunk",
            (Kind::Text, _) => "text_completion",
        }
    }

    fn wrap(&self, choices: Value, chunk: bool) -> Value {
        json!({
            "id": self.id, "object": self.object(chunk), "created": self.created,
            "model": self.model, "choices": choices,
        })
    }

    /// One choice: its text as a message, a delta or plain text.
    fn choice(&self, text: Option<&str>, finish: Option<&str>, chunk: bool) -> Value {
        let mut c = json!({"index": 0, "finish_reason": finish, "logprobs": null});
        match (self.kind, chunk) {
            (Kind::Chat, false) => {
                c["message"] = json!({"role": "assistant", "content": text.unwrap_or("")})
            }
            (Kind::Chat, true) => c["delta"] = text.map_or(json!({}), |t| json!({"content": t})),
            (Kind::Text, _) => c["text"] = json!(text.unwrap_or("")),
        }
        c
    }
}

fn usage(s: &Summary) -> Value {
    json!({
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "total_tokens": s.prompt_tokens + s.completion_tokens,
    })
}

fn timings(s: &Summary) -> Value {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    json!({
        "prompt_n": s.prompt_tokens, "prompt_ms": ms(s.prefill),
        "prompt_per_second": rate(s.prompt_tokens, s.prefill),
        "predicted_n": s.completion_tokens, "predicted_ms": ms(s.decode),
        "predicted_per_second": rate(s.completion_tokens.saturating_sub(1), s.decode),
    })
}

fn engine_failed(msg: &str) -> ApiError {
    ApiError::invalid(format!("generation failed: {msg}")).status(500, "server_error")
}

async fn whole(r: Reply, mut rx: UnboundedReceiver<Event>) -> Result<Value, ApiError> {
    let mut text = String::new();
    loop {
        match rx.recv().await {
            Some(Event::Text(t)) => text.push_str(&t),
            Some(Event::Done(s)) => {
                let choice = r.choice(Some(&text), Some(s.finish.as_str()), false);
                let mut v = r.wrap(json!([choice]), false);
                v["usage"] = usage(&s);
                v["timings"] = timings(&s);
                return Ok(v);
            }
            Some(Event::Failed(m)) => return Err(engine_failed(&m)),
            None => return Err(engine_failed("the engine dropped the request")),
        }
    }
}

/// The reply as server-sent events: a role chunk (chat), text chunks, the finish chunk, a usage
/// chunk when asked for, then `[DONE]`. Dropping the stream (the client went away) drops the
/// receiver, and the engine frees the slot.
fn stream(
    r: Reply,
    rx: UnboundedReceiver<Event>,
    guard: Admitted,
    include_usage: bool,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, Infallible>>> {
    let data = |v: Value| SseEvent::default().data(v.to_string());
    let mut queue: std::collections::VecDeque<SseEvent> = Default::default();
    if r.kind == Kind::Chat {
        let mut c = r.choice(None, None, true);
        c["delta"] = json!({"role": "assistant", "content": ""});
        queue.push_back(data(r.wrap(json!([c]), true)));
    }
    let state = (r, rx, guard, queue, false);
    let s = futures_util::stream::unfold(
        state,
        move |(r, mut rx, guard, mut queue, mut ended)| async move {
            loop {
                if let Some(e) = queue.pop_front() {
                    return Some((Ok(e), (r, rx, guard, queue, ended)));
                }
                if ended {
                    return None;
                }
                match rx.recv().await {
                    Some(Event::Text(t)) => {
                        queue.push_back(data(r.wrap(json!([r.choice(Some(&t), None, true)]), true)))
                    }
                    Some(Event::Done(s)) => {
                        let c = r.choice(None, Some(s.finish.as_str()), true);
                        let mut v = r.wrap(json!([c]), true);
                        v["timings"] = timings(&s);
                        queue.push_back(data(v));
                        if include_usage {
                            let mut u = r.wrap(json!([]), true);
                            u["usage"] = usage(&s);
                            queue.push_back(data(u));
                        }
                        queue.push_back(SseEvent::default().data("[DONE]"));
                        ended = true;
                    }
                    failed => {
                        let m = match failed {
                            Some(Event::Failed(m)) => m,
                            _ => "the engine dropped the request".into(),
                        };
                        queue.push_back(data(engine_failed(&m).body()));
                        queue.push_back(SseEvent::default().data("[DONE]"));
                        ended = true;
                    }
                }
            }
        },
    );
    Sse::new(s).keep_alive(KeepAlive::default())
}
