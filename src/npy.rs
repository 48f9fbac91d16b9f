//! Minimal .npy (format 1.0) reading and writing of little-endian float32 arrays, for
//! `--dump-logits` and for comparing with reference dumps.

use std::path::Path;

use crate::error::{Error, Result};

/// Writes a C-order float32 array of the given shape.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_str = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_str}, }}");
    // Magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))
}

/// Reads a C-order '<f4' or '<i4' array (i4 converted to f32) and its shape.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: &str| {
        Error::Usage(format!(
            "{}: not a supported .npy file: {m}",
            path.display()
        ))
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("bad magic"));
    }
    let (hlen, hstart) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
        _ => return Err(bad("unknown version")),
    };
    let header = std::str::from_utf8(
        bytes
            .get(hstart..hstart + hlen)
            .ok_or_else(|| bad("truncated header"))?,
    )
    .map_err(|_| bad("header is not UTF-8"))?;
    let is_i4 = header.contains("'<i4'");
    if !header.contains("'<f4'") && !is_i4 || header.contains("'fortran_order': True") {
        return Err(bad("only C-order <f4 and <i4 arrays are supported"));
    }
    let shape_txt = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let shape: Vec<usize> = shape_txt
        .trim_start_matches([' ', '('])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_>>()?;
    let n: usize = shape.iter().product();
    let body = bytes
        .get(hstart + hlen..hstart + hlen + 4 * n)
        .ok_or_else(|| bad("truncated data"))?;
    let data = body
        .chunks_exact(4)
        .map(|c| {
            let b = [c[0], c[1], c[2], c[3]];
            if is_i4 {
                i32::from_le_bytes(b) as f32
            } else {
                f32::from_le_bytes(b)
            }
        })
        .collect();
    Ok((shape, data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        let p = std::env::temp_dir().join(format!("wgpu-ds-npy-{}.npy", std::process::id()));
        super::write_f32(&p, &[2, 3], &[1.0, -2.0, 3.5, 0.0, 1e-7, 7.0]).unwrap();
        let (shape, data) = super::read_f32(&p).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(data, vec![1.0, -2.0, 3.5, 0.0, 1e-7, 7.0]);
        std::fs::remove_file(p).ok();
    }
}
