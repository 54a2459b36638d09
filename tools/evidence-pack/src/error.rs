//! Why a command could not judge: one variant per way it fails, each printing one line that
//! names the file (and line) it is about. The variant decides `error.kind` in the report.

use gatehouse::{Failure, InputError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file we were given could not be read or parsed (reports, policy, events).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The policy parsed but says something impossible (unknown operator, bad duration).
    #[error("{path}:{line}:{column}: {message}")]
    Policy {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// A key file in a format we do not read, or a key we cannot use.
    #[error("{path}: {message}")]
    Key { path: String, message: String },
    /// The password for an encrypted key is missing or wrong.
    #[error("{path}: {message}")]
    Password { path: String, message: String },
    /// A file is not a (safe) evidence zip: not a zip, not ours, a zip bomb, a traversal name.
    #[error("{path}: {message}")]
    Archive { path: String, message: String },
    /// Something on disk could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A bad argument the command line parser could not catch (e.g. a malformed time).
    #[error("{0}")]
    Usage(String),
    /// `git log` for --git-range failed.
    #[error("git: {0}")]
    Git(String),
    /// The audit log cannot be appended to (a torn last line, a malformed entry).
    #[error("{path}: {message}")]
    Audit { path: String, message: String },
}

impl Error {
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }

    pub(crate) fn key(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Error::Key {
            path: path.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn archive(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Error::Archive {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// A time given on the command line (`--now`, `--time`), if any: RFC 3339, or a usage
/// error that names the flag.
pub(crate) fn time_flag(
    flag: &str,
    text: Option<&str>,
) -> Result<Option<gatehouse::time::Timestamp>> {
    text.map(|t| {
        gatehouse::time::Timestamp::parse(t).map_err(|e| Error::Usage(format!("{flag}: {e}")))
    })
    .transpose()
}

impl Failure for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(e) => e.kind(),
            Error::Policy { .. } => "policy",
            Error::Key { .. } => "key",
            Error::Password { .. } => "password",
            Error::Archive { .. } => "archive",
            Error::Io { .. } => "io",
            Error::Usage(_) => "usage",
            Error::Git(_) => "git",
            Error::Audit { .. } => "audit",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
