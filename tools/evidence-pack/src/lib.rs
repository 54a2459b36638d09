//! evidence-pack: the promotion decision over the other tools' reports (`gate`), a
//! deterministic DSSE-signed evidence zip (`build`), its verification (`verify`), key pairs
//! (`keygen`) and a hash-chained audit log (`audit append` / `audit verify`).
//!
//! `run` turns every command into one report; errors become `result: "error"` (exit 2).

pub mod cli;

mod audit;
mod checks;
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

fn write_new(path: &std::path::Path, bytes: &[u8], mode: u32, force: bool) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(mode);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Usage(format!(
                "{}: exists; pass --force to replace it",
                path.display()
            ))
        } else {
            Error::io(path.display(), e)
        }
    })?;
    f.write_all(bytes)
        .map_err(|e| Error::io(path.display(), e))?;
    f.sync_all().map_err(|e| Error::io(path.display(), e))
}

fn keygen(args: &KeygenArgs, b: &mut ReportBuilder) -> Result<()> {
    let password = keys::password(&args.password)?;
    std::fs::create_dir_all(&args.out_dir).map_err(|e| Error::io(args.out_dir.display(), e))?;
    let private = args.out_dir.join("gatehouse.key");
    let public = args.out_dir.join("gatehouse.pub");
    if !args.force {
        for p in [&private, &public] {
            if p.exists() {
                return Err(Error::Usage(format!(
                    "{}: exists; pass --force to replace it",
                    p.display()
                )));
            }
        }
    }
    let pair = keys::generate(args.algorithm, password.as_ref().map(|p| p.0.as_str()))?;
    write_new(&private, pair.private_pem.0.as_bytes(), 0o600, args.force)?;
    write_new(
        &public,
        pair.public.spki_pem().as_bytes(),
        0o644,
        args.force,
    )?;
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
