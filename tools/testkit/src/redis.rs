//! Owns `Redis`: a private `redis-server` on a free loopback port, without persistence
//! unless asked, and the `redis-cli` helper tests use to talk to it.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{self, ServerProcess};

/// Extra settings for `Redis::start_with`.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    persistent: bool,
    args: Vec<String>,
}

impl RedisOptions {
    /// Turns on the append-only file and RDB snapshots (in [`Redis::dir`]), for tests of
    /// what survives a restart. Off by default: persistence only slows a throwaway server.
    #[must_use]
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// Appends a `redis-server` command-line argument, e.g. `"--maxmemory"`, `"10mb"`.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }
}

/// A running private Redis; dropping it stops it (SIGTERM) and deletes its directory.
#[derive(Debug)]
pub struct Redis {
    // Field order matters: the server is stopped before its directory is removed.
    process: ServerProcess,
    dir: tempfile::TempDir,
    port: u16,
    cli: PathBuf,
}

impl Redis {
    /// Starts a fresh server without persistence; panics with one clear line (and the
    /// server log's tail) if it cannot.
    pub fn start() -> Self {
        Self::start_with(RedisOptions::default())
    }

    pub fn start_with(opts: RedisOptions) -> Self {
        let server = process::find_binary("redis-server");
        let cli = process::find_binary("redis-cli");
        let dir = process::temp_dir("redis");
        let log = dir.path().join("redis.log");
        let (process, port) = process::start_on_free_port(
            "redis-server",
            "PING",
            &log,
            |port| {
                let mut cmd = Command::new(&server);
                cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .arg("--dir")
                    .arg(dir.path())
                    .args(["--daemonize", "no", "--logfile", ""]);
                if opts.persistent {
                    cmd.args(["--appendonly", "yes", "--save", "60 1"]);
                } else {
                    cmd.args(["--appendonly", "no", "--save", ""]);
                }
                cmd.args(&opts.args).current_dir(dir.path());
                ServerProcess::spawn(cmd, &log, None, libc::SIGTERM)
            },
            ping,
        );
        Self {
            process,
            dir,
            port,
            cli,
        }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The server's working directory (where AOF/RDB files go when persistent).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `redis-cli -h 127.0.0.1 -p PORT args...` and returns stdout, trimmed. Panics
    /// when redis-cli fails or the reply is an error (`ERR ...`, `WRONGTYPE ...`).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(&self.cli)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("testkit: cannot run {}: {e}", self.cli.display()));
        let raw = String::from_utf8_lossy(&out.stdout);
        let stdout = raw.trim().to_owned();
        if !out.status.success() || is_error_reply(&raw) {
            panic!(
                "testkit: redis-cli {} failed: {stdout} {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        stdout
    }
}

/// Whether redis-cli's raw (non-terminal) output is an error reply. redis-cli 7 exits 0
/// on an error reply and prints it like a value, except for its upper-case code
/// (`ERR`, `WRONGTYPE`, ...) and an extra blank line.
fn is_error_reply(raw: &str) -> bool {
    let code = raw.split_whitespace().next().unwrap_or("");
    raw.ends_with("\n\n") && !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Whether a server on `port` answers `PING` with `+PONG` (not `-LOADING`).
fn ping(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_redis_cli_error_replies() {
        assert!(is_error_reply(
            "ERR wrong number of arguments for 'incr' command\n\n"
        ));
        assert!(is_error_reply("WRONGTYPE Operation against a key\n\n"));
        assert!(!is_error_reply("OK\n"));
        assert!(!is_error_reply("ERR as a stored value\n"));
        assert!(!is_error_reply("\n"));
    }
}
