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
use std::process::Command;

use testkit::cli::{Cmd, Run};
use testkit::{PgOptions, Postgres};

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

/// Lets the server's account (nobody when root) write `dir`.
pub fn open_to_all(dir: &Path) {
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
        .expect("chmod");
}

/// A TMPDIR for dr-drill under /tmp that its private servers can write.
pub fn drill_tmp() -> tempfile::TempDir {
    let tmp = tempfile::Builder::new()
        .prefix("dr-drill-tmp-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    open_to_all(tmp.path());
    tmp
}

/// A server whose archive_command copies each WAL segment into `archive` (created here).
pub fn archiving_postgres(archive: &Path) -> Postgres {
    std::fs::create_dir(archive).expect("mkdir");
    open_to_all(archive);
    Postgres::start_with(PgOptions::default().conf("archive_mode = on").conf(format!(
        "archive_command = 'cp %p {}/%f'",
        archive.display()
    )))
}

/// `pg_basebackup -D dest` of `pg` (WAL fetched, fast checkpoint).
pub fn basebackup(pg: &Postgres, dest: &Path) {
    let out = Command::new(pg.bin_dir().join("pg_basebackup"))
        .arg("-D")
        .arg(dest)
        .args(["-X", "fetch", "-c", "fast", "-h", pg.host()])
        .arg("-p")
        .arg(pg.port().to_string())
        .args(["-U", pg.user()])
        .env("PGPASSWORD", pg.password())
        .output()
        .expect("pg_basebackup runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// dr-drill stopped by a signal: exit 2, an `interrupted` report on stdout, and nothing left
/// in its TMPDIR `tmp`.
pub fn assert_interrupted(out: &std::process::Output, tmp: &Path) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["error"]["kind"], "interrupted", "{report:#}");
    assert_eq!(
        std::fs::read_dir(tmp).expect("read tmp").count(),
        0,
        "dr-drill left files in its TMPDIR"
    );
}
