//! The ways replayctl can fail to judge. Each prints as one line naming the input or the
//! server (never a password) and becomes the report's `error.kind`.

use gatehouse::{Failure, InputError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or file that does not make sense (window backwards, bad filter, bad mapping).
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("--{flag} {value}: {message}")]
    Usage {
        flag: &'static str,
        value: String,
        message: String,
    },
    #[error("{url}: {message}")]
    Url { url: String, message: String },
    #[error("{server}: authentication failed: {message}")]
    Auth { server: String, message: String },
    #[error("{server}: cannot connect: {message}")]
    Unreachable { server: String, message: String },
    #[error("{server}: {what}: no answer within {limit}")]
    Timeout {
        server: String,
        what: String,
        limit: String,
    },
    #[error("{server}: {what}: {message}")]
    Redis {
        server: String,
        what: String,
        message: String,
    },
    #[error("{server}: stream {stream:?} does not exist")]
    NoStream { server: String, stream: String },
    #[error("{server}: stream {stream:?} has no consumer group {group:?}")]
    NoGroup {
        server: String,
        stream: String,
        group: String,
    },
    #[error("{server}: {what}: {message}")]
    Database {
        server: String,
        what: String,
        message: String,
    },
    /// The sink table cannot take an exactly-once replay (missing, no unique key, columns).
    #[error("{server}: sink {table}: {message}; nothing was written")]
    Sink {
        server: String,
        table: String,
        message: String,
    },
    #[error(
        "{server}: {stream} and {dlq} are in different hash slots; an atomic redrive needs one slot (name them with one hash tag, e.g. {{events}} and {{events}}:dlq)"
    )]
    CrossSlot {
        server: String,
        stream: String,
        dlq: String,
    },
    #[error("interrupted ({signal}); {done}")]
    Interrupted { signal: &'static str, done: String },
}

impl Failure for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(e) => e.kind(),
            Error::Usage { .. } => "usage",
            Error::Url { .. } => "url",
            Error::Auth { .. } => "auth",
            Error::Unreachable { .. } => "unreachable",
            Error::Timeout { .. } => "timeout",
            Error::Redis { .. } => "redis",
            Error::NoStream { .. } => "no_stream",
            Error::NoGroup { .. } => "no_group",
            Error::Database { .. } => "database",
            Error::Sink { .. } => "sink",
            Error::CrossSlot { .. } => "cross_slot",
            Error::Interrupted { .. } => "interrupted",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
