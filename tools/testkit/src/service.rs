//! [`SampleService`]: the built `sample-service` binary (examples/sample-service), started on
//! two free loopback ports (API and admin) against a testkit PostgreSQL and Redis, returned
//! once `GET /readyz` answers 200, and stopped on drop. The service under test for
//! perf-gate, verify-goldens, replayctl and dr-drill.
//!
//! ```no_run
//! let pg = testkit::Postgres::start();
//! let redis = testkit::Redis::start();
//! let svc = testkit::SampleService::start(&pg, &redis);
//! assert_eq!(svc.get("/healthz").0, 200);
//! ```
//!
//! The binary is `SAMPLE_SERVICE_BIN` when set, else the helper runs `cargo build -p
//! sample-service` into the test's own target directory and profile (a no-op when fresh),
//! once per test process, so perf-gate's or replayctl's tests need no build step of their own.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use crate::postgres::Postgres;
use crate::process::{self, ServerProcess, StartError};
use crate::redis::Redis;

/// Extra flags and environment for one start.
#[derive(Debug, Clone, Default)]
pub struct ServiceOptions {
    binary: Option<PathBuf>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl ServiceOptions {
    /// The binary to run, e.g. `env!("CARGO_BIN_EXE_sample-service")` in its own tests.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// One more command-line argument (`--version-label`, `v2`, fault flags, …).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// More command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// One more environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// A running sample-service; dropping it stops it (SIGTERM, then SIGKILL after 10 s).
pub struct SampleService {
    // Field order matters: the process is stopped before its directory is removed.
    process: ServerProcess,
    dir: tempfile::TempDir,
    port: u16,
    admin_port: u16,
}

impl SampleService {
    /// Starts it against database `postgres` of `pg` and `redis`.
    pub fn start(pg: &Postgres, redis: &Redis) -> Self {
        Self::start_with(&pg.url("postgres"), &redis.url(), ServiceOptions::default())
    }

    /// Starts it against any PostgreSQL and Redis URLs, with `opts`.
    pub fn start_with(database_url: &str, redis_url: &str, opts: ServiceOptions) -> Self {
        let binary = opts.binary.clone().unwrap_or_else(default_binary);
        let dir = process::temp_dir("sample-service");
        let log = dir.path().join("sample-service.log");
        let admin_port = std::cell::Cell::new(0u16);
        let (process, port) = process::start_on_free_port(
            "sample-service",
            "GET /readyz with 200",
            &log,
            |port| {
                admin_port.set(process::free_port());
                let mut cmd = Command::new(&binary);
                cmd.arg("--listen")
                    .arg(format!("127.0.0.1:{port}"))
                    .arg("--admin-listen")
                    .arg(format!("127.0.0.1:{}", admin_port.get()))
                    .arg("--database-url")
                    .arg(database_url)
                    .arg("--redis-url")
                    .arg(redis_url)
                    .args(&opts.args)
                    .current_dir(dir.path());
                for (k, v) in &opts.env {
                    cmd.env(k, v);
                }
                ServerProcess::spawn(cmd, &log, None, libc::SIGTERM)
            },
            |port| matches!(crate::http::request("GET", port, "/readyz"), Ok((200, _))),
        );
        Self {
            process,
            dir,
            port,
            admin_port: admin_port.get(),
        }
    }

    /// `http://127.0.0.1:PORT`: the API, realtime and /metrics.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:ADMIN_PORT`: `/admin/faults`.
    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// `127.0.0.1:PORT`, as a Prometheus scrape target.
    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything the service logged so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sample-service.log")
    }

    /// `GET path` on the API port (HTTP/1.0): status and body. Panics if it cannot connect.
    pub fn get(&self, path: &str) -> (u16, String) {
        crate::http::request("GET", self.port, path)
            .unwrap_or_else(|e| panic!("testkit: GET {path} from sample-service failed: {e}"))
    }

    /// Sends SIGTERM and waits (up to 30 s) for the exit: the graceful drain.
    pub fn terminate(mut self) -> ExitStatus {
        process::send_signal(self.pid(), libc::SIGTERM);
        self.wait_exit()
    }

    /// Waits (up to 30 s) for the process to exit by itself (e.g. a test-only crash).
    pub fn wait_exit(&mut self) -> ExitStatus {
        match self.process.wait_ready(|| false) {
            Err(StartError::Exited(status)) => status,
            _ => panic!(
                "testkit: sample-service (pid {}) did not exit within 30s; log:\n{}",
                self.pid(),
                process::log_tail(&self.log_path())
            ),
        }
    }
}

/// `SAMPLE_SERVICE_BIN`, else the workspace's `sample-service` built by `cargo build -p
/// sample-service` into this test's own target dir and profile (a no-op when it is fresh), once
/// per test process: a crate whose tests start the service need not depend on it, and never
/// runs a stale binary.
fn default_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_binary).clone()
}

fn build_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("SAMPLE_SERVICE_BIN") {
        return PathBuf::from(bin);
    }
    // A test executable lives in `<target>/<profile>/deps/`; binaries in `<target>/<profile>/`.
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("testkit: current_exe: {e}"));
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let target_dir = profile_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "sample-service",
        "--bin",
        "sample-service",
    ])
    .arg("--target-dir")
    .arg(&target_dir)
    .current_dir(crate::cli::root());
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("testkit: cannot run cargo to build sample-service: {e}"));
    let bin = profile_dir.join("sample-service");
    if !out.status.success() || !bin.is_file() {
        panic!(
            "testkit: `cargo build -p sample-service` did not produce {} ({}): {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    bin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_starts_answers_and_stops_on_drop() {
        let pg = Postgres::start();
        let redis = Redis::start();
        let svc = SampleService::start(&pg, &redis);
        assert_eq!(svc.get("/healthz"), (200, "ok\n".to_owned()));
        let (status, faults) = crate::http::request("GET", svc.admin_port(), "/admin/faults")
            .expect("the admin port answers");
        assert_eq!(status, 200, "{faults}");
        let port = svc.port();
        drop(svc);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
