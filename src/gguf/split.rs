//! Split models (llama.cpp's `gguf-split`): `<prefix>-00001-of-00003.gguf`, ... Each part is a
//! complete GGUF file with `split.no` (0-based u16), `split.count` (u16) and, in the first part,
//! `split.tensors.count` (i32) and all model metadata; tensor offsets are relative to each part.

use std::path::{Path, PathBuf};

use super::{map_file, GgufFile};
use crate::error::{Error, Result};

pub const KEY_SPLIT_NO: &str = "split.no";
pub const KEY_SPLIT_COUNT: &str = "split.count";
pub const KEY_SPLIT_TENSORS_COUNT: &str = "split.tensors.count";

/// The path of part `no` (0-based) of `count`, as llama.cpp's `llama_split_path` names it.
pub fn split_part_path(prefix: &str, no: usize, count: usize) -> PathBuf {
    PathBuf::from(format!("{prefix}-{:05}-of-{:05}.gguf", no + 1, count))
}

/// The prefix of a split part's path (`dir/model` for `dir/model-00002-of-00005.gguf`), if the
/// name has that form with the given part number and count.
pub fn split_prefix(path: &Path, no: usize, count: usize) -> Option<String> {
    let s = path.to_str()?;
    let suffix = format!("-{:05}-of-{:05}.gguf", no + 1, count);
    s.strip_suffix(&suffix).map(str::to_owned)
}

/// After the first file is parsed: if it is part 1 of N, opens parts 2..N and appends their tensors.
pub(super) fn open_remaining_parts(mut first: GgufFile) -> Result<GgufFile> {
    let path = first.path.clone();
    let count = match first.get_u64(KEY_SPLIT_COUNT)? {
        None | Some(0) | Some(1) => return Ok(first),
        Some(c) if c > u16::MAX as u64 => {
            return Err(Error::metadata(
                &path,
                KEY_SPLIT_COUNT,
                format!("{c} parts is more than a u16"),
            ))
        }
        Some(c) => c as usize,
    };
    let no = first.get_u64(KEY_SPLIT_NO)?.unwrap_or(0);
    if no != 0 {
        return Err(Error::metadata(
            &path,
            KEY_SPLIT_NO,
            format!(
                "this is part {} of {count}; open the first part (-00001-of-{count:05})",
                no + 1
            ),
        ));
    }
    let prefix = split_prefix(&path, 0, count).ok_or_else(|| {
        Error::metadata(
            &path,
            KEY_SPLIT_COUNT,
            format!(
                "file is part 1 of {count} but its name does not end in -00001-of-{count:05}.gguf"
            ),
        )
    })?;
    for no in 1..count {
        let part_path = split_part_path(&prefix, no, count);
        let part = GgufFile::from_bytes(&part_path, map_file(&part_path)?)?;
        let part_no = part.get_u64(KEY_SPLIT_NO)?;
        let part_count = part.get_u64(KEY_SPLIT_COUNT)?;
        if part_no != Some(no as u64) || part_count != Some(count as u64) {
            return Err(Error::metadata(
                &part_path,
                KEY_SPLIT_NO,
                format!(
                    "expected part {} of {count}, found {part_no:?} of {part_count:?}",
                    no + 1
                ),
            ));
        }
        let part_index = first.parts.len();
        let mut part = part;
        for mut t in part.tensors.drain(..) {
            if first.tensor_index.contains_key(&t.name) {
                return Err(Error::gguf(
                    &part_path,
                    &t.name,
                    "tensor also appears in an earlier part",
                ));
            }
            t.part = part_index;
            first
                .tensor_index
                .insert(t.name.clone(), first.tensors.len());
            first.tensors.push(t);
        }
        first
            .parts
            .push(part.parts.pop().expect("a parsed file has one part"));
    }
    if let Some(expected) = first.get_u64(KEY_SPLIT_TENSORS_COUNT)? {
        if expected != first.tensors.len() as u64 {
            return Err(Error::metadata(
                &path,
                KEY_SPLIT_TENSORS_COUNT,
                format!(
                    "says {expected} tensors, the {count} parts hold {}",
                    first.tensors.len()
                ),
            ));
        }
    }
    Ok(first)
}
