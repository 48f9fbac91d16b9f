//! Chat templates: the Jinja template in `tokenizer.chat_template`, rendered with minijinja the way
//! Hugging Face and llama.cpp render it (`trim_blocks` and `lstrip_blocks` on, Python string
//! methods available, `raise_exception` defined; variables `messages`, `add_generation_prompt`,
//! `bos_token`,
//! `eos_token`).

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind, Value};

use super::Tokenizer;
use crate::error::{Error, Result};

/// One message of a conversation; `role` is "system", "user", "assistant" or "tool".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// Template instructions one rendering may execute (minijinja's fuel): a template that loops
/// without end, or over ranges nested to billions of steps, stops with an error. A real chat
/// template spends a few dozen per message, so this allows conversations of tens of thousands
/// of messages.
pub const TEMPLATE_FUEL: u64 = 2_000_000;

/// Bytes one rendering may write: 16 MiB, far beyond any context a model has (a 128K-token
/// context is about 0.5 MB of text). minijinja itself caps one repeated string at 100 MB and one
/// `range` at 100,000 items.
pub const TEMPLATE_MAX_OUTPUT: usize = 16 << 20;

/// A writer that refuses to grow past TEMPLATE_MAX_OUTPUT (and remembers that it did).
#[derive(Default)]
struct Capped {
    out: Vec<u8>,
    over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > TEMPLATE_MAX_OUTPUT {
            self.over = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders a chat template as written (Hugging Face's `apply_chat_template(tokenize=False)`),
/// within TEMPLATE_FUEL instructions and TEMPLATE_MAX_OUTPUT bytes of output.
pub fn render_template(
    template: &str,
    messages: &[ChatMessage],
    add_generation_prompt: bool,
    bos_token: &str,
    eos_token: &str,
) -> Result<String> {
    let mut env = Environment::new();
    env.set_fuel(Some(TEMPLATE_FUEL));
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build();
    env.set_syntax(syntax.map_err(|e| Error::Template(format!("{e:#}")))?);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function(
        "raise_exception",
        |msg: String| -> std::result::Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
        },
    );
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut map = BTreeMap::new();
            map.insert("role", Value::from(m.role.as_str()));
            map.insert("content", Value::from(m.content.as_str()));
            Value::from(map)
        })
        .collect();
    let ctx = minijinja::context! {
        messages => messages,
        add_generation_prompt => add_generation_prompt,
        bos_token => bos_token,
        eos_token => eos_token,
    };
    let err = |e: minijinja::Error| Error::Template(format!("{e:#}"));
    let tmpl = env.template_from_str(template).map_err(err)?;
    let mut out = Capped::default();
    if let Err(e) = tmpl.render_captured_to(ctx, &mut out) {
        if out.over {
            return Err(Error::Template(format!(
                "the rendered template exceeds {TEMPLATE_MAX_OUTPUT} bytes"
            )));
        }
        return Err(err(e));
    }
    String::from_utf8(out.out).map_err(|e| Error::Template(format!("rendered text: {e}")))
}

impl Tokenizer {
    /// `tokenizer.chat_template`, if the file has one.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// The file's chat template rendered as written, with `bos_token`/`eos_token` set to the texts
    /// of the BOS/EOS tokens (empty when the vocabulary has none).
    pub fn render_chat_template(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String> {
        let template = self.chat_template().ok_or_else(|| {
            Error::Template("the model file has no tokenizer.chat_template".into())
        })?;
        let (bos, eos) = self.bos_eos_texts();
        render_template(template, messages, add_generation_prompt, &bos, &eos)
    }

    /// The prompt llama.cpp builds from the chat template: the template's output minus a leading
    /// BOS text when the vocabulary adds BOS itself (`add_bos_token`), and minus a trailing EOS
    /// text when it adds EOS, so that `encode(prompt, true, true)` has exactly one BOS. Tokenize
    /// the result with `add_special = true` and `parse_special = true`.
    pub fn apply_chat_template(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String> {
        let mut text = self.render_chat_template(messages, add_generation_prompt)?;
        let (bos, eos) = self.bos_eos_texts();
        if self.vocab.add_bos && !bos.is_empty() && text.starts_with(&bos) {
            text.drain(..bos.len());
        }
        if self.vocab.add_eos && !eos.is_empty() && text.ends_with(&eos) {
            text.truncate(text.len() - eos.len());
        }
        Ok(text)
    }

    fn bos_eos_texts(&self) -> (String, String) {
        let text = |id: Option<u32>| {
            id.and_then(|id| self.token_to_piece(id, true).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        (text(self.vocab.special.bos), text(self.vocab.special.eos))
    }
}
