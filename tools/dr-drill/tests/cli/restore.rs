//! `restore` from a real pg_basebackup plus WAL archived by archive_command to a local
//! directory: the restored row count equals the source's at the recovery target; Ctrl-C
//! leaves no server and no directory behind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::Postgres;

use crate::{pg_path, run_with};

struct Source {
    pg: Postgres,
    _dir: tempfile::TempDir,
    backup: PathBuf,
    archive: PathBuf,
    root: PathBuf,
    mid: String,
}

/// A server archiving to a directory, 1000 rows, a base backup, then 500 rows more and a
/// WAL switch so the archive has them.
fn source() -> Source {
    let dir = tempfile::Builder::new()
        .prefix("dr-drill-test-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let archive = dir.path().join("wal");
    let pg = crate::archiving_postgres(&archive);
    pg.psql(
        "postgres",
        "CREATE TABLE orders (id int PRIMARY KEY, created_at timestamptz DEFAULT now()); \
         INSERT INTO orders (id) SELECT generate_series(1, 1000)",
    );
    let backup = dir.path().join("base");
    crate::basebackup(&pg, &backup);
    // A recovery target between the 1000 rows and the 500 more (whole seconds apart).
    let mid = pg.psql(
        "postgres",
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    );
    std::thread::sleep(Duration::from_millis(1500));
    pg.psql(
        "postgres",
        "INSERT INTO orders (id) SELECT generate_series(1001, 1500); SELECT pg_switch_wal();",
    );
    let want = pg.psql("postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    // Every segment before the current one is archived.
    let last = prev(&want);
    let deadline = Instant::now() + Duration::from_secs(30);
    while pg.psql(
        "postgres",
        "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver",
    ) < last
    {
        assert!(
            Instant::now() < deadline,
            "the archiver never reached {last}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let root = dir.path().to_path_buf();
    Source {
        pg,
        _dir: dir,
        backup,
        archive,
        root,
        mid,
    }
}

/// The segment name before `name` (same timeline, within one log file in these tests).
fn prev(name: &str) -> String {
    let seg = u32::from_str_radix(&name[16..24], 16).expect("hex");
    format!("{}{:08X}", &name[..16], seg.saturating_sub(1))
}

fn next(name: &str) -> String {
    let seg = u32::from_str_radix(&name[16..24], 16).expect("hex");
    format!("{}{:08X}", &name[..16], seg + 1)
}

fn verify_file(dir: &Path, count: &str) -> PathBuf {
    let p = dir.join("verify.yaml");
    std::fs::write(
        &p,
        format!(
            "database: postgres\nqueries:\n  - {{name: orders restored, sql: \"SELECT count(*) FROM orders\", equals: {count}}}\n  - {{name: some rows, sql: \"SELECT count(*) FROM orders\", min: 1}}\n"
        ),
    )
    .expect("write verify");
    p
}

#[test]
fn slow_restore_replays_the_archive_and_the_count_matches_the_source() {
    let s = source();
    let want = s.pg.psql("postgres", "SELECT count(*) FROM orders");
    assert_eq!(want, "1500");
    let verify = verify_file(&s.root, &want);
    let bin = s.pg.bin_dir().to_path_buf();
    let r = run_with(
        [
            "restore",
            "--backup-dir",
            s.backup.to_str().expect("utf-8"),
            "--wal-archive",
            s.archive.to_str().expect("utf-8"),
            "--verify",
            verify.to_str().expect("utf-8"),
        ],
        Some(&bin),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    let data = &r.report()["data"];
    assert_eq!(data["verify"][0]["value"], "1500", "{data:#}");
    assert!(data["restore_seconds"].as_f64().expect("seconds") > 0.0);
    assert!(data["recovery_point"].is_string(), "{data:#}");
    // Without the archive the backup alone has 1000 rows: the verification fails.
    let r = run_with(
        [
            "restore",
            "--backup-dir",
            s.backup.to_str().expect("utf-8"),
            "--verify",
            verify.to_str().expect("utf-8"),
        ],
        Some(&bin),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.checks_with("restore.verify", "fail").len(),
        1,
        "{}",
        r.failures()
    );
    // The inputs are untouched.
    assert!(!s.backup.join("recovery.signal").exists());
}

/// `dr-drill restore` (TMPDIR `tmp`, its output `captured` or dropped) whose recovery
/// waits: the next segment in the archive is a FIFO nobody writes yet, so restore_command
/// (cp) blocks and the server stays in recovery. The child and the FIFO.
fn stalled_restore(
    s: &Source,
    verify: &Path,
    tmp: &Path,
    captured: bool,
) -> (std::process::Child, PathBuf) {
    let last =
        s.pg.psql("postgres", "SELECT last_archived_wal FROM pg_stat_archiver");
    let fifo = s.archive.join(next(&last));
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let out = || {
        if captured {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        }
    };
    let child = Command::new(crate::bin())
        .args(["restore", "--format", "json", "--backup-dir"])
        .arg(&s.backup)
        .arg("--wal-archive")
        .arg(&s.archive)
        .arg("--verify")
        .arg(verify)
        .env("PATH", pg_path(s.pg.bin_dir()))
        .env("TMPDIR", tmp)
        .stdout(out())
        .stderr(out())
        .spawn()
        .expect("spawn dr-drill");
    (child, fifo)
}

#[test]
fn slow_ctrl_c_during_a_restore_leaves_no_server_and_no_directory() {
    let s = source();
    let verify = verify_file(&s.root, "1500");
    let tmp = crate::drill_tmp();
    let (child, fifo) = stalled_restore(&s, &verify, tmp.path(), true);
    // Wait until its private server runs, then interrupt.
    let (_, pid) = private_server(tmp.path(), Duration::from_secs(60));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    // Release the blocked cp (orphaned when its server went): a writer that closes at once.
    std::thread::spawn(move || drop(std::fs::OpenOptions::new().write(true).open(fifo)));
    crate::assert_interrupted(&out, tmp.path());
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the restored server (pid {pid}) still runs"
    );
}

#[test]
fn slow_restore_to_a_target_time_has_the_rows_of_that_moment() {
    let s = source();
    let verify = verify_file(&s.root, "1000");
    let r = run_with(
        [
            "restore",
            "--backup-dir",
            s.backup.to_str().expect("utf-8"),
            "--wal-archive",
            s.archive.to_str().expect("utf-8"),
            "--verify",
            verify.to_str().expect("utf-8"),
            "--target-time",
            &s.mid,
        ],
        Some(s.pg.bin_dir()),
    );
    assert_eq!(r.code, 0, "{}\n{:#}", r.stderr, r.report());
    assert_eq!(r.check("restore.point")["result"], "ok");
    assert_eq!(r.report()["data"]["target_time"], s.mid.as_str());
}

/// Waits (bounded) until the restore's private server runs under `tmp`: postmaster.pid
/// written and its socket there. Its run directory and the postmaster's pid.
fn private_server(tmp: &Path, within: Duration) -> (PathBuf, u32) {
    let deadline = Instant::now() + within;
    let run_dir = loop {
        let found = std::fs::read_dir(tmp)
            .expect("read tmp")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("data/postmaster.pid").exists() && p.join(".s.PGSQL.5432").exists());
        if let Some(d) = found {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "the restore never started its server"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let pid = std::fs::read_to_string(run_dir.join("data/postmaster.pid"))
        .expect("pid file")
        .lines()
        .next()
        .expect("a line")
        .trim()
        .parse()
        .expect("a pid");
    (run_dir, pid)
}

/// The pids whose working directory is `dir`: a PostgreSQL server's postmaster and every
/// process it forked (they all start in its data directory).
fn pids_in(dir: &Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c == dir))
        .collect()
}

/// Waits (bounded) until none of `pids` runs; the ones still running.
fn still_running(pids: &[u32], within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|p| {
                // A zombie has exited; only its parent's wait is missing.
                std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                    s.rsplit(')')
                        .next()
                        .is_some_and(|t| !t.trim_start().starts_with('Z'))
                })
            })
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn slow_sigkill_during_a_restore_takes_the_server_along_and_the_next_run_sweeps_the_dir() {
    let s = source();
    let verify = verify_file(&s.root, "1500");
    let tmp = crate::drill_tmp();
    let (mut child, fifo) = stalled_restore(&s, &verify, tmp.path(), false);
    let (run_dir, postmaster) = private_server(tmp.path(), Duration::from_secs(60));
    let data_dir = run_dir.join("data");
    let server = pids_in(&data_dir);
    assert!(
        server.contains(&postmaster),
        "postmaster {postmaster} not among the processes in {} ({server:?})",
        data_dir.display()
    );
    let name = run_dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&format!("dr-drill-restore-{}-", child.id())),
        "the temp dir {name} names dr-drill's pid {}",
        child.id()
    );
    child.kill().expect("SIGKILL dr-drill");
    child.wait().expect("reap dr-drill");
    // The postmaster goes (SIGQUIT from the kernel: its parent died).
    assert_eq!(
        still_running(&[postmaster], Duration::from_secs(30)),
        Vec::<u32>::new(),
        "the restored server outlived a SIGKILLed dr-drill"
    );
    // Release the restore_command blocked on the FIFO, then nothing of the server is left.
    let writer = fifo.clone();
    std::thread::spawn(move || drop(std::fs::OpenOptions::new().write(true).open(writer)));
    assert_eq!(
        still_running(&server, Duration::from_secs(30)),
        Vec::<u32>::new(),
        "processes of the restored server are left"
    );
    // No destructor ran: the directory is still there, until the next run.
    assert!(run_dir.is_dir(), "{} is gone already", run_dir.display());
    // The next run replays the whole archive: the FIFO goes (its reader is gone).
    std::fs::remove_file(&fifo).expect("remove the FIFO");
    let out = Command::new(crate::bin())
        .args(["restore", "--format", "json", "--backup-dir"])
        .arg(&s.backup)
        .arg("--wal-archive")
        .arg(&s.archive)
        .arg("--verify")
        .arg(&verify)
        .env("PATH", pg_path(s.pg.bin_dir()))
        .env("TMPDIR", tmp.path())
        .output()
        .expect("dr-drill runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("removed {}", run_dir.display())),
        "no line about the stale dir: {stderr}"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).expect("read tmp").count(),
        0,
        "a stale dir or the second run's dir is left in TMPDIR"
    );
}
