//! GGUF reader and writer: round trips of every value type, split models, the oracle files, and
//! hostile input (each malformed file gives an error naming the problem, never a panic).

use std::path::{Path, PathBuf};

use wgpu_ds::gguf::{Array, Bytes, GgufFile, GgufWriter, Value};
use wgpu_ds::quant::QuantType;
use wgpu_ds::Error;

fn oracle_models() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle/models");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
        .collect();
    v.sort();
    assert!(
        v.len() >= 32,
        "oracle models missing from {}",
        dir.display()
    );
    v
}

fn parse(bytes: Vec<u8>) -> wgpu_ds::Result<GgufFile> {
    GgufFile::from_bytes("test.gguf", Bytes::Owned(bytes))
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wgpu-ds-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A writer holding one key of every value type, nested arrays, and tensors of several types.
fn every_type_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.set("general.architecture", Value::String("deepseek2".into()))
        .set("t.u8", Value::U8(200))
        .set("t.i8", Value::I8(-100))
        .set("t.u16", Value::U16(60000))
        .set("t.i16", Value::I16(-30000))
        .set("t.u32", Value::U32(4_000_000_000))
        .set("t.i32", Value::I32(-2_000_000_000))
        .set("t.f32", Value::F32(0.1))
        .set("t.bool", Value::Bool(true))
        .set("t.string", Value::String("héllo ▁ 世界".into()))
        .set("t.u64", Value::U64(u64::MAX))
        .set("t.i64", Value::I64(i64::MIN))
        .set("t.f64", Value::F64(-1e300))
        .set(
            "t.arr.str",
            Value::Array(Array::String(vec!["a".into(), "".into(), "Ġb c".into()])),
        )
        .set("t.arr.i32", Value::Array(Array::I32(vec![1, -2, 3])))
        .set("t.arr.f32", Value::Array(Array::F32(vec![0.5, -0.25])))
        .set("t.arr.bool", Value::Array(Array::Bool(vec![true, false])))
        .set("t.arr.u8", Value::Array(Array::U8(vec![0, 255])))
        .set("t.arr.empty", Value::Array(Array::U64(vec![])))
        .set(
            "t.arr.nested",
            Value::Array(Array::Array(vec![
                Array::I16(vec![1, 2]),
                Array::String(vec!["x".into()]),
            ])),
        );
    w.add_f32(
        "a.weight",
        &[4, 2],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    )
    .unwrap();
    w.add_tensor(
        "b.weight",
        QuantType::F16,
        &[3],
        vec![0, 0x3c, 0, 0x40, 0, 0xc0],
    )
    .unwrap();
    w.add_tensor("c.weight", QuantType::Q8_0, &[32, 2], vec![7; 68])
        .unwrap();
    w.add_tensor("d.weight", QuantType::Q4K, &[256, 1, 1, 1], vec![1; 144])
        .unwrap();
    w
}

#[test]
fn every_value_type_round_trips() {
    let w = every_type_writer();
    let bytes = w.to_bytes();
    let f = parse(bytes.clone()).unwrap();
    assert_eq!(f.version(), 3);
    assert_eq!(f.metadata(), &w.metadata[..]);
    assert_eq!(f.tensors().len(), 4);
    for (t, wt) in f.tensors().iter().zip(&w.tensors) {
        assert_eq!((&t.name, &t.ne, t.ty), (&wt.name, &wt.ne, wt.ty));
        assert_eq!(f.tensor_data(t), &wt.data[..]);
        assert_eq!(t.offset % 32, 0);
    }
    // Writing what was read gives the same bytes.
    assert_eq!(GgufWriter::from_file(&f).to_bytes(), bytes);
}

#[test]
fn typed_getters_accept_any_int_width_and_name_the_key_on_type_errors() {
    let f = parse(every_type_writer().to_bytes()).unwrap();
    assert_eq!(f.get_u64("t.u8").unwrap(), Some(200));
    assert_eq!(f.get_u64("t.u64").unwrap(), Some(u64::MAX));
    assert_eq!(f.get_f32("t.u16").unwrap(), Some(60000.0));
    assert_eq!(f.get_bool("t.bool").unwrap(), Some(true));
    assert_eq!(f.get_u64("absent").unwrap(), None);
    assert_eq!(f.get_int_array("t.arr.i32").unwrap(), Some(vec![1, -2, 3]));
    assert_eq!(f.get_str_array("t.arr.str").unwrap().unwrap()[2], "Ġb c");
    let e = f.get_u64("t.i8").unwrap_err().to_string();
    assert!(e.contains("t.i8") && e.contains("non-negative"), "{e}");
    let e = f.get_str("t.bool").unwrap_err().to_string();
    assert!(e.contains("t.bool") && e.contains("string"), "{e}");
    let e = f
        .require_u64("deepseek2.block_count")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("deepseek2.block_count") && e.contains("missing"),
        "{e}"
    );
    let e = f.get_usize("t.u32", 1 << 20).unwrap_err().to_string();
    assert!(e.contains("limit"), "{e}");
}

#[test]
fn custom_alignment_is_honoured() {
    let mut w = every_type_writer();
    w.set("general.alignment", Value::U32(64));
    let f = parse(w.to_bytes()).unwrap();
    assert_eq!(f.alignment(), 64);
    for t in f.tensors() {
        assert_eq!(t.offset % 64, 0);
        assert_eq!(f.tensor_data(t).len() as u64, t.n_bytes);
    }
}

#[test]
fn every_oracle_file_parses_and_round_trips() {
    for path in oracle_models() {
        let f = GgufFile::open(&path).unwrap();
        assert_eq!(f.architecture().unwrap(), "deepseek2");
        assert!(
            f.get_str_array("tokenizer.ggml.tokens")
                .unwrap()
                .unwrap()
                .len()
                == 512
        );
        let sum: u64 = f.tensors().iter().map(|t| t.n_bytes).sum();
        assert!(sum > 0 && sum <= f.file_bytes());
        // The writer reproduces the converter's file byte for byte.
        let original = std::fs::read(&path).unwrap();
        assert_eq!(
            GgufWriter::from_file(&f).to_bytes(),
            original,
            "{}",
            path.display()
        );
    }
}

#[test]
fn split_models_open_from_the_first_part_with_tensors_from_every_part() {
    let path = oracle_models()
        .into_iter()
        .find(|p| p.ends_with("tiny-v3-s-Q4_K_M.gguf"))
        .unwrap();
    let whole = GgufFile::open(&path).unwrap();
    let dir = tmp_dir("split");
    let prefix = dir.join("tiny").to_str().unwrap().to_string();
    let parts = GgufWriter::from_file(&whole)
        .write_split(&prefix, 3)
        .unwrap();
    assert_eq!(parts.len(), 3);
    assert!(parts[2].ends_with("tiny-00003-of-00003.gguf"));

    let split = GgufFile::open(&parts[0]).unwrap();
    assert_eq!(split.part_paths().len(), 3);
    assert_eq!(split.tensors().len(), whole.tensors().len());
    assert_eq!(
        split.get_u64("deepseek2.block_count").unwrap(),
        whole.get_u64("deepseek2.block_count").unwrap()
    );
    let parts_used: std::collections::BTreeSet<usize> =
        split.tensors().iter().map(|t| t.part).collect();
    assert_eq!(parts_used.len(), 3);
    for t in whole.tensors() {
        let s = split.tensor(&t.name).unwrap();
        assert_eq!(split.tensor_data(s), whole.tensor_data(t), "{}", t.name);
    }

    // Opening a later part says which part to open.
    let e = GgufFile::open(&parts[1]).unwrap_err().to_string();
    assert!(e.contains("open the first part"), "{e}");
    // A missing part is named.
    std::fs::remove_file(&parts[2]).unwrap();
    let e = GgufFile::open(&parts[0]).unwrap_err().to_string();
    assert!(e.contains("tiny-00003-of-00003.gguf"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Builds a file with the given header fields by hand, for cases the writer refuses to produce.
struct Raw(Vec<u8>);
impl Raw {
    fn new(version: u32, n_tensors: u64, n_kv: u64) -> Raw {
        let mut v = b"GGUF".to_vec();
        v.extend(version.to_le_bytes());
        v.extend(n_tensors.to_le_bytes());
        v.extend(n_kv.to_le_bytes());
        Raw(v)
    }
    fn u32(mut self, x: u32) -> Raw {
        self.0.extend(x.to_le_bytes());
        self
    }
    fn u64(mut self, x: u64) -> Raw {
        self.0.extend(x.to_le_bytes());
        self
    }
    fn bytes(mut self, b: &[u8]) -> Raw {
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, s: &[u8]) -> Raw {
        self.u64(s.len() as u64).bytes(s)
    }
    /// A tensor info: name, dims, type id, offset.
    fn tensor(self, name: &str, ne: &[u64], ty: u32, offset: u64) -> Raw {
        let mut r = self.str(name.as_bytes()).u32(ne.len() as u32);
        for &d in ne {
            r = r.u64(d);
        }
        r.u32(ty).u64(offset)
    }
    fn pad_data(mut self, data_bytes: usize) -> Raw {
        let aligned = self.0.len().div_ceil(32) * 32;
        self.0.resize(aligned + data_bytes, 0);
        self
    }
}

fn expect_err(bytes: Vec<u8>, needles: &[&str]) {
    match parse(bytes) {
        Ok(_) => panic!("expected an error containing {needles:?}"),
        Err(e @ Error::Gguf { .. }) => {
            let s = e.to_string();
            for n in needles {
                assert!(s.contains(n), "error {s:?} should mention {n:?}");
            }
        }
        Err(e) => panic!("expected a GGUF error, got {e}"),
    }
}

#[test]
fn hostile_headers_give_errors_that_name_the_problem() {
    expect_err(b"GGU".to_vec(), &["header", "truncated"]);
    expect_err(b"GGML\x03\0\0\0".to_vec(), &["bad magic"]);
    expect_err(Raw::new(1, 0, 0).0, &["version 1"]);
    expect_err(Raw::new(3u32.swap_bytes(), 0, 0).0, &["big-endian"]);
    expect_err(Raw::new(7, 0, 0).0, &["version 7"]);
    // Counts far beyond the file: no allocation, a clear error.
    expect_err(Raw::new(3, 0, u64::MAX).0, &["metadata count"]);
    expect_err(Raw::new(3, 1 << 40, 0).0, &["tensor count"]);
    // A key whose string length runs past the end.
    expect_err(
        Raw::new(3, 0, 1).u64(1 << 50).bytes(&[0; 16]).0,
        &["metadata key #0", "truncated"],
    );
    // Non-UTF-8 key and value.
    expect_err(
        Raw::new(3, 0, 1).str(b"k\xff").u32(0).bytes(&[1]).0,
        &["UTF-8"],
    );
    expect_err(
        Raw::new(3, 0, 1).str(b"name").u32(8).str(b"\xc3").0,
        &["name", "UTF-8"],
    );
    // Unknown value type, unknown array element type, array count beyond the file, bad bool.
    expect_err(
        Raw::new(3, 0, 1).str(b"k").u32(13).bytes(&[0; 8]).0,
        &["k", "unknown value type id 13"],
    );
    expect_err(
        Raw::new(3, 0, 1).str(b"k").u32(9).u32(77).u64(1).0,
        &["unknown array element type id 77"],
    );
    expect_err(
        Raw::new(3, 0, 1)
            .str(b"arr")
            .u32(9)
            .u32(8)
            .u64(u64::MAX / 2)
            .0,
        &["arr", "array element count"],
    );
    expect_err(
        Raw::new(3, 0, 1).str(b"flag").u32(7).bytes(&[2]).0,
        &["flag", "bool"],
    );
    // Arrays nested without end.
    let mut deep = Raw::new(3, 0, 1).str(b"deep").u32(9);
    for _ in 0..20 {
        deep = deep.u32(9).u64(1);
    }
    expect_err(deep.0, &["deep", "nested"]);
    // Duplicate keys; bad alignment.
    expect_err(
        Raw::new(3, 0, 2)
            .str(b"k")
            .u32(0)
            .bytes(&[1])
            .str(b"k")
            .u32(0)
            .bytes(&[2])
            .0,
        &["k", "duplicate metadata key"],
    );
    expect_err(
        Raw::new(3, 0, 1).str(b"general.alignment").u32(4).u32(48).0,
        &["general.alignment", "power of two"],
    );
    expect_err(
        Raw::new(3, 0, 1).str(b"general.alignment").u32(4).u32(0).0,
        &["general.alignment"],
    );
    expect_err(
        Raw::new(3, 0, 1)
            .str(b"general.alignment")
            .u32(10)
            .u64(32)
            .0,
        &["general.alignment"],
    );
}

#[test]
fn hostile_tensor_infos_give_errors_that_name_the_tensor() {
    let f32_id = QuantType::F32.id();
    let q8 = QuantType::Q8_0.id();
    expect_err(
        Raw::new(3, 1, 0).tensor("w", &[4, 4, 4, 4, 4], f32_id, 0).0,
        &["w", "5 dimensions"],
    );
    expect_err(
        Raw::new(3, 1, 0).tensor("w", &[], f32_id, 0).0,
        &["w", "0 dimensions"],
    );
    expect_err(
        Raw::new(3, 1, 0).tensor("w", &[4], 4, 0).0,
        &["w", "unknown tensor type id 4"],
    );
    expect_err(
        Raw::new(3, 1, 0).tensor("w", &[4], 1234, 0).0,
        &["w", "unknown tensor type id 1234"],
    );
    expect_err(
        Raw::new(3, 1, 0).tensor("w", &[u64::MAX, 2], f32_id, 0).0,
        &["w", "overflows"],
    );
    expect_err(
        Raw::new(3, 1, 0)
            .tensor("w", &[1 << 40, 1 << 40], f32_id, 0)
            .0,
        &["w", "overflows"],
    );
    expect_err(
        Raw::new(3, 1, 0).tensor("w", &[33], q8, 0).0,
        &["w", "not a multiple of the Q8_0 block size 32"],
    );
    expect_err(
        Raw::new(3, 1, 0)
            .tensor("w", &[4], f32_id, 8)
            .pad_data(64)
            .0,
        &["w", "alignment"],
    );
    // Runs past the end: truncated data section, and an offset near u64::MAX.
    expect_err(
        Raw::new(3, 1, 0)
            .tensor("w", &[16], f32_id, 0)
            .pad_data(63)
            .0,
        &["w", "past the end"],
    );
    expect_err(
        Raw::new(3, 1, 0)
            .tensor("w", &[16], f32_id, u64::MAX - 31)
            .pad_data(64)
            .0,
        &["w", "past the end"],
    );
    // Overlap and duplicates.
    let two = |second_offset: u64, second_name: &str| {
        Raw::new(3, 2, 0)
            .tensor("a", &[16], f32_id, 0)
            .tensor(second_name, &[16], f32_id, second_offset)
            .pad_data(256)
            .0
    };
    assert!(parse(two(64, "b")).is_ok());
    expect_err(two(32, "b"), &["b", "overlaps tensor 'a'"]);
    expect_err(two(64, "a"), &["a", "duplicate tensor name"]);
}

#[test]
fn unsupported_but_known_types_parse_so_info_can_describe_them() {
    let f = parse(
        Raw::new(3, 1, 0)
            .tensor("iq", &[256], QuantType::IQ2_XXS.id(), 0)
            .pad_data(66)
            .0,
    )
    .unwrap();
    assert_eq!(f.tensors()[0].ty, QuantType::IQ2_XXS);
    assert_eq!(f.tensors()[0].n_bytes, 66);
}

#[test]
fn a_missing_file_names_its_path() {
    let e = GgufFile::open("/nonexistent/model.gguf")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("/nonexistent/model.gguf"), "{e}");
}

/// A small deterministic generator so the corruption test needs no dependency.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Corrupts valid files byte by byte and by truncation (thousands of mutants) and checks that
/// parsing only ever returns Ok or an error, never panics, and that whatever parses has every
/// tensor's bytes inside the file.
#[test]
fn corrupted_files_never_panic() {
    let mut seeds: Vec<Vec<u8>> = vec![every_type_writer().to_bytes()];
    // The header of a real model (metadata with a 512-entry vocabulary, 400 tensor infos).
    let real = std::fs::read(
        oracle_models()
            .into_iter()
            .find(|p| p.ends_with("tiny-v3-s-Q8_0.gguf"))
            .unwrap(),
    )
    .unwrap();
    seeds.push(real);

    let mut rng = SplitMix(0x5eed);
    let mut n_ok = 0;
    let mut n_err = 0;
    let mut check = |bytes: Vec<u8>| match parse(bytes) {
        Ok(f) => {
            for t in f.tensors() {
                assert_eq!(f.tensor_data(t).len() as u64, t.n_bytes);
            }
            n_ok += 1;
        }
        Err(_) => n_err += 1,
    };
    for seed in &seeds {
        // Mutate the first 8 KiB, where the parser looks (the header of the real model).
        let hot = seed.len().min(8192);
        for _ in 0..2500 {
            let mut m = seed.clone();
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let i = rng.below(hot);
                m[i] = match rng.below(4) {
                    0 => m[i] ^ (1 << rng.below(8)),
                    1 => 0xff,
                    2 => 0,
                    _ => rng.next() as u8,
                };
            }
            check(m);
        }
        for _ in 0..500 {
            check(seed[..rng.below(seed.len())].to_vec());
        }
    }
    assert!(n_err > 1000 && n_ok > 100, "ok {n_ok}, err {n_err}");
}

#[test]
fn version_2_files_parse_like_version_3() {
    let mut bytes = every_type_writer().to_bytes();
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    let f = parse(bytes).unwrap();
    assert_eq!(f.version(), 2);
    assert_eq!(f.tensors().len(), 4);
}
