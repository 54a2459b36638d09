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

/// A private temp dir (removed on drop) that `owner` may write to.
pub fn temp_dir(prefix: &str, owner: Option<Owner>) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
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
