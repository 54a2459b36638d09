//! The PostgreSQL client programs the dry run shells out to: `pg_dump --schema-only` (the
//! schema before and after up+down, and the schema-only copy) and `psql` (restoring it).
//! Found through `pg_config --bindir`, then PATH. Credentials travel in the environment
//! (PGPASSWORD), never on a command line that `ps` would show.

use std::io::{Read, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::config::Host;

use crate::error::{Error, Result};
use crate::pg::Target;

fn bin(program: &str) -> PathBuf {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .map(|dir| dir.join(program))
        .filter(|p| p.is_file());
    from_pg_config.unwrap_or_else(|| PathBuf::from(program))
}

fn command(program: &str, target: &Target) -> Command {
    let mut cmd = Command::new(bin(program));
    let c = &target.config;
    match c.get_hosts().first() {
        Some(Host::Tcp(h)) => {
            cmd.env("PGHOST", h);
        }
        Some(Host::Unix(p)) => {
            cmd.env("PGHOST", p);
        }
        None => {}
    }
    if let Some(port) = c.get_ports().first() {
        cmd.env("PGPORT", port.to_string());
    }
    cmd.env("PGUSER", target.user());
    cmd.env("PGDATABASE", target.dbname());
    match c.get_password() {
        Some(pw) => {
            cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).into_owned());
        }
        None => {
            cmd.env_remove("PGPASSWORD");
        }
    }
    // The same TLS choice as our own connections (libpq spells the modes the same way).
    let mode = match target.tls {
        crate::tls::TlsMode::Disable => "disable",
        crate::tls::TlsMode::Prefer => "prefer",
        crate::tls::TlsMode::Require => "require",
        crate::tls::TlsMode::VerifyCa => "verify-ca",
        crate::tls::TlsMode::VerifyFull => "verify-full",
    };
    cmd.env("PGSSLMODE", mode);
    match &target.root_cert {
        Some(p) => {
            cmd.env("PGSSLROOTCERT", p);
        }
        None => {
            cmd.env_remove("PGSSLROOTCERT");
        }
    }
    // libpq's connect_timeout covers the whole connection, handshake included.
    cmd.env(
        "PGCONNECT_TIMEOUT",
        target.connect_timeout.as_secs().max(2).to_string(),
    )
    .env("LC_ALL", "C");
    cmd
}

/// A running child that is killed (and reaped) if the run stops waiting for it: Ctrl-C
/// drops the dry run's future, and a `pg_dump` stuck on a silent server must not outlive it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs `cmd` to completion within `limit`, feeding it `stdin`; killed when the limit passes
/// (a server that stops answering must not hold the run through a child either) or when the
/// caller stops waiting. Polled on the runtime, never parked in a blocking thread that the
/// runtime would wait for at exit.
async fn run(
    program: &str,
    mut cmd: Command,
    stdin: Option<Vec<u8>>,
    limit: Duration,
) -> Result<Vec<u8>> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = KillOnDrop(cmd.spawn().map_err(|e| Error::Tool {
        program: program.to_owned(),
        message: format!("cannot run it ({e}); install the PostgreSQL client (scripts/setup.sh)"),
    })?);
    // Each pipe on its own thread, so a full stdout never blocks our write of stdin.
    let writer = stdin.zip(child.0.stdin.take()).map(|(bytes, mut pipe)| {
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .0
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .0
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = wait_within(program, child, limit).await?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&stderr);
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Err(Error::Tool {
            program: program.to_owned(),
            message: gatehouse::redact::redact(first).into_owned(),
        });
    }
    Ok(stdout)
}

/// Waits for the child, polling on the runtime; past `limit` it is killed (dropped).
async fn wait_within(
    program: &str,
    mut child: KillOnDrop,
    limit: Duration,
) -> Result<std::process::ExitStatus> {
    let started = Instant::now();
    loop {
        match child.0.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if started.elapsed() >= limit => {
                drop(child); // kills it
                return Err(Error::Tool {
                    program: program.to_owned(),
                    message: format!(
                        "no result within {} (--statement-timeout + --query-timeout): killed",
                        gatehouse::duration::format_duration(limit)
                    ),
                });
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(e) => {
                return Err(Error::Tool {
                    program: program.to_owned(),
                    message: e.to_string(),
                });
            }
        }
    }
}

/// `pg_dump --schema-only` of the target's database.
pub async fn dump_schema(target: &Target, limit: Duration) -> Result<String> {
    let mut cmd = command("pg_dump", target);
    cmd.args([
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-comments",
    ]);
    let out = run("pg_dump", cmd, None, limit).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Restores a dump (schema, or rows) into the target's (empty) database with `psql`.
pub async fn restore_schema(target: &Target, dump: String, limit: Duration) -> Result<()> {
    let mut cmd = command("psql", target);
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"]);
    run("psql", cmd, Some(dump.into_bytes()), limit)
        .await
        .map(|_| ())
}

/// `pg_dump --data-only` of the given tables (`schema.table`, quoted) of the target's
/// database: the migrations table's rows for a schema-only copy.
pub async fn dump_rows(target: &Target, tables: &[String], limit: Duration) -> Result<String> {
    let mut cmd = command("pg_dump", target);
    cmd.args(["--data-only", "--no-owner", "--no-privileges"]);
    for t in tables {
        cmd.arg("--table").arg(t);
    }
    let out = run("pg_dump", cmd, None, limit).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A schema dump reduced to what a rollback must restore: statements without comments,
/// `SET` noise and the dump's random `\restrict` key, column lines of each `CREATE TABLE`
/// sorted (a column re-added by a down migration lands at the end; same schema otherwise).
pub fn normalize(dump: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in dump.lines() {
        let t = line.trim_end();
        if t.is_empty()
            || t.starts_with("--")
            || t.starts_with("\\restrict")
            || t.starts_with("\\unrestrict")
            || t.starts_with("SET ")
            || t.starts_with("SELECT pg_catalog.set_config")
        {
            continue;
        }
        current.push(t.to_owned());
        if t.ends_with(';') {
            statements.push(table_columns_sorted(&current));
            current.clear();
        }
    }
    if !current.is_empty() {
        statements.push(current.join("\n"));
    }
    statements.sort();
    statements
}

fn table_columns_sorted(lines: &[String]) -> String {
    if lines.len() > 2 && lines[0].starts_with("CREATE TABLE") && lines[0].ends_with('(') {
        let last = lines.len() - 1;
        let mut cols: Vec<String> = lines[1..last]
            .iter()
            .map(|l| l.trim().trim_end_matches(',').to_owned())
            .collect();
        cols.sort();
        return format!("{}\n{}\n{}", lines[0], cols.join(",\n"), lines[last]);
    }
    lines.join("\n")
}

/// Statements only in `before` and only in `after`.
pub fn diff(before: &[String], after: &[String]) -> (Vec<String>, Vec<String>) {
    let mut a: Vec<&String> = before.iter().collect();
    let mut only_after = Vec::new();
    for s in after {
        if let Some(p) = a.iter().position(|x| *x == s) {
            a.remove(p);
        } else {
            only_after.push(s.clone());
        }
    }
    (a.into_iter().cloned().collect(), only_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_order_and_dump_noise_do_not_count_as_differences() {
        let before = "-- Dumped\nSET x = 1;\nCREATE TABLE public.t (\n    id bigint NOT NULL,\n    email text\n);\n";
        let after = "\\restrict abc\nCREATE TABLE public.t (\n    email text,\n    id bigint NOT NULL\n);\n";
        assert_eq!(normalize(before), normalize(after));
        let changed = "CREATE TABLE public.t (\n    id integer NOT NULL\n);\n";
        let (gone, new) = diff(&normalize(before), &normalize(changed));
        assert_eq!(gone.len(), 1);
        assert_eq!(new.len(), 1);
    }
}
