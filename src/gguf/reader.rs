//! Parses one GGUF file (one part of a split model) from its bytes.
//!
//! Layout (gguf.h, little-endian, versions 2 and 3):
//!   magic "GGUF" | version u32 | n_tensors u64 | n_kv u64
//!   n_kv × (key: string, type: u32, value)
//!   n_tensors × (name: string, n_dims: u32, ne: n_dims × u64, type: u32, offset: u64)
//!   padding to `general.alignment` (default 32) | tensor data
//! Strings are u64 length + UTF-8 bytes. Every count and length is checked against the bytes that
//! remain before anything is allocated, so a hostile header cannot ask for more memory than the file
//! holds, and every failure names the key or tensor being read.

use std::collections::HashSet;
use std::path::Path;

use super::value::{min_encoded_size, type_id, Array, Value};
use crate::error::{Error, Result};
use crate::quant::QuantType;

pub const GGUF_MAGIC: &[u8; 4] = b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's GGML_MAX_DIMS.
pub const MAX_DIMS: u32 = 4;
/// Nesting limit for arrays of arrays (the format allows them; nothing real nests deeper than 1).
const MAX_ARRAY_DEPTH: u32 = 8;

/// A tensor as described in a part's header. `offset` is relative to that part's data section.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Shape in ggml order: `ne[0]` is the row length (contiguous), `ne[1]` the number of rows, ...
    pub ne: Vec<u64>,
    pub ty: QuantType,
    pub offset: u64,
    pub n_bytes: u64,
    /// Which part of a split model holds the data (0 for single files).
    pub part: usize,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.ne.iter().product()
    }
    /// Row length (`ne[0]`).
    pub fn n_cols(&self) -> usize {
        self.ne[0] as usize
    }
    /// Number of rows over all higher dimensions (`ne[1] * ne[2] * ...`).
    pub fn n_rows(&self) -> usize {
        self.ne[1..].iter().product::<u64>() as usize
    }
}

/// The parsed header of one file.
pub struct Parsed {
    pub version: u32,
    pub alignment: u64,
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<TensorInfo>,
    /// Absolute offset of the data section in the file.
    pub data_offset: u64,
}

struct Cursor<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn err(&self, at: &str, problem: impl Into<String>) -> Error {
        Error::gguf(self.path, at, problem)
    }

    fn take(&mut self, n: u64, at: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(
                at,
                format!(
                    "file truncated: needs {n} bytes at offset {}, only {} remain",
                    self.pos,
                    self.remaining()
                ),
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, at: &str) -> Result<[u8; N]> {
        Ok(self
            .take(N as u64, at)?
            .try_into()
            .expect("take returned N bytes"))
    }
    fn u8(&mut self, at: &str) -> Result<u8> {
        Ok(self.array::<1>(at)?[0])
    }
    fn u16(&mut self, at: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(at)?))
    }
    fn u32(&mut self, at: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(at)?))
    }
    fn u64(&mut self, at: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(at)?))
    }

    fn string(&mut self, at: &str) -> Result<String> {
        let len = self.u64(at)?;
        let raw = self.take(len, at)?;
        String::from_utf8(raw.to_vec()).map_err(|e| {
            self.err(
                at,
                format!(
                    "string is not valid UTF-8 (byte {} of {len})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })
    }

    /// Checks that `count` values of at least `min_size` bytes each can fit in what remains.
    fn check_count(&self, count: u64, min_size: u64, what: &str, at: &str) -> Result<usize> {
        match count.checked_mul(min_size) {
            Some(bytes) if bytes <= self.remaining() => Ok(count as usize),
            _ => Err(self.err(
                at,
                format!(
                    "{what} count {count} cannot fit in the {} bytes that remain",
                    self.remaining()
                ),
            )),
        }
    }

    fn value(&mut self, ty: u32, at: &str, depth: u32) -> Result<Value> {
        use type_id::*;
        Ok(match ty {
            U8 => Value::U8(self.u8(at)?),
            I8 => Value::I8(self.u8(at)? as i8),
            U16 => Value::U16(self.u16(at)?),
            I16 => Value::I16(self.u16(at)? as i16),
            U32 => Value::U32(self.u32(at)?),
            I32 => Value::I32(self.u32(at)? as i32),
            F32 => Value::F32(f32::from_bits(self.u32(at)?)),
            U64 => Value::U64(self.u64(at)?),
            I64 => Value::I64(self.u64(at)? as i64),
            F64 => Value::F64(f64::from_bits(self.u64(at)?)),
            BOOL => Value::Bool(self.bool(at)?),
            STRING => Value::String(self.string(at)?),
            ARRAY => Value::Array(self.array_value(at, depth)?),
            other => return Err(self.err(at, format!("unknown value type id {other}"))),
        })
    }

    fn bool(&mut self, at: &str) -> Result<bool> {
        match self.u8(at)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.err(at, format!("bool value must be 0 or 1, found {b}"))),
        }
    }

    fn array_value(&mut self, at: &str, depth: u32) -> Result<Array> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(self.err(at, format!("arrays nested deeper than {MAX_ARRAY_DEPTH}")));
        }
        let elem = self.u32(at)?;
        let Some(min) = min_encoded_size(elem) else {
            return Err(self.err(at, format!("unknown array element type id {elem}")));
        };
        let count = self.u64(at)?;
        let n = self.check_count(count, min, "array element", at)?;
        macro_rules! read_n {
            ($variant:ident, $read:expr) => {{
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push($read);
                }
                Array::$variant(v)
            }};
        }
        use type_id::*;
        Ok(match elem {
            U8 => Array::U8(self.take(n as u64, at)?.to_vec()),
            I8 => read_n!(I8, self.u8(at)? as i8),
            U16 => read_n!(U16, self.u16(at)?),
            I16 => read_n!(I16, self.u16(at)? as i16),
            U32 => read_n!(U32, self.u32(at)?),
            I32 => read_n!(I32, self.u32(at)? as i32),
            F32 => read_n!(F32, f32::from_bits(self.u32(at)?)),
            U64 => read_n!(U64, self.u64(at)?),
            I64 => read_n!(I64, self.u64(at)? as i64),
            F64 => read_n!(F64, f64::from_bits(self.u64(at)?)),
            BOOL => read_n!(Bool, self.bool(at)?),
            STRING => read_n!(String, self.string(at)?),
            ARRAY => read_n!(Array, self.array_value(at, depth + 1)?),
            _ => unreachable!("min_encoded_size accepted only known ids"),
        })
    }
}

/// Parses the header of one GGUF file and checks every tensor against the file's size.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed> {
    let mut c = Cursor {
        path,
        bytes,
        pos: 0,
    };
    let magic = c.array::<4>("header")?;
    if &magic != GGUF_MAGIC {
        return Err(c.err(
            "header",
            format!("bad magic {magic:02x?}, expected \"GGUF\""),
        ));
    }
    let version = c.u32("header")?;
    match version {
        2 | 3 => {}
        1 => return Err(c.err("header", "GGUF version 1 is obsolete; re-convert the model")),
        v if v.swap_bytes() == 2 || v.swap_bytes() == 3 => {
            return Err(c.err("header", "big-endian GGUF files are not supported"))
        }
        v => {
            return Err(c.err(
                "header",
                format!("unsupported GGUF version {v} (2 and 3 are)"),
            ))
        }
    }
    let n_tensors = c.u64("header")?;
    let n_kv = c.u64("header")?;
    // A key-value pair needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info 8 + 4 + 4 + 8.
    let n_kv = c.check_count(n_kv, 13, "metadata", "header")?;
    let n_tensors = c.check_count(n_tensors, 24, "tensor", "header")?;

    let mut metadata = Vec::with_capacity(n_kv);
    let mut keys = HashSet::with_capacity(n_kv);
    for i in 0..n_kv {
        let key = c.string(&format!("metadata key #{i}"))?;
        let ty = c.u32(&key)?;
        let value = c.value(ty, &key, 0)?;
        if !keys.insert(key.clone()) {
            return Err(c.err(&key, "duplicate metadata key"));
        }
        metadata.push((key, value));
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((k, Value::U32(a))) if *a != 0 && a.is_power_of_two() => *a as u64,
        Some((k, v)) => {
            return Err(c.err(
                k,
                format!(
                    "alignment must be a non-zero power of two u32, found {}",
                    v.summary()
                ),
            ))
        }
    };

    let mut tensors = Vec::with_capacity(n_tensors);
    let mut names = HashSet::with_capacity(n_tensors);
    for i in 0..n_tensors {
        let name = c.string(&format!("tensor #{i} name"))?;
        let n_dims = c.u32(&name)?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(c.err(
                &name,
                format!("{n_dims} dimensions (1 to {MAX_DIMS} allowed)"),
            ));
        }
        let mut ne = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            ne.push(c.u64(&name)?);
        }
        let type_raw = c.u32(&name)?;
        let ty = QuantType::from_id(type_raw)
            .ok_or_else(|| c.err(&name, format!("unknown tensor type id {type_raw}")))?;
        let offset = c.u64(&name)?;
        let n_elements = ne
            .iter()
            .try_fold(1u64, |acc, &d| {
                acc.checked_mul(d).filter(|v| *v <= i64::MAX as u64)
            })
            .ok_or_else(|| c.err(&name, format!("shape {ne:?} overflows")))?;
        let bs = ty.info().blck_size as u64;
        if ne[0] % bs != 0 {
            return Err(c.err(
                &name,
                format!(
                    "row length {} is not a multiple of the {ty} block size {bs}",
                    ne[0]
                ),
            ));
        }
        let n_bytes = ty.row_bytes(n_elements).ok_or_else(|| {
            c.err(
                &name,
                format!("size of {n_elements} {ty} elements overflows"),
            )
        })?;
        if offset % alignment != 0 {
            return Err(c.err(
                &name,
                format!("data offset {offset} is not a multiple of the alignment {alignment}"),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(c.err(&name, "duplicate tensor name"));
        }
        tensors.push(TensorInfo {
            name,
            ne,
            ty,
            offset,
            n_bytes,
            part: 0,
        });
    }

    let header_end = c.pos as u64;
    let data_offset = header_end.div_ceil(alignment) * alignment;
    check_tensor_extents(path, &tensors, data_offset, bytes.len() as u64)?;
    Ok(Parsed {
        version,
        alignment,
        metadata,
        tensors,
        data_offset,
    })
}

/// Every tensor, empty ones included, must lie inside the file's data section (which starts at
/// `data_offset` of a file of `file_len` bytes), and no two may overlap. So the byte range
/// `data_offset + offset .. + n_bytes` of every tensor the parser returns is inside the file.
fn check_tensor_extents(
    path: &Path,
    tensors: &[TensorInfo],
    data_offset: u64,
    file_len: u64,
) -> Result<()> {
    let data_len = file_len.saturating_sub(data_offset);
    for t in tensors {
        let end = (data_offset.checked_add(t.offset)).and_then(|s| s.checked_add(t.n_bytes));
        if end.is_none_or(|e| e > file_len) {
            return Err(Error::gguf(
                path,
                &t.name,
                format!(
                    "data [{}, +{}) runs past the end of the data section ({data_len} bytes from byte {data_offset} of {file_len}); file truncated?",
                    t.offset, t.n_bytes
                ),
            ));
        }
    }
    let mut order: Vec<&TensorInfo> = tensors.iter().filter(|t| t.n_bytes > 0).collect();
    order.sort_by_key(|t| t.offset);
    for pair in order.windows(2) {
        if pair[0].offset + pair[0].n_bytes > pair[1].offset {
            return Err(Error::gguf(
                path,
                &pair[1].name,
                format!("data overlaps tensor '{}'", pair[0].name),
            ));
        }
    }
    Ok(())
}
