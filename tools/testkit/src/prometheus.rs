//! Owns `Prometheus`: a private Prometheus server on a free loopback port, with the test's
//! config and rule files in its temp dir, and the HTTP calls tests make to it.

use std::path::{Component, Path};
use std::process::Command;

use crate::http;
use crate::process::{self, ServerProcess};

const CONFIG_FILE: &str = "prometheus.yml";

/// A running private Prometheus; dropping it stops it (SIGTERM) and deletes its directory.
///
/// Its working directory is [`Prometheus::dir`], which holds `prometheus.yml`, the rule
/// files and the TSDB; relative `rule_files:` entries in the config resolve there.
#[derive(Debug)]
pub struct Prometheus {
    // Field order matters: the server is stopped before its directory is removed.
    process: ServerProcess,
    dir: tempfile::TempDir,
    port: u16,
}

impl Prometheus {
    /// Writes `config_yaml` as `prometheus.yml` and each `(file name, contents)` rule file
    /// next to it, starts Prometheus with `--web.enable-lifecycle`, and returns once
    /// `/-/ready` answers 200. Panics with one clear line (and the log's tail) if it cannot.
    pub fn start(config_yaml: &str, rule_files: &[(&str, &str)]) -> Self {
        let binary = process::find_binary("prometheus");
        let dir = process::temp_dir("prometheus");
        write_file(dir.path(), CONFIG_FILE, config_yaml);
        for (name, contents) in rule_files {
            write_file(dir.path(), name, contents);
        }
        let log = dir.path().join("prometheus.log");
        let (process, port) = process::start_on_free_port(
            "prometheus",
            "GET /-/ready with 200",
            &log,
            |port| {
                let mut cmd = Command::new(&binary);
                cmd.arg(format!("--config.file={CONFIG_FILE}"))
                    .arg("--storage.tsdb.path=data")
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--web.enable-lifecycle")
                    .current_dir(dir.path());
                ServerProcess::spawn(cmd, &log, None, libc::SIGTERM)
            },
            |port| matches!(http::request("GET", port, "/-/ready"), Ok((200, _))),
        );
        Self { process, dir, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The working directory with `prometheus.yml` and the rule files. Rewrite a file here
    /// (see [`Prometheus::write_file`]) and call [`Prometheus::reload`] to apply it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes (or replaces) a file in [`Prometheus::dir`], e.g. a rule file before `reload`.
    pub fn write_file(&self, name: &str, contents: &str) {
        write_file(self.dir.path(), name, contents);
    }

    /// `POST /-/reload`: rereads the config and rule files; panics with Prometheus's answer
    /// if it rejects them.
    pub fn reload(&self) {
        match http::request("POST", self.port, "/-/reload") {
            Ok((200, _)) => {}
            Ok((status, body)) => {
                panic!(
                    "testkit: prometheus rejected the reload ({status}): {}",
                    body.trim()
                )
            }
            Err(e) => panic!("testkit: prometheus reload request failed: {e}"),
        }
    }

    /// `GET path_and_query` (e.g. `/api/v1/rules`): the status code and body.
    pub fn get(&self, path_and_query: &str) -> (u16, String) {
        http::request("GET", self.port, path_and_query)
            .unwrap_or_else(|e| panic!("testkit: GET {path_and_query} from prometheus failed: {e}"))
    }

    /// Evaluates `promql` now via `/api/v1/query` and returns the JSON body; panics on a
    /// non-200 answer (a bad query), quoting Prometheus's error.
    pub fn query(&self, promql: &str) -> String {
        let path = format!("/api/v1/query?query={}", gatehouse::percent::encode(promql));
        match self.get(&path) {
            (200, body) => body,
            (status, body) => {
                panic!("testkit: prometheus query {promql:?} failed ({status}): {body}")
            }
        }
    }
}

/// Writes `dir/name`, creating parent directories; `name` must stay inside `dir`.
fn write_file(dir: &Path, name: &str, contents: &str) {
    let relative = Path::new(name);
    let inside = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    assert!(
        inside && !name.is_empty(),
        "testkit: prometheus file name {name:?} must be a relative path inside its dir"
    );
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("testkit: cannot create {}: {e}", parent.display()));
    }
    std::fs::write(&path, contents)
        .unwrap_or_else(|e| panic!("testkit: cannot write {}: {e}", path.display()));
}
