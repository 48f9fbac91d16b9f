//! One error type for the whole crate. Every variant names what the user can act on:
//! the file, the metadata key or tensor, and what was expected versus what was found.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum Error {
    /// An operating-system error while opening or mapping a file.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A GGUF file that is malformed, truncated or hostile. `at` names the part being read
    /// (a metadata key, a tensor name, or a structural field such as "header").
    Gguf {
        path: PathBuf,
        at: String,
        problem: String,
    },
    /// A metadata key that is missing or has the wrong type.
    Metadata {
        path: PathBuf,
        key: String,
        problem: String,
    },
    /// A tensor type this build cannot compute with (known to GGUF, not implemented here).
    UnsupportedType { tensor: String, type_name: String },
    /// Quantized bytes that do not fit the type (length not a whole number of blocks, or not the
    /// bytes of the element count asked for), or a type with no (de)quantizer in this build.
    Quant { type_name: String, problem: String },
    /// Tokenizer construction or use failed.
    Tokenizer(String),
    /// The chat template could not be parsed or rendered.
    Template(String),
    /// A model that is well-formed GGUF but not something this runtime can run.
    Model(String),
    /// No usable GPU, a device error, or out of GPU memory.
    Gpu(String),
    /// Anything the user asked for that cannot be done (bad flags, prompt too long, ...).
    Usage(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub fn gguf(path: &Path, at: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Gguf {
            path: path.to_path_buf(),
            at: at.into(),
            problem: problem.into(),
        }
    }
    pub fn metadata(path: &Path, key: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Metadata {
            path: path.to_path_buf(),
            key: key.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {}", path.display(), source),
            Error::Gguf { path, at, problem } => {
                write!(f, "{}: invalid GGUF at {}: {}", path.display(), at, problem)
            }
            Error::Metadata { path, key, problem } => {
                write!(f, "{}: metadata key '{}': {}", path.display(), key, problem)
            }
            Error::UnsupportedType { tensor, type_name } => write!(
                f,
                "tensor '{tensor}' has type {type_name}, which this build cannot compute with yet"
            ),
            Error::Quant { type_name, problem } => write!(f, "{type_name} data: {problem}"),
            Error::Tokenizer(m) => write!(f, "tokenizer: {m}"),
            Error::Template(m) => write!(f, "chat template: {m}"),
            Error::Model(m) => write!(f, "model: {m}"),
            Error::Gpu(m) => write!(f, "GPU: {m}"),
            Error::Usage(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
