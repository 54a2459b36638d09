//! Owns `PgPair`: a testkit [`Postgres`] primary and a streaming replica made from it with
//! `pg_basebackup -R` (as `nobody` when root), synchronous or asynchronous, optionally with
//! `recovery_min_apply_delay` — the topology dr-drill's failover and cutback drills need.
//!
//! Both servers start as our children (killed with the test), on the ports their URLs name.
//! A drill restarts servers with `pg_ctl` (daemons, not our children), so Drop first stops
//! whatever runs on either data directory with `pg_ctl stop -m immediate`, then the
//! children, then removes the directories.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::postgres::{PgOptions, Postgres, run_psql};
use crate::process::{self, Account, ServerProcess};

/// How the pair replicates.
#[derive(Debug, Clone, Default)]
pub struct PgPairOptions {
    sync: bool,
    apply_delay: Option<String>,
    primary_conf: Vec<String>,
}

impl PgPairOptions {
    /// Synchronous replication: `synchronous_standby_names = '*'` and
    /// `synchronous_commit = on` on the primary (set after the base backup, so the replica
    /// does not inherit them and can take writes once promoted).
    #[must_use]
    pub fn synchronous(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// `recovery_min_apply_delay` on the replica, e.g. `"2s"`.
    #[must_use]
    pub fn apply_delay(mut self, delay: impl Into<String>) -> Self {
        self.apply_delay = Some(delay.into());
        self
    }

    /// One more `postgresql.conf` line for the primary (the replica copies it).
    #[must_use]
    pub fn primary_conf(mut self, line: impl Into<String>) -> Self {
        self.primary_conf.push(line.into());
        self
    }
}

/// A running primary and its streaming replica; dropping it stops both and deletes them.
#[derive(Debug)]
pub struct PgPair {
    // Field order matters: the replica's process stops before its directory goes, and
    // both before the primary (whose temp dir holds the shared unix socket).
    replica: Option<ServerProcess>,
    replica_dir: tempfile::TempDir,
    replica_data: PathBuf,
    replica_port: u16,
    primary: Postgres,
    account: Option<Account>,
}

impl PgPair {
    /// Starts the primary (with `wal_log_hints` and `full_page_writes` on, so `pg_rewind`
    /// works), takes a base backup and starts the replica; returns once the replica
    /// streams. Panics with one line and the log tail if it cannot.
    pub fn start(opts: PgPairOptions) -> Self {
        let mut pg = PgOptions::default()
            .conf("wal_level = replica")
            .conf("full_page_writes = on")
            .conf("wal_log_hints = on")
            .conf("max_wal_senders = 10")
            .conf("hot_standby = on")
            .conf("wal_keep_size = '256MB'");
        for line in &opts.primary_conf {
            pg = pg.conf(line.clone());
        }
        let primary = Postgres::start_with(pg);
        let account = process::unprivileged_account();
        let replica_dir = process::temp_dir("pg-replica");
        if let Some(Account { uid, gid }) = account {
            std::os::unix::fs::chown(replica_dir.path(), Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("testkit: cannot chown the replica dir: {e}"));
        }
        let replica_data = replica_dir.path().join("data");
        let mut cmd = Command::new(primary.bin_dir().join("pg_basebackup"));
        cmd.arg("-D")
            .arg(&replica_data)
            .args(["-R", "-X", "stream", "-c", "fast", "-h", primary.host()])
            .arg("-p")
            .arg(primary.port().to_string())
            .args(["-U", primary.user()])
            .env("PGPASSWORD", primary.password())
            .current_dir(replica_dir.path());
        process::run(
            "pg_basebackup",
            cmd,
            &replica_dir.path().join("basebackup.log"),
            account,
        );
        let mut conf = String::from("\n# testkit replica\nhot_standby = on\n");
        if let Some(delay) = &opts.apply_delay {
            conf.push_str(&format!("recovery_min_apply_delay = '{delay}'\n"));
        }
        append(&replica_data.join("postgresql.conf"), &conf);
        if opts.sync {
            primary.psql(
                "postgres",
                "ALTER SYSTEM SET synchronous_standby_names = '*'; \
                 ALTER SYSTEM SET synchronous_commit = on; SELECT pg_reload_conf();",
            );
        }
        let log = replica_dir.path().join("postgres.log");
        let bin = primary.bin_dir().to_path_buf();
        let (replica, replica_port) = process::start_on_free_port(
            "postgres (replica)",
            "`SELECT 1` and a streaming WAL receiver",
            &log,
            |port| {
                let mut cmd = Command::new(bin.join("postgres"));
                cmd.arg("-D")
                    .arg(&replica_data)
                    .arg("-p")
                    .arg(port.to_string())
                    .current_dir(replica_dir.path());
                ServerProcess::spawn(cmd, &log, account, libc::SIGINT)
            },
            |port| {
                run_psql(
                    &bin,
                    port,
                    "postgres",
                    "SELECT status FROM pg_stat_wal_receiver",
                )
                .is_ok_and(|s| s == "streaming")
            },
        );
        let pair = Self {
            replica: Some(replica),
            replica_dir,
            replica_data,
            replica_port,
            primary,
            account,
        };
        if opts.sync {
            pair.wait_primary(
                "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
                "1",
            );
        }
        pair
    }

    /// The primary (a plain testkit [`Postgres`]: `psql`, `url`, `data_dir`, `bin_dir`).
    pub fn primary(&self) -> &Postgres {
        &self.primary
    }

    pub fn replica_port(&self) -> u16 {
        self.replica_port
    }

    /// `postgres://postgres:PASSWORD@127.0.0.1:REPLICA_PORT/db`.
    pub fn replica_url(&self, db: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{db}",
            self.primary.user(),
            self.primary.password(),
            self.replica_port
        )
    }

    pub fn replica_data_dir(&self) -> &Path {
        &self.replica_data
    }

    /// `psql` against the replica's port (whichever role it has now).
    pub fn try_psql_replica(&self, db: &str, sql: &str) -> Result<String, String> {
        run_psql(self.primary.bin_dir(), self.replica_port, db, sql)
    }

    /// `psql` against the primary's port (whichever role it has now); unlike
    /// `primary().psql` it does not panic.
    pub fn try_psql_primary(&self, db: &str, sql: &str) -> Result<String, String> {
        run_psql(self.primary.bin_dir(), self.primary.port(), db, sql)
    }

    /// Polls the primary until `sql` returns `want` (at most 30 s), or panics.
    pub fn wait_primary(&self, sql: &str, want: &str) {
        wait_for(|| self.try_psql_primary("postgres", sql), sql, want);
    }

    /// Polls the replica until `sql` returns `want` (at most 30 s), or panics.
    pub fn wait_replica(&self, sql: &str, want: &str) {
        wait_for(|| self.try_psql_replica("postgres", sql), sql, want);
    }

    fn pg_ctl_stop(&self, data: &Path) {
        if !data.join("postmaster.pid").exists() {
            return;
        }
        let mut cmd = Command::new(self.primary.bin_dir().join("pg_ctl"));
        cmd.arg("-D")
            .arg(data)
            .args(["stop", "-m", "immediate", "-w", "-t", "20"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir(self.replica_dir.path());
        if let Some(Account { uid, gid }) = self.account {
            cmd.uid(uid).gid(gid);
        }
        let _ = cmd.status();
    }
}

fn wait_for(mut ask: impl FnMut() -> Result<String, String>, sql: &str, want: &str) {
    let deadline = Instant::now() + process::READY_TIMEOUT;
    let mut last = Err(String::new());
    while Instant::now() < deadline {
        last = ask();
        if last.as_deref() == Ok(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("testkit: `{sql}` did not return {want:?} within 30s; last: {last:?}");
}

impl Drop for PgPair {
    fn drop(&mut self) {
        // Servers a drill restarted with pg_ctl are not our children: stop them by data dir.
        self.pg_ctl_stop(&self.replica_data);
        self.pg_ctl_stop(self.primary.data_dir());
        self.replica.take();
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap_or_else(|e| panic!("testkit: cannot append to {}: {e}", path.display()));
}
