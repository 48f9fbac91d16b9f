//! Writes GGUF version 3 files: metadata in insertion order, tensors in insertion order at aligned
//! offsets. Used by tests to build tiny models and hostile files, by `convert`, and to write split
//! models the way llama.cpp's `gguf-split` does (all metadata in the first part).

use std::path::Path;

use super::split::{split_part_path, KEY_SPLIT_COUNT, KEY_SPLIT_NO, KEY_SPLIT_TENSORS_COUNT};
use super::{Array, GgufFile, Value, DEFAULT_ALIGNMENT, GGUF_MAGIC};
use crate::error::{Error, Result};
use crate::quant::QuantType;

pub struct WriterTensor {
    pub name: String,
    /// ggml order: `ne[0]` is the row length.
    pub ne: Vec<u64>,
    pub ty: QuantType,
    pub data: Vec<u8>,
}

/// Builds GGUF files in memory or on disk.
///
/// ```
/// use wgpu_ds::gguf::{Bytes, GgufFile, GgufWriter, Value};
///
/// let mut w = GgufWriter::new();
/// w.set("general.architecture", Value::String("deepseek2".into()));
/// w.add_f32("output_norm.weight", &[4], &[1.0, 2.0, 3.0, 4.0]).unwrap();
/// let f = GgufFile::from_bytes("mem.gguf", Bytes::Owned(w.to_bytes())).unwrap();
/// assert_eq!(f.architecture().unwrap(), "deepseek2");
/// let t = f.tensor("output_norm.weight").unwrap();
/// assert_eq!(f.tensor_data(t), bytemuck::cast_slice::<f32, u8>(&[1.0, 2.0, 3.0, 4.0]));
/// ```
#[derive(Default)]
pub struct GgufWriter {
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<WriterTensor>,
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer holding everything `file` holds (metadata, and every tensor's bytes), minus the
    /// `split.*` keys, so it can be written back whole or split differently.
    pub fn from_file(file: &GgufFile) -> Self {
        let mut w = GgufWriter::new();
        for (k, v) in file.metadata() {
            if !k.starts_with("split.") {
                w.set(k, v.clone());
            }
        }
        for t in file.tensors() {
            w.tensors.push(WriterTensor {
                name: t.name.clone(),
                ne: t.ne.clone(),
                ty: t.ty,
                data: file.tensor_data(t).to_vec(),
            });
        }
        w
    }

    /// Sets a key, replacing an earlier value of the same key in place.
    pub fn set(&mut self, key: &str, value: Value) -> &mut Self {
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.metadata.push((key.to_string(), value)),
        }
        self
    }

    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.metadata.retain(|(k, _)| k != key);
        self
    }

    /// Adds a tensor; `data` must hold exactly the bytes of `ne` elements of type `ty`.
    pub fn add_tensor(
        &mut self,
        name: &str,
        ty: QuantType,
        ne: &[u64],
        data: Vec<u8>,
    ) -> Result<()> {
        let n: u64 = ne.iter().product();
        let expect = (ne.first().copied().unwrap_or(0) % ty.info().blck_size as u64 == 0)
            .then(|| ty.row_bytes(n))
            .flatten();
        if expect != Some(data.len() as u64) {
            return Err(Error::Usage(format!(
                "tensor '{name}': {} bytes given for shape {ne:?} of type {ty} (expected {expect:?})",
                data.len()
            )));
        }
        self.tensors.push(WriterTensor {
            name: name.to_string(),
            ne: ne.to_vec(),
            ty,
            data,
        });
        Ok(())
    }

    /// Adds an f32 tensor from values.
    pub fn add_f32(&mut self, name: &str, ne: &[u64], values: &[f32]) -> Result<()> {
        self.add_tensor(
            name,
            QuantType::F32,
            ne,
            bytemuck::cast_slice(values).to_vec(),
        )
    }

    fn alignment(&self) -> u64 {
        match self.metadata.iter().find(|(k, _)| k == "general.alignment") {
            Some((_, Value::U32(a))) if *a != 0 && a.is_power_of_two() => *a as u64,
            _ => DEFAULT_ALIGNMENT,
        }
    }

    /// The whole file as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let tensors: Vec<&WriterTensor> = self.tensors.iter().collect();
        encode(&self.metadata, &tensors, self.alignment())
    }

    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()).map_err(|e| Error::io(path, e))
    }

    /// Writes `n_parts` files `<prefix>-0000K-of-0000N.gguf`, tensors spread evenly in order; the
    /// first part carries all metadata, every part carries `split.no` and `split.count`.
    pub fn write_split(&self, prefix: &str, n_parts: usize) -> Result<Vec<std::path::PathBuf>> {
        if n_parts == 0 || n_parts > u16::MAX as usize {
            return Err(Error::Usage(format!("cannot split into {n_parts} parts")));
        }
        let per_part = self.tensors.len().div_ceil(n_parts).max(1);
        let mut paths = Vec::with_capacity(n_parts);
        for no in 0..n_parts {
            let mut meta = Vec::new();
            if no == 0 {
                meta.extend(
                    self.metadata
                        .iter()
                        .filter(|(k, _)| !k.starts_with("split."))
                        .cloned(),
                );
            }
            meta.push((KEY_SPLIT_NO.to_string(), Value::U16(no as u16)));
            meta.push((KEY_SPLIT_COUNT.to_string(), Value::U16(n_parts as u16)));
            meta.push((
                KEY_SPLIT_TENSORS_COUNT.to_string(),
                Value::I32(self.tensors.len() as i32),
            ));
            let tensors: Vec<&WriterTensor> = self
                .tensors
                .iter()
                .skip(no * per_part)
                .take(per_part)
                .collect();
            let path = split_part_path(prefix, no, n_parts);
            std::fs::write(&path, encode(&meta, &tensors, self.alignment()))
                .map_err(|e| Error::io(&path, e))?;
            paths.push(path);
        }
        Ok(paths)
    }
}

/// What the header says of a tensor whose bytes are written elsewhere (streaming writers).
pub struct TensorHeader<'a> {
    pub name: &'a str,
    /// ggml order: `ne[0]` is the row length.
    pub ne: &'a [u64],
    pub ty: QuantType,
    pub n_bytes: u64,
}

/// The header of a GGUF v3 file, padded to `alignment`: tensor data follows in the given order,
/// each tensor starting at the next multiple of `alignment` (pad with zeros between them).
pub fn encode_header(
    metadata: &[(String, Value)],
    tensors: &[TensorHeader],
    alignment: u64,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(GGUF_MAGIC);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        put_str(&mut out, k);
        out.extend_from_slice(&v.type_id().to_le_bytes());
        put_value(&mut out, v);
    }
    let mut offset = 0u64;
    for t in tensors {
        put_str(&mut out, t.name);
        out.extend_from_slice(&(t.ne.len() as u32).to_le_bytes());
        for d in t.ne {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&t.ty.id().to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        offset = (offset + t.n_bytes).div_ceil(alignment) * alignment;
    }
    out.resize(
        ((out.len() as u64).div_ceil(alignment) * alignment) as usize,
        0,
    );
    out
}

fn encode(metadata: &[(String, Value)], tensors: &[&WriterTensor], alignment: u64) -> Vec<u8> {
    let headers: Vec<TensorHeader> = tensors
        .iter()
        .map(|t| TensorHeader {
            name: &t.name,
            ne: &t.ne,
            ty: t.ty,
            n_bytes: t.data.len() as u64,
        })
        .collect();
    let mut out = encode_header(metadata, &headers, alignment);
    for t in tensors {
        out.extend_from_slice(&t.data);
        out.resize(
            ((out.len() as u64).div_ceil(alignment) * alignment) as usize,
            0,
        );
    }
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(*x as u8),
        Value::String(s) => put_str(out, s),
        Value::Array(a) => put_array(out, a),
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
    }
}

fn put_array(out: &mut Vec<u8>, a: &Array) {
    out.extend_from_slice(&a.elem_type_id().to_le_bytes());
    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
    fn each<T: Copy>(out: &mut Vec<u8>, v: &[T], f: impl Fn(T) -> Value) {
        for &x in v {
            put_value(out, &f(x));
        }
    }
    match a {
        Array::U8(v) => out.extend_from_slice(v),
        Array::I8(v) => each(out, v, Value::I8),
        Array::U16(v) => each(out, v, Value::U16),
        Array::I16(v) => each(out, v, Value::I16),
        Array::U32(v) => each(out, v, Value::U32),
        Array::I32(v) => each(out, v, Value::I32),
        Array::F32(v) => each(out, v, Value::F32),
        Array::Bool(v) => each(out, v, Value::Bool),
        Array::U64(v) => each(out, v, Value::U64),
        Array::I64(v) => each(out, v, Value::I64),
        Array::F64(v) => each(out, v, Value::F64),
        Array::String(v) => v.iter().for_each(|s| put_str(out, s)),
        Array::Array(v) => v.iter().for_each(|inner| put_array(out, inner)),
    }
}
