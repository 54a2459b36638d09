//! The ways an alert-lint run can fail to judge; each prints as one line naming the file or
//! the server, and its variant decides `error.kind` in the report.

use gatehouse::{Failure, InputError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{path}: {message}")]
    Config { path: String, message: String },
    #[error("{message}")]
    Usage { message: String },
    #[error("{url}: {message}")]
    Prometheus { url: String, message: String },
}

impl Failure for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(e) => e.kind(),
            Error::Config { .. } => "config",
            Error::Usage { .. } => "usage",
            Error::Prometheus { .. } => "prometheus",
        }
    }
}
