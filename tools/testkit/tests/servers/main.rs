//! One test binary for testkit: each module starts the real server it is named after and
//! checks what a test relies on — it answers, it is ours, and it is gone after drop.

mod cleanup;
mod metrics;
mod postgres;
mod prometheus;
mod redis;

use std::path::Path;
use std::time::{Duration, Instant};

/// Whether `pid` is a live process (a zombie, already dead but not yet reaped, is not).
pub fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// Asserts that `pid` is gone and `dir` is deleted, as after dropping a handle.
pub fn assert_cleaned_up(pid: u32, dir: &Path) {
    assert!(!is_running(pid), "process {pid} still runs after drop");
    assert!(!dir.exists(), "{} still exists after drop", dir.display());
}

/// Polls `done` every 50 ms until it is true; panics after `timeout` naming `what`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "gave up after {timeout:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The real uid a process runs as, from `/proc/PID/status`.
pub fn uid_of(pid: u32) -> u32 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process is running");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .expect("/proc/PID/status has a Uid line")
}

/// The text of a panic payload caught by `catch_unwind`.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}
