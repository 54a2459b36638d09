//! evidence-pack: the promotion decision over the other tools' reports (`gate`), a
//! deterministic DSSE-signed evidence zip (`build`), its verification (`verify`), key pairs
//! (`keygen`) and a hash-chained audit log (`audit append` / `audit verify`).
//!
//! `run` turns every command into one report; errors become `result: "error"` (exit 2).

pub mod cli;

mod audit;
mod checks;
mod commands;
mod dsse;
mod error;
mod gate;
mod gitlog;
mod keys;
mod pack;
mod policy;
mod reports;
mod verify;
mod zipr;
pub mod zipw;

use std::io::Write as _;

use gatehouse::{Report, ReportBuilder, RuleDoc};
use serde_json::json;

use crate::cli::{AuditCommand, Cli, Command, GateArgs, KeygenArgs};
use crate::error::{Error, Result};

pub const AGENT: &str = "evidence-pack";

/// The SARIF rule help for every check id.
pub fn rule_docs() -> Vec<RuleDoc> {
    checks::rule_docs()
}

/// Runs the command; never panics on bad input.
pub fn run(cli: &Cli) -> Report {
    let action = match &cli.command {
        Command::Checks => return commands::checks::run(),
        Command::Gate(_) => "gate",
        Command::Build(_) => "build",
        Command::Verify(_) => "verify",
        Command::Keygen(_) => "keygen",
        Command::Audit(AuditCommand::Append(_)) => "audit-append",
        Command::Audit(AuditCommand::Verify(_)) => "audit-verify",
    };
    let mut b = Report::start(AGENT, action);
    let result = match &cli.command {
        Command::Gate(a) => gate_cmd(a, &mut b),
        Command::Build(a) => pack::build(a, &mut b),
        Command::Verify(a) => verify::verify(a, &mut b),
        Command::Keygen(a) => keygen(a, &mut b),
        Command::Audit(AuditCommand::Append(a)) => audit::append(a, &mut b),
        Command::Audit(AuditCommand::Verify(a)) => audit::verify(a, &mut b),
        Command::Checks => Ok(()),
    };
    if let Err(e) = result {
        b.failure(&e);
    }
    b.finish()
}

fn gate_cmd(args: &GateArgs, b: &mut ReportBuilder) -> Result<()> {
    let policy = policy::load(&args.policy)?;
    let now = match &args.now {
        Some(s) => {
            gatehouse::time::Timestamp::parse(s).map_err(|e| Error::Usage(format!("--now: {e}")))?
        }
        None => gatehouse::time::Timestamp::now(),
    };
    let reports = reports::load_all(&args.reports)?;
    let eval = gate::evaluate(&policy, &reports, now);
    b.checks(eval.checks);
    b.section(eval.section);
    b.summary(eval.summary);
    b.data(eval.data);
    Ok(())
}

/// A complete file in a new temporary sibling of `path`: created with `O_EXCL` and `mode`
/// (so a private key is never readable by others, not even for a moment), written, synced.
/// On failure (a full disk) it is removed, so nothing half-written is left behind.
fn write_temp(path: &std::path::Path, bytes: &[u8], mode: u32) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut attempt = 0u32;
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(".{name}.tmp{}.{attempt}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(Error::io(path.display(), e)),
        }
    };
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path.display(), e));
    }
    Ok(tmp)
}

/// Puts a complete temporary file in place. With `force` a rename replaces whatever has the
/// name — a symlink itself, not its target, and never with a more open mode than the new
/// file's; without, a hard link refuses an existing name atomically.
fn put_in_place(tmp: &std::path::Path, path: &std::path::Path, force: bool) -> Result<()> {
    let placed = if force {
        std::fs::rename(tmp, path)
    } else {
        std::fs::hard_link(tmp, path).map(|()| {
            let _ = std::fs::remove_file(tmp);
        })
    };
    placed.map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Usage(format!(
                "{}: exists; pass --force to replace it",
                path.display()
            ))
        } else {
            Error::io(path.display(), e)
        }
    })
}

fn keygen(args: &KeygenArgs, b: &mut ReportBuilder) -> Result<()> {
    let password = keys::password(&args.password)?;
    std::fs::create_dir_all(&args.out_dir).map_err(|e| Error::io(args.out_dir.display(), e))?;
    let private = args.out_dir.join("gatehouse.key");
    let public = args.out_dir.join("gatehouse.pub");
    if !args.force {
        for p in [&private, &public] {
            if p.symlink_metadata().is_ok() {
                return Err(Error::Usage(format!(
                    "{}: exists; pass --force to replace it",
                    p.display()
                )));
            }
        }
    }
    let pair = keys::generate(args.algorithm, password.as_ref().map(|p| p.0.as_str()))?;
    // Both files complete before either name changes: a full disk leaves the old pair (or
    // nothing), never an empty or half-written key that blocks the next keygen.
    let private_tmp = write_temp(&private, pair.private_pem.0.as_bytes(), 0o600)?;
    let public_tmp = match write_temp(&public, pair.public.spki_pem().as_bytes(), 0o644) {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_file(&private_tmp);
            return Err(e);
        }
    };
    if let Err(e) = put_in_place(&private_tmp, &private, args.force) {
        let _ = std::fs::remove_file(&public_tmp);
        return Err(e);
    }
    put_in_place(&public_tmp, &public, args.force)?;
    let (key_type, scheme) = pair.public.sslib_scheme();
    b.summary(format!(
        "{} key pair {} in {} ({})",
        pair.public.algorithm(),
        &pair.public.keyid()[..16],
        args.out_dir.display(),
        if password.is_some() {
            "private key encrypted"
        } else {
            "private key NOT encrypted"
        }
    ));
    b.data(json!({
        "algorithm": pair.public.algorithm(),
        "keyid": pair.public.keyid(),
        "private_key": private.display().to_string(),
        "public_key": public.display().to_string(),
        "encrypted": password.is_some(),
        "securesystemslib": {"keytype": key_type, "scheme": scheme},
    }));
    Ok(())
}
