//! `migration-gate checks`: the checks table as a report.

use crate::{command, run};

#[test]
fn checks_lists_every_id_with_its_summary_and_fix() {
    let r = run(&["checks"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["action"], "checks");
    assert_eq!(r.json["result"], "ok");
    let list = r.json["data"]["checks"].as_array().expect("data.checks");
    let ids: Vec<&str> = list.iter().filter_map(|c| c["id"].as_str()).collect();
    for id in [
        "sql.parse",
        "index.create_blocking",
        "phase.policy",
        "dryrun.blocking_lock",
        "parity.rows",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(ids.len(), 67);
    assert!(list.iter().all(|c| {
        !c["summary"].as_str().unwrap_or("").is_empty()
            && !c["fix"].as_str().unwrap_or("").is_empty()
    }));
}

#[test]
fn help_names_the_checks_command() {
    let out = command(&["--help"]).output().expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("migration-gate checks"));
    let out = command(&["checks", "--help"]).output().expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit status: 0 ok"));
}
