//! `sbom-diff checks`: the checks table as a report, whatever side of the command the
//! shared flags stand on.

use crate::{cmd, run};

#[test]
fn checks_lists_every_id_with_its_summary_and_fix() {
    let r = run(&["checks"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = r.report();
    assert_eq!(rep["action"], "checks");
    assert_eq!(rep["result"], "ok");
    let list = rep["data"]["checks"].as_array().expect("data.checks");
    let ids: Vec<&str> = list.iter().filter_map(|c| c["id"].as_str()).collect();
    for id in [
        "budget.new_critical",
        "budget.downgrades",
        "budget",
        "input.vulnerability_baseline",
        "input.purls",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(ids.len(), 14);
    assert!(
        list.iter()
            .all(|c| !c["summary"].as_str().unwrap_or("").is_empty()
                && !c["fix"].as_str().unwrap_or("").is_empty())
    );
}

#[test]
fn shared_flags_work_before_the_command_and_diff_flags_do_not_apply() {
    let out = cmd()
        .args(["--format", "text", "checks"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sbom-diff checks"));
    let out = cmd()
        .args(["checks", "--budget", "b.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_names_the_checks_command() {
    let out = cmd().arg("--help").output().expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("sbom-diff checks"));
}
