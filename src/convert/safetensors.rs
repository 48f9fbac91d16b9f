//! Safetensors files: an 8-byte little-endian header length, a JSON header
//! `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`, then the raw
//! little-endian tensor bytes (offsets relative to the end of the header).
//!
//! The reader memory-maps the file and has the `safetensors` crate (the format's reference
//! implementation) check everything before any tensor is touched: header length within the file
//! (and at most 100 MB), valid JSON, shape products that do not overflow and equal the byte range,
//! byte ranges contiguous and filling the data section. What is left here is the error context
//! (the file, the tensor, a hint) and the dtypes this converter reads.
//!
//! Tensors are read as f32 rows (F32, F16, BF16 exactly; F8_E4M3 as the float it encodes, for
//! block-scaled FP8 checkpoints whose scales the caller applies). [`write`] produces files through
//! the crate's serializer (used by the tests to build Hugging Face checkpoints from GGUF files).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors as st;

use crate::error::{Error, Result};
use crate::quant::float::{bf16_to_fp32, Half};

/// Element types this reader converts to f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    BF16,
    /// float8 e4m3fn (DeepSeek-V3's released weights, with `weight_scale_inv` block scales).
    F8E4M3,
}

impl Dtype {
    pub fn from_name(s: &str) -> Option<Dtype> {
        Some(match s {
            "F32" => Dtype::F32,
            "F16" => Dtype::F16,
            "BF16" => Dtype::BF16,
            "F8_E4M3" => Dtype::F8E4M3,
            _ => return None,
        })
    }
    /// The dtype of the crate's, if this converter reads it.
    fn from_crate(d: st::Dtype) -> Option<Dtype> {
        Some(match d {
            st::Dtype::F32 => Dtype::F32,
            st::Dtype::F16 => Dtype::F16,
            st::Dtype::BF16 => Dtype::BF16,
            st::Dtype::F8_E4M3 => Dtype::F8E4M3,
            _ => return None,
        })
    }
    fn to_crate(self) -> st::Dtype {
        match self {
            Dtype::F32 => st::Dtype::F32,
            Dtype::F16 => st::Dtype::F16,
            Dtype::BF16 => st::Dtype::BF16,
            Dtype::F8E4M3 => st::Dtype::F8_E4M3,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::F8E4M3 => "F8_E4M3",
        }
    }
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            Dtype::F8E4M3 => 1,
        }
    }
}

/// One tensor of a safetensors file: dtype, shape (row-major, outermost first, as PyTorch) and
/// its byte range within the data section.
#[derive(Clone, Debug)]
pub struct StTensor {
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub begin: usize,
    pub end: usize,
}

impl StTensor {
    pub fn n_elements(&self) -> u64 {
        self.shape.iter().product()
    }
    /// Length of the innermost dimension (1 for a scalar).
    pub fn row_len(&self) -> u64 {
        self.shape.last().copied().unwrap_or(1)
    }
}

/// An opened safetensors file.
pub struct SafeTensors {
    path: PathBuf,
    bytes: crate::gguf::Bytes,
    data_start: usize,
    tensors: BTreeMap<String, StTensor>,
}

impl SafeTensors {
    pub fn open(path: impl AsRef<Path>) -> Result<SafeTensors> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: read-only map; like every mmap-based loader we assume nobody truncates the file
        // while it is open.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        SafeTensors::from_bytes(path, crate::gguf::Bytes::Mmap(map))
    }

    /// Parses a file held in memory; `path` is used in messages only.
    pub fn from_bytes(path: impl AsRef<Path>, bytes: crate::gguf::Bytes) -> Result<SafeTensors> {
        let path = path.as_ref().to_path_buf();
        let bad = |problem: String| {
            Error::Model(format!(
                "{}: invalid safetensors file: {problem}",
                path.display()
            ))
        };
        let (header_len, meta) =
            st::SafeTensors::read_metadata(&bytes).map_err(|e| bad(explain(&e, bytes.len())))?;
        let mut tensors = BTreeMap::new();
        for (name, info) in meta.tensors() {
            let dtype = Dtype::from_crate(info.dtype).ok_or_else(|| {
                bad(format!(
                    "tensor '{name}': dtype {:?} is not supported (F32, F16, BF16, F8_E4M3 are)",
                    info.dtype
                ))
            })?;
            let (begin, end) = info.data_offsets;
            let shape = info.shape.iter().map(|&d| d as u64).collect();
            tensors.insert(
                name,
                StTensor {
                    dtype,
                    shape,
                    begin,
                    end,
                },
            );
        }
        Ok(SafeTensors {
            path,
            bytes,
            data_start: 8 + header_len,
            tensors,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tensors by name (sorted).
    pub fn tensors(&self) -> &BTreeMap<String, StTensor> {
        &self.tensors
    }

    pub fn get(&self, name: &str) -> Option<&StTensor> {
        self.tensors.get(name)
    }

    /// The raw bytes of a tensor.
    pub fn data(&self, t: &StTensor) -> &[u8] {
        &self.bytes[self.data_start + t.begin..self.data_start + t.end]
    }

    /// Elements `[start, start + n)` of a tensor (flat, row-major) as f32.
    pub fn read_f32(&self, name: &str, start: usize, n: usize) -> Result<Vec<f32>> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::Model(format!("{}: no tensor '{name}'", self.path.display())))?;
        if start
            .checked_add(n)
            .is_none_or(|e| e as u64 > t.n_elements())
        {
            return Err(Error::Model(format!(
                "{}: tensor '{name}': elements {start}..{} requested of {}",
                self.path.display(),
                start.saturating_add(n),
                t.n_elements()
            )));
        }
        let s = t.dtype.size();
        let raw = &self.data(t)[start * s..(start + n) * s];
        Ok(to_f32(t.dtype, raw))
    }
}

/// Converts raw little-endian elements to f32 (exact for every dtype).
pub fn to_f32(dtype: Dtype, raw: &[u8]) -> Vec<f32> {
    match dtype {
        Dtype::F32 => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => raw
            .chunks_exact(2)
            .map(|b| Half([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => raw
            .chunks_exact(2)
            .map(|b| bf16_to_fp32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Dtype::F8E4M3 => raw.iter().map(|&b| f8_e4m3_to_f32(b)).collect(),
    }
}

/// float8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, S.1111.111 is NaN.
pub fn f8_e4m3_to_f32(b: u8) -> f32 {
    let sign = if b & 0x80 != 0 { -1.0 } else { 1.0 };
    let e = ((b >> 3) & 0x0f) as i32;
    let m = (b & 0x07) as f32;
    if e == 0x0f && b & 0x07 == 0x07 {
        return f32::NAN;
    }
    if e == 0 {
        sign * m / 8.0 * 2f32.powi(-6)
    } else {
        sign * (1.0 + m / 8.0) * 2f32.powi(e - 7)
    }
}

/// What a reader error means for someone holding the file, with a hint where one helps.
fn explain(e: &st::SafeTensorError, file_len: usize) -> String {
    use st::SafeTensorError as E;
    match e {
        E::HeaderTooSmall => {
            format!("{file_len} bytes is too short for the 8-byte header length (truncated file?)")
        }
        E::InvalidHeaderLength => {
            format!("the header length runs past the end of the file's {file_len} bytes (truncated file?)")
        }
        E::HeaderTooLarge => "the header length exceeds the format's 100 MB limit".into(),
        E::InvalidHeader(u) => format!("the header is not UTF-8: {u}"),
        E::InvalidHeaderDeserialization(j) => format!("the header is not a valid tensor table: {j}"),
        E::MetadataIncompleteBuffer => "the tensors' byte ranges do not end where the file does: a range lies outside the data section (truncated file?)".into(),
        E::InvalidOffset(name) => format!("tensor '{name}': data_offsets are outside the data section or not contiguous with the tensor before"),
        E::TensorInvalidInfo => "a tensor's shape and dtype need a different number of bytes than its data_offsets span".into(),
        E::ValidationOverflow => "a tensor's shape overflows".into(),
        other => other.to_string(),
    }
}

/// One tensor to write: name, dtype, shape (outermost first) and its raw little-endian bytes.
pub struct WriteTensor<'a> {
    pub name: &'a str,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub data: &'a [u8],
}

/// Writes a safetensors file with the crate's serializer.
pub fn write(path: impl AsRef<Path>, tensors: &[WriteTensor]) -> Result<()> {
    let path = path.as_ref();
    let views = tensors
        .iter()
        .map(|t| {
            let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
            st::tensor::TensorView::new(t.dtype.to_crate(), shape, t.data)
                .map(|v| (t.name.to_string(), v))
                .map_err(|e| {
                    Error::Usage(format!(
                        "safetensors tensor '{}': {} bytes for shape {:?} of {}: {e}",
                        t.name,
                        t.data.len(),
                        t.shape,
                        t.dtype.name()
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    st::serialize_to_file(views, None, path)
        .map_err(|e| Error::Model(format!("{}: writing safetensors: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::Bytes;

    fn parse(bytes: Vec<u8>) -> Result<SafeTensors> {
        SafeTensors::from_bytes("x.safetensors", Bytes::Owned(bytes))
    }

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_every_dtype_exactly() {
        let h = r#"{"__metadata__":{"format":"pt"},
            "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
            "b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},
            "c":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]},
            "d":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[16,20]}}"#;
        let mut d = Vec::new();
        d.extend_from_slice(&1.5f32.to_le_bytes());
        d.extend_from_slice(&(-2.0f32).to_le_bytes());
        d.extend_from_slice(&Half::from_f32(0.25).0);
        d.extend_from_slice(&Half::from_f32(-3.0).0);
        d.extend_from_slice(&0x3f80u16.to_le_bytes());
        d.extend_from_slice(&0xc040u16.to_le_bytes());
        // e4m3: 1.0 = 0 0111 000, -1.75 = 1 0111 110, 448 = 0 1111 110, min subnormal 2^-9
        d.extend_from_slice(&[0x38, 0xbe, 0x7e, 0x01]);
        let st = parse(file(h, &d)).unwrap();
        assert_eq!(st.read_f32("a", 0, 2).unwrap(), [1.5, -2.0]);
        assert_eq!(st.read_f32("b", 0, 2).unwrap(), [0.25, -3.0]);
        assert_eq!(st.read_f32("c", 0, 2).unwrap(), [1.0, -3.0]);
        assert_eq!(
            st.read_f32("d", 0, 4).unwrap(),
            [1.0, -1.75, 448.0, 2f32.powi(-9)]
        );
        assert_eq!(st.read_f32("b", 1, 1).unwrap(), [-3.0]);
        assert!(st.read_f32("b", 1, 2).is_err());
        assert!(f8_e4m3_to_f32(0x7f).is_nan());
    }

    #[test]
    fn write_then_read_round_trips() {
        let dir = std::env::temp_dir().join(format!("wgpu-ds-st-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.safetensors");
        let a: Vec<u8> = [1.0f32, 2.0, 3.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        write(
            &p,
            &[WriteTensor {
                name: "w",
                dtype: Dtype::F32,
                shape: vec![3],
                data: &a,
            }],
        )
        .unwrap();
        let st = SafeTensors::open(&p).unwrap();
        assert_eq!(st.read_f32("w", 0, 3).unwrap(), [1.0, 2.0, 3.0]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hostile_headers_are_clear_errors() {
        let err = |b: Vec<u8>| parse(b).err().expect("must fail").to_string();
        let cases: Vec<(Vec<u8>, &[&str])> = vec![
            (vec![1, 2, 3], &["too short", "truncated"]),
            (file("{}", b"")[..6].to_vec(), &["too short"]),
            (
                {
                    let mut v = file("{}", b"");
                    v[..8].copy_from_slice(&1000u64.to_le_bytes());
                    v
                },
                &["runs past the end", "truncated"],
            ),
            (
                {
                    let mut v = file("{}", b"");
                    v[..8].copy_from_slice(&u64::MAX.to_le_bytes());
                    v
                },
                &["limit"],
            ),
            (file("{not json", b""), &["not a valid tensor table"]),
            (file("[1]", b""), &["not a valid tensor table"]),
            (
                file(
                    r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
                    &[0; 8],
                ),
                &["outside the data section", "truncated"],
            ),
            (
                file(
                    r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                    &[0; 8],
                ),
                &["shape and dtype need"],
            ),
            (
                file(
                    r#"{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#,
                    &[0; 8],
                ),
                &["'w'", "I64", "not supported"],
            ),
            (
                file(
                    r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#,
                    &[0; 8],
                ),
                &["overflows"],
            ),
            (
                file(
                    r#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#,
                    &[0; 8],
                ),
                &["not a valid tensor table"],
            ),
            (
                file(r#"{"w":{"dtype":"F32","shape":[2]}}"#, &[0; 8]),
                &["data_offsets"],
            ),
            (
                file(
                    r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                    &[0; 12],
                ),
                &["'b'", "not contiguous"],
            ),
        ];
        for (bytes, words) in cases {
            let e = err(bytes);
            assert!(
                e.contains("x.safetensors: invalid safetensors file: "),
                "{e}"
            );
            for w in words {
                assert!(e.contains(w), "{e:?} should say {w:?}");
            }
        }
    }
}
