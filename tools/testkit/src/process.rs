//! Owns everything about a server *process*: finding its binary, the temp dir it lives in,
//! spawning it as our child (optionally as `nobody`, always with a parent-death signal),
//! waiting for it to answer, retrying on a stolen port, and stopping it on drop. The
//! per-server modules only say which binary, which flags, and how to ask "are you up?".
//!
//! This is the crate's only module with `unsafe`: `pre_exec` and three libc calls.
#![expect(
    unsafe_code,
    reason = "pre_exec + prctl(PR_SET_PDEATHSIG), kill(2) and getpwnam_r have no safe std wrapper"
)]

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a server gets to answer after it was spawned.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server gets to shut down after its stop signal before it is SIGKILLed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Pause between two readiness probes: short, because a probe is cheap and startup is fast.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How many fresh ports a start tries before giving up on "address already in use".
const PORT_ATTEMPTS: usize = 5;
/// How many lines of a server's log a startup panic quotes.
const LOG_TAIL_LINES: usize = 25;

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is found by binding `127.0.0.1:0`, so another process may take it before the
/// server binds; every `start` in this crate therefore retries on "address already in use".
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .unwrap_or_else(|e| panic!("testkit: cannot bind 127.0.0.1:0 to find a free port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("testkit: cannot read the address of a bound socket: {e}"))
        .port()
}

/// Panics with the one-line hint every missing binary gets.
pub(crate) fn missing(binary: &str) -> ! {
    panic!("testkit: {binary} not found; run scripts/setup.sh")
}

/// Finds `name` on `PATH`, or panics with the setup hint.
pub(crate) fn find_binary(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_in(name, std::env::split_paths(&path)).unwrap_or_else(|| missing(name))
}

/// The first `dir/name` that is a file, in `dirs` order.
pub(crate) fn find_in(name: &str, dirs: impl IntoIterator<Item = PathBuf>) -> Option<PathBuf> {
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A fresh `gatehouse-testkit-*` directory under the system temp dir, removed on drop.
pub(crate) fn temp_dir(server: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("gatehouse-testkit-{server}-"))
        .tempdir()
        .unwrap_or_else(|e| {
            panic!(
                "testkit: cannot create a temp dir under {}: {e}",
                std::env::temp_dir().display()
            )
        })
}

/// An OS account to run a server as.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Account {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// `nobody` when this process is root (PostgreSQL refuses to run as root), else `None`:
/// an ordinary user runs the server as itself.
pub(crate) fn unprivileged_account() -> Option<Account> {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let account = lookup_account("nobody").unwrap_or_else(|| {
        panic!("testkit: running as root but there is no `nobody` user to run PostgreSQL as")
    });
    Some(account)
}

fn lookup_account(name: &str) -> Option<Account> {
    let name = CString::new(name).ok()?;
    // SAFETY: `passwd` is plain old data; all-zero is a valid (if meaningless) value, and
    // getpwnam_r overwrites it before we read it.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf.len()` is the buffer's real size;
    // the strings in `entry` point into `buf`, which we never read through.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut entry,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    (rc == 0 && !found.is_null()).then_some(Account {
        uid: entry.pw_uid,
        gid: entry.pw_gid,
    })
}

/// Sends `signal` to `pid`; false if there is no such process (any more).
pub(crate) fn send_signal(pid: u32, signal: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) only reads its arguments; `pid` is a positive child pid we own.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Makes `cmd` a well-behaved child: output into `log`, running as `account`, and killed by
/// the kernel when the thread that spawned it dies — even on SIGKILL, when no Drop runs.
fn prepare(cmd: &mut Command, log: &Path, account: Option<Account>) {
    let out = File::create(log)
        .unwrap_or_else(|e| panic!("testkit: cannot create log {}: {e}", log.display()));
    let err = out
        .try_clone()
        .unwrap_or_else(|e| panic!("testkit: cannot dup log {}: {e}", log.display()));
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    // English messages: readiness and "address already in use" are recognised by their text.
    cmd.env("LC_ALL", "C").env("LANG", "C");
    if let Some(Account { uid, gid }) = account {
        // std does setgroups(0)/setgid/setuid in the child, *before* the pre_exec closure.
        cmd.uid(uid).gid(gid);
    }
    let parent = libc::pid_t::try_from(std::process::id()).expect("a pid fits in pid_t");
    // SAFETY: the closure runs between fork and exec, so it must be async-signal-safe: it
    // only makes two syscalls and builds an io::Error from an errno, without allocating.
    unsafe {
        cmd.pre_exec(move || {
            // After setuid on purpose: a credential change clears the parent-death signal.
            // The "parent" is the spawning *thread*, so a server dies with its test's thread.
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl; then nobody will signal us.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Runs a one-shot command (like `initdb`) to completion, or panics quoting its log.
pub(crate) fn run(what: &str, mut cmd: Command, log: &Path, account: Option<Account>) {
    prepare(&mut cmd, log, account);
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("testkit: cannot run {what} ({cmd:?}): {e}"));
    if !status.success() {
        panic!(
            "testkit: {what} failed ({status}); last lines of {}:\n{}",
            log.display(),
            log_tail(log)
        );
    }
}

/// The last lines of a log file, for panic messages.
pub(crate) fn log_tail(log: &Path) -> String {
    match std::fs::read_to_string(log) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            lines[start..].join("\n")
        }
        Err(e) => format!("(cannot read the log: {e})"),
    }
}

/// A running server that is our child. Dropping it stops the server: `stop_signal`, up to
/// `STOP_GRACE` to exit, then SIGKILL, and always a `wait` so no zombie is left behind.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    stop_signal: libc::c_int,
}

/// Why a server did not come up.
#[derive(Debug)]
pub(crate) enum StartError {
    /// It exited before answering; its log says why.
    Exited(ExitStatus),
    /// It kept running but never answered within `READY_TIMEOUT`.
    TimedOut,
}

impl ServerProcess {
    /// Spawns `cmd` with output to `log`; `stop_signal` is what Drop sends first.
    pub(crate) fn spawn(
        mut cmd: Command,
        log: &Path,
        account: Option<Account>,
        stop_signal: libc::c_int,
    ) -> Self {
        prepare(&mut cmd, log, account);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("testkit: cannot spawn {cmd:?}: {e}"));
        Self { child, stop_signal }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `answers` until it returns true, the process exits, or `READY_TIMEOUT` passes.
    pub(crate) fn wait_ready(
        &mut self,
        mut answers: impl FnMut() -> bool,
    ) -> Result<(), StartError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StartError::Exited(status));
            }
            if answers() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StartError::TimedOut);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        send_signal(self.pid(), self.stop_signal);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        // It ignored the polite signal: Child::kill is SIGKILL, then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a server on a fresh port, retrying with another port when the chosen one was
/// taken in between. `spawn` starts the process for a port; `answers` asks it whether it
/// is up. `what` names the server and `probe` what was waited for, for the panic message.
pub(crate) fn start_on_free_port(
    what: &str,
    probe: &str,
    log: &Path,
    mut spawn: impl FnMut(u16) -> ServerProcess,
    mut answers: impl FnMut(u16) -> bool,
) -> (ServerProcess, u16) {
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port();
        let mut process = spawn(port);
        let failure = match process.wait_ready(|| answers(port)) {
            Ok(()) => return (process, port),
            Err(StartError::Exited(status)) => {
                let tail = log_tail(log);
                if tail.to_ascii_lowercase().contains("address already in use") {
                    continue;
                }
                format!("exited ({status}) before answering {probe} on 127.0.0.1:{port}")
            }
            Err(StartError::TimedOut) => format!(
                "did not answer {probe} on 127.0.0.1:{port} within {}s",
                READY_TIMEOUT.as_secs()
            ),
        };
        // Stop it (via Drop) before quoting the log, so the log is complete.
        drop(process);
        panic!(
            "testkit: {what} {failure}; last lines of {}:\n{}",
            log.display(),
            log_tail(log)
        );
    }
    panic!(
        "testkit: {what}: {PORT_ATTEMPTS} free ports in a row were taken before it could bind one; \
         last lines of {}:\n{}",
        log.display(),
        log_tail(log)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_in_returns_the_first_directory_that_has_the_file() {
        let a = temp_dir("unit");
        let b = temp_dir("unit");
        std::fs::write(b.path().join("tool"), "").expect("write a file in a fresh temp dir");
        let found = find_in("tool", [a.path().to_path_buf(), b.path().to_path_buf()]);
        assert_eq!(found, Some(b.path().join("tool")));
        assert_eq!(find_in("absent", [a.path().to_path_buf()]), None);
    }

    #[test]
    #[should_panic(expected = "testkit: no-such-server-binary not found; run scripts/setup.sh")]
    fn a_missing_binary_panics_with_the_setup_hint() {
        find_binary("no-such-server-binary");
    }

    #[test]
    fn log_tail_keeps_only_the_last_lines() {
        let dir = temp_dir("unit");
        let log = dir.path().join("x.log");
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&log, text).expect("write a log in a fresh temp dir");
        let tail = log_tail(&log);
        assert!(tail.starts_with("line 75\n"), "{tail}");
        assert!(tail.ends_with("line 99"), "{tail}");
    }

    #[test]
    fn free_port_can_be_bound_again() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("the port was just free");
    }
}
