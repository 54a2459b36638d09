//! The ways sbom-diff can fail to judge. Each prints as one line naming the input.

use gatehouse::{Failure, InputError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unreadable, unparsable or unsupported input (SBOM, vulnerability report, budget).
    #[error(transparent)]
    Input(#[from] InputError),
    /// An input, or what it decompresses to, exceeds `--max-size`.
    #[error(
        "{path}: {what} is larger than {limit} bytes; refusing to read it (--max-size raises the limit)"
    )]
    TooLarge {
        path: String,
        what: &'static str,
        limit: u64,
    },
}

impl Failure for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(e) => e.kind(),
            Error::TooLarge { .. } => "too_large",
        }
    }
}
