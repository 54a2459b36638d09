//! `evidence-pack gate`: the promotion decision over the other tools' reports, under a YAML
//! or a Rego policy (by the policy file's extension), optionally logged to the audit log.

use std::path::Path;

use gatehouse::Report;
use gatehouse::time::Timestamp;

use crate::AGENT;
use crate::audit::{self, AppendOptions};
use crate::cli::GateArgs;
use crate::error::{Error, time_flag};
use crate::gate::{DecisionRecord, Evaluation};
use crate::{gate, policy, rego, reports};

fn is_rego(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("rego"))
}

pub(crate) fn run(args: &GateArgs) -> Report {
    Report::judge(AGENT, "gate", |b| {
        let now_flag = time_flag("--now", args.now.as_deref())?;
        let now = now_flag.unwrap_or_else(Timestamp::now);
        let timeout = gatehouse::duration::parse_duration(&args.timeout)
            .map_err(|e| Error::Usage(format!("--timeout: {e}")))?;
        if timeout.is_zero() {
            return Err(Error::Usage("--timeout: must be more than 0".to_owned()));
        }
        let rego = is_rego(&args.policy);
        if !rego && !args.data.is_empty() {
            return Err(Error::Usage(
                "--data is for Rego policies (.rego); a YAML policy holds its own limits and waivers"
                    .to_owned(),
            ));
        }
        let ctx = rego::Context {
            release: args.release.clone(),
            environment: args.environment.clone(),
        };
        let (eval, label, sha256, input) = if rego {
            let mut policy = rego::load(&args.policy, &args.data, timeout)?;
            let reports = reports::load_all(&args.reports)?;
            let input = rego::input(&reports, &ctx, now);
            let eval = policy.evaluate(&input, now, timeout)?;
            (eval, policy.label.clone(), policy.sha256.clone(), input)
        } else {
            let policy = policy::load(&args.policy)?;
            let reports = reports::load_all(&args.reports)?;
            let input = rego::input(&reports, &ctx, now);
            let eval = gate::evaluate(&policy, &reports, now);
            (eval, policy.label, policy.sha256, input)
        };
        if let Some(out) = &args.save_input {
            let mut bytes = serde_json::to_vec_pretty(&input).unwrap_or_default();
            bytes.push(b'\n');
            gatehouse::run::write_atomic(out, &bytes).map_err(|e| Error::io(out.display(), e))?;
        }
        if let Some(log) = &args.audit {
            let record = DecisionRecord {
                language: if rego { "rego" } else { "yaml" },
                policy_path: &label,
                policy_sha256: &sha256,
                input: &input,
                release: args.release.as_deref(),
                environment: args.environment.as_deref(),
                now,
            };
            log_decision(log, record.event(&eval), now_flag, b)?;
        }
        let Evaluation {
            checks,
            section,
            summary,
            data,
            ..
        } = eval;
        b.checks(checks);
        b.section(section);
        b.summary(summary);
        b.data(data);
        Ok::<_, Error>(())
    })
}

/// Appends the decision record to the audit log; its `audit.chain` check joins the gate's.
fn log_decision(
    log: &Path,
    event: serde_json::Value,
    time: Option<Timestamp>,
    b: &mut gatehouse::ReportBuilder,
) -> Result<(), Error> {
    let opts = AppendOptions {
        log: log.to_owned(),
        events: vec![event],
        key: None,
        time,
    };
    let mut scratch = Report::start(AGENT, "audit-append");
    audit::append(&opts, &mut scratch)?;
    b.checks(scratch.checks_so_far().to_vec());
    Ok(())
}
