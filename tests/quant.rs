//! Quant block formats against llama.cpp: dequantization of every tensor of every oracle model
//! (expected values from gguf-py, tools/gen_dequant_expected.py), the reference quantizers against
//! gguf-py's and against the bytes `llama-quantize` wrote, and quantization error within the
//! budgets of llama.cpp's tests/test-quantize-fns.cpp.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wgpu_ds::gguf::{Bytes, GgufFile, GgufWriter};
use wgpu_ds::quant::{self, QuantType, SUPPORTED};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn oracle_models() -> Vec<PathBuf> {
    let dir = fixtures().join("oracle/models");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 30,
        "oracle models missing from {}",
        dir.display()
    );
    paths
}

fn expected() -> Value {
    let path = fixtures().join("dequant_expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// FNV-1a 64, the hash tools/gen_dequant_expected.py writes.
fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn hash_f32(values: &[f32]) -> u64 {
    fnv1a64(values.iter().flat_map(|v| v.to_le_bytes()))
}

/// Dequantizes a whole tensor row by row, through the public row API.
fn dequantize_tensor(file: &GgufFile, t: &wgpu_ds::gguf::TensorInfo) -> Vec<f32> {
    let data = file.tensor_data(t);
    let (n, rows) = (t.n_cols(), t.n_rows());
    let row_bytes = data.len() / rows;
    let mut out = vec![0.0f32; n * rows];
    for (src, dst) in data.chunks_exact(row_bytes).zip(out.chunks_exact_mut(n)) {
        quant::dequantize_row(t.ty, src, dst)
            .unwrap_or_else(|e| panic!("{}: {}: {e}", file.path().display(), t.name));
    }
    out
}

#[test]
fn dequantize_matches_gguf_py_for_every_tensor_of_every_oracle_model() {
    let expected = expected();
    let files = expected["dequant"].as_object().unwrap();
    let (mut checked, mut failures) = (0, Vec::new());
    for path in oracle_models() {
        let fname = path.file_name().unwrap().to_str().unwrap();
        let want = files.get(fname).unwrap_or_else(|| {
            panic!("{fname} is not in dequant_expected.json: run tools/gen_dequant_expected.py")
        });
        let file = GgufFile::open(&path).unwrap();
        assert_eq!(
            want.as_object().unwrap().len(),
            file.tensors().len(),
            "{fname}"
        );
        for t in file.tensors() {
            let w = want[&t.name]
                .as_array()
                .unwrap_or_else(|| panic!("{fname}: {}", t.name));
            assert_eq!(w[0].as_str().unwrap(), t.ty.name(), "{fname}: {}", t.name);
            let values = dequantize_tensor(&file, t);
            let want_hash = u64::from_str_radix(w[1].as_str().unwrap(), 16).unwrap();
            let first: Vec<f32> = w[2..].iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let first_diff = first
                .iter()
                .zip(&values)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            if hash_f32(&values) != want_hash || first_diff.is_some() {
                let at = match first_diff {
                    Some(i) => format!(
                        "first difference at [{i}]: {} vs gguf-py {}",
                        values[i], first[i]
                    ),
                    None => "first 4 values agree, a later one differs".to_string(),
                };
                failures.push(format!("{fname}: {} ({}): {at}", t.name, t.ty));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} tensors differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 6000, "only {checked} tensors checked");
}

/// The supported types this build also writes (all but the grid i-quants).
fn written() -> impl Iterator<Item = QuantType> {
    SUPPORTED.iter().copied().filter(|t| quant::quantizes(*t))
}

/// tools/gen_dequant_expected.py `iquant_blocks`, byte for byte: random blocks whose f16 scale is
/// finite (IQ1_M's, in the top nibbles of its last word, by clearing bit 14 of that word).
fn iquant_blocks(type_size: usize, n_blocks: usize, iq1m: bool) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut out = Vec::with_capacity(type_size * n_blocks);
    for _ in 0..n_blocks {
        let start = out.len();
        for _ in 0..type_size {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.push((state >> 56) as u8);
        }
        let r = u16::from_le_bytes([out[start], out[start + 1]]);
        let exp = 1 + (r >> 10) % 23;
        let half = (r & 0x8000) | (exp << 10) | (r & 0x3ff);
        out[start..start + 2].copy_from_slice(&half.to_le_bytes());
        if iq1m {
            out[start + type_size - 1] &= 0xbf;
        }
    }
    out
}

/// The i-quant types no oracle model uses (IQ4 and every grid type), dequantized bit for bit as
/// gguf-py (and llama.cpp) dequantize the same blocks.
#[test]
fn iquant_dequantization_matches_gguf_py() {
    let expected = expected();
    let iq = &expected["iquants"];
    let n_blocks = iq["blocks"].as_u64().unwrap() as usize;
    let grids = quant::GRID_TYPES.iter().copied();
    for ty in [QuantType::IQ4_NL, QuantType::IQ4_XS]
        .into_iter()
        .chain(grids)
    {
        let want = iq["values"][ty.name()]
            .as_array()
            .unwrap_or_else(|| panic!("{ty}: no expected values"));
        let info = ty.info();
        let bytes = iquant_blocks(info.type_size, n_blocks, ty == QuantType::IQ1_M);
        let y = quant::dequantize(ty, &bytes, n_blocks * info.blck_size).unwrap();
        assert_eq!(
            format!("{:016x}", hash_f32(&y)),
            want[0].as_str().unwrap(),
            "{ty}: dequantized values differ from gguf-py's (first: {:?})",
            &y[..4]
        );
        for (v, w) in y.iter().zip(&want[1..]) {
            assert_eq!(*v, w.as_str().unwrap().parse::<f32>().unwrap(), "{ty}");
        }
    }
}

/// The synthetic input of tools/gen_dequant_expected.py `quantize_input`, bit for bit.
fn quantize_input(rows: usize, n: usize, row_exp: &[i32]) -> Vec<f32> {
    let mut state = 0x853C_49E6_748F_EA9Bu64;
    let mut x = Vec::with_capacity(rows * n);
    for &e in &row_exp[..rows] {
        let scale = f32::from_bits(((127 + e) as u32) << 23); // 2^e, exact
        for _ in 0..n {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (state >> 40) as i64 - (1 << 23);
            x.push(v as f32 * scale);
        }
    }
    x[0..32].fill(0.0); // an all-zero block
    x[32..64].fill(0.75); // a constant block
    x[64..96].iter_mut().for_each(|v| *v *= 1.0 / 64.0);
    x[80] = 3.0; // one outlier
    x[96..128].iter_mut().for_each(|v| *v = -v.abs()); // all negative
    x[256..512].fill(0.0); // an all-zero super-block
    x
}

/// The reference quantizers against gguf-py's ports of them and, for the types gguf-py cannot
/// quantize (IQ4_NL, IQ4_XS), against ggml's own quantizer.
#[test]
fn quantize_matches_gguf_py_and_ggml_byte_for_byte() {
    let expected = expected();
    let q = &expected["quantize"];
    let rows = q["rows"].as_u64().unwrap() as usize;
    let n = q["n_per_row"].as_u64().unwrap() as usize;
    let row_exp: Vec<i32> = q["row_exp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() as i32)
        .collect();
    let x = quantize_input(rows, n, &row_exp);
    let hashes = q["hashes"].as_object().unwrap();
    assert!(hashes.len() >= 7);
    // The types gguf-py cannot quantize, against ggml's own quantizer.
    let ggml = q["ggml_hashes"].as_object().unwrap();
    assert!(ggml.contains_key("IQ4_NL") && ggml.contains_key("IQ4_XS"));
    for (name, want) in hashes.iter().chain(ggml) {
        let ty = QuantType::from_name(name).unwrap();
        let bytes: Vec<u8> = x
            .chunks_exact(n)
            .flat_map(|row| quant::quantize_row(ty, row).unwrap())
            .collect();
        let got = format!("{:016x}", fnv1a64(bytes.iter().copied()));
        assert_eq!(
            got,
            want.as_str().unwrap(),
            "{ty}: quantized bytes differ from gguf-py's"
        );
    }
}

/// llama-quantize without an imatrix runs the `quantize_row_*_ref` functions on the f32 weights, so
/// quantizing the F16 file's tensors again must give the quantized files' bytes exactly.
#[test]
fn requantizing_the_f16_models_reproduces_llama_quantize_bytes() {
    let models = oracle_models();
    let (mut checked, mut failures) = (std::collections::BTreeMap::new(), Vec::new());
    for path in &models {
        let fname = path.file_name().unwrap().to_str().unwrap();
        let Some(stem) = ["tiny-v2lite-s", "tiny-v3-s", "tiny-v3-k256"]
            .into_iter()
            .find(|s| fname.starts_with(&format!("{s}-Q")))
        else {
            continue;
        };
        let source = GgufFile::open(path.with_file_name(format!("{stem}-F16.gguf"))).unwrap();
        let file = GgufFile::open(path).unwrap();
        for t in file
            .tensors()
            .iter()
            .filter(|t| !matches!(t.ty, QuantType::F32 | QuantType::F16))
        {
            let src = source.require_tensor(&t.name).unwrap();
            let values = dequantize_tensor(&source, src);
            let bytes = quant::quantize_row(t.ty, &values).unwrap();
            *checked.entry(t.ty).or_insert(0) += 1;
            if bytes != file.tensor_data(t) {
                let at = bytes
                    .iter()
                    .zip(file.tensor_data(t))
                    .position(|(a, b)| a != b)
                    .unwrap();
                failures.push(format!(
                    "{fname}: {} ({}): first differing byte {at}",
                    t.name, t.ty
                ));
            }
        }
    }
    eprintln!("tensors requantized per type: {checked:?}");
    assert!(
        failures.is_empty(),
        "{} tensors differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for ty in [
        QuantType::Q4_0,
        QuantType::Q8_0,
        QuantType::Q2K,
        QuantType::Q6K,
    ] {
        assert!(checked.contains_key(&ty), "no {ty} tensor checked");
    }
}

/// test-quantize-fns.cpp generate_data: 0.1 + amplitude·cosf(i + offset), summed in double.
fn generate_data(offset: f32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.1f64 + (2.0f32 * (i as f32 + offset).cos()) as f64) as f32)
        .collect()
}

/// test-quantize-fns.cpp array_rmse (sqrt of the summed squares over n, as llama.cpp computes it).
fn array_rmse(a: &[f32], b: &[f32]) -> f32 {
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum();
    sum.sqrt() as f32 / a.len() as f32
}

fn true_rmse(a: &[f32], b: &[f32]) -> f64 {
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum();
    (sum / a.len() as f64).sqrt()
}

/// MAX_QUANTIZATION_TOTAL_ERROR{,_2BITS,_3BITS} of test-quantize-fns.cpp, for 4096 values.
fn llama_budget(ty: QuantType) -> f32 {
    match ty {
        QuantType::Q2K => 0.0075,
        QuantType::Q3K => 0.0040,
        _ => 0.002,
    }
}

#[test]
fn quantization_error_is_within_llama_cpp_budgets() {
    let x = generate_data(0.0, 4096);
    let mut report = String::new();
    for ty in written() {
        let budget = llama_budget(ty);
        let y = quant::dequantize(ty, &quant::quantize_row(ty, &x).unwrap(), x.len()).unwrap();
        let err = array_rmse(&x, &y);
        report += &format!(
            "{:5} llama.cpp error {err:.3e} (budget {budget}), rmse {:.3e}\n",
            ty.name(),
            true_rmse(&x, &y)
        );
        assert!(
            err < budget,
            "{ty}: quantization error {err} over llama.cpp's budget {budget}"
        );
    }
    eprint!("{report}");
}

/// Quantizing an already dequantized row gives the same bytes. For the symmetric formats (Q4_0,
/// Q5_0, Q8_0) that holds for any input: the largest value maps back to its own f16 scale exactly.
/// For the others it is measured on this input (it holds for every supported type here but the
/// IQ4 pair), so a change in any quantizer's search shows up. IQ4_NL and IQ4_XS choose each block's
/// scale among 15 trial scales by weighted error, and the dequantized row can prefer another.
#[test]
fn requantizing_a_dequantized_row_gives_the_same_bytes() {
    let x = generate_data(0.5, 4096);
    let searched = [QuantType::IQ4_NL, QuantType::IQ4_XS];
    for ty in written().filter(|t| !searched.contains(t)) {
        let q = quant::quantize_row(ty, &x).unwrap();
        let y = quant::dequantize(ty, &q, x.len()).unwrap();
        let again = quant::quantize_row(ty, &y).unwrap();
        let first = again.iter().zip(&q).position(|(a, b)| a != b);
        assert_eq!(
            first, None,
            "{ty}: quantize(dequantize(q)) differs from q at byte {first:?}"
        );
    }
}

/// Types the oracle files do not use (BF16) and every other type this build writes, written to a
/// GGUF file, read back and dequantized.
#[test]
fn every_supported_type_round_trips_through_a_gguf_file() {
    let (n, rows) = (512usize, 8usize); // 4096 values, as test-quantize-fns.cpp
    let x = generate_data(1.0, n * rows);
    let mut w = GgufWriter::new();
    for ty in written() {
        let q = quant::quantize_row(ty, &x).unwrap();
        w.add_tensor(&format!("t.{}", ty.name()), ty, &[n as u64, rows as u64], q)
            .unwrap();
    }
    let file = GgufFile::from_bytes("round-trip.gguf", Bytes::Owned(w.to_bytes())).unwrap();
    for ty in written() {
        let t = file.require_tensor(&format!("t.{}", ty.name())).unwrap();
        assert_eq!(t.ty, ty);
        let y = dequantize_tensor(&file, t);
        let direct = quant::dequantize(ty, &quant::quantize_row(ty, &x).unwrap(), x.len()).unwrap();
        assert_eq!(hash_f32(&y), hash_f32(&direct), "{ty}");
        assert!(array_rmse(&x, &y) < llama_budget(ty), "{ty}");
    }
    // BF16 keeps the top 16 bits, rounded to nearest even: 8 significant bits.
    let t = file.require_tensor("t.BF16").unwrap();
    let y = dequantize_tensor(&file, t);
    for (a, b) in x.iter().zip(&y) {
        assert!((a - b).abs() <= a.abs() / 256.0, "BF16 {a} -> {b}");
    }
    assert_eq!(
        quant::dequantize(QuantType::BF16, &[0x80, 0x3f, 0x20, 0xc0], 2).unwrap(),
        [1.0, -2.5]
    );
}

#[test]
fn dequantize_row_rejects_wrong_lengths_without_panicking() {
    for &ty in SUPPORTED {
        let info = ty.info();
        let n = 2 * info.blck_size.max(32);
        let bytes = if quant::quantizes(ty) {
            quant::quantize_row(ty, &generate_data(0.0, n)).unwrap()
        } else {
            quant::iq_grid::random_blocks(ty, n / info.blck_size, 0.01, 7)
        };
        let mut y = vec![0.0; n];
        assert!(quant::dequantize_row(ty, &bytes, &mut y).is_ok(), "{ty}");
        for len in [0, 1, bytes.len() - 1, bytes.len() + 1, 2 * bytes.len()] {
            let src = vec![0u8; len];
            let err = quant::dequantize_row(ty, &src, &mut y)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(ty.name()) && err.contains("bytes"),
                "{ty}: {err}"
            );
        }
        if info.blck_size > 1 {
            let err = quant::dequantize_row(ty, &bytes, &mut y[..n - 1])
                .unwrap_err()
                .to_string();
            assert!(err.contains("whole number"), "{ty}: {err}");
            assert!(quant::quantize_row(ty, &vec![0.0; n + 1]).is_err(), "{ty}");
        }
        assert!(
            quant::dequantize_row(ty, &[], &mut []).is_ok(),
            "{ty}: 0 elements"
        );
    }
    for ty in QuantType::ALL
        .into_iter()
        .filter(|t| !quant::is_supported(*t))
    {
        let mut y = vec![0.0; ty.info().blck_size];
        let src = vec![0u8; ty.info().type_size];
        let err = quant::dequantize_row(ty, &src, &mut y)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(ty.name()) && err.contains("not implemented"),
            "{err}"
        );
        assert!(quant::quantize_row(ty, &y).is_err());
    }
}
