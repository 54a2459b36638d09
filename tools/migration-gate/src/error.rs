//! Why a run could not judge: one variant per way it fails, each printed as one line that
//! names the file (with line:column) or the server. `kind()` becomes `error.kind`.

use gatehouse::Failure;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading an input failed (missing, unreadable, too large, not text).
    #[error(transparent)]
    Input(#[from] gatehouse::InputError),

    /// PostgreSQL's parser rejected a statement.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },

    /// A path named on the command line holds no migrations, or a layout is inconsistent.
    #[error("{path}: {message}")]
    Layout { path: String, message: String },

    /// `--require-down` and some up migration has no down migration.
    #[error("{path}: no down migration (--require-down)")]
    MissingDown { path: String },

    /// A templated file in a command that must run it.
    #[error(
        "{file}:{line}:{column}: Go template placeholder {placeholder}; pass --template-var NAME=VALUE to render it"
    )]
    Template {
        file: String,
        line: u64,
        column: u64,
        placeholder: String,
    },

    /// A flag value that clap could not check on its own.
    #[error("{flag}: {message}")]
    Usage { flag: &'static str, message: String },

    /// `--database-url` does not parse as a PostgreSQL URL or key/value string.
    #[error("--database-url {url}: {message}")]
    Url { url: String, message: String },

    /// Nothing answers at the server's address (refused, timed out, DNS).
    #[error("{server}: cannot connect: {message}")]
    Unreachable { server: String, message: String },

    /// The server refused our credentials.
    #[error("{server}: authentication failed for user {user:?}: {message}")]
    Auth {
        server: String,
        user: String,
        message: String,
    },

    /// A query we rely on failed (permissions, missing database, server error).
    #[error("{server}: {what}: {message}")]
    Database {
        server: String,
        what: String,
        message: String,
    },

    /// The server did not answer within a deadline (`--query-timeout`, ...).
    #[error("{server}: {what}: no answer within {limit}")]
    Timeout {
        server: String,
        what: String,
        limit: String,
    },

    /// The connection broke mid-run: the server stopped, or our backend was terminated.
    #[error("{server}: connection lost during {what}: {message}")]
    Lost {
        server: String,
        what: String,
        message: String,
    },

    /// A helper program (pg_dump, psql) is missing or failed.
    #[error("{program}: {message}")]
    Tool { program: String, message: String },

    /// Typesense refused the API key (401).
    #[error("{server}: the API key was refused (401): {message}")]
    SearchAuth { server: String, message: String },

    /// A Typesense call failed, or what is live makes the command impossible (an alias that
    /// points to no collection, a target collection that does not exist).
    #[error("{server}: {what}: {message}")]
    Search {
        server: String,
        what: String,
        message: String,
    },

    /// A versioned collection schema file Typesense would reject.
    #[error("{file}:{line}:{column}: {message}")]
    SearchSchema {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },

    /// The user pressed Ctrl-C; the copy was dropped.
    #[error("interrupted{detail}")]
    Interrupted { detail: String },
}

impl Failure for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(e) => e.kind(),
            Error::Syntax { .. } => "syntax",
            Error::Layout { .. } | Error::Template { .. } => "input",
            Error::MissingDown { .. } => "missing_down",
            Error::Usage { .. } | Error::Url { .. } => "usage",
            Error::Unreachable { .. } => "unreachable",
            Error::Auth { .. } => "auth",
            Error::Database { .. } => "database",
            Error::Timeout { .. } => "timeout",
            Error::Lost { .. } => "connection_lost",
            Error::Tool { .. } => "tool",
            Error::Interrupted { .. } => "interrupted",
            Error::SearchAuth { .. } => "auth",
            Error::Search { .. } => "search",
            Error::SearchSchema { .. } => "schema",
        }
    }
}

impl Error {
    /// What kind of failure, in a few words, for a check that could not be judged.
    pub fn kind_text(&self) -> &'static str {
        match self {
            Error::Lost { .. } => "connection lost",
            Error::Timeout { .. } => "the server stopped answering",
            _ => "error",
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
