//! Owns `Postgres`: a private PostgreSQL cluster (initdb in a temp dir, the `postgres`
//! server started directly as our child, as `nobody` when we are root) and the `psql`
//! helpers tests use to talk to it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::process::{self, Account, ServerProcess};

const USER: &str = "postgres";
/// Fixed and distinctive, so a test can assert it never leaks into a report or a log.
const PASSWORD: &str = "testkit-pg-secret";
const HOST: &str = "127.0.0.1";

/// Settings that make a throwaway cluster fast. Durability is pointless for a cluster that
/// is deleted at the end of the test; `PgOptions::conf` lines come later and win.
const FAST_SETTINGS: &[&str] = &[
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
];

/// Extra settings for `Postgres::start_with`.
#[derive(Debug, Clone, Default)]
pub struct PgOptions {
    conf: Vec<String>,
}

impl PgOptions {
    /// Appends one `postgresql.conf` line, e.g. `"shared_preload_libraries = 'pg_stat_statements'"`
    /// or `"wal_level = logical"`. Later lines override earlier ones, as in PostgreSQL.
    #[must_use]
    pub fn conf(mut self, line: impl Into<String>) -> Self {
        self.conf.push(line.into());
        self
    }
}

/// A running private PostgreSQL server; dropping it shuts it down and deletes its files.
///
/// Superuser `postgres` with password [`Postgres::password`], scram-sha-256 on TCP
/// `127.0.0.1:`[`Postgres::port`]; the unix socket lives in the temp dir too.
#[derive(Debug)]
pub struct Postgres {
    // Field order matters: the server is stopped before its directory is removed.
    process: ServerProcess,
    /// Held only for its Drop, which deletes the cluster.
    _dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    bin_dir: PathBuf,
}

impl Postgres {
    /// Starts a fresh cluster with default settings (plus fsync off); panics with one clear
    /// line (and the server log's tail) if it cannot.
    pub fn start() -> Self {
        Self::start_with(PgOptions::default())
    }

    /// Starts a fresh cluster with `opts` appended to `postgresql.conf`.
    pub fn start_with(opts: PgOptions) -> Self {
        let bin_dir = bin_dir().to_path_buf();
        let account = process::unprivileged_account();
        let dir = process::temp_dir("pg");
        if let Some(Account { uid, gid }) = account {
            // PostgreSQL wants to own its data dir; it is created inside this one.
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap_or_else(|e| {
                panic!(
                    "testkit: cannot chown {} to uid {uid}: {e}",
                    dir.path().display()
                )
            });
            assert_reachable(dir.path(), uid);
        }
        let data = dir.path().join("data");
        initdb(&bin_dir, dir.path(), &data, account);
        let mut conf = String::from("\n# testkit\nlisten_addresses = '127.0.0.1'\n");
        // The socket goes in the temp dir: private, and no clash with a system PostgreSQL.
        let _ = writeln!(conf, "unix_socket_directories = '{}'", dir.path().display());
        for line in FAST_SETTINGS
            .iter()
            .copied()
            .chain(opts.conf.iter().map(String::as_str))
        {
            let _ = writeln!(conf, "{line}");
        }
        append(&data.join("postgresql.conf"), &conf);

        let log = dir.path().join("postgres.log");
        let (process, port) = process::start_on_free_port(
            "postgres",
            "`SELECT 1` (psql)",
            &log,
            |port| {
                let mut cmd = Command::new(bin_dir.join("postgres"));
                // -p on the command line rather than in postgresql.conf: it changes per attempt
                // and no `conf` line can accidentally move the server off the port we poll.
                cmd.arg("-D").arg(&data).arg("-p").arg(port.to_string());
                cmd.current_dir(dir.path());
                // SIGINT is PostgreSQL's "fast shutdown": roll back, disconnect, exit cleanly.
                ServerProcess::spawn(cmd, &log, account, libc::SIGINT)
            },
            |port| {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                // The cheap TCP check first; psql only once something listens.
                TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
                    && run_psql(&bin_dir, port, "postgres", "SELECT 1").is_ok()
            },
        );
        Self {
            process,
            _dir: dir,
            data,
            port,
            bin_dir,
        }
    }

    /// Always `127.0.0.1`.
    pub fn host(&self) -> &str {
        HOST
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser, `postgres`.
    pub fn user(&self) -> &str {
        USER
    }

    pub fn password(&self) -> &str {
        PASSWORD
    }

    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@{HOST}:{}/{db}", self.port)
    }

    /// Runs `sql` (one or more statements) with
    /// `psql -X -A -t -q -v ON_ERROR_STOP=1` in `db` and returns stdout, trimmed: one line
    /// per row, columns separated by `|`. Panics with psql's stderr on failure.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|stderr| panic!("testkit: psql failed in database {db}: {stderr}"))
    }

    /// Like [`Postgres::psql`], but returns psql's stderr (trimmed) as the error, for tests
    /// that expect a statement to fail.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        run_psql(&self.bin_dir, self.port, db, sql)
    }

    /// `CREATE DATABASE "name"`.
    pub fn create_db(&self, name: &str) {
        let quoted = name.replace('"', "\"\"");
        self.psql("postgres", &format!("CREATE DATABASE \"{quoted}\""));
    }

    /// The cluster's data directory (`PGDATA`).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Where this machine's PostgreSQL client and server binaries are (`pg_dump`,
    /// `pg_basebackup`, ...), matching the server's version.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The postmaster's pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// Creates the cluster: superuser `postgres` with the known password, scram-sha-256 for
/// every connection (local and host, so also replication), C locale, UTF8.
fn initdb(bin_dir: &Path, dir: &Path, data: &Path, account: Option<Account>) {
    let pwfile = dir.join("pwfile");
    std::fs::write(&pwfile, PASSWORD)
        .unwrap_or_else(|e| panic!("testkit: cannot write {}: {e}", pwfile.display()));
    let mut cmd = Command::new(bin_dir.join("initdb"));
    cmd.arg("-D")
        .arg(data)
        .args([
            "-U",
            USER,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
        ])
        // No fsync: the cluster lives only as long as the test.
        .args(["--no-sync", "--no-instructions"])
        .arg(format!("--pwfile={}", pwfile.display()))
        // initdb chdirs nowhere itself; root's cwd may be unreadable to `nobody`.
        .current_dir(dir);
    process::run("initdb", cmd, &dir.join("initdb.log"), account);
    let _ = std::fs::remove_file(&pwfile);
}

/// Panics with a hint when some directory above `dir` is closed to `uid` (a `TMPDIR` under
/// `/root`, say): initdb would otherwise fail with a bare "Permission denied".
fn assert_reachable(dir: &Path, uid: u32) {
    use std::os::unix::fs::MetadataExt as _;
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(ancestor) else {
            continue;
        };
        let traversable =
            meta.mode() & 0o001 != 0 || (meta.uid() == uid && meta.mode() & 0o100 != 0);
        assert!(
            traversable,
            "testkit: {} is not searchable by uid {uid} (nobody), which PostgreSQL runs as \
             under root; point TMPDIR at a world-searchable directory such as /tmp",
            ancestor.display()
        );
    }
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .unwrap_or_else(|e| panic!("testkit: cannot append to {}: {e}", path.display()));
}

pub(crate) fn run_psql(bin_dir: &Path, port: u16, db: &str, sql: &str) -> Result<String, String> {
    let mut child = Command::new(bin_dir.join("psql"))
        .args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            HOST,
            "-U",
            USER,
        ])
        .arg("-p")
        .arg(port.to_string())
        .arg("-d")
        .arg(db)
        .args(["-f", "-"])
        .env("PGPASSWORD", PASSWORD)
        // The caller's libpq settings must not reach our throwaway server (it has no TLS).
        .env_remove("PGSERVICE")
        .env_remove("PGSSLMODE")
        .env_remove("PGOPTIONS")
        .env_remove("PGTARGETSESSIONATTRS")
        .env("PGCONNECT_TIMEOUT", "10")
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}/psql: {e}", bin_dir.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // psql stops reading early when a statement fails; the error is on stderr.
        let _ = stdin.write_all(sql.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot wait for psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The directory with `initdb`, `postgres` and `psql`: `pg_config --bindir`, else the
/// highest `/usr/lib/postgresql/<version>/bin` (Debian's layout), else `PATH`.
pub(crate) fn bin_dir() -> &'static Path {
    static BIN_DIR: OnceLock<PathBuf> = OnceLock::new();
    BIN_DIR.get_or_init(|| {
        let has_server = |dir: &Path| {
            ["initdb", "postgres", "psql"]
                .iter()
                .all(|b| dir.join(b).is_file())
        };
        if let Some(dir) = pg_config_bindir().filter(|d| has_server(d)) {
            return dir;
        }
        if let Some(dir) = debian_bin_dirs().into_iter().find(|d| has_server(d)) {
            return dir;
        }
        let initdb = process::find_binary("initdb");
        let dir = initdb.parent().map(Path::to_path_buf).unwrap_or_default();
        if !dir.join("postgres").is_file() {
            process::missing("postgres");
        }
        dir
    })
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(dir.trim()))
        .filter(|d| !d.as_os_str().is_empty())
}

/// `/usr/lib/postgresql/*/bin`, highest major version first.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    versions.into_iter().map(|(_, dir)| dir).collect()
}
