//! The ways verify-goldens can fail to judge. Each prints as one line naming the input, the
//! path/step or the SLO it is about.

use gatehouse::{Failure, InputError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unreadable or invalid golden-path or SLO file, bad flag value.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A step's service cannot be reached (DNS, connect refused or timed out).
    #[error("{location}: path {path:?}, step {step:?}: cannot reach {url}: {message}")]
    Unreachable {
        location: String,
        path: String,
        step: String,
        url: String,
        message: String,
    },
    /// Prometheus is unreachable, too slow, or answered an error.
    #[error("prometheus {url}: {message}")]
    Prometheus { url: String, message: String },
    /// An SLI query that returns no series: never a silent pass.
    #[error("{location}: SLO {slo}: no series for {query}")]
    NoSeries {
        location: String,
        slo: String,
        query: String,
    },
}

impl Failure for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(e) => e.kind(),
            Error::Unreachable { .. } => "unreachable",
            Error::Prometheus { .. } => "prometheus",
            Error::NoSeries { .. } => "no_series",
        }
    }
}
