//! The command line as the user typed it (clap): `lint`, `dry-run`, `parity`, and the
//! options they share. Checked, ready-to-use values are built from it in each command.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse::CommonArgs;

/// A command's examples followed by the conventions every Gatehouse tool shares.
fn help(examples: &str) -> String {
    format!("{examples}\n{}", gatehouse::cli::CONVENTIONS)
}

#[derive(Debug, Parser)]
#[command(
    name = "migration-gate",
    version,
    about = "Judges PostgreSQL schema migrations: static hazards, expand/contract phases, real locks in a dry run, shadow-read parity",
    after_help = help(concat!(
        "Examples:\n",
        "  migration-gate lint examples/bad-release/migrations\n",
        "  migration-gate dry-run --database-url postgres://app@127.0.0.1/app --with-load 4 migrations/\n",
        "  migration-gate parity --database-url \"$DB\" --old 'SELECT id, email FROM users' \\\n",
        "      --new 'SELECT id, email FROM users_v2' --key id\n",
        "  migration-gate checks --format text\n\n",
        "Each check id's what/why/fix: migration-gate checks, docs/migration-gate.md, or\n",
        "--format sarif (rule help).\n",
    )),
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint migration files as a history: parse with PostgreSQL's parser, flag hazards
    #[command(after_help = help(concat!(
        "Example:\n",
        "  migration-gate lint examples/release/migrations\n",
        "  migration-gate lint --since 20240101000000 --format github db/migrations/\n",
        "  migration-gate lint --template-var Namespace=auth supabase/migrations\n\n",
        "PATHs are files or directories; a directory is read as one history ordered by the\n",
        "version prefix of Flyway (V1__x.sql), golang-migrate (0001_x.up.sql), diesel/sqlx\n",
        "(2024..._x/up.sql, 2024..._x.sql). Directives in SQL comments:\n",
        "  -- migration-gate: phase=contract | phase=expand\n",
        "  -- migration-gate: no-transaction\n",
        "  -- migration-gate: ignore=index.create_blocking   (the next statement)\n",
        "  -- migration-gate: ignore-file=type.varchar        (the whole file)\n",
    )))]
    Lint(LintArgs),

    /// Apply pending migrations to a throwaway copy and record real locks, rewrites, timing
    #[command(name = "dry-run", after_help = help(concat!(
        "Example:\n",
        "  migration-gate dry-run --database-url postgres://postgres@127.0.0.1:5432/app \\\n",
        "      --with-load 4 examples/bad-release/migrations\n\n",
        "The copy is CREATE DATABASE <name> TEMPLATE <source> (the source must have no other\n",
        "sessions), else a schema-only pg_dump | psql restore (--copy schema) that also carries\n",
        "the rows of the runner's migrations table. It is dropped afterwards whatever happens,\n",
        "Ctrl-C included; copies an earlier run could not drop are dropped by the next one.\n",
        "The source is only read.\n",
    )))]
    DryRun(DryRunArgs),

    /// Shadow-read parity: compare the old and new read path row by row, by key and hash
    #[command(after_help = help(concat!(
        "Example:\n",
        "  migration-gate parity --database-url postgres://app@127.0.0.1/app \\\n",
        "      --old 'SELECT id, email FROM users' --new 'SELECT id, lower(email) FROM users_v2' \\\n",
        "      --key id --min-parity 0.999\n\n",
        "Both queries must return the key columns by the names given in --key and the compared\n",
        "columns in the same order; rows are compared by the md5 of their text form, on the\n",
        "server, in key order, in chunks: nothing is loaded into memory.\n",
    )))]
    Parity(ParityArgs),

    /// Search schema migrations on Typesense: plan, parity reindex, alias flip, gc, keys
    #[command(after_help = help(concat!(
        "Example:\n",
        "  export TYPESENSE_API_KEY=...   # the admin key, read from the environment only\n",
        "  migration-gate search plan --typesense-url http://127.0.0.1:8108 examples/release/search/\n",
        "  migration-gate search reindex --typesense-url http://127.0.0.1:8108 --alias products \\\n",
        "      --to examples/release/search/products.v3.yaml --updated-field updated_at \\\n",
        "      --canaries examples/release/search/canaries.yaml --flip\n",
        "  migration-gate search flip --typesense-url http://127.0.0.1:8108 --alias products --rollback\n",
    )))]
    Search(SearchArgs),

    /// List every check id with what it judges and how to fix a failure
    #[command(after_help = help(concat!(
        "Example:\n",
        "  migration-gate checks --format text\n",
    )))]
    Checks,
}

/// Deadlines for talking to PostgreSQL: a server that accepts and never answers (or
/// answers a byte at a time) must not hold a run until CI's job timeout.
#[derive(Debug, Clone, Copy, Args)]
pub struct TimeoutArgs {
    /// Give up connecting (TCP, TLS and the PostgreSQL handshake together) after this long
    /// [default: the URL's connect_timeout, else 10s]
    #[arg(long, value_name = "DURATION", value_parser = gatehouse::duration::duration_arg)]
    pub connect_timeout: Option<Duration>,

    /// Give up on a query the server does not answer within this long (a dry run's migration
    /// statement gets --statement-timeout plus this)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = gatehouse::duration::duration_arg)]
    pub query_timeout: Duration,
}

// The engine's own option types, field for field (the commands check the values).

impl From<TimeoutArgs> for crate::pg::Timeouts {
    fn from(t: TimeoutArgs) -> Self {
        crate::pg::Timeouts {
            connect: t.connect_timeout,
            query: t.query_timeout,
        }
    }
}

impl From<TransactionMode> for crate::source::Transaction {
    fn from(t: TransactionMode) -> Self {
        match t {
            TransactionMode::Auto => crate::source::Transaction::Auto,
            TransactionMode::Always => crate::source::Transaction::Always,
            TransactionMode::Never => crate::source::Transaction::Never,
        }
    }
}

impl From<CopyMethod> for crate::dryrun::CopyMethod {
    fn from(c: CopyMethod) -> Self {
        match c {
            CopyMethod::Auto => crate::dryrun::CopyMethod::Auto,
            CopyMethod::Template => crate::dryrun::CopyMethod::Template,
            CopyMethod::Schema => crate::dryrun::CopyMethod::Schema,
        }
    }
}

impl TryFrom<&MigrationArgs> for crate::source::Selection {
    type Error = crate::error::Error;

    /// Checks `--template-var`.
    fn try_from(m: &MigrationArgs) -> crate::error::Result<Self> {
        Ok(crate::source::Selection {
            paths: m.paths.clone(),
            vars: crate::template::parse_vars(&m.template_var)?,
            transaction: m.transaction.into(),
            since: m.since.clone(),
            require_down: m.require_down,
        })
    }
}

/// How the migration runner wraps each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TransactionMode {
    /// From the layout and its markers (metadata.toml, `-- no-transaction`, ...): in a
    /// transaction unless marked otherwise
    #[default]
    Auto,
    /// Every file runs in a transaction
    Always,
    /// No file runs in a transaction (statements autocommit)
    Never,
}

/// What `lint` and `dry-run` both read.
#[derive(Debug, Clone, Args)]
pub struct MigrationArgs {
    /// Migration files or directories (`-` reads one file from stdin)
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Render Go template placeholders: `{{ index .Options "NAME" }}` and `{{ .NAME }}`
    /// become VALUE (repeatable)
    #[arg(long, value_name = "NAME=VALUE")]
    pub template_var: Vec<String>,

    /// How the migration runner wraps each file in a transaction
    #[arg(long, value_enum, default_value_t = TransactionMode::Auto)]
    pub transaction: TransactionMode,

    /// Migrations with a version below VERSION are history only: read for context, not judged
    /// (lint) or treated as applied (dry-run)
    #[arg(long, value_name = "VERSION")]
    pub since: Option<String>,

    /// Every up migration needs a down migration; a missing one is an error (exit 2)
    #[arg(long)]
    pub require_down: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub migrations: MigrationArgs,

    /// PostgreSQL major version the migrations will run on (changes what rewrites or fails)
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub pg_version: u32,

    /// The runner's connection already sets lock_timeout and statement_timeout
    #[arg(long)]
    pub assume_timeouts: bool,

    /// Turn a check off (repeatable), e.g. --disable type.varchar
    #[arg(long, value_name = "ID")]
    pub disable: Vec<String>,

    /// Turn an opt-in check on (repeatable), e.g. --enable schema.qualified
    #[arg(long, value_name = "ID")]
    pub enable: Vec<String>,

    /// Report a check as a warning instead of a failure (repeatable)
    #[arg(long, value_name = "ID")]
    pub warn: Vec<String>,

    #[command(flatten)]
    pub phase: PhaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PhaseArgs {
    /// Enforce expand/contract: a contract migration ships only once its expand phase has
    /// been live for --min-expand-age and the dropped columns had no reads since
    #[arg(long)]
    pub phase_policy: bool,

    /// When the expand phase went live (RFC 3339 or YYYY-MM-DD); else read from the
    /// migrations table through --database-url
    #[arg(long, value_name = "TIME")]
    pub expand_applied_at: Option<String>,

    /// How long the expand phase must have been live before a contract migration ships
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = gatehouse::duration::duration_arg)]
    pub min_expand_age: Duration,

    /// Database to read the migrations table and pg_stat_statements from (phase policy)
    #[arg(
        long,
        value_name = "URL",
        env = "MIGRATION_GATE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    #[command(flatten)]
    pub timeouts: TimeoutArgs,
}

/// How the dry run copies the source database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum CopyMethod {
    /// TEMPLATE copy; schema-only restore when other sessions use the source
    #[default]
    Auto,
    /// CREATE DATABASE ... TEMPLATE source (with data; needs the source to be idle)
    Template,
    /// pg_dump --schema-only | psql into an empty database (no rows but the migrations
    /// table's)
    Schema,
}

#[derive(Debug, Args)]
pub struct DryRunArgs {
    #[command(flatten)]
    pub migrations: MigrationArgs,

    /// The source database (never written); needs CREATEDB
    #[arg(
        long,
        value_name = "URL",
        env = "MIGRATION_GATE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: String,

    /// How to make the throwaway copy
    #[arg(long, value_enum, default_value_t = CopyMethod::Auto)]
    pub copy: CopyMethod,

    /// Run N concurrent sessions reading and writing the touched tables during the run and
    /// measure the longest time any was blocked
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub with_load: u32,

    /// Fail when a --with-load session was blocked longer than this
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = gatehouse::duration::duration_arg)]
    pub max_blocked: Duration,

    /// Fail when any statement holds a lock blocking writes on an existing table this long
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = gatehouse::duration::duration_arg)]
    pub max_lock_hold: Duration,

    /// Cancel any statement of the dry run that runs longer than this (a migration's own
    /// SET statement_timeout takes over from there, up to this plus --query-timeout, when
    /// the client stops waiting)
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = gatehouse::duration::duration_arg)]
    pub statement_timeout: Duration,

    /// Skip applying the down migrations after the up migrations
    #[arg(long)]
    pub no_rollback: bool,

    /// Keep the copy (for debugging); its name is in the report
    #[arg(long)]
    pub keep_copy: bool,

    #[command(flatten)]
    pub timeouts: TimeoutArgs,
}

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// The database both queries run in (read-only: one REPEATABLE READ READ ONLY transaction)
    #[arg(
        long,
        value_name = "URL",
        env = "MIGRATION_GATE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: String,

    /// The old read path: a SELECT returning the key columns and the compared columns
    #[arg(long, value_name = "QUERY")]
    pub old: String,

    /// The new read path, returning the same columns in the same order
    #[arg(long, value_name = "QUERY")]
    pub new: String,

    /// Key columns (comma-separated), present in both queries under these names
    #[arg(long, value_name = "COLS", value_delimiter = ',', required = true)]
    pub key: Vec<String>,

    /// Fail when the matching fraction is below this (0..=1)
    #[arg(long, value_name = "FRACTION", default_value_t = 1.0)]
    pub min_parity: f64,

    /// Rows per chunk (each chunk reports its key range and mismatches)
    #[arg(long, value_name = "ROWS", default_value_t = 100_000)]
    pub chunk_size: u64,

    /// How many mismatching keys to list
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub sample: u32,

    #[command(flatten)]
    pub timeouts: TimeoutArgs,
}

/// Where Typesense is and how to authenticate; the key is read from an environment variable
/// only, so it never shows in `ps`, shell history or a report.
#[derive(Debug, Clone, Args)]
pub struct TypesenseArgs {
    /// Typesense's URL
    #[arg(long, value_name = "URL", env = "TYPESENSE_URL")]
    pub typesense_url: String,

    /// The environment variable that holds the admin API key
    #[arg(long, value_name = "VAR", default_value = "TYPESENSE_API_KEY")]
    pub api_key_env: String,

    /// Deadline for each request to Typesense (an export of a large collection is one request)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = gatehouse::duration::duration_arg)]
    pub request_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(subcommand)]
    pub command: SearchCommand,
}

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Each alias's newest schema version against the live collection: in place, reindex, hazard
    #[command(after_help = help(concat!(
        "Example:\n",
        "  migration-gate search plan --typesense-url http://127.0.0.1:8108 examples/release/search/\n\n",
        "Schema files are named <alias>.v<N>.yaml (products.v3.yaml) and hold Typesense's own\n",
        "collection schema (fields, default_sorting_field, token_separators, symbols_to_index)\n",
        "plus used_by: [{name, kind: query|scoped_key, fields: [...]}]. Version N is created as\n",
        "the collection <alias>_v<N>. Nothing is changed on the server.\n",
    )))]
    Plan(SearchPlanArgs),

    /// Create the next versioned collection, copy, follow writes, prove parity, optionally flip
    #[command(after_help = help(concat!(
        "Example:\n",
        "  migration-gate search reindex --typesense-url http://127.0.0.1:8108 --alias products \\\n",
        "      --to examples/release/search/products.v3.yaml --updated-field updated_at \\\n",
        "      --canaries examples/release/search/canaries.yaml --max-lag 60s --flip\n\n",
        "Writers stamp --updated-field with unix milliseconds; each catch-up round copies what\n",
        "was written since the previous one, until a round takes less than --max-lag. Deletes\n",
        "are not followed. The flip happens only when count, hash and canaries hold.\n",
    )))]
    Reindex(SearchReindexArgs),

    /// Flip an alias to a collection after checking parity, or --rollback the last flip
    #[command(after_help = help(concat!(
        "Example:\n",
        "  migration-gate search flip --typesense-url http://127.0.0.1:8108 --alias products --to products_v3\n",
        "  migration-gate search flip --typesense-url http://127.0.0.1:8108 --alias products --rollback\n",
    )))]
    Flip(SearchFlipArgs),

    /// Delete an alias's old versioned collections past the retention period
    #[command(after_help = help(concat!(
        "Example:\n",
        "  migration-gate search gc --typesense-url http://127.0.0.1:8108 --alias products --retention 7d\n",
    )))]
    Gc(SearchGcArgs),

    /// Judge API keys against a policy; prove tenant isolation of scoped keys with real searches
    #[command(after_help = help(concat!(
        "Example:\n",
        "  migration-gate search keys --typesense-url http://127.0.0.1:8108 \\\n",
        "      --policy examples/release/search/keys.yaml\n",
    )))]
    Keys(SearchKeysArgs),
}

#[derive(Debug, Args)]
pub struct SearchPlanArgs {
    #[command(flatten)]
    pub typesense: TypesenseArgs,

    /// A directory of <alias>.v<N>.yaml files, or one such file
    #[arg(value_name = "PATH")]
    pub schemas: PathBuf,
}

#[derive(Debug, Args)]
pub struct ParityFlags {
    /// Relevance canaries (YAML: k, queries[{q, query_by, filter_by, sort_by, allow_changed}])
    #[arg(long, value_name = "FILE")]
    pub canaries: Option<PathBuf>,

    /// The field writers stamp with unix milliseconds (int64): how writes are followed
    #[arg(long, value_name = "FIELD")]
    pub updated_field: Option<String>,

    /// How many differing document ids a message names
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub sample: usize,
}

#[derive(Debug, Args)]
pub struct SearchReindexArgs {
    #[command(flatten)]
    pub typesense: TypesenseArgs,

    /// The alias searches go through (its collection is the source)
    #[arg(long, value_name = "NAME")]
    pub alias: String,

    /// The new version's schema file (<alias>.v<N>.yaml)
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,

    /// Fill from this JSON Lines file (a /documents/export) instead of the alias's collection;
    /// creates the alias when it does not exist yet
    #[arg(long, value_name = "FILE", conflicts_with = "source_query")]
    pub source: Option<PathBuf>,

    /// Fill from this PostgreSQL query instead (each row one document; an `id` column)
    #[arg(long, value_name = "SQL", requires = "source_database_url")]
    pub source_query: Option<String>,

    /// The database --source-query runs in
    #[arg(
        long,
        value_name = "URL",
        requires = "source_query",
        hide_env_values = true
    )]
    pub source_database_url: Option<String>,

    #[command(flatten)]
    pub source_timeouts: TimeoutArgs,

    #[command(flatten)]
    pub parity: ParityFlags,

    /// The largest lag at which the copy counts as caught up
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = gatehouse::duration::duration_arg)]
    pub max_lag: Duration,

    /// Catch-up rounds at most (and parity retries while writes are in flight)
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_rounds: u32,

    /// Documents per import request
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub batch: usize,

    /// Flip the alias once parity holds
    #[arg(long)]
    pub flip: bool,

    /// Searches per second through the alias while it runs, counting failures (0: off)
    #[arg(long, value_name = "PER_SECOND", default_value_t = 20.0)]
    pub probe_rate: f64,
}

#[derive(Debug, Args)]
pub struct SearchFlipArgs {
    #[command(flatten)]
    pub typesense: TypesenseArgs,

    /// The alias to flip
    #[arg(long, value_name = "NAME")]
    pub alias: String,

    /// The collection to point it to
    #[arg(long, value_name = "COLLECTION", required_unless_present = "rollback")]
    pub to: Option<String>,

    /// Point the alias back to the collection it pointed to before the last flip
    #[arg(long, conflicts_with = "to")]
    pub rollback: bool,

    /// Flip without comparing the collections first
    #[arg(long)]
    pub no_parity: bool,

    #[command(flatten)]
    pub parity: ParityFlags,
}

#[derive(Debug, Args)]
pub struct SearchGcArgs {
    #[command(flatten)]
    pub typesense: TypesenseArgs,

    /// The alias whose old versions (<alias>_v<N>) are collected
    #[arg(long, value_name = "NAME")]
    pub alias: String,

    /// How long a collection is kept for --rollback after the alias left it
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = gatehouse::duration::duration_arg)]
    pub retention: Duration,

    /// List what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct SearchKeysArgs {
    #[command(flatten)]
    pub typesense: TypesenseArgs,

    /// The key policy (YAML: clients[{name, description, collections, key_env, config}], tenants)
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
}
