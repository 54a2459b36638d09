//! Finding the PostgreSQL and pgBackRest binaries (a configured directory, else `PATH`) and
//! running them as the data directory's owner when we are root (PostgreSQL refuses to run
//! as root). A missing binary is one line naming it and `scripts/setup.sh`.

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Where a binary is: `dir/name` when `dir` is given, else the first `PATH` entry with it.
pub fn find(name: &str, dir: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = dir {
        let p = dir.join(name);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::MissingBinary {
                binary: name.to_owned(),
                hint: format!(" (nor in {})", dir.display()),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::MissingBinary {
            binary: name.to_owned(),
            hint: String::new(),
        })
}

/// An OS account to run a PostgreSQL binary as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

/// Our effective uid, read from `/proc/self` (no libc call, no unsafe).
pub fn euid() -> u32 {
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// The account to run as for `path`: its owner when we are root and it is not; `None` when
/// no switch is needed (we are not root, or the owner is us).
pub fn owner_of(path: &Path) -> Result<Option<Owner>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        what: path.display().to_string(),
        message: e.to_string(),
    })?;
    if euid() != 0 || meta.uid() == 0 {
        return Ok(None);
    }
    Ok(Some(Owner {
        uid: meta.uid(),
        gid: meta.gid(),
    }))
}

/// `nobody` from /etc/passwd, for a restored cluster when we are root.
pub fn nobody() -> Option<Owner> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() > 3 && f[0] == "nobody" {
            Some(Owner {
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
            })
        } else {
            None
        }
    })
}

/// A command prepared to run as `owner`, from `/` (root's cwd may be closed to it), with
/// English messages.
pub fn command(bin: &Path, owner: Option<Owner>) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir("/")
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .stdin(Stdio::null());
    if let Some(o) = owner {
        cmd.uid(o.uid).gid(o.gid);
    }
    cmd
}

/// Runs `cmd` to completion; its output (stdout and stderr) goes to `log` so that a daemon
/// it leaves behind holds no pipe of ours. A failure quotes the log's last lines.
pub fn run(what: &str, mut cmd: Command, log: &Path) -> Result<String> {
    let file = std::fs::File::create(log).map_err(|e| Error::Io {
        what: log.display().to_string(),
        message: e.to_string(),
    })?;
    let err = file.try_clone().map_err(|e| Error::Io {
        what: log.display().to_string(),
        message: e.to_string(),
    })?;
    cmd.stdout(file).stderr(err);
    let status = cmd.status().map_err(|e| Error::Command {
        what: what.to_owned(),
        status: "not started".to_owned(),
        message: e.to_string(),
    })?;
    let out = std::fs::read_to_string(log).unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        Err(Error::Command {
            what: what.to_owned(),
            status: status.to_string(),
            message: tail(&out),
        })
    }
}

/// The last lines of a log, on one line, redacted.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    // The cause first: the last FATAL/PANIC/error line, then the last lines.
    let cause = lines
        .iter()
        .rev()
        .find(|l| l.contains("FATAL") || l.contains("PANIC") || l.contains("error:"));
    let start = lines.len().saturating_sub(3);
    let mut out: Vec<&str> = cause.into_iter().copied().collect();
    out.extend(lines[start..].iter().filter(|l| Some(*l) != cause));
    gatehouse::redact::redact(&out.join(" | ")).into_owned()
}

/// A private temp dir (removed on drop) that `owner` may write to, named
/// `dr-drill-<kind>-<pid>-<random>` so that a later run can tell a dead run's leftovers (a
/// SIGKILL skips every destructor) from a live run's: see [`sweep_stale`], run first.
pub fn temp_dir(kind: &str, owner: Option<Owner>) -> Result<tempfile::TempDir> {
    sweep_stale(&std::env::temp_dir());
    let dir = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{kind}-{}-", std::process::id()))
        .tempdir()
        .map_err(|e| Error::Io {
            what: format!("a temp dir under {}", std::env::temp_dir().display()),
            message: e.to_string(),
        })?;
    if let Some(o) = owner {
        std::os::unix::fs::chown(dir.path(), Some(o.uid), Some(o.gid)).map_err(|e| Error::Io {
            what: format!("chown {}", dir.path().display()),
            message: e.to_string(),
        })?;
    }
    Ok(dir)
}

const TEMP_PREFIX: &str = "dr-drill-";

/// The pid in a temp dir name made by [`temp_dir`] (`dr-drill-<kind>-<pid>-<random>`).
fn temp_dir_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let mut parts = rest.splitn(3, '-');
    let (_kind, pid, _random) = (parts.next()?, parts.next()?, parts.next()?);
    pid.parse().ok()
}

/// Whether `pid` runs. Any process counts, not only a dr-drill: a reused pid only delays
/// the cleanup, while a wrong "dead" would remove a live run's directory.
fn pid_runs(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the temp dirs of dr-drill runs that are gone (killed with SIGKILL, or the machine
/// lost power), one info line each. A dir whose restored server still runs (its
/// `postmaster.pid` names a live process) is left alone, with a line saying so.
pub fn sweep_stale(under: &Path) {
    let Ok(entries) = std::fs::read_dir(under) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(temp_dir_pid) else {
            continue;
        };
        if pid == std::process::id() || pid_runs(pid) || !e.path().is_dir() {
            continue;
        }
        let path = e.path();
        let server = std::fs::read_to_string(path.join("data").join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
            .filter(|p| pid_runs(*p));
        if let Some(server) = server {
            tracing::info!(
                "left {}: dr-drill pid {pid} is gone but its restored server (pid {server}) still runs",
                path.display()
            );
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => tracing::info!(
                "removed {}, left by dr-drill pid {pid} which is gone",
                path.display()
            ),
            Err(err) => tracing::info!(
                "could not remove {}, left by dr-drill pid {pid}: {err}",
                path.display()
            ),
        }
    }
}

/// `cmd` wrapped in util-linux's `setpriv --pdeathsig SIG --`: the kernel sends `signal` to
/// the child when the thread that spawned it exits, so a SIGKILLed dr-drill takes it along
/// (no destructor runs then). Without `unsafe` there is no `pre_exec` + `prctl` of our own.
/// Spawn from the main thread (dr-drill's runtime is current-thread, so async code runs
/// there): the signal follows the spawning *thread*, not the process. The uid switch of
/// [`command`] happens before `setpriv` runs, so it does not clear the setting.
pub fn dying_with_us(setpriv: &Path, bin: &Path, owner: Option<Owner>, signal: &str) -> Command {
    let mut cmd = command(setpriv, owner);
    cmd.args(["--pdeathsig", signal, "--"]).arg(bin);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dir_names_carry_the_pid() {
        assert_eq!(temp_dir_pid("dr-drill-restore-1234-aB3x9"), Some(1234));
        assert_eq!(temp_dir_pid("dr-drill-logs-77-zz"), Some(77));
        assert_eq!(temp_dir_pid("dr-drill-test-abc"), None);
        assert_eq!(temp_dir_pid("dr-drill-tmp-x-y"), None);
        assert_eq!(temp_dir_pid("other-restore-1-x"), None);
    }
}
