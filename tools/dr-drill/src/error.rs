//! The ways dr-drill can fail to judge. Each prints as one line naming the input, the server
//! (never a password) or the missing binary, and becomes the report's `error.kind`.

use gatehouse::{Failure, InputError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("--{flag} {value}: {message}")]
    Usage {
        flag: &'static str,
        value: String,
        message: String,
    },
    /// The drill config refuses to run (no `allow_destructive`, no targets, ...).
    #[error("{path}: {message}; nothing was touched")]
    Refused { path: String, message: String },
    #[error(
        "{binary} not found on PATH{hint}; run scripts/setup.sh (or name its directory: postgres.bin_dir, --pg-bin-dir)"
    )]
    MissingBinary { binary: String, hint: String },
    #[error("{what} failed ({status}): {message}")]
    Command {
        what: String,
        status: String,
        message: String,
    },
    #[error("{server}: cannot connect: {message}")]
    Unreachable { server: String, message: String },
    #[error("{server}: {what}: {message}")]
    Database {
        server: String,
        what: String,
        message: String,
    },
    #[error("{server}: {what}: {message}")]
    Redis {
        server: String,
        what: String,
        message: String,
    },
    /// The topology is not what the config says (replica not streaming, primary in recovery).
    #[error("{server}: {message}; nothing was touched")]
    Precheck { server: String, message: String },
    /// A step of the drill did not complete; `done` says what was already changed.
    #[error("{step}: {message}; {done}")]
    Drill {
        step: String,
        message: String,
        done: String,
    },
    #[error("{what}: {message}")]
    Io { what: String, message: String },
    #[error("interrupted ({signal}); {done}")]
    Interrupted { signal: &'static str, done: String },
}

impl Failure for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(e) => e.kind(),
            Error::Usage { .. } => "usage",
            Error::Refused { .. } => "refused",
            Error::MissingBinary { .. } => "missing_binary",
            Error::Command { .. } => "command",
            Error::Unreachable { .. } => "unreachable",
            Error::Database { .. } => "database",
            Error::Redis { .. } => "redis",
            Error::Precheck { .. } => "precheck",
            Error::Drill { .. } => "drill",
            Error::Io { .. } => "io",
            Error::Interrupted { .. } => "interrupted",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
