//! The tokenizer against llama.cpp b10200 (tests/fixtures/oracle/tokenization): every case in every
//! tokenization mode, detokenization, pieces, round trips and streaming, for the full DeepSeek-V3
//! vocabulary and the 512-token vocabulary of the tiny models; plus hand-worked pre-tokenizer
//! splits for `deepseek-llm`, `gpt-2` and `default` on small vocabularies made with the GGUF
//! writer, and errors for ids outside the vocabulary. The chat template: tokenizer_chat.rs.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value as Json;
use wgpu_ds::gguf::{Array, Bytes, GgufFile, GgufWriter, Value};
use wgpu_ds::tokenizer::{StreamDecoder, Tokenizer};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oracle")
        .join(rel)
}

fn full() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let file =
            GgufFile::open(fixture("vocab/vocab-deepseek-v3.gguf")).expect("open vocab gguf");
        Tokenizer::from_gguf(&file).expect("load full vocab")
    })
}

fn small() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let file = GgufFile::open(fixture("models/tiny-v3-s-F16.gguf")).expect("open tiny model");
        Tokenizer::from_gguf(&file).expect("load 512-token vocab")
    })
}

struct Case {
    index: u64,
    name: String,
    text: String,
    full: Json,
    small: Json,
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let raw = std::fs::read_to_string(fixture("tokenization/tokenization_cases.json")).unwrap();
        let doc: Json = serde_json::from_str(&raw).unwrap();
        let cases: Vec<Case> = doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let text = c["text"].as_str().unwrap().to_string();
                // the text as llama.cpp saw it
                assert_eq!(hex(text.as_bytes()), c["text_utf8_hex"].as_str().unwrap());
                Case {
                    index: c["index"].as_u64().unwrap(),
                    name: c["name"].as_str().unwrap().to_string(),
                    text,
                    full: c["full_vocab"].clone(),
                    small: c["small_vocab_512"].clone(),
                }
            })
            .collect();
        assert_eq!(cases.len(), 20);
        cases
    })
}

fn ids(v: &Json) -> Vec<u32> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an id list: {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `check` on every case, prints each mismatch, and fails with the count.
fn for_all_cases(what: &str, check: impl Fn(&Case) -> Result<(), String>) {
    let mut failures = Vec::new();
    for case in cases() {
        if let Err(msg) = check(case) {
            failures.push(format!("case {} ({}): {msg}", case.index, case.name));
        }
    }
    for f in &failures {
        eprintln!("{what}: {f}");
    }
    eprintln!(
        "{what}: {}/{} cases identical to llama.cpp",
        cases().len() - failures.len(),
        cases().len()
    );
    assert!(
        failures.is_empty(),
        "{what}: {} of {} cases differ",
        failures.len(),
        cases().len()
    );
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("got {got:?}, want {want:?}"))
    }
}

// ---- full DeepSeek-V3 vocabulary ----

#[test]
fn full_vocab_metadata() {
    let t = full();
    assert_eq!(t.n_vocab(), 129280);
    assert_eq!(t.n_merges(), 127741);
    assert_eq!(t.pre(), "deepseek-v3");
    assert_eq!((t.bos(), t.eos(), t.pad()), (Some(0), Some(1), Some(1)));
    assert!(t.add_bos() && !t.add_eos());
    assert!(t.is_eog(1));
    assert!(!t.is_eog(0) && !t.is_eog(128803));
    assert!(t.is_control(128803).unwrap());
    assert_eq!(t.token_text(128803).unwrap(), "<｜User｜>");
    assert_eq!(t.token_id("<｜Assistant｜>"), Some(128804));
}

#[test]
fn full_vocab_loads_in_under_a_second() {
    let start = Instant::now();
    let file = GgufFile::open(fixture("vocab/vocab-deepseek-v3.gguf")).unwrap();
    let t = Tokenizer::from_gguf(&file).unwrap();
    let elapsed = start.elapsed();
    eprintln!("129k-token vocabulary: open + from_gguf in {elapsed:?}");
    assert_eq!(t.n_vocab(), 129280);
    assert!(elapsed.as_secs_f64() < 1.0, "loading took {elapsed:?}");
}

#[test]
fn full_vocab_ids_parse_special_match_llama_cpp() {
    for_all_cases("full ids_parse_special", |c| {
        expect_eq(
            full().encode(&c.text, true, true).unwrap(),
            ids(&c.full["ids_parse_special"]),
        )
    });
}

#[test]
fn full_vocab_ids_no_parse_special_match_llama_cpp() {
    for_all_cases("full ids_no_parse_special", |c| {
        expect_eq(
            full().encode(&c.text, true, false).unwrap(),
            ids(&c.full["ids_no_parse_special"]),
        )
    });
}

#[test]
fn full_vocab_ids_no_add_special_match_llama_cpp() {
    for_all_cases("full ids_no_add_special", |c| {
        expect_eq(
            full().encode(&c.text, false, true).unwrap(),
            ids(&c.full["ids_no_add_special"]),
        )
    });
}

#[test]
fn full_vocab_detokenize_matches_llama_cpp() {
    for_all_cases("full detokenize", |c| {
        let t = full();
        let f = &c.full;
        for (ids_key, render_key, skip_key) in [
            (
                "ids_parse_special",
                "detok_render_special",
                "detok_skip_special",
            ),
            (
                "ids_no_parse_special",
                "detok_no_parse_special_render_special",
                "detok_no_parse_special_skip_special",
            ),
        ] {
            let v = ids(&f[ids_key]);
            expect_eq(
                t.decode(&v, false, true).unwrap().as_str(),
                f[render_key].as_str().unwrap(),
            )
            .map_err(|e| format!("{render_key}: {e}"))?;
            expect_eq(
                t.decode(&v, true, false).unwrap().as_str(),
                f[skip_key].as_str().unwrap(),
            )
            .map_err(|e| format!("{skip_key}: {e}"))?;
        }
        Ok(())
    });
}

#[test]
fn full_vocab_pieces_match_llama_cpp() {
    for_all_cases("full pieces", |c| {
        let got: Vec<String> = ids(&c.full["ids_parse_special"])
            .iter()
            .map(|&id| hex(&full().token_to_piece(id, true).unwrap()))
            .collect();
        let want: Vec<String> = c.full["pieces_utf8_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect();
        expect_eq(got, want)
    });
}

#[test]
fn full_vocab_detokenize_skip_special_reproduces_text_bytes() {
    for_all_cases("full round trip", |c| {
        let v = ids(&c.full["ids_no_parse_special"]);
        expect_eq(
            hex(&full().detokenize_bytes(&v, true, false).unwrap()),
            hex(c.text.as_bytes()),
        )
    });
}

#[test]
fn control_pieces_are_empty_unless_special() {
    let t = full();
    assert_eq!(t.token_to_piece(0, false).unwrap(), b"");
    assert_eq!(
        t.token_to_piece(0, true).unwrap(),
        "<｜begin▁of▁sentence｜>".as_bytes()
    );
    assert_eq!(t.token_to_piece(223, false).unwrap(), b" ");
}

// ---- streaming ----

/// Feeds ids one at a time; every chunk must be whole UTF-8 (a `String` guarantees it) and the
/// chunks together must equal `decode`.
fn stream(
    t: &Tokenizer,
    v: &[u32],
    remove_special: bool,
    unparse_special: bool,
) -> (String, Vec<String>) {
    let mut d = StreamDecoder::new(t, remove_special, unparse_special);
    let mut chunks: Vec<String> = v.iter().map(|&id| d.push(id).unwrap()).collect();
    chunks.push(d.finish());
    (chunks.concat(), chunks)
}

#[test]
fn stream_decoder_matches_decode_one_id_at_a_time() {
    for_all_cases("stream", |c| {
        for (t, v) in [
            (full(), ids(&c.full["ids_parse_special"])),
            (full(), ids(&c.full["ids_no_parse_special"])),
            (small(), ids(&c.small["ids_parse_special"])),
        ] {
            for (remove, unparse) in [(false, true), (true, false)] {
                let (text, chunks) = stream(t, &v, remove, unparse);
                expect_eq(
                    text.as_str(),
                    t.decode(&v, remove, unparse).unwrap().as_str(),
                )?;
                if chunks.iter().any(|s| s.contains('\u{FFFD}')) && !c.text.contains('\u{FFFD}') {
                    return Err(format!("a chunk split a character: {chunks:?}"));
                }
            }
        }
        Ok(())
    });
}

#[test]
fn stream_decoder_holds_back_partial_characters() {
    // the 512-token vocabulary spells most non-ASCII text byte by byte
    let t = small();
    let v = t.encode("€深", false, true).unwrap();
    assert_eq!(v.len(), 6, "one id per byte: {v:?}");
    let mut d = StreamDecoder::new(t, true, false);
    let chunks: Vec<String> = v.iter().map(|&id| d.push(id).unwrap()).collect();
    assert_eq!(chunks, ["", "", "€", "", "", "深"]);
    assert_eq!(d.finish(), "");

    // an incomplete character at the end is flushed as U+FFFD, like decode does
    let mut d = StreamDecoder::new(t, true, false);
    assert_eq!(d.push(v[0]).unwrap(), "");
    assert_eq!(d.finish(), "\u{FFFD}");
    assert_eq!(t.decode(&v[..1], true, false).unwrap(), "\u{FFFD}");
}

// ---- 512-token vocabulary of the tiny models ----

#[test]
fn small_vocab_metadata() {
    let t = small();
    assert_eq!(t.n_vocab(), 512);
    assert_eq!(t.n_merges(), 253);
    assert_eq!(t.pre(), "deepseek-v3");
    assert_eq!((t.bos(), t.eos()), (Some(0), Some(1)));
    assert!(t.is_eog(1));
    assert_eq!(t.encode("\n", false, false).unwrap(), [201]);
}

#[test]
fn small_vocab_ids_parse_special_match_llama_cpp() {
    for_all_cases("small ids_parse_special", |c| {
        expect_eq(
            small().encode(&c.text, true, true).unwrap(),
            ids(&c.small["ids_parse_special"]),
        )
    });
}

#[test]
fn small_vocab_ids_no_parse_special_match_llama_cpp() {
    for_all_cases("small ids_no_parse_special", |c| {
        expect_eq(
            small().encode(&c.text, true, false).unwrap(),
            ids(&c.small["ids_no_parse_special"]),
        )
    });
}

#[test]
fn small_vocab_detokenize_matches_llama_cpp() {
    for_all_cases("small detokenize", |c| {
        let v = ids(&c.small["ids_parse_special"]);
        expect_eq(
            small().decode(&v, false, true).unwrap().as_str(),
            c.small["detok_render_special"].as_str().unwrap(),
        )
    });
}

// ---- errors ----

#[test]
fn ids_outside_the_vocabulary_are_errors_naming_the_id() {
    let t = small();
    for bad in [512u32, 129280, u32::MAX] {
        let msg = t.decode(&[0, 5, bad], false, true).unwrap_err().to_string();
        assert!(msg.contains(&bad.to_string()), "{msg}");
        assert!(t.token_to_piece(bad, true).is_err());
        assert!(t.token_text(bad).is_err());
        assert!(!t.is_eog(bad));
        let mut d = StreamDecoder::new(t, false, true);
        assert!(d.push(bad).is_err());
    }
    assert!(full().decode(&[129280], true, false).is_err());
}

// ---- small hand-made vocabularies: deepseek-llm, gpt-2, default ----

/// A byte-level vocabulary: BOS, EOS, the 256 byte symbols, then one token per merge.
fn tiny_vocab(pre: &str, merges: &[(&str, &str)]) -> Tokenizer {
    let mut tokens = vec![
        "<｜begin▁of▁sentence｜>".to_string(),
        "<｜end▁of▁sentence｜>".to_string(),
    ];
    let mut types = vec![3i32, 3];
    let byte_chars: Vec<char> = (0..=255u8)
        .map(|b| match b {
            0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF => b as char,
            _ => '\0',
        })
        .collect();
    let mut n = 0;
    for (b, c) in byte_chars.iter().enumerate() {
        let c = if *c == '\0' {
            n += 1;
            char::from_u32(255 + n).unwrap()
        } else {
            *c
        };
        let _ = b;
        tokens.push(c.to_string());
        types.push(1);
    }
    for (a, b) in merges {
        tokens.push(format!("{a}{b}"));
        types.push(1);
    }
    let mut w = GgufWriter::new();
    w.set("general.architecture", Value::String("deepseek2".into()));
    w.set("tokenizer.ggml.model", Value::String("gpt2".into()));
    w.set("tokenizer.ggml.pre", Value::String(pre.into()));
    w.set("tokenizer.ggml.tokens", Value::Array(Array::String(tokens)));
    w.set("tokenizer.ggml.token_type", Value::Array(Array::I32(types)));
    w.set(
        "tokenizer.ggml.merges",
        Value::Array(Array::String(
            merges.iter().map(|(a, b)| format!("{a} {b}")).collect(),
        )),
    );
    w.set("tokenizer.ggml.bos_token_id", Value::U32(0));
    w.set("tokenizer.ggml.eos_token_id", Value::U32(1));
    w.set("tokenizer.ggml.add_bos_token", Value::Bool(true));
    w.set("tokenizer.ggml.add_eos_token", Value::Bool(false));
    let file = GgufFile::from_bytes("tiny-vocab.gguf", Bytes::Owned(w.to_bytes())).unwrap();
    Tokenizer::from_gguf(&file).unwrap()
}

fn split(t: &Tokenizer, text: &str) -> Vec<String> {
    let words = t.pre_tokenize(text).unwrap();
    assert_eq!(words.concat(), text, "words must cover the text");
    words
}

#[test]
fn deepseek_llm_pre_tokenizer_splits_like_llama_cpp() {
    let t = tiny_vocab("deepseek-llm", &[]);
    assert_eq!(t.pre(), "deepseek-llm");
    // [\r\n] alone; \s?letters; digits as one run (\p{N}+, no grouping by three)
    assert_eq!(
        split(&t, "Hello world\n123 abc"),
        ["Hello", " world", "\n", "123", " abc"]
    );
    assert_eq!(split(&t, "abc12345"), ["abc", "12345"]);
    // punctuation runs (ASCII and full-width), then CJK runs out of the gaps
    assert_eq!(
        split(&t, "Hi!! 你好，世界"),
        ["Hi", "!!", " ", "你好", "，", "世界"]
    );
    // a space before a word goes with it; trailing whitespace is one piece
    assert_eq!(split(&t, "a  b"), ["a", " ", " b"]);
    assert_eq!(split(&t, "a  "), ["a", "  "]);
    // llama.cpp turns U+3000 into a whitespace stand-in before matching, so it falls out of the
    // [　-。] punctuation range (Hugging Face would keep "。　" together)
    assert_eq!(split(&t, "x。\u{3000}"), ["x", "。", "\u{3000}"]);
    // Greek from the explicit letter list, Hangul
    assert_eq!(split(&t, "Ελλάδα 한국"), ["Ελλάδα", " ", "한국"]);
}

#[test]
fn deepseek_llm_tiny_vocab_encodes_and_decodes() {
    let t = tiny_vocab(
        "deepseek-llm",
        &[
            ("H", "e"),
            ("l", "l"),
            ("ll", "o"),
            ("He", "llo"),
            ("Ġ", "w"),
        ],
    );
    let id = |s: &str| t.token_id(s).unwrap();
    let v = t.encode("Hello wo,", true, true).unwrap();
    assert_eq!(v, [0, id("Hello"), id("Ġw"), id("o"), id(",")]);
    // DeepSeek vocabularies do not clean spaces when decoding
    let v = t.encode("a , b", false, false).unwrap();
    assert_eq!(t.decode(&v, true, false).unwrap(), "a , b");
    // parse_special decides whether "<｜end▁of▁sentence｜>" in the text is the control token
    assert_eq!(
        t.encode("x<｜end▁of▁sentence｜>", false, true).unwrap(),
        [id("x"), 1]
    );
    assert!(
        t.encode("x<｜end▁of▁sentence｜>", false, false)
            .unwrap()
            .len()
            > 2
    );
}

#[test]
fn gpt2_pre_tokenizer_splits_like_llama_cpp() {
    let t = tiny_vocab("gpt-2", &[]);
    assert_eq!(
        split(&t, "Hello world's 123  !!\n"),
        ["Hello", " world", "'s", " 123", " ", " !!", "\n"]
    );
    assert_eq!(split(&t, "don't  x"), ["don", "'t", " ", " x"]);
    // GPT-2-style vocabularies clean spaces before punctuation when decoding (llama.cpp
    // clean_spaces)
    let v = t.encode("Hello , world !", false, false).unwrap();
    assert_eq!(t.decode(&v, false, false).unwrap(), "Hello, world!");
    let (streamed, _) = stream(&t, &v, false, false);
    assert_eq!(streamed, "Hello, world!");
}

#[test]
fn default_pre_tokenizer_splits_like_llama_cpp() {
    let t = tiny_vocab("default", &[]);
    // punctuation runs first, then the GPT-2 regex, then digit runs, then groups of three digits
    assert_eq!(
        split(&t, "a,b 1234567!"),
        ["a", ",", "b", " ", "123", "456", "7", "!"]
    );
}

#[test]
fn unknown_pre_tokenizer_is_an_error() {
    let mut w = GgufWriter::new();
    w.set("tokenizer.ggml.model", Value::String("gpt2".into()));
    w.set("tokenizer.ggml.pre", Value::String("no-such-pre".into()));
    w.set(
        "tokenizer.ggml.tokens",
        Value::Array(Array::String(vec!["a".into()])),
    );
    w.set("tokenizer.ggml.merges", Value::Array(Array::String(vec![])));
    let file = GgufFile::from_bytes("bad.gguf", Bytes::Owned(w.to_bytes())).unwrap();
    let msg = Tokenizer::from_gguf(&file).unwrap_err().to_string();
    assert!(msg.contains("no-such-pre"), "{msg}");
}

#[test]
fn long_runs_and_long_texts_round_trip() {
    let t = full();
    for run in [" ", "\n", "\t", "\u{3000}", "~", "1", "é", "中", "👍"] {
        let text = format!("a{}b", run.repeat(20_000));
        let v = t.encode(&text, false, true).unwrap();
        assert_eq!(t.decode(&v, false, false).unwrap(), text, "run of {run:?}");
    }
    let all: Vec<&str> = cases().iter().map(|c| c.text.as_str()).collect();
    let text = all.join("\n").repeat(20);
    let v = t.encode(&text, true, false).unwrap();
    assert_eq!(t.decode(&v, true, false).unwrap(), text);
}

#[test]
fn stream_decoder_matches_decode_with_clean_spaces_on_random_ids() {
    // clean_spaces looks ahead; the streaming decoder must hold back exactly enough
    let t = tiny_vocab("gpt-2", &[("Ġ", "'"), ("'", "s")]);
    let alphabet: Vec<u32> = [
        "Ġ", "'", "s", "t", "m", "r", "e", "v", "l", "d", "?", "!", ".", ",", "a", "Ã", "©", "Ġ'",
        "'s",
    ]
    .iter()
    .map(|s| t.token_id(s).unwrap())
    .collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for len in 0..300 {
        let v: Vec<u32> = (0..len % 60)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize]
            })
            .collect();
        let (streamed, _) = stream(&t, &v, false, false);
        assert_eq!(streamed, t.decode(&v, false, false).unwrap(), "ids {v:?}");
    }
}

#[test]
fn tokenizer_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tokenizer>();
    let t = full();
    let ids: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| s.spawn(move || t.encode(&format!("thread {i}"), true, true).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, v) in ids.iter().enumerate() {
        assert_eq!(t.decode(v, true, false).unwrap(), format!("thread {i}"));
    }
}
