//! The timed PostgreSQL drill (method `local`): a heartbeat row every interval through the
//! service's connection (`target_session_attrs=read-write` over primary and replica), the
//! cut (`pg_ctl stop -m immediate`) at T0, `pg_promote()`, RTO to the first heartbeat the new
//! primary acknowledges, RPO from the heartbeats the old primary acknowledged that the new
//! one lacks. `cutback` rebuilds the old primary with `pg_rewind -R`, switches back (clean
//! stop, promote) and rebuilds the other side the same way, timed too.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use gatehouse::{Check, ReportBuilder};
use serde_json::{Value, json};

use crate::bins;
use crate::checks::CheckId;
use crate::config::{Drill, PgDrill, Target};
use crate::error::{Error, Result};
use crate::pgconn::Pg;
use crate::timeline::Timeline;

/// What the drill was told beyond the config.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub step_timeout: Duration,
    pub settle: Duration,
}

/// One acknowledged heartbeat.
#[derive(Debug, Clone, Copy)]
pub struct Ack {
    pub seq: i64,
    /// The port of the server that acknowledged it (0 when unknown).
    pub port: u16,
    pub at: Instant,
    pub wall: SystemTime,
}

/// What the heartbeat writer saw, shared with the drill.
#[derive(Debug, Default)]
pub struct Beats {
    pub acks: Vec<Ack>,
    pub failures: u64,
    pub last_error: Option<String>,
    pub attempted: i64,
}

pub type Shared = Arc<Mutex<Beats>>;

/// A running writer task; dropping it stops the task.
pub struct Writer {
    pub beats: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Writer {
    pub fn new(beats: Shared, task: tokio::task::JoinHandle<()>) -> Self {
        Self { beats, task }
    }

    pub fn acks(&self) -> Vec<Ack> {
        self.beats
            .lock()
            .map(|b| b.acks.clone())
            .unwrap_or_default()
    }

    /// Waits until a heartbeat is acknowledged after `after`, up to `limit`.
    pub async fn first_ack_after(&self, after: Instant, limit: Duration) -> Option<Ack> {
        self.first_ack(limit, |a| a.at > after).await
    }

    /// The first heartbeat after `after` acknowledged by the server on `port` (the new
    /// primary), waiting up to `limit`.
    pub async fn first_ack_on(&self, port: u16, after: Instant, limit: Duration) -> Option<Ack> {
        self.first_ack(limit, |a| a.at > after && a.port == port)
            .await
    }

    async fn first_ack(&self, limit: Duration, wanted: impl Fn(&Ack) -> bool) -> Option<Ack> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(a) = self.acks().into_iter().find(|a| wanted(a)) {
                return Some(a);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether any heartbeat is acknowledged within `limit` (the warm-up before the cut).
    pub async fn warmed_up(&self, limit: Duration) -> bool {
        self.first_ack_after(Instant::now() - Duration::from_secs(3600), limit)
            .await
            .is_some()
    }

    /// The heartbeats acknowledged up to `t` (the end of the cut).
    pub fn acks_until(&self, t: Instant) -> Vec<Ack> {
        self.acks().into_iter().filter(|a| a.at <= t).collect()
    }

    pub fn summary(&self) -> (i64, u64, Option<String>) {
        self.beats
            .lock()
            .map(|b| (b.attempted, b.failures, b.last_error.clone()))
            .unwrap_or_default()
    }
}

/// The heartbeat writer over PostgreSQL: reconnects through `service` whenever a write
/// fails; a write is acknowledged when the INSERT returns.
pub fn pg_writer(service: Pg, table: String, drill_id: String, interval: Duration) -> Writer {
    let beats: Shared = Arc::default();
    let shared = beats.clone();
    let task = tokio::spawn(async move {
        let sql = format!(
            "INSERT INTO {} (drill_id, seq) VALUES ($1, $2)",
            gatehouse::pg::quote_qualified(&table)
        );
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut client = None;
        let mut port: u16 = 0;
        let mut seq: i64 = 0;
        loop {
            tick.tick().await;
            if client.is_none() {
                match service.connect().await {
                    Ok(c) => {
                        port = c
                            .query_one("SELECT inet_server_port()", &[])
                            .await
                            .ok()
                            .and_then(|r| r.try_get::<_, Option<i32>>(0).ok().flatten())
                            .and_then(|p| u16::try_from(p).ok())
                            .unwrap_or(0);
                        client = Some(c);
                    }
                    Err(e) => {
                        note_failure(&shared, e.to_string());
                        continue;
                    }
                }
            }
            let Some(c) = client.as_ref() else { continue };
            seq += 1;
            if let Ok(mut b) = shared.lock() {
                b.attempted = seq;
            }
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&drill_id, &seq];
            let write = c.execute(sql.as_str(), &params);
            match tokio::time::timeout(Duration::from_secs(2), write).await {
                Ok(Ok(_)) => {
                    if let Ok(mut b) = shared.lock() {
                        b.acks.push(Ack {
                            seq,
                            port,
                            at: Instant::now(),
                            wall: SystemTime::now(),
                        });
                    }
                }
                Ok(Err(e)) => {
                    note_failure(&shared, gatehouse::pg::error_line(&e));
                    client = None;
                }
                Err(_) => {
                    note_failure(&shared, "no acknowledgement within 2s".to_owned());
                    client = None;
                }
            }
        }
    });
    Writer::new(beats, task)
}

pub fn note_failure(shared: &Shared, message: String) {
    if let Ok(mut b) = shared.lock() {
        b.failures += 1;
        b.last_error = Some(message);
    }
}

/// A unique id for this drill's heartbeat rows.
pub fn drill_id(name: &str) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{name}-{}-{}", now.as_millis(), std::process::id())
}

/// RTO/RPO from what the writer saw: `old` are the acks before the cut completed, `present`
/// how many of them the new primary has, `last_present_seq` the newest of them it has.
pub struct Measured {
    pub rto_seconds: f64,
    pub rpo_seconds: f64,
    pub rpo_transactions: u64,
}

pub fn measure(t0: Instant, first_new: Ack, old: &[Ack], present: &[i64]) -> Measured {
    let rto_seconds = first_new.at.duration_since(t0).as_secs_f64();
    let lost: Vec<&Ack> = old.iter().filter(|a| !present.contains(&a.seq)).collect();
    let rpo_seconds = match (lost.last(), lost.first()) {
        (Some(last_lost), Some(first_lost)) => {
            // From the newest ack the new primary still has (or the first lost one) to the
            // newest ack it lost: the window of acknowledged writes that vanished.
            let before = old
                .iter()
                .filter(|a| a.seq < first_lost.seq && present.contains(&a.seq))
                .map(|a| a.at)
                .next_back()
                .unwrap_or(first_lost.at);
            last_lost.at.duration_since(before).as_secs_f64()
        }
        _ => 0.0,
    };
    Measured {
        rto_seconds: round3(rto_seconds),
        rpo_seconds: round3(rpo_seconds),
        rpo_transactions: lost.len() as u64,
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The judged targets and the pinned data names.
pub fn judge(b: &mut ReportBuilder, d: &Drill, m: &Measured) {
    b.check(
        Check::at_most(CheckId::Rto, m.rto_seconds, d.rto.as_secs_f64()).with_message(format!(
            "first write on the new primary {:.3}s after the cut (target {})",
            m.rto_seconds,
            gatehouse::duration::format_duration(d.rto)
        )),
    );
    b.check(
        Check::at_most(CheckId::Rpo, m.rpo_seconds, d.rpo.as_secs_f64()).with_message(format!(
            "{} acknowledged heartbeat(s) lost, {:.3}s of writes (target {})",
            m.rpo_transactions,
            m.rpo_seconds,
            gatehouse::duration::format_duration(d.rpo)
        )),
    );
}

/// The config's primary, replica and the service's view of them (`postgres.service_url`,
/// else both hosts with `target_session_attrs=read-write`), as `path` names them.
pub fn endpoints(cfg: &PgDrill, path: &str) -> Result<(Pg, Pg, Pg)> {
    let t = Duration::from_secs(3);
    let primary = Pg::parse(
        &format!("{path}: postgres.primary.url"),
        &cfg.primary_url,
        t,
    )?;
    let replica = Pg::parse(
        &format!("{path}: postgres.replica.url"),
        &cfg.replica_url,
        t,
    )?;
    let service = match &cfg.service_url {
        Some(u) => Pg::parse(
            &format!("{path}: postgres.service_url"),
            u,
            Duration::from_secs(1),
        )?,
        None => Pg::service(&primary, &replica),
    };
    Ok((primary, replica, service))
}

/// Everything the local method needs, checked before anything is touched.
struct Local {
    primary: Pg,
    replica: Pg,
    service: Pg,
    pg_ctl: std::path::PathBuf,
    pg_rewind: std::path::PathBuf,
    pg_basebackup: std::path::PathBuf,
    logs: tempfile::TempDir,
}

impl Local {
    fn prepare(cfg: &PgDrill, path: &str) -> Result<Self> {
        let (primary, replica, mut service) = endpoints(cfg, path)?;
        if cfg.service_url.is_some() {
            // The heartbeat reconnects quickly, whatever the URL says.
            service.config.connect_timeout(Duration::from_secs(1));
        }
        let bin = cfg.bin_dir.as_deref();
        let pg_ctl = bins::find("pg_ctl", bin)?;
        let pg_rewind = bins::find("pg_rewind", bin)?;
        let pg_basebackup = bins::find("pg_basebackup", bin)?;
        for dir in [&cfg.primary_data, &cfg.replica_data] {
            if !dir.join("PG_VERSION").is_file() {
                return Err(Error::Precheck {
                    server: dir.display().to_string(),
                    message: "not a PostgreSQL data directory (no PG_VERSION)".to_owned(),
                });
            }
        }
        let logs = bins::temp_dir("logs", bins::owner_of(&cfg.primary_data)?)?;
        Ok(Self {
            primary,
            replica,
            service,
            pg_ctl,
            pg_rewind,
            pg_basebackup,
            logs,
        })
    }

    /// `pg_ctl ARGS` on `data` as its owner.
    fn pg_ctl(&self, data: &Path, args: &[&str], what: &str) -> Result<String> {
        let owner = bins::owner_of(data)?;
        let mut cmd = bins::command(&self.pg_ctl, owner);
        cmd.arg("-D").arg(data).args(args);
        let log = self
            .logs
            .path()
            .join(format!("{}.log", what.replace(' ', "-")));
        bins::run(what, cmd, &log)
    }

    /// Starts the server of `data` on `port` (as its owner), waiting until it accepts
    /// connections; its log goes beside the data directory's other logs of this run.
    fn start(&self, data: &Path, port: u16, what: &str, timeout: Duration) -> Result<()> {
        let server_log = self
            .logs
            .path()
            .join(format!("{}-server.log", what.replace(' ', "-")));
        let owner = bins::owner_of(data)?;
        // The server keeps writing its log after we exit: create it as the owner's.
        std::fs::write(&server_log, "").map_err(|e| Error::Io {
            what: server_log.display().to_string(),
            message: e.to_string(),
        })?;
        if let Some(o) = owner {
            let _ = std::os::unix::fs::chown(&server_log, Some(o.uid), Some(o.gid));
        }
        let secs = timeout.as_secs().max(5).to_string();
        let opts = format!("-p {port}");
        let log_arg = server_log.display().to_string();
        self.pg_ctl(
            data,
            &["start", "-w", "-t", &secs, "-o", &opts, "-l", &log_arg],
            what,
        )
        .map_err(|e| match e {
            Error::Command {
                what,
                status,
                message,
            } => Error::Command {
                what,
                status,
                message: format!(
                    "{message}; server log: {}",
                    bins::tail(&std::fs::read_to_string(&server_log).unwrap_or_default())
                ),
            },
            e => e,
        })?;
        Ok(())
    }

    /// `pg_rewind -R` of `target` from `source` (which must be a running primary), as the
    /// target's owner. It also writes `standby.signal` and `primary_conninfo`.
    fn rewind(&self, target: &Path, source: &Pg, what: &str) -> Result<String> {
        let owner = bins::owner_of(target)?;
        let mut cmd = bins::command(&self.pg_rewind, owner);
        cmd.arg("-D")
            .arg(target)
            .arg(format!("--source-server={}", source.conninfo()))
            .args(["-R", "--no-sync"]);
        if let Some(pw) = source.password() {
            cmd.env("PGPASSWORD", pw);
        }
        let log = self
            .logs
            .path()
            .join(format!("{}.log", what.replace(' ', "-")));
        bins::run(what, cmd, &log)
    }

    /// Makes `target` a replica of `source`: `pg_rewind -R`, or when that cannot (the WAL
    /// it needs was archived and recycled, say) a fresh `pg_basebackup -R` into it; the
    /// old contents are moved aside first and removed once the copy is complete.
    fn rebuild(&self, target: &Path, source: &Pg, what: &str) -> Result<(&'static str, String)> {
        let rewind_error = match self.rewind(target, source, &format!("pg_rewind {what}")) {
            Ok(out) => return Ok(("pg_rewind", bins::tail(&out))),
            Err(Error::Command { message, .. }) => message,
            Err(e) => return Err(e),
        };
        let owner = bins::owner_of(target)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let aside = target.with_file_name(format!("{name}.dr-drill-old-{stamp}"));
        std::fs::rename(target, &aside).map_err(|e| Error::Io {
            what: format!("move {} aside", target.display()),
            message: e.to_string(),
        })?;
        let made = std::fs::create_dir(target).and_then(|()| {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o700))?;
            match owner {
                Some(o) => std::os::unix::fs::chown(target, Some(o.uid), Some(o.gid)),
                None => Ok(()),
            }
        });
        made.map_err(|e| Error::Io {
            what: format!(
                "create {} (the old contents are in {})",
                target.display(),
                aside.display()
            ),
            message: e.to_string(),
        })?;
        let mut cmd = bins::command(&self.pg_basebackup, owner);
        cmd.arg("-D")
            .arg(target)
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync", "-d"])
            .arg(source.conninfo());
        if let Some(pw) = source.password() {
            cmd.env("PGPASSWORD", pw);
        }
        let log = self
            .logs
            .path()
            .join(format!("pg_basebackup-{}.log", what.replace(' ', "-")));
        let out = bins::run(
            &format!(
                "pg_basebackup {what} (the old contents are in {})",
                aside.display()
            ),
            cmd,
            &log,
        )?;
        let _ = std::fs::remove_dir_all(&aside);
        Ok((
            "pg_basebackup",
            format!(
                "pg_rewind could not ({rewind_error}); fresh base backup taken {}",
                bins::tail(&out)
            ),
        ))
    }
}

/// The port a data directory's running postmaster listens on (`postmaster.pid` line 4).
fn running_port(data: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    text.lines().nth(3)?.trim().parse().ok()
}

pub async fn is_primary(pg: &Pg) -> Result<bool> {
    let c = pg.connect().await?;
    Ok(pg
        .one(&c, "pg_is_in_recovery", "SELECT pg_is_in_recovery()")
        .await?
        .as_deref()
        == Some("f"))
}

/// Polls `pg` until `sql` returns `want` or `limit` passes.
async fn wait_until(
    pg: &Pg,
    sql: &str,
    want: &str,
    limit: Duration,
    step: &str,
    done: &str,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    let mut last;
    loop {
        match pg.connect().await {
            Ok(c) => match pg.one(&c, step, sql).await {
                Ok(v) if v.as_deref() == Some(want) => return Ok(()),
                Ok(v) => last = format!("{sql} returned {v:?}"),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        if Instant::now() >= deadline {
            return Err(Error::Drill {
                step: step.to_owned(),
                message: format!(
                    "not reached within {}: {last}",
                    gatehouse::duration::format_duration(limit)
                ),
                done: done.to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates the heartbeat table on the primary and waits until the replica has it.
pub async fn ensure_table(primary: &Pg, replica: &Pg, table: &str, limit: Duration) -> Result<()> {
    let c = primary.connect().await?;
    let q = gatehouse::pg::quote_qualified(table);
    primary
        .rows(
            &c,
            "create the heartbeat table",
            &format!(
                "CREATE TABLE IF NOT EXISTS {q} (drill_id text NOT NULL, seq bigint NOT NULL, \
                 written_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (drill_id, seq))"
            ),
        )
        .await?;
    let lit = table.replace('\'', "''");
    wait_until(
        replica,
        &format!("SELECT to_regclass('{lit}') IS NOT NULL"),
        "t",
        limit,
        "replicate the heartbeat table",
        "the heartbeat table was created on the primary; nothing else changed",
    )
    .await
}

/// Which of `seqs` the server behind `pg` has for `drill_id`.
pub async fn present(pg: &Pg, table: &str, drill_id: &str, limit: Duration) -> Result<Vec<i64>> {
    let deadline = Instant::now() + limit;
    loop {
        let got = async {
            let c = pg.connect().await?;
            let rows = pg
                .rows(
                    &c,
                    "read the heartbeats",
                    &format!(
                        "SELECT seq FROM {} WHERE drill_id = '{}' ORDER BY seq",
                        gatehouse::pg::quote_qualified(table),
                        drill_id.replace('\'', "''")
                    ),
                )
                .await?;
            Ok::<_, Error>(
                rows.into_iter()
                    .filter_map(|r| r.into_iter().next().flatten()?.parse().ok())
                    .collect(),
            )
        }
        .await;
        match got {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Runs a blocking step (pg_ctl, pg_rewind) off the runtime so the heartbeat keeps beating.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Io {
            what: "a blocking step".to_owned(),
            message: e.to_string(),
        })?
}

/// How a drill names its heartbeat in the timeline.
pub struct Beat {
    pub one: &'static str,
    pub many: &'static str,
    /// What the attempted count says of them.
    pub attempted: &'static str,
}

pub const PG_BEAT: Beat = Beat {
    one: "heartbeat",
    many: "heartbeats",
    attempted: "written",
};

/// A PostgreSQL drill's heartbeat: a new drill id, the writer through `service` into the
/// config's table (`heartbeat_started`, naming the table when `name_table`), the first
/// acknowledged heartbeat, then ten intervals before the cut. The id and the writer.
pub async fn start_heartbeat(
    tl: &mut Timeline,
    d: &Drill,
    cfg: &PgDrill,
    service: Pg,
    name_table: bool,
    limit: Duration,
    done: &str,
) -> Result<(String, Writer)> {
    let id = drill_id(&d.name);
    let writer = pg_writer(service, cfg.table.clone(), id.clone(), cfg.interval);
    let every = gatehouse::duration::format_duration(cfg.interval);
    tl.step(
        "heartbeat_started",
        if name_table {
            format!("every {every} into {} as {id}", cfg.table)
        } else {
            format!("every {every} as {id}")
        },
    );
    if !writer.warmed_up(limit).await {
        return Err(warm_up_failed(&writer, done));
    }
    tokio::time::sleep(cfg.interval * 10).await;
    Ok((id, writer))
}

/// What the heartbeat writer did by the time it was stopped.
pub struct Stopped {
    pub attempted: i64,
    pub failures: u64,
    /// Every acknowledged heartbeat.
    pub acks: Vec<Ack>,
}

impl Stopped {
    /// `data.heartbeats`: `old` is how many heartbeats the old primary acknowledged.
    pub fn to_json(&self, old: usize, first: &Ack) -> Value {
        json!({"acknowledged_by_old_primary": old, "attempted": self.attempted, "failed_attempts": self.failures, "first_seq_on_new_primary": first.seq})
    }
}

/// After the cut: records the first write on the new primary as `first_step`, lets the
/// heartbeat run `settle` longer, then stops it (`heartbeat_stopped`).
pub async fn stop_heartbeat(
    tl: &mut Timeline,
    writer: Writer,
    beat: &Beat,
    first: Ack,
    first_step: &str,
    settle: Duration,
) -> Stopped {
    tl.at(
        first.at,
        first.wall,
        first_step,
        format!("{} {} acknowledged", beat.one, first.seq),
    );
    tokio::time::sleep(settle).await;
    let (attempted, failures, _) = writer.summary();
    let acks = writer.acks();
    drop(writer);
    tl.step(
        "heartbeat_stopped",
        format!("{attempted} {}, {failures} failed attempts", beat.attempted),
    );
    Stopped {
        attempted,
        failures,
        acks,
    }
}

/// RTO/RPO (see [`measure`]), recorded as `rpo_measured`.
pub fn measure_rpo(
    tl: &mut Timeline,
    beat: &Beat,
    t0: Instant,
    first: Ack,
    old: &[Ack],
    present: &[i64],
) -> Measured {
    let m = measure(t0, first, old, present);
    tl.step(
        "rpo_measured",
        format!(
            "{} of {} acknowledged {} lost",
            m.rpo_transactions,
            old.len(),
            beat.many
        ),
    );
    m
}

/// A drill that moves the primary from `from` to `to`, heartbeats into `table` as `id`;
/// the timeline names the first write on `to` `first_step`.
pub struct Moved<'a> {
    pub from: &'a Pg,
    pub to: &'a Pg,
    pub table: &'a str,
    pub id: &'a str,
    pub first_step: &'a str,
}

/// What a moved drill measured: the first write on `to`, the stopped heartbeat, how many
/// heartbeats `from` acknowledged, RTO/RPO.
pub struct MovedOutcome {
    pub first: Ack,
    pub stopped: Stopped,
    pub old: usize,
    pub m: Measured,
}

impl Moved<'_> {
    /// After the cut at `t0`: waits for the first heartbeat `to` acknowledges (else
    /// `missing`), stops the heartbeat and measures RPO from the heartbeats `from`
    /// acknowledged that `to` lacks.
    pub async fn measure(
        &self,
        tl: &mut Timeline,
        writer: Writer,
        t0: Instant,
        pace: Pace,
        missing: Error,
    ) -> Result<MovedOutcome> {
        let to_port = self.to.port().unwrap_or(5432);
        let Some(first) = writer.first_ack_on(to_port, t0, pace.step_timeout).await else {
            return Err(missing);
        };
        self.conclude(tl, writer, first, t0, pace, None).await
    }

    /// From the first write on `to` on: records it, stops the heartbeat and measures RPO
    /// from `old` (by default the heartbeats `from` acknowledged) that `to` lacks.
    pub async fn conclude(
        &self,
        tl: &mut Timeline,
        writer: Writer,
        first: Ack,
        t0: Instant,
        pace: Pace,
        old: Option<Vec<Ack>>,
    ) -> Result<MovedOutcome> {
        let stopped =
            stop_heartbeat(tl, writer, &PG_BEAT, first, self.first_step, pace.settle).await;
        let from_port = self.from.port().unwrap_or(5432);
        let old: Vec<Ack> = old.unwrap_or_else(|| {
            stopped
                .acks
                .iter()
                .copied()
                .filter(|a| a.port == from_port)
                .collect()
        });
        let have = present(self.to, self.table, self.id, pace.step_timeout).await?;
        let m = measure_rpo(tl, &PG_BEAT, t0, first, &old, &have);
        Ok(MovedOutcome {
            first,
            stopped,
            old: old.len(),
            m,
        })
    }
}

/// `SELECT pg_promote()` on `pg`, waiting up to `limit`; `done` says what had changed
/// when it fails.
async fn promote(tl: &mut Timeline, pg: &Pg, limit: Duration, done: &str) -> Result<()> {
    let failed = |message: String| Error::Drill {
        step: "promote".to_owned(),
        message,
        done: done.to_owned(),
    };
    let c = pg.connect().await.map_err(|e| failed(e.to_string()))?;
    tl.step("promote", format!("SELECT pg_promote() on {}", pg.server));
    let secs = limit.as_secs().max(1);
    let promoted = pg
        .one(
            &c,
            "pg_promote",
            &format!("SELECT pg_promote(true, {secs})"),
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    if promoted.as_deref() != Some("t") {
        return Err(failed(format!("pg_promote returned {promoted:?}")));
    }
    Ok(())
}

pub fn warm_up_failed(w: &Writer, done: &str) -> Error {
    let (_, failures, last) = w.summary();
    Error::Drill {
        step: "heartbeat".to_owned(),
        message: format!(
            "no heartbeat acknowledged before the cut ({failures} failure(s); last: {})",
            last.unwrap_or_default()
        ),
        done: done.to_owned(),
    }
}

/// `dr-drill failover` with method `local`.
pub async fn failover(d: &Drill, cfg: &PgDrill, pace: Pace, b: &mut ReportBuilder) -> Result<()> {
    let local = Local::prepare(cfg, &d.path)?;
    let mut tl = Timeline::new();
    // Prechecks: nothing is touched until the topology is what the config says.
    if !is_primary(&local.primary).await? {
        return Err(Error::Precheck {
            server: local.primary.server.clone(),
            message: "is in recovery, not a primary".to_owned(),
        });
    }
    let rc = local.replica.connect().await?;
    let receiver = local
        .replica
        .one(&rc, "pg_stat_wal_receiver", "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none') || ' ' || pg_is_in_recovery()")
        .await?
        .unwrap_or_default();
    if receiver != "streaming true" {
        return Err(Error::Precheck {
            server: local.replica.server.clone(),
            message: format!("is not a streaming replica (WAL receiver, in recovery: {receiver})"),
        });
    }
    drop(rc);
    let port = local.primary.port().unwrap_or(5432);
    if running_port(&cfg.primary_data) != Some(port) {
        return Err(Error::Precheck {
            server: cfg.primary_data.display().to_string(),
            message: format!(
                "no postmaster.pid for port {port} in it: the data_dir is not the primary's"
            ),
        });
    }
    tl.step(
        "precheck",
        format!(
            "{} is primary, {} streams from it",
            local.primary.server, local.replica.server
        ),
    );
    ensure_table(
        &local.primary,
        &local.replica,
        &cfg.table,
        pace.step_timeout,
    )
    .await?;
    let (id, writer) = start_heartbeat(
        &mut tl,
        d,
        cfg,
        local.service.clone(),
        true,
        pace.step_timeout,
        "the heartbeat table was created; nothing else changed",
    )
    .await?;
    // T0: the cut.
    let t0 = tl.t0(format!(
        "pg_ctl stop -m immediate -D {}",
        cfg.primary_data.display()
    ));
    let data = cfg.primary_data.clone();
    let l_ctl = local.pg_ctl.clone();
    let logs = local.logs.path().to_path_buf();
    blocking(move || {
        let owner = bins::owner_of(&data)?;
        let mut cmd = bins::command(&l_ctl, owner);
        cmd.arg("-D")
            .arg(&data)
            .args(["stop", "-m", "immediate", "-w"]);
        bins::run(
            "pg_ctl stop -m immediate (primary)",
            cmd,
            &logs.join("cut.log"),
        )
    })
    .await
    .map_err(|e| Error::Drill {
        step: "cut".to_owned(),
        message: e.to_string(),
        done: "nothing changed".to_owned(),
    })?;
    let cut_done = tl.step("primary_stopped", "the old primary is down");
    let old = writer.acks_until(cut_done);
    promote(
        &mut tl,
        &local.replica,
        pace.step_timeout,
        "the primary is stopped; the replica is not promoted",
    )
    .await?;
    tl.step("promoted", "pg_promote() returned true");
    let done = "the old primary is stopped and the replica promoted";
    let Some(first) = writer.first_ack_after(cut_done, pace.step_timeout).await else {
        let (_, f, last) = writer.summary();
        return Err(Error::Drill {
            step: "first write on the new primary".to_owned(),
            message: format!(
                "none within {} ({f} failures; last: {})",
                gatehouse::duration::format_duration(pace.step_timeout),
                last.unwrap_or_default()
            ),
            done: done.to_owned(),
        });
    };
    let MovedOutcome {
        stopped, old, m, ..
    } = Moved {
        from: &local.primary,
        to: &local.replica,
        table: &cfg.table,
        id: &id,
        first_step: "first_write_new_primary",
    }
    .conclude(&mut tl, writer, first, t0, pace, Some(old))
    .await?;
    judge(b, d, &m);
    let tli = timeline_id(&local.replica).await.ok();
    b.summary(format!(
        "{}: failover {} -> {}: RTO {:.3}s, RPO {:.3}s ({} transaction(s))",
        d.name,
        local.primary.server,
        local.replica.server,
        m.rto_seconds,
        m.rpo_seconds,
        m.rpo_transactions
    ));
    b.data(data_of(
        d,
        "local",
        &id,
        &m,
        &tl,
        json!({
            "old_primary": local.primary.server,
            "new_primary": local.replica.server,
            "new_timeline": tli,
            "heartbeats": stopped.to_json(old, &first),
        }),
    ));
    Ok(())
}

/// A just-promoted primary writes its new timeline to the control file only at the next
/// checkpoint; pg_rewind reads it there, so force one first (as pg_rewind's docs say).
async fn checkpoint(pg: &Pg) -> Result<()> {
    let c = pg.connect().await?;
    pg.rows(&c, "CHECKPOINT", "CHECKPOINT").await?;
    Ok(())
}

async fn timeline_id(pg: &Pg) -> Result<String> {
    let c = pg.connect().await?;
    Ok(pg
        .one(
            &c,
            "timeline",
            "SELECT timeline_id FROM pg_control_checkpoint()",
        )
        .await?
        .unwrap_or_default())
}

pub fn data_of(
    d: &Drill,
    method: &str,
    id: &str,
    m: &Measured,
    tl: &Timeline,
    extra: Value,
) -> Value {
    let mut v = json!({
        "name": d.name,
        "config": d.path,
        "method": method,
        "drill_id": id,
        "targets": {"rto_seconds": gatehouse::report::number(d.rto.as_secs_f64()), "rpo_seconds": gatehouse::report::number(d.rpo.as_secs_f64())},
        "rto_seconds": gatehouse::report::number(m.rto_seconds),
        "rpo_seconds": gatehouse::report::number(m.rpo_seconds),
        "rpo_transactions": m.rpo_transactions,
        "timeline": tl.to_json(),
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

/// `dr-drill cutback` with method `local`: after a failover the config's replica is the
/// primary; the config's primary comes back as its replica, then the roles switch back.
pub async fn cutback(d: &Drill, cfg: &PgDrill, pace: Pace, b: &mut ReportBuilder) -> Result<()> {
    let local = Local::prepare(cfg, &d.path)?;
    let mut tl = Timeline::new();
    // Prechecks: the failed-over state.
    if !is_primary(&local.replica).await? {
        return Err(Error::Precheck {
            server: local.replica.server.clone(),
            message: "is not a primary: cutback follows a failover (run dr-drill failover first)"
                .to_owned(),
        });
    }
    let primary_port = local.primary.port().unwrap_or(5432);
    let replica_port = local.replica.port().unwrap_or(5432);
    if running_port(&cfg.replica_data) != Some(replica_port) {
        return Err(Error::Precheck {
            server: cfg.replica_data.display().to_string(),
            message: format!(
                "no postmaster.pid for port {replica_port}: the data_dir is not the serving primary's"
            ),
        });
    }
    let old_running = local.primary.connect().await.is_ok();
    if old_running && is_primary(&local.primary).await? {
        return Err(Error::Precheck {
            server: local.primary.server.clone(),
            message: "is also a primary (split brain): stop one by hand first".to_owned(),
        });
    }
    tl.step(
        "precheck",
        format!(
            "{} is primary; {} is {}",
            local.replica.server,
            local.primary.server,
            if old_running {
                "a running replica"
            } else {
                "down"
            }
        ),
    );
    // 1. The old primary becomes a replica of the new one.
    if !old_running {
        checkpoint(&local.replica).await?;
        let (data, src) = (cfg.primary_data.clone(), local.replica.clone());
        let l = Arc::new(local);
        let l2 = l.clone();
        let (method, out) = blocking(move || l2.rebuild(&data, &src, "old primary")).await?;
        tl.step("rebuild_old_primary", format!("{method}: {out}"));
        let (data, t) = (cfg.primary_data.clone(), pace.step_timeout);
        let l2 = l.clone();
        blocking(move || l2.start(&data, primary_port, "start old primary", t)).await?;
        tl.step(
            "old_primary_started",
            format!("as a replica on port {primary_port}"),
        );
        return cutback_switch(d, cfg, pace, b, l, tl).await;
    }
    cutback_switch(d, cfg, pace, b, Arc::new(local), tl).await
}

async fn cutback_switch(
    d: &Drill,
    cfg: &PgDrill,
    pace: Pace,
    b: &mut ReportBuilder,
    local: Arc<Local>,
    mut tl: Timeline,
) -> Result<()> {
    let primary_port = local.primary.port().unwrap_or(5432);
    let replica_port = local.replica.port().unwrap_or(5432);
    let done = "the old primary runs as a replica of the new one";
    wait_until(
        &local.primary,
        "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')",
        "streaming",
        pace.step_timeout,
        "old primary streaming",
        done,
    )
    .await?;
    ensure_table(
        &local.replica,
        &local.primary,
        &cfg.table,
        pace.step_timeout,
    )
    .await?;
    tl.step(
        "old_primary_streaming",
        "caught up with the heartbeat table",
    );
    let (id, writer) = start_heartbeat(
        &mut tl,
        d,
        cfg,
        local.service.clone(),
        false,
        pace.step_timeout,
        done,
    )
    .await?;
    // T0: a planned switch: clean stop (every WAL record reaches the replica), promote.
    let t0 = tl.t0(format!(
        "pg_ctl stop -m fast -D {}",
        cfg.replica_data.display()
    ));
    let (l2, data) = (local.clone(), cfg.replica_data.clone());
    blocking(move || l2.pg_ctl(&data, &["stop", "-m", "fast", "-w"], "stop new primary")).await?;
    let cut_done = tl.step("new_primary_stopped", "clean shutdown");
    let old = writer.acks_until(cut_done);
    promote(
        &mut tl,
        &local.primary,
        pace.step_timeout,
        "the serving primary is stopped; the original primary is not promoted yet",
    )
    .await?;
    tl.step("promoted", "the original primary serves again");
    let done = "the original primary serves; the original replica is stopped";
    let Some(first) = writer.first_ack_after(cut_done, pace.step_timeout).await else {
        return Err(Error::Drill {
            step: "first write after cutback".to_owned(),
            message: "none within the step timeout".to_owned(),
            done: done.to_owned(),
        });
    };
    let MovedOutcome {
        stopped, old, m, ..
    } = Moved {
        from: &local.replica,
        to: &local.primary,
        table: &cfg.table,
        id: &id,
        first_step: "first_write_original_primary",
    }
    .conclude(&mut tl, writer, first, t0, pace, Some(old))
    .await?;
    // 2. The original replica follows the original primary again.
    checkpoint(&local.primary).await?;
    let (data, src, l2) = (
        cfg.replica_data.clone(),
        local.primary.clone(),
        local.clone(),
    );
    let (method, out) = blocking(move || l2.rebuild(&data, &src, "original replica")).await?;
    tl.step("rebuild_original_replica", format!("{method}: {out}"));
    let (data, t, l2) = (cfg.replica_data.clone(), pace.step_timeout, local.clone());
    blocking(move || l2.start(&data, replica_port, "start original replica", t)).await?;
    wait_until(
        &local.replica,
        "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')",
        "streaming",
        pace.step_timeout,
        "original replica streaming",
        done,
    )
    .await?;
    tl.step(
        "topology_restored",
        format!(
            "{} primary on port {primary_port}, {} streaming from it",
            local.primary.server, local.replica.server
        ),
    );
    judge(b, d, &m);
    let pc = local.primary.connect().await?;
    let standbys = local
        .primary
        .one(
            &pc,
            "pg_stat_replication",
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
        )
        .await?
        .unwrap_or_default();
    let primary_ok = is_primary(&local.primary).await?;
    let c = if primary_ok && standbys != "0" {
        Check::ok(CheckId::Topology).with_message(format!(
            "{} takes writes; {standbys} replica(s) stream from it",
            local.primary.server
        ))
    } else {
        Check::fail(
            CheckId::Topology,
            format!("primary writable: {primary_ok}; streaming replicas: {standbys}"),
        )
    };
    b.check(c);
    b.summary(format!(
        "{}: cutback to {}: RTO {:.3}s, RPO {:.3}s ({} transaction(s)); {} streams again",
        d.name,
        local.primary.server,
        m.rto_seconds,
        m.rpo_seconds,
        m.rpo_transactions,
        local.replica.server
    ));
    b.data(data_of(
        d,
        "local",
        &id,
        &m,
        &tl,
        json!({
            "old_primary": local.replica.server,
            "new_primary": local.primary.server,
            "heartbeats": stopped.to_json(old, &first),
        }),
    ));
    Ok(())
}

/// `dr-drill failover` (or `cutback`): the timed drill for the config's target, Ctrl-C
/// included.
pub async fn run(d: &Drill, pace: Pace, cutback: bool, b: &mut ReportBuilder) -> Result<()> {
    let done = "the drill stopped where the timeline ends; check both servers";
    match &d.target {
        Target::Postgres(pg) if pg.commands.is_some() => {
            interruptible(crate::shell::drill(d, pg, pace, cutback, b), done).await
        }
        Target::Postgres(pg) if pg.patroni_url.is_some() => {
            let done = if cutback {
                "the drill stopped where the timeline ends; check GET /cluster"
            } else {
                done
            };
            interruptible(crate::patroni::drill(d, pg, pace, cutback, b), done).await
        }
        Target::Postgres(pg) if cutback => interruptible(self::cutback(d, pg, pace, b), done).await,
        Target::Postgres(pg) => interruptible(failover(d, pg, pace, b), done).await,
        Target::Redis(r) if cutback => {
            interruptible(
                crate::redis_drill::cutback(d, r, pace, b),
                "the drill stopped where the timeline ends; check both servers (CLIENT UNPAUSE)",
            )
            .await
        }
        Target::Redis(r) => interruptible(crate::redis_drill::failover(d, r, pace, b), done).await,
    }
}

/// Runs a drill step, turning Ctrl-C / SIGTERM into an `interrupted` error after the
/// step's future (heartbeat task, temp dirs, private servers) is dropped and cleaned up.
pub async fn interruptible<T, F: std::future::Future<Output = Result<T>>>(
    fut: F,
    done: &str,
) -> Result<T> {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        r = fut => r,
        _ = tokio::signal::ctrl_c() => Err(Error::Interrupted { signal: "SIGINT", done: done.to_owned() }),
        () = term => Err(Error::Interrupted { signal: "SIGTERM", done: done.to_owned() }),
    }
}
