//! The OpenAI-compatible request bodies `serve` accepts, read from JSON into checked settings,
//! and the errors it answers with (`{"error": {"message", "type", "code", "param"}}`).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::sample::SamplerConfig;
use crate::tokenizer::ChatMessage;

/// An error answered as OpenAI answers it, with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    /// OpenAI's error type: invalid_request_error, authentication_error, not_found_error,
    /// server_error, unavailable_error.
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub param: Option<String>,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
            kind: "invalid_request_error",
            code: None,
            param: None,
        }
    }
    pub fn param(mut self, p: &str) -> ApiError {
        self.param = Some(p.to_string());
        self
    }
    pub fn code(mut self, c: &'static str) -> ApiError {
        self.code = Some(c);
        self
    }
    pub fn status(mut self, s: u16, kind: &'static str) -> ApiError {
        self.status = s;
        self.kind = kind;
        self
    }
    pub fn body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "param": self.param,
        }})
    }
}

/// Sampling and length settings shared by both completion endpoints.
#[derive(Deserialize, Debug)]
pub struct Common {
    pub model: Option<String>,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    pub max_tokens: Option<u64>,
    /// The newer name of max_tokens in OpenAI's chat API.
    pub max_completion_tokens: Option<u64>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<i64>,
    pub min_p: Option<f32>,
    pub seed: Option<u64>,
    pub stop: Option<Stop>,
    pub n: Option<u64>,
    pub repeat_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub logprobs: Option<Value>,
    pub top_logprobs: Option<Value>,
    pub logit_bias: Option<Value>,
    pub tools: Option<Value>,
    pub tool_choice: Option<Value>,
    pub functions: Option<Value>,
    pub response_format: Option<Value>,
    pub echo: Option<bool>,
    pub best_of: Option<u64>,
    pub suffix: Option<Value>,
}

#[derive(Deserialize, Debug)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Debug)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Deserialize, Debug)]
pub struct Message {
    pub role: String,
    #[serde(default)]
    pub content: Option<Content>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize, Debug)]
pub struct Part {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct CompletionRequest {
    pub prompt: PromptIn,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub enum PromptIn {
    Text(String),
    Ids(Vec<u32>),
    /// A batch of one prompt.
    Texts(Vec<String>),
}

#[derive(Deserialize, Debug)]
pub struct TokenizeRequest {
    pub content: String,
    #[serde(default)]
    pub add_special: bool,
}

#[derive(Deserialize, Debug)]
pub struct DetokenizeRequest {
    pub tokens: Vec<u32>,
}

/// Parses a JSON body into `T`; a malformed body or a wrong field type is a 400 naming it.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("the request body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::invalid("the request body must be a JSON object"));
    }
    serde_json::from_value(v).map_err(|e| ApiError::invalid(format!("invalid request: {e}")))
}

/// What a request asks of the engine, checked.
pub struct Settings {
    pub sampler: SamplerConfig,
    pub max_tokens: Option<usize>,
    pub stop: Vec<String>,
    pub stream: bool,
    pub include_usage: bool,
}

/// Checks the shared fields: the model, the parameters this server does not implement (named),
/// and the ranges of the sampling settings.
pub fn settings(c: &Common, model_id: &str, default_seed: u64) -> Result<Settings, ApiError> {
    if let Some(m) = &c.model {
        if m != model_id {
            return Err(ApiError::invalid(format!(
                "the model '{m}' does not exist; this server serves '{model_id}'"
            ))
            .status(404, "invalid_request_error")
            .code("model_not_found")
            .param("model"));
        }
    }
    let unsupported = [
        ("n", c.n.is_some_and(|n| n != 1)),
        ("best_of", c.best_of.is_some_and(|n| n != 1)),
        ("logprobs", c.logprobs.as_ref().is_some_and(|v| !is_off(v))),
        (
            "top_logprobs",
            c.top_logprobs.as_ref().is_some_and(|v| !v.is_null()),
        ),
        (
            "logit_bias",
            c.logit_bias.as_ref().is_some_and(|v| !is_empty(v)),
        ),
        ("tools", c.tools.as_ref().is_some_and(|v| !is_empty(v))),
        (
            "tool_choice",
            c.tool_choice
                .as_ref()
                .is_some_and(|v| !v.is_null() && v != "none"),
        ),
        (
            "functions",
            c.functions.as_ref().is_some_and(|v| !is_empty(v)),
        ),
        (
            "presence_penalty",
            c.presence_penalty.is_some_and(|p| p != 0.0),
        ),
        (
            "frequency_penalty",
            c.frequency_penalty.is_some_and(|p| p != 0.0),
        ),
        ("echo", c.echo == Some(true)),
        ("suffix", c.suffix.as_ref().is_some_and(|v| !v.is_null())),
        (
            "response_format",
            c.response_format
                .as_ref()
                .is_some_and(|v| !v.is_null() && v.get("type").is_some_and(|t| t != "text")),
        ),
    ];
    if let Some((name, _)) = unsupported.iter().find(|(_, bad)| *bad) {
        return Err(ApiError::invalid(format!(
            "the parameter '{name}' is not supported by this server (n = 1, no logprobs, tools, logit bias or presence/frequency penalties)"
        ))
        .code("unsupported_parameter")
        .param(name));
    }
    let d = SamplerConfig::default();
    let temperature = c.temperature.unwrap_or(d.temperature);
    let top_p = c.top_p.unwrap_or(d.top_p);
    let min_p = c.min_p.unwrap_or(d.min_p);
    let repeat_penalty = c.repeat_penalty.unwrap_or(1.0);
    let in_range = |name: &str, v: f32, lo: f32, hi: f32| {
        if v.is_finite() && v >= lo && v <= hi {
            Ok(())
        } else {
            Err(
                ApiError::invalid(format!("'{name}' is {v}; it must lie in [{lo}, {hi}]"))
                    .param(name),
            )
        }
    };
    in_range("temperature", temperature, 0.0, 2.0)?;
    in_range("top_p", top_p, 0.0, 1.0)?;
    in_range("min_p", min_p, 0.0, 1.0)?;
    in_range("repeat_penalty", repeat_penalty, 0.0, 10.0)?;
    let top_k = match c.top_k {
        None => d.top_k,
        Some(k) if k >= 0 => k as usize,
        Some(k) => {
            return Err(ApiError::invalid(format!("'top_k' is {k}; it must be ≥ 0")).param("top_k"))
        }
    };
    let max = c.max_completion_tokens.or(c.max_tokens);
    if max == Some(0) {
        return Err(ApiError::invalid("'max_tokens' must be at least 1").param("max_tokens"));
    }
    let stop = match &c.stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s.clone()],
        Some(Stop::Many(v)) if v.len() <= 4 => v.clone(),
        Some(Stop::Many(v)) => {
            return Err(
                ApiError::invalid(format!("'stop' has {} strings; at most 4", v.len()))
                    .param("stop"),
            )
        }
    };
    Ok(Settings {
        sampler: SamplerConfig {
            temperature,
            top_k,
            top_p,
            min_p,
            repeat_penalty,
            seed: c.seed.unwrap_or(default_seed),
            ..d
        },
        max_tokens: max.map(|m| m.min(usize::MAX as u64) as usize),
        stop,
        stream: c.stream,
        include_usage: c.stream_options.as_ref().is_some_and(|o| o.include_usage),
    })
}

fn is_off(v: &Value) -> bool {
    v.is_null() || v == &Value::Bool(false)
}

fn is_empty(v: &Value) -> bool {
    v.is_null()
        || v.as_array().is_some_and(|a| a.is_empty())
        || v.as_object().is_some_and(|o| o.is_empty())
}

/// The chat messages as the template takes them; content parts must be text.
pub fn chat_messages(messages: &[Message]) -> Result<Vec<ChatMessage>, ApiError> {
    if messages.is_empty() {
        return Err(
            ApiError::invalid("'messages' is empty; give at least one message").param("messages"),
        );
    }
    messages
        .iter()
        .map(|m| {
            let text = match &m.content {
                None => String::new(),
                Some(Content::Text(s)) => s.clone(),
                Some(Content::Parts(parts)) => {
                    let mut s = String::new();
                    for p in parts {
                        match (p.kind.as_str(), &p.text) {
                            ("text", Some(t)) => s.push_str(t),
                            (kind, _) => {
                                return Err(ApiError::invalid(format!(
                                    "message content of type '{kind}' is not supported (text only)"
                                ))
                                .param("messages"))
                            }
                        }
                    }
                    s
                }
            };
            match m.role.as_str() {
                "system" | "user" | "assistant" | "developer" => Ok(ChatMessage::new(
                    if m.role == "developer" {
                        "system"
                    } else {
                        m.role.as_str()
                    },
                    text,
                )),
                r => Err(ApiError::invalid(format!(
                    "message role '{r}' is not supported (system, user, assistant)"
                ))
                .param("messages")),
            }
        })
        .collect()
}
