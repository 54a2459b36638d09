//! `evidence-pack gate`: one test per promotion criterion of the seed, plus inputs.

use serde_json::{Value, json};

use crate::util::{self, report, run, run_stdin};

const NOW: &str = "2026-11-24T12:00:00Z";

/// Every report the seed's rule needs, all green, from 10:00 on 2026-11-24.
fn green() -> Vec<Value> {
    vec![
        report(
            "verify-goldens",
            "probe",
            "ok",
            "2026-11-24T10:00:00Z",
            json!({}),
        ),
        report(
            "verify-goldens",
            "slo",
            "ok",
            "2026-11-24T10:05:00Z",
            json!({"burn_rate": 0.4}),
        ),
        report(
            "perf-gate",
            "run",
            "ok",
            "2026-11-24T10:10:00Z",
            json!({"headroom": 0.31}),
        ),
        report(
            "migration-gate",
            "cutover",
            "ok",
            "2026-11-24T10:15:00Z",
            json!({}),
        ),
        report("sbom-diff", "diff", "ok", "2026-11-24T10:20:00Z", json!({})),
        report(
            "dr-drill",
            "backup",
            "ok",
            "2026-11-24T09:00:00Z",
            json!({"rpo_seconds": 120}),
        ),
    ]
}

fn replace(mut reports: Vec<Value>, agent: &str, action: &str, with: Option<Value>) -> Vec<Value> {
    reports.retain(|r| !(r["agent"] == agent && r["action"] == action));
    reports.extend(with);
    reports
}

/// Runs gate with the full policy (plus extra YAML appended) over `reports` as JSON Lines.
fn gate(reports: &[Value], extra_policy: &str) -> util::Run {
    let dir = tempfile::tempdir().expect("tmp");
    let policy =
        std::fs::read_to_string(util::fixtures().join("full-policy.yaml")).expect("fixture");
    std::fs::write(
        dir.path().join("policy.yaml"),
        format!("{policy}{extra_policy}"),
    )
    .expect("write");
    let lines: String = reports.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.path().join("all.jsonl"), lines).expect("write");
    run(
        dir.path(),
        &["gate", "--policy", "policy.yaml", "all.jsonl", "--now", NOW],
    )
}

#[test]
fn promotes_when_every_criterion_holds() {
    let r = gate(&green(), "");
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(r.json["data"]["decision"], "promote");
    assert_eq!(r.json["result"], "ok");
    assert_eq!(
        r.json["summary"],
        "promote: 6 required reports and 2 figures hold"
    );
}

#[test]
fn a_missing_report_blocks_and_is_never_a_pass() {
    let r = gate(&replace(green(), "dr-drill", "backup", None), "");
    assert_eq!(r.code, 1);
    assert_eq!(r.json["data"]["decision"], "block");
    let f = r.failures();
    assert!(
        f.contains("dr-drill backup: no report (a missing report is a fail, never a pass)"),
        "{f}"
    );
    // The figure on the missing report fails too, rather than being skipped.
    assert!(
        f.contains("dr-drill data.rpo_seconds <= 300: no dr-drill report"),
        "{f}"
    );
}

#[test]
fn a_stale_report_blocks() {
    let old = report("sbom-diff", "diff", "ok", "2026-11-22T10:20:00Z", json!({}));
    let r = gate(&replace(green(), "sbom-diff", "diff", Some(old)), "");
    assert_eq!(r.code, 1);
    let stale = r.checks_with("gate.age", "fail");
    assert_eq!(stale.len(), 1, "{}", r.failures());
    assert_eq!(stale[0]["observed"], 178_800);
    assert_eq!(stale[0]["limit"], 86_400);
    assert_eq!(r.json["data"]["requirements"][4]["status"], "stale");
}

#[test]
fn a_per_requirement_max_age_overrides_the_default() {
    // dr-drill allows 26h: a backup report from 25h ago is fresh.
    let r = gate(
        &replace(
            green(),
            "dr-drill",
            "backup",
            Some(report(
                "dr-drill",
                "backup",
                "ok",
                "2026-11-23T11:00:00Z",
                json!({"rpo_seconds": 60}),
            )),
        ),
        "",
    );
    assert_eq!(r.code, 0, "{}", r.failures());
}

#[test]
fn sbom_drift_over_budget_blocks_with_the_failing_check() {
    let r = gate(
        &replace(
            green(),
            "sbom-diff",
            "diff",
            Some(report(
                "sbom-diff",
                "diff",
                "fail",
                "2026-11-24T10:20:00Z",
                json!({}),
            )),
        ),
        "",
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.json["data"]["decision"], "block");
    assert!(r.failures().contains("sbom-diff diff: result fail (accepted: ok): sbom-diff diff: fail; failing checks: budget.new_critical"), "{}", r.failures());
}

#[test]
fn slo_burn_after_deploy_rolls_back() {
    let r = gate(
        &replace(
            green(),
            "verify-goldens",
            "slo",
            Some(report(
                "verify-goldens",
                "slo",
                "fail",
                "2026-11-24T10:05:00Z",
                json!({"burn_rate": 14.4}),
            )),
        ),
        "",
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.json["data"]["decision"], "rollback");
    assert!(
        r.json["summary"]
            .as_str()
            .expect("summary")
            .starts_with("rollback: verify-goldens slo")
    );
}

#[test]
fn a_missing_slo_report_blocks_rather_than_rolls_back() {
    let r = gate(&replace(green(), "verify-goldens", "slo", None), "");
    assert_eq!(r.json["data"]["decision"], "block");
}

#[test]
fn perf_headroom_under_twenty_percent_blocks() {
    let r = gate(
        &replace(
            green(),
            "perf-gate",
            "run",
            Some(report(
                "perf-gate",
                "run",
                "ok",
                "2026-11-24T10:10:00Z",
                json!({"headroom": 0.15}),
            )),
        ),
        "",
    );
    assert_eq!(r.code, 1);
    let fig = r.checks_with("gate.figure", "fail");
    assert_eq!(fig.len(), 1);
    assert_eq!(fig[0]["observed"], 0.15);
    assert_eq!(fig[0]["limit"], 0.2);
    assert_eq!(
        fig[0]["message"],
        "perf-gate run data.headroom >= 0.2: observed 0.15"
    );
    assert_eq!(fig[0]["location"]["line"], 26);
}

#[test]
fn migration_cutover_not_met_blocks() {
    let r = gate(
        &replace(
            green(),
            "migration-gate",
            "cutover",
            Some(report(
                "migration-gate",
                "cutover",
                "fail",
                "2026-11-24T10:15:00Z",
                json!({}),
            )),
        ),
        "",
    );
    assert_eq!(r.json["data"]["decision"], "block");
}

#[test]
fn dr_rpo_over_five_minutes_blocks() {
    let r = gate(
        &replace(
            green(),
            "dr-drill",
            "backup",
            Some(report(
                "dr-drill",
                "backup",
                "ok",
                "2026-11-24T09:00:00Z",
                json!({"rpo_seconds": 900}),
            )),
        ),
        "",
    );
    assert_eq!(r.code, 1);
    assert!(
        r.failures()
            .contains("dr-drill data.rpo_seconds <= 300: observed 900"),
        "{}",
        r.failures()
    );
}

#[test]
fn a_figure_missing_from_the_report_fails() {
    let r = gate(
        &replace(
            green(),
            "perf-gate",
            "run",
            Some(report(
                "perf-gate",
                "run",
                "ok",
                "2026-11-24T10:10:00Z",
                json!({}),
            )),
        ),
        "",
    );
    assert!(
        r.failures()
            .contains("data.headroom is not in the perf-gate run report"),
        "{}",
        r.failures()
    );
}

#[test]
fn a_report_that_could_not_judge_blocks() {
    let r = gate(
        &replace(
            green(),
            "migration-gate",
            "cutover",
            Some(report(
                "migration-gate",
                "cutover",
                "error",
                "2026-11-24T10:15:00Z",
                json!({}),
            )),
        ),
        "",
    );
    assert_eq!(r.code, 1);
    assert!(
        r.failures()
            .contains("could not judge: db.example:5432: connection refused"),
        "{}",
        r.failures()
    );
}

const WAIVE_CVE: &str = "
waivers:
  - agent: sbom-diff
    action: diff
    check: budget.new_critical
    owner: security@example.com
    until: UNTIL
    reason: not reachable from our code paths (VEX pending)
";

fn failing_sbom() -> Vec<Value> {
    replace(
        green(),
        "sbom-diff",
        "diff",
        Some(report(
            "sbom-diff",
            "diff",
            "fail",
            "2026-11-24T10:20:00Z",
            json!({}),
        )),
    )
}

#[test]
fn an_active_waiver_turns_the_failure_into_a_warning() {
    let r = gate(&failing_sbom(), &WAIVE_CVE.replace("UNTIL", "2026-12-01"));
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(r.json["data"]["decision"], "promote");
    let warn = r.checks_with("gate.required", "warn");
    assert_eq!(warn.len(), 1);
    assert!(warn[0]["message"].as_str().expect("msg").contains(
        "budget.new_critical: waived by security@example.com until 2026-12-01: not reachable"
    ));
    assert_eq!(r.json["data"]["waivers"][0]["status"], "applied");
    assert_eq!(r.json["summary"], "promote, with 1 waived");
}

#[test]
fn an_expired_waiver_no_longer_waives_and_warns() {
    let r = gate(&failing_sbom(), &WAIVE_CVE.replace("UNTIL", "2026-11-23"));
    assert_eq!(r.code, 1);
    assert_eq!(r.json["data"]["decision"], "block");
    let w = r.checks_with("gate.waiver", "warn");
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0]["message"],
        "waiver for sbom-diff diff budget.new_critical (owner security@example.com) expired on 2026-11-23; it no longer waives anything"
    );
    assert_eq!(r.json["data"]["waivers"][0]["status"], "expired");
}

#[test]
fn a_waiver_through_today_is_still_active_today() {
    // A bare date waives through the end of that day (UTC).
    let r = gate(&failing_sbom(), &WAIVE_CVE.replace("UNTIL", "2026-11-24"));
    assert_eq!(r.code, 0, "{}", r.failures());
}

#[test]
fn no_waiver_covers_a_missing_report() {
    let waiver = "
waivers:
  - agent: dr-drill
    owner: dba@example.com
    until: 2027-01-01
";
    let r = gate(&replace(green(), "dr-drill", "backup", None), waiver);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["data"]["decision"], "block");
}

#[test]
fn the_newest_of_several_runs_counts() {
    let mut reports = green();
    reports.push(report(
        "sbom-diff",
        "diff",
        "fail",
        "2026-11-24T08:00:00Z",
        json!({}),
    ));
    let r = gate(&reports, "");
    assert_eq!(
        r.code,
        0,
        "an older failing run is superseded: {}",
        r.failures()
    );
    reports.push(report(
        "sbom-diff",
        "diff",
        "fail",
        "2026-11-24T11:00:00Z",
        json!({}),
    ));
    assert_eq!(gate(&reports, "").code, 1);
}

#[test]
fn reads_reports_from_stdin_and_directories() {
    let dir = tempfile::tempdir().expect("tmp");
    util::good_reports(&dir.path().join("out"));
    // A non-report JSON file in the directory is skipped, not an error.
    std::fs::write(
        dir.path().join("out/sbom.cdx.json"),
        "{\"bomFormat\":\"CycloneDX\"}",
    )
    .expect("write");
    let policy = util::demo_policy();
    let r = run(
        dir.path(),
        &[
            "gate",
            "--policy",
            policy.to_str().expect("utf-8"),
            "out",
            "--now",
            NOW,
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.failures(), r.stderr);
    assert_eq!(r.json["data"]["reports"], 4);

    let all: Vec<Value> = [
        "alert-lint-check",
        "sbom-diff-diff",
        "migration-gate-lint",
        "migration-gate-dry-run",
    ]
    .iter()
    .map(|n| {
        serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("out/{n}.json"))).expect("read"),
        )
        .expect("json")
    })
    .collect();
    let r = run_stdin(
        dir.path(),
        &[
            "gate",
            "--policy",
            policy.to_str().expect("utf-8"),
            "-",
            "--now",
            NOW,
        ],
        serde_json::to_string(&all).expect("json").as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.failures());
}

#[test]
fn a_bad_policy_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("p.yaml"),
        "required:\n  - agent: sbom-diff\n    action: diff\n    acept: [ok]\n",
    )
    .expect("write");
    util::good_reports(&dir.path().join("out"));
    let r = run(dir.path(), &["gate", "--policy", "p.yaml", "out"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("evidence-pack: p.yaml:4:5: "),
        "{}",
        r.stderr
    );
    assert_eq!(r.json["error"]["kind"], "input");

    std::fs::write(
        dir.path().join("p.yaml"),
        "figures:\n  - perf-gate data.headroom >= twenty\n",
    )
    .expect("write");
    let r = run(dir.path(), &["gate", "--policy", "p.yaml", "out"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "evidence-pack: p.yaml:2:5: figure: >= needs a number, got \"twenty\""
    );
}

#[test]
fn a_truncated_report_is_an_error_not_a_missing_report() {
    let dir = tempfile::tempdir().expect("tmp");
    util::good_reports(&dir.path().join("out"));
    std::fs::write(
        dir.path().join("out/sbom-diff-diff.json"),
        "{\"schema\": \"gatehouse.report/v1\", \"agent\": \"sb",
    )
    .expect("write");
    let policy = util::demo_policy();
    let r = run(
        dir.path(),
        &["gate", "--policy", policy.to_str().expect("utf-8"), "out"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("evidence-pack: out/sbom-diff-diff.json:1:"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn the_gate_report_snapshot() {
    let r = gate(
        &replace(
            replace(green(), "dr-drill", "backup", None),
            "verify-goldens",
            "slo",
            Some(report(
                "verify-goldens",
                "slo",
                "fail",
                "2026-11-24T10:05:00Z",
                json!({}),
            )),
        ),
        &WAIVE_CVE.replace("UNTIL", "2026-11-01"),
    );
    testkit::cli::snapshot_settings_with(&[
        (".data.policy.path", "[policy]"),
        (".checks[].location.file", "[policy]"),
    ])
    .bind(|| insta::assert_json_snapshot!(r.json));
}
