//! dr-drill's process-level tests: the built binary against real PostgreSQL primaries and
//! streaming replicas (testkit::PgPair), real Redis pairs and real backups.

mod bad_input;
mod checks;
mod drill;
mod freshness;
mod patroni;
mod pgbackrest;
mod redis;
mod restore;

use std::path::{Path, PathBuf};

use testkit::cli::{Cmd, Run};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dr-drill")
}

/// PATH with the PostgreSQL server binaries first (Debian keeps them off PATH).
pub fn pg_path(pg_bin: &Path) -> String {
    format!(
        "{}:{}",
        pg_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `dr-drill ARGS --format json` with `pg_bin` first on PATH, stdout checked against the
/// schemas.
pub fn run_with<I, S>(args: I, pg_bin: Option<&Path>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = Cmd::new(bin())
        .args(args)
        .args(["--format", "json"])
        .env_remove("DATABASE_URL")
        .env_remove("PGPASSWORD")
        .validate_stdout();
    if let Some(p) = pg_bin {
        c = c.env("PATH", pg_path(p));
    }
    c.run()
}

pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run_with(args, None)
}

/// A drill config for a testkit pair.
pub fn pair_config(dir: &Path, pair: &testkit::PgPair, extra: &str) -> PathBuf {
    let p = pair.primary();
    let text = format!(
        "name: test-db\nallow_destructive: true\ntargets: {{rto: 60s, rpo: 5m}}\n{extra}postgres:\n  method: local\n  primary: {{url: \"{}\", data_dir: \"{}\"}}\n  replica: {{url: \"{}\", data_dir: \"{}\"}}\n  heartbeat: {{table: dr_drill_heartbeat, interval: 100ms}}\n",
        p.url("postgres"),
        p.data_dir().display(),
        pair.replica_url("postgres"),
        pair.replica_data_dir().display()
    );
    let path = dir.join("drill.yaml");
    std::fs::write(&path, text).expect("write the drill config");
    path
}
