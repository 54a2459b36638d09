//! What happens to servers when a test does not end well: it panics (Drop runs during the
//! unwind) or its whole process is SIGKILLed (no Drop runs; the kernel's parent-death
//! signal has to do it).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{Postgres, Redis};

use crate::{assert_cleaned_up, is_running, wait_until};

#[test]
fn a_panicking_test_still_stops_its_servers() {
    let mut started: Vec<(u32, PathBuf)> = Vec::new();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let pg = Postgres::start();
        let pg_dir = pg
            .data_dir()
            .parent()
            .expect("data dir has a parent")
            .to_path_buf();
        started.push((pg.pid(), pg_dir));
        let redis = Redis::start();
        started.push((redis.pid(), redis.dir().to_path_buf()));
        assert!(started.iter().all(|(pid, _)| is_running(*pid)));
        panic!("the test body fails while both servers run");
    }));
    assert!(caught.is_err());
    assert_eq!(started.len(), 2);
    for (pid, dir) in &started {
        assert_cleaned_up(*pid, dir);
    }
}

/// Env var that turns `holds_servers_until_killed` from a no-op into the helper.
const PIDFILE_VAR: &str = "TESTKIT_HOLD_PIDFILE";

#[test]
fn servers_die_when_the_test_process_is_sigkilled() {
    let report = tempfile::NamedTempFile::new().expect("a temp file");
    let mut helper = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([
            "--exact",
            "cleanup::holds_servers_until_killed",
            "--nocapture",
        ])
        .env(PIDFILE_VAR, report.path())
        .stdout(Stdio::null())
        .spawn()
        .expect("re-run this test binary as the helper");
    let mut lines = Vec::new();
    wait_until(
        "the helper reports its servers",
        Duration::from_secs(60),
        || {
            let text = std::fs::read_to_string(report.path()).unwrap_or_default();
            lines = text.lines().map(str::to_owned).collect();
            text.ends_with("done\n")
        },
    );
    let servers: Vec<(u32, PathBuf)> = lines
        .iter()
        .filter_map(|line| line.split_once(' '))
        .map(|(pid, dir)| (pid.parse().expect("a pid"), PathBuf::from(dir)))
        .collect();
    assert_eq!(servers.len(), 2, "{lines:?}");
    // PostgreSQL's own children (checkpointer, walwriter, ...) must go too.
    let postmaster_children = children_of(servers[0].0);
    assert!(!postmaster_children.is_empty());

    helper.kill().expect("SIGKILL the helper");
    helper.wait().expect("reap the helper");
    for pid in servers
        .iter()
        .map(|(pid, _)| *pid)
        .chain(postmaster_children)
    {
        wait_until(
            &format!("process {pid} is gone"),
            Duration::from_secs(10),
            || !is_running(pid),
        );
    }
    // No Drop ran, so the temp dirs are left behind; remove them here.
    for (_, dir) in servers {
        std::fs::remove_dir_all(&dir).expect("remove the helper's temp dir");
    }
}

/// A helper, not a test: `servers_die_when_the_test_process_is_sigkilled` runs this test
/// binary again with `PIDFILE_VAR` set, and this starts servers, reports them and blocks
/// until it is killed. Without the variable it returns at once.
#[test]
fn holds_servers_until_killed() {
    let Some(report) = std::env::var_os(PIDFILE_VAR) else {
        return;
    };
    let pg = Postgres::start();
    let redis = Redis::start();
    let pg_dir = pg
        .data_dir()
        .parent()
        .expect("data dir has a parent")
        .display()
        .to_string();
    let text = format!(
        "{} {pg_dir}\n{} {}\ndone\n",
        pg.pid(),
        redis.pid(),
        redis.dir().display()
    );
    std::fs::write(report, text).expect("write the report");
    loop {
        std::thread::park();
    }
}

fn children_of(parent: u32) -> Vec<u32> {
    let entries = std::fs::read_dir("/proc").expect("/proc is mounted");
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The parent pid is the second field after the parenthesised command name.
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok())
                == Some(parent)
        })
        .collect()
}
