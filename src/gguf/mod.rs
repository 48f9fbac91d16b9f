//! GGUF files: reading (memory-mapped, split models opened from their first part), typed metadata
//! getters, and a writer that round-trips everything the reader reads.

mod meta;
mod reader;
mod split;
mod value;
mod writer;

pub use reader::{TensorInfo, DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_DIMS};
pub use split::{split_part_path, split_prefix};
pub use value::{type_id, Array, Value};
pub use writer::{encode_header, GgufWriter, TensorHeader};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The bytes of one part: a read-only memory map, or bytes held in memory (embedded models, tests,
/// the browser).
pub enum Bytes {
    #[cfg(feature = "native")]
    Mmap(memmap2::Mmap),
    Owned(Vec<u8>),
    Static(&'static [u8]),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            #[cfg(feature = "native")]
            Bytes::Mmap(m) => m,
            Bytes::Owned(v) => v,
            Bytes::Static(s) => s,
        }
    }
}

struct Part {
    path: PathBuf,
    bytes: Bytes,
    data_offset: u64,
}

/// An opened GGUF model: metadata of the first part, tensors of every part.
pub struct GgufFile {
    path: PathBuf,
    version: u32,
    alignment: u64,
    metadata: Vec<(String, Value)>,
    key_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    parts: Vec<Part>,
}

impl GgufFile {
    /// Opens a GGUF file. If it is the first part of a split model (`split.count` > 1), the other
    /// parts are opened from the same folder (`<prefix>-0000K-of-0000N.gguf`).
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        let path = path.as_ref();
        let first = GgufFile::from_bytes(path, map_file(path)?)?;
        split::open_remaining_parts(first)
    }

    /// Parses a single GGUF file held in memory. `path` is used in messages only. Split metadata is
    /// kept but no other part is looked for.
    pub fn from_bytes(path: impl AsRef<Path>, bytes: Bytes) -> Result<GgufFile> {
        let path = path.as_ref().to_path_buf();
        let parsed = reader::parse(&path, &bytes)?;
        let key_index = parsed
            .metadata
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        let tensor_index = parsed
            .tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Ok(GgufFile {
            version: parsed.version,
            alignment: parsed.alignment,
            metadata: parsed.metadata,
            key_index,
            tensors: parsed.tensors,
            tensor_index,
            parts: vec![Part {
                path: path.clone(),
                bytes,
                data_offset: parsed.data_offset,
            }],
            path,
        })
    }

    /// Path of the file that was opened (the first part of a split model).
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn version(&self) -> u32 {
        self.version
    }
    pub fn alignment(&self) -> u64 {
        self.alignment
    }
    /// Paths of every part, in order (one entry for a single file).
    pub fn part_paths(&self) -> Vec<&Path> {
        self.parts.iter().map(|p| p.path.as_path()).collect()
    }
    /// Total size in bytes of every part.
    pub fn file_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes.len() as u64).sum()
    }

    /// Metadata in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.key_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// Tensors of every part, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }
    /// Position of a tensor in [`GgufFile::tensors`].
    pub fn tensor_position(&self, name: &str) -> Option<usize> {
        self.tensor_index.get(name).copied()
    }
    /// A tensor that must exist, or an error naming it.
    pub fn require_tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.tensor(name)
            .ok_or_else(|| Error::gguf(&self.path, name, "tensor not found"))
    }

    /// The stored bytes of a tensor (its GGUF blocks, unconverted). Every tensor this file
    /// returns lies inside its part (checked at parse, empty tensors included); for a
    /// `TensorInfo` made elsewhere whose range is not in the file, the slice is empty rather
    /// than a panic.
    pub fn tensor_data(&self, t: &TensorInfo) -> &[u8] {
        let Some(part) = self.parts.get(t.part) else {
            return &[];
        };
        let start = part.data_offset.checked_add(t.offset);
        let end = start.and_then(|s| s.checked_add(t.n_bytes));
        match (start, end) {
            (Some(s), Some(e)) => part.bytes.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

impl GgufFile {
    /// Lets the OS drop the resident pages of a mapped file that hold `data` (a slice of this
    /// file, such as a tensor already uploaded to the GPU), so they stop counting toward the
    /// process's memory; a later read maps them in again from the file. Files held in memory
    /// are left as they are.
    #[cfg_attr(not(feature = "native"), allow(unused_variables))]
    pub fn release_pages(&self, data: &[u8]) {
        #[cfg(feature = "native")]
        for part in &self.parts {
            let Bytes::Mmap(m) = &part.bytes else {
                continue;
            };
            let base = m.as_ptr() as usize;
            let start = data.as_ptr() as usize;
            if start < base || start + data.len() > base + m.len() {
                continue;
            }
            // Only whole pages inside the slice.
            let page = 4096;
            let first = (start - base).div_ceil(page) * page;
            let end = (start - base + data.len()) / page * page;
            if end > first {
                // SAFETY: the map is a read-only mapping of a file: MADV_DONTNEED only drops
                // resident copies, which later reads fault in again with the same contents.
                let _ = unsafe {
                    m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, first, end - first)
                };
            }
        }
    }
}

/// The file read into memory where memory maps are not available (the browser has no files:
/// it opens GGUFs from bytes).
#[cfg(not(feature = "native"))]
fn map_file(path: &Path) -> Result<Bytes> {
    std::fs::read(path)
        .map(Bytes::Owned)
        .map_err(|e| Error::io(path, e))
}

#[cfg(feature = "native")]
fn map_file(path: &Path) -> Result<Bytes> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: the map is read-only; like every mmap-based loader we assume nobody truncates the
    // model file while it is open.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    Ok(Bytes::Mmap(map))
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .field("parts", &self.parts.len())
            .finish()
    }
}
