//! `restore`: copies a plain-format base backup into a private temp data directory (owned
//! by the backup's owner, or `nobody` when that is root), points `restore_command` at the
//! WAL archive, recovers to the target time (or the archive's end), starts a private server
//! on a unix socket only (trust inside a 0700 directory), runs the verification queries and
//! removes everything — also on error and Ctrl-C (the server is our child, killed on drop).

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use gatehouse::{Check, InputError, ReportBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bins::{self, Owner};
use crate::checks::CheckId;
use crate::error::{Error, Result};
use crate::pgconn::Pg;

/// The `--verify` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    #[serde(default = "default_db")]
    pub database: String,
    #[serde(default = "default_user")]
    pub user: String,
    pub queries: Vec<Query>,
}

fn default_db() -> String {
    "postgres".to_owned()
}
fn default_user() -> String {
    "postgres".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub name: String,
    pub sql: String,
    /// The single value must equal this (compared as text).
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// The single value, a number, must be at least this.
    #[serde(default)]
    pub min: Option<f64>,
    /// The single value is a timestamp (epoch seconds or timestamptz) no older than this
    /// before the recovery target (the RPO of the restore).
    #[serde(default)]
    pub max_age_at_target: Option<String>,
}

pub fn load_verify(path: &Path) -> Result<(String, Verify)> {
    let input = gatehouse::input::read(&gatehouse::input::Source::new(path))?;
    let v: Verify = gatehouse::yaml::from_input(&input)?;
    if v.queries.is_empty() {
        return Err(InputError::invalid(input.label(), "queries: at least one").into());
    }
    for q in &v.queries {
        if let Some(d) = &q.max_age_at_target {
            gatehouse::duration::parse_duration(d).map_err(|e| {
                InputError::invalid(
                    input.label(),
                    format!("queries[{}].max_age_at_target: {e}", q.name),
                )
            })?;
        }
    }
    Ok((input.label(), v))
}

pub enum Source {
    BaseBackup(PathBuf),
    PgBackRest {
        stanza: String,
        config: Option<PathBuf>,
    },
}

pub struct Options {
    pub source: Source,
    pub wal_archive: Option<PathBuf>,
    pub target: Option<gatehouse::time::Timestamp>,
    pub rpo: Duration,
    pub max_restore_time: Option<Duration>,
    pub bin_dir: Option<PathBuf>,
    pub timeout: Duration,
}

/// The private server: killed and reaped on drop, before its directory goes.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its children
            // (startup process, restore_command) down with it; SIGKILL would orphan them.
            let _ = std::process::Command::new("kill")
                .args(["-QUIT", &self.child.id().to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |e| Error::Io {
        what,
        message: e.to_string(),
    }
}

/// Copies `from` into `to` (directories and regular files; symlinks as links), chowned.
fn copy_tree(from: &Path, to: &Path, owner: Option<Owner>) -> Result<u64> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(to).map_err(io(to.display().to_string()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))
        .map_err(io(to.display().to_string()))?;
    let mut bytes = 0;
    for e in std::fs::read_dir(from).map_err(io(from.display().to_string()))? {
        let e = e.map_err(io(from.display().to_string()))?;
        let ft = e.file_type().map_err(io(e.path().display().to_string()))?;
        let dest = to.join(e.file_name());
        if ft.is_dir() {
            bytes += copy_tree(&e.path(), &dest, owner)?;
        } else if ft.is_file() {
            bytes += std::fs::copy(e.path(), &dest).map_err(io(e.path().display().to_string()))?;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600))
                .map_err(io(dest.display().to_string()))?;
        } else if ft.is_symlink() {
            let t = std::fs::read_link(e.path()).map_err(io(e.path().display().to_string()))?;
            std::os::unix::fs::symlink(t, &dest).map_err(io(dest.display().to_string()))?;
        }
        if let Some(o) = owner {
            std::os::unix::fs::lchown(&dest, Some(o.uid), Some(o.gid))
                .map_err(io(dest.display().to_string()))?;
        }
    }
    if let Some(o) = owner {
        std::os::unix::fs::chown(to, Some(o.uid), Some(o.gid))
            .map_err(io(to.display().to_string()))?;
    }
    Ok(bytes)
}

fn append(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(io(path.display().to_string()))
}

fn quote_conf(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The restore. Adds `restore.*` checks and returns `data`.
pub async fn restore(
    opts: &Options,
    verify_label: &str,
    verify: &Verify,
    b: &mut ReportBuilder,
) -> Result<Value> {
    let started = Instant::now();
    let bin = opts.bin_dir.as_deref();
    let pgbackrest = match &opts.source {
        Source::PgBackRest { .. } => Some(bins::find("pgbackrest", None)?),
        Source::BaseBackup(_) => None,
    };
    let postgres = bins::find("postgres", bin)?;
    // util-linux: ties the private server (and pgBackRest) to this process, SIGKILL included.
    let setpriv = bins::find("setpriv", None)?;
    if let Source::BaseBackup(dir) = &opts.source
        && !dir.join("backup_manifest").is_file()
        && !dir.join("backup_label").is_file()
    {
        return Err(InputError::invalid(
            dir.display().to_string(),
            "no backup_label or backup_manifest: not a plain-format pg_basebackup directory",
        )
        .into());
    }
    if let Some(a) = &opts.wal_archive
        && !a.is_dir()
    {
        return Err(InputError::invalid(
            a.display().to_string(),
            "--wal-archive is not a directory",
        )
        .into());
    }
    let owner = match &opts.source {
        Source::BaseBackup(dir) => bins::owner_of(dir)?,
        Source::PgBackRest { .. } => None,
    }
    .or(if bins::euid() == 0 {
        bins::nobody()
    } else {
        None
    });
    let tmp = bins::temp_dir("restore", owner)?;
    let data = tmp.path().join("data");
    let mut copied = 0;
    match &opts.source {
        Source::BaseBackup(dir) => {
            copied = copy_tree(dir, &data, owner)?;
            for stale in ["postmaster.pid", "standby.signal", "recovery.signal"] {
                let _ = std::fs::remove_file(data.join(stale));
            }
        }
        Source::PgBackRest { stanza, config } => {
            std::fs::create_dir(&data).map_err(io(data.display().to_string()))?;
            if let Some(o) = owner {
                std::os::unix::fs::chown(&data, Some(o.uid), Some(o.gid))
                    .map_err(io(data.display().to_string()))?;
            }
            // As the data directory's owner: pgBackRest refuses to restore files it cannot
            // give to the cluster's user, and the repository is that user's.
            let mut cmd = bins::dying_with_us(
                &setpriv,
                pgbackrest.as_deref().unwrap_or(Path::new("pgbackrest")),
                owner,
                "TERM",
            );
            cmd.arg(format!("--stanza={stanza}"))
                .arg(format!("--pg1-path={}", data.display()));
            if let Some(c) = config {
                cmd.arg(format!("--config={}", c.display()));
            }
            if let Some(t) = opts.target {
                cmd.args(["--type=time", &format!("--target={}", pg_time(t))])
                    .arg("--target-action=promote");
            }
            cmd.arg("restore");
            bins::run(
                "pgbackrest restore",
                cmd,
                &tmp.path().join("pgbackrest.log"),
            )?;
            if let Some(o) = owner {
                copy_owner(&data, o)?;
            }
        }
    }
    let sock = tmp.path().to_path_buf();
    let mut conf = String::from("\n# dr-drill restore: private, unix socket only\n");
    conf.push_str("listen_addresses = ''\nport = 5432\narchive_mode = off\nhot_standby = on\n");
    conf.push_str(&format!(
        "unix_socket_directories = {}\n",
        quote_conf(&sock.display().to_string())
    ));
    conf.push_str(
        "primary_conninfo = ''\nrecovery_target_action = 'promote'\nlogging_collector = off\n",
    );
    if let Some(a) = &opts.wal_archive {
        conf.push_str(&format!(
            "restore_command = {}\n",
            quote_conf(&format!("cp '{}/%f' '%p'", a.display()))
        ));
    }
    if let (Some(t), Source::BaseBackup(_)) = (opts.target, &opts.source) {
        conf.push_str(&format!(
            "recovery_target_time = {}\n",
            quote_conf(&pg_time(t))
        ));
    }
    append(&data.join("postgresql.auto.conf"), &conf)?;
    std::fs::write(data.join("pg_hba.conf"), "local all all trust\n").map_err(io("pg_hba.conf"))?;
    // Archive recovery needs a restore_command; without an archive the backup's own WAL
    // (pg_basebackup -X fetch/stream) is replayed as crash recovery from backup_label.
    if matches!(opts.source, Source::BaseBackup(_)) && opts.wal_archive.is_some() {
        std::fs::write(data.join("recovery.signal"), "").map_err(io("recovery.signal"))?;
    }
    if let Some(o) = owner {
        for f in ["postgresql.auto.conf", "pg_hba.conf", "recovery.signal"] {
            let _ = std::os::unix::fs::chown(data.join(f), Some(o.uid), Some(o.gid));
        }
    }
    let log = tmp.path().join("postgres.log");
    let logf = std::fs::File::create(&log).map_err(io(log.display().to_string()))?;
    // The postmaster in the foreground as our child, through `setpriv --pdeathsig QUIT`:
    // when dr-drill dies without running a destructor (SIGKILL) the kernel sends SIGQUIT,
    // PostgreSQL's immediate shutdown, which takes the startup process and restore_command
    // down too (SIGKILL would orphan them). Spawned here, on the main thread (the runtime is
    // current-thread), which lives as long as dr-drill: the signal follows that thread.
    let mut cmd = bins::dying_with_us(&setpriv, &postgres, owner, "QUIT");
    cmd.arg("-D")
        .arg(&data)
        .stdout(logf.try_clone().map_err(io("log"))?)
        .stderr(logf);
    let child = cmd.spawn().map_err(|e| Error::Command {
        what: "postgres (restored)".to_owned(),
        status: "not started".to_owned(),
        message: e.to_string(),
    })?;
    let mut server = Server { child };
    let url = format!(
        "host={} port=5432 user={} dbname={}",
        sock.display(),
        verify.user,
        verify.database
    );
    let pg = Pg::parse("restored server", &url, Duration::from_secs(2))?;
    // Ready: accepts connections and has left recovery.
    let deadline = Instant::now() + opts.timeout;
    let client = loop {
        if let Ok(Some(st)) = server.child.try_wait() {
            return Err(Error::Command {
                what: "postgres (restored)".to_owned(),
                status: st.to_string(),
                message: bins::tail(&std::fs::read_to_string(&log).unwrap_or_default()),
            });
        }
        if let Ok(c) = pg.connect().await
            && pg
                .one(&c, "pg_is_in_recovery", "SELECT pg_is_in_recovery()")
                .await
                .ok()
                .flatten()
                .as_deref()
                == Some("f")
        {
            break c;
        }
        if Instant::now() >= deadline {
            return Err(Error::Command {
                what: "postgres (restored)".to_owned(),
                status: "still recovering".to_owned(),
                message: format!(
                    "not done within {}: {}",
                    gatehouse::duration::format_duration(opts.timeout),
                    bins::tail(&std::fs::read_to_string(&log).unwrap_or_default())
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let restore_seconds = crate::drill::round3(started.elapsed().as_secs_f64());
    let point: Option<f64> = pg
        .one(
            &client,
            "recovery point",
            "SELECT extract(epoch FROM pg_last_xact_replay_timestamp())::float8",
        )
        .await?
        .and_then(|s| s.parse().ok());
    let mut results = Vec::new();
    for q in &verify.queries {
        let v = match pg.one(&client, &q.name, &q.sql).await {
            Ok(v) => v,
            Err(e) => {
                b.check(Check::fail(
                    CheckId::RestoreVerify,
                    format!("{verify_label}: {}: {e}", q.name),
                ));
                results.push(json!({"name": q.name, "error": e.to_string()}));
                continue;
            }
        };
        results.push(json!({"name": q.name, "value": v}));
        let text = v.clone().unwrap_or_default();
        if let Some(want) = &q.equals {
            let want_s = match want {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            b.check(if text == want_s {
                Check::ok(CheckId::RestoreVerify)
                    .with_observed(text.clone())
                    .with_limit(want_s)
                    .with_message(q.name.clone())
            } else {
                Check::fail(
                    CheckId::RestoreVerify,
                    format!("{}: {text} != {want_s}", q.name),
                )
                .with_observed(text.clone())
                .with_limit(want_s)
            });
        }
        if let Some(min) = q.min {
            let n: f64 = text.parse().unwrap_or(f64::NAN);
            b.check(Check::at_least(CheckId::RestoreVerify, n, min).with_message(q.name.clone()));
        }
        if let Some(d) = &q.max_age_at_target {
            let limit = gatehouse::duration::parse_duration(d).unwrap_or_default();
            let reference = opts
                .target
                .map(|t| t.unix_millis() as f64 / 1000.0)
                .or(point);
            let ts: Option<f64> = text.parse().ok();
            match (reference, ts) {
                (Some(r), Some(t)) => b.check(
                    Check::at_most(
                        CheckId::RestoreVerify,
                        crate::drill::round3(r - t),
                        limit.as_secs_f64(),
                    )
                    .with_message(format!("{}: newest row vs the recovery target", q.name)),
                ),
                _ => b.check(Check::fail(
                    CheckId::RestoreVerify,
                    format!(
                        "{}: needs an epoch-seconds value and a target ({text:?})",
                        q.name
                    ),
                )),
            };
        }
    }
    // The recovery point against the target (or just reported when recovering to the end).
    match (opts.target, point) {
        (Some(t), Some(p)) => {
            let gap = crate::drill::round3(t.unix_millis() as f64 / 1000.0 - p);
            b.check(
                Check::at_most(CheckId::RestorePoint, gap.max(0.0), opts.rpo.as_secs_f64())
                    .with_message("seconds between the target time and the last replayed commit"),
            );
        }
        (Some(t), None) => {
            // No commit after the backup's start was replayed: the restore holds what the
            // backup held, as of its start.
            let start = match &opts.source {
                Source::BaseBackup(dir) => crate::freshness::backup_time(dir),
                Source::PgBackRest { .. } => 0.0,
            };
            let gap = crate::drill::round3(t.unix_millis() as f64 / 1000.0 - start);
            b.check(
                Check::at_most(CheckId::RestorePoint, gap.max(0.0), opts.rpo.as_secs_f64())
                    .with_message("no commit replayed after the backup: seconds between the target time and the backup's start"),
            );
        }
        (None, _) => {
            b.check(
                Check::ok(CheckId::RestorePoint)
                    .with_message("recovered to the end of the archive"),
            );
        }
    }
    if let Some(max) = opts.max_restore_time {
        b.check(
            Check::at_most(CheckId::RestorePoint, restore_seconds, max.as_secs_f64())
                .with_message("restore time (copy, replay, start)"),
        );
    }
    drop(client);
    drop(server);
    drop(tmp);
    Ok(json!({
        "restore_seconds": restore_seconds,
        "copied_bytes": copied,
        "recovery_point": point.map(|p| gatehouse::time::Timestamp::from_unix_millis((p * 1000.0) as i64).to_rfc3339()),
        "recovery_point_unix": point,
        "target_time": opts.target.map(|t| t.to_rfc3339()),
        "verify": results,
    }))
}

fn copy_owner(dir: &Path, o: Owner) -> Result<()> {
    for e in std::fs::read_dir(dir)
        .map_err(io(dir.display().to_string()))?
        .flatten()
    {
        let p = e.path();
        let _ = std::os::unix::fs::lchown(&p, Some(o.uid), Some(o.gid));
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            copy_owner(&p, o)?;
        }
    }
    Ok(())
}

/// `2026-12-07 16:01:26+00`: how PostgreSQL (and pgBackRest) read a timestamptz.
fn pg_time(t: gatehouse::time::Timestamp) -> String {
    t.to_rfc3339().replace('T', " ").replace('Z', "+00")
}
