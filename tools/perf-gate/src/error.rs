//! The ways perf-gate can fail to judge. Each prints as one line naming the input or target.

use gatehouse::{Failure, InputError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unreadable or invalid scenario, report or flag value.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The target could not be reached before the run (connect, TLS).
    #[error("{target}: {message}")]
    Unreachable { target: String, message: String },
    /// The run stopped before its end; the report keeps what ran (`data.partial`).
    #[error("{0}")]
    Interrupted(String),
    /// The target stopped accepting connections during the run.
    #[error("{target}: {message}; the report keeps what ran")]
    LostTarget { target: String, message: String },
    /// Writing an output file failed.
    #[error("{path}: {message}")]
    Output { path: String, message: String },
    /// A k6 script with what cannot be translated, each at file:line.
    #[error("{0}")]
    K6(crate::k6script::Refused),
    /// Something in the load engine failed (a thread, the runtime).
    #[error("{0}")]
    Engine(String),
}

impl Failure for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(e) => e.kind(),
            Error::Unreachable { .. } => "unreachable",
            Error::Interrupted(_) => "interrupted",
            Error::LostTarget { .. } => "unreachable",
            Error::Output { .. } => "output",
            Error::K6(_) => "input",
            Error::Engine(_) => "internal",
        }
    }
}

/// An invalid input at `file:line:column`.
pub fn at(path: &str, line: u64, column: u64, message: impl Into<String>) -> Error {
    Error::Input(InputError::Parse {
        path: path.to_owned(),
        line,
        column: column.max(1),
        message: message.into(),
    })
}

/// An invalid input without a position (a flag, a whole file).
pub fn invalid(path: &str, message: impl Into<String>) -> Error {
    Error::Input(InputError::invalid(path, message))
}
