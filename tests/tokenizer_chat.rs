//! The chat template from `tokenizer.chat_template`, rendered with minijinja: the DeepSeek-V3
//! template on a conversation, llama.cpp's BOS handling, and Python string methods.

use std::path::PathBuf;

use wgpu_ds::gguf::GgufFile;
use wgpu_ds::tokenizer::{ChatMessage, Tokenizer};

fn full() -> Tokenizer {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oracle/vocab/vocab-deepseek-v3.gguf");
    Tokenizer::from_gguf(&GgufFile::open(path).expect("open vocab gguf")).expect("load full vocab")
}

fn conversation() -> Vec<ChatMessage> {
    vec![
        ChatMessage::new("system", "You are a helpful assistant."),
        ChatMessage::new("user", "Hello!"),
        ChatMessage::new("assistant", "Hi there."),
        ChatMessage::new("user", "What is 2+2?"),
    ]
}

#[test]
fn deepseek_v3_chat_template_renders_conversation() {
    let t = &full();
    assert!(t.chat_template().unwrap().contains("<｜Assistant｜>"));
    // read off the template: BOS, the system prompt, then "<｜User｜>" + content per user
    // turn and "<｜Assistant｜>" + content + EOS per assistant turn, then "<｜Assistant｜>" to
    // prompt a reply
    let raw = t.render_chat_template(&conversation(), true).unwrap();
    assert_eq!(
        raw,
        concat!(
            "<｜begin▁of▁sentence｜>You are a helpful assistant.",
            "<｜User｜>Hello!<｜Assistant｜>Hi there.<｜end▁of▁sentence｜>",
            "<｜User｜>What is 2+2?<｜Assistant｜>",
        )
    );
    let user = raw.find("<｜User｜>").unwrap();
    let assistant = raw.find("<｜Assistant｜>").unwrap();
    let user2 = raw.rfind("<｜User｜>").unwrap();
    let assistant2 = raw.rfind("<｜Assistant｜>").unwrap();
    assert!(
        user < assistant
            && assistant < user2
            && user2 < assistant2
            && raw.ends_with("<｜Assistant｜>")
    );

    // without a generation prompt the last user turn ends the text
    let no_prompt = t.render_chat_template(&conversation(), false).unwrap();
    assert!(no_prompt.ends_with("<｜User｜>What is 2+2?"));

    // llama.cpp drops the template's BOS because the vocabulary adds it; encoding gives one BOS
    let prompt = t.apply_chat_template(&conversation(), true).unwrap();
    assert_eq!(prompt, raw.strip_prefix("<｜begin▁of▁sentence｜>").unwrap());
    let v = t.encode(&prompt, true, true).unwrap();
    assert_eq!(v[0], 0);
    assert_eq!(v.iter().filter(|&&id| id == 0).count(), 1);
    assert_eq!(v.iter().filter(|&&id| id == 128803).count(), 2);
    assert_eq!(*v.last().unwrap(), 128804);
    assert_eq!(t.decode(&v, false, true).unwrap(), raw);
}

#[test]
fn chat_templates_get_python_string_methods() {
    // R1-style templates call str methods such as split
    let tmpl =
        "{% for m in messages %}{{ m['content'].split('</think>')[-1].strip() }}|{% endfor %}";
    let msgs = [ChatMessage::new("assistant", "<think>x</think> answer ")];
    assert_eq!(
        wgpu_ds::tokenizer::render_template(tmpl, &msgs, false, "", "").unwrap(),
        "answer|"
    );
    let err =
        wgpu_ds::tokenizer::render_template("{{ raise_exception('no') }}", &msgs, false, "", "");
    assert!(err.is_err());
}

/// A template from a model file is untrusted: one that would loop for billions of steps or
/// write without bound stops with an error naming the limit (TEMPLATE_FUEL instructions,
/// TEMPLATE_MAX_OUTPUT bytes), quickly, instead of hanging or exhausting memory.
#[test]
fn runaway_templates_stop_at_the_renderer_limits() {
    use wgpu_ds::tokenizer::render_template;
    let msgs = [ChatMessage::new("user", "hi")];
    let cases = [
        // 10^10 iterations, each writing a byte
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        // 10^10 iterations writing nothing
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        // 100 MB strings written 1000 times
        "{% for a in range(1000) %}{{ 'x' * 100000000 }}{% endfor %}",
        // a recursive macro
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    ];
    let limits = ["out of fuel", "out of fuel", "exceeds", "recursion limit"];
    for (tmpl, limit) in cases.iter().zip(limits) {
        let t = std::time::Instant::now();
        let err = render_template(tmpl, &msgs, false, "", "").expect_err(tmpl);
        let secs = t.elapsed().as_secs_f64();
        assert!(err.to_string().contains(limit), "{tmpl}: {err}");
        assert!(secs < 30.0, "{tmpl}: took {secs:.1} s");
    }
    // A real conversation of 2,000 messages stays far inside the limits.
    let tmpl = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}";
    let long: Vec<ChatMessage> = (0..2000)
        .map(|i| ChatMessage::new(["user", "assistant"][i % 2], format!("message {i}")))
        .collect();
    let out = render_template(tmpl, &long, true, "", "").unwrap();
    assert!(out.ends_with("<|assistant|>message 1999\n"));
}
