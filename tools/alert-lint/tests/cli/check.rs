//! `alert-lint check`: one fixture per check that triggers it and one that does not, with a
//! snapshot of the triggering report; report shape; disable comments; stdin; formats.

use crate::{assert_report_snapshot, findings, fixture, run, run_with_stdin};

/// Every check `check` runs offline, with its fixture stem.
const OFFLINE: &[&str] = &[
    "syntax.structure",
    "syntax.unknown_key",
    "syntax.duplicate_group",
    "syntax.duplicate_rule",
    "syntax.label_name",
    "syntax.record_name",
    "syntax.duration",
    "syntax.promql",
    "policy.required_label",
    "policy.label_value",
    "policy.owner",
    "policy.required_annotation",
    "policy.runbook",
    "policy.runbook_url",
    "promql.rate_on_gauge",
    "promql.gauge_function_on_counter",
    "promql.range_too_short",
    "promql.comparison",
    "promql.absent_aggregation",
    "rule.for",
    "rule.keep_firing_for",
    "template.syntax",
    "template.dropped_label",
    "template.value_in_label",
    "recording.name",
];

#[test]
fn every_offline_check_has_a_fixture_that_triggers_it_and_one_that_does_not() {
    for id in OFFLINE {
        let stem = id.replacen('.', "-", 1);
        let bad = fixture(&format!("checks/{stem}.bad.yaml"));
        let out = run(&["check", &bad]);
        let report = out.report();
        let hits: Vec<_> = report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["id"] == *id && (c["result"] == "fail" || c["result"] == "warn"))
            .collect();
        assert!(
            !hits.is_empty(),
            "{bad} does not trigger {id}: {:#?}",
            findings(&report)
        );
        for h in &hits {
            assert_eq!(h["location"]["file"], bad.as_str(), "{id} is located");
            assert!(
                h["location"]["line"].as_u64().is_some_and(|l| l > 1),
                "{id} has a line"
            );
        }
        let expected_code = if report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["result"] == "fail")
        {
            1
        } else {
            0
        };
        assert_eq!(out.code, expected_code, "{bad}: {}", out.stderr);
        assert_report_snapshot!(format!("check_{}", id.replace('.', "_")), report);

        let good = fixture(&format!("checks/{stem}.good.yaml"));
        let out = run(&["check", &good]);
        let report = out.report();
        assert_eq!(out.code, 0, "{good}: {:#?}", findings(&report));
        assert_eq!(report["result"], "ok");
        let ok = report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["id"] == *id)
            .unwrap_or_else(|| panic!("{good}: no summary check for {id}"));
        assert_eq!(ok["result"], "ok", "{good}: {id}");
    }
}

#[test]
fn the_good_release_passes_and_the_bad_one_fails_with_readable_findings() {
    let out = run(&["check", "examples/release/rules/"]);
    let report = out.report();
    assert_eq!(out.code, 0, "{:#?}", findings(&report));
    assert_eq!(report["data"]["totals"]["rules"], 5);
    assert_eq!(report["data"]["files"][1]["kind"], "PrometheusRule");

    let out = run(&["check", "--format", "text", "examples/bad-release/rules/"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("FAIL  policy.runbook          examples/bad-release/rules/checkout-api.yaml:10:16  CheckoutApiHighErrorRate: paging alert without runbook_url (severity=critical)"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("uses $labels.instance but the query result carries only job"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Files with findings"), "{}", out.stdout);
    let report = run(&["check", "examples/bad-release/rules/"]).report();
    assert_report_snapshot!("bad_release", report);
}

#[test]
fn one_check_per_finding_then_one_summary_check_per_id() {
    let report = run(&[
        "check",
        "examples/bad-release/rules/",
        "examples/release/rules/",
    ])
    .report();
    let checks = report["checks"].as_array().expect("checks");
    // Findings first, sorted by file and line; then one entry per check id.
    assert_eq!(checks[0]["id"], "policy.runbook");
    assert_eq!(checks[1]["id"], "template.dropped_label");
    let ids: Vec<&str> = checks[2..]
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    let mut dedup = ids.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(ids.len(), dedup.len(), "one summary per id: {ids:?}");
    assert!(checks.iter().any(|c| c["id"] == "live.query"
        && c["result"] == "skip"
        && c["message"] == "needs --prometheus"));
    assert_eq!(
        report["summary"],
        "8 rules (6 alerting, 2 recording) in 3 files: 2 failed, 0 warned in 1 file"
    );
}

#[test]
fn disable_comments_turn_findings_into_skips() {
    let out = run(&["check", &fixture("disable.yaml")]);
    let report = out.report();
    assert_eq!(out.code, 0, "{:#?}", findings(&report));
    let skips = findings(&report);
    let f = fixture("disable.yaml");
    assert_eq!(
        skips,
        vec![
            format!("promql.rate_on_gauge skip {f}:12:14"),
            format!("policy.runbook skip {f}:17:16"),
            format!("policy.runbook skip {f}:22:16"),
        ]
    );
    assert!(
        report["checks"][0]["message"]
            .as_str()
            .expect("message")
            .contains("disabled by the comment on line 3")
    );
    assert_eq!(report["data"]["totals"]["skip"], 3);
}

#[test]
fn config_overrides_levels_and_policy() {
    let out = run(&[
        "check",
        "--config",
        &fixture("policy.yaml"),
        &fixture("checks/policy-owner.bad.yaml"),
    ]);
    let report = out.report();
    let f = findings(&report);
    assert_eq!(
        f.len(),
        1,
        "only the range is judged by the slower scrape: {f:#?}"
    );
    assert!(f[0].starts_with("promql.range_too_short fail"), "{f:#?}");
    assert!(
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["id"] == "policy.owner"
                && c["result"] == "skip"
                && c["message"] == "turned off in the config")
    );
    let out = run(&[
        "check",
        "--config",
        &fixture("policy.yaml"),
        &fixture("checks/promql-range_too_short.good.yaml"),
    ]);
    assert_eq!(
        out.code, 1,
        "a 5m range is shorter than the policy's 10m scrape interval"
    );
}

#[test]
fn reads_stdin_with_several_documents() {
    let text = std::fs::read(crate::root().join("examples/release/rules/ingest-worker.yaml"))
        .expect("example");
    let mut two = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n".to_vec();
    two.extend_from_slice(&text);
    let out = run_with_stdin(&["check", "-"], Some(&two));
    let report = out.report();
    assert_eq!(out.code, 0, "{:#?}", findings(&report));
    assert_eq!(report["data"]["files"][0]["file"], "<stdin>");
    assert_eq!(report["data"]["totals"]["alerts"], 2);
}

#[test]
fn github_annotations_carry_file_line_and_column() {
    let out = run(&["check", "--format", "github", "examples/bad-release/rules/"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("::error file=examples/bad-release/rules/checkout-api.yaml,line=10,col=16,title=alert-lint%3A policy.runbook::CheckoutApiHighErrorRate: paging alert without runbook_url"), "{}", out.stdout);
    assert!(lines[1].starts_with("::error file=examples/bad-release/rules/checkout-api.yaml,line=22,col=28,title=alert-lint%3A template.dropped_label::"), "{}", out.stdout);
}

#[test]
fn sarif_results_point_at_the_findings_and_validate() {
    let out = run(&["check", "--format", "sarif", "examples/bad-release/rules/"]);
    assert_eq!(out.code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&out.stdout).expect("sarif is JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    let region = &results[1]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(22), Some(28))
    );
    assert_eq!(results[1]["ruleId"], "template.dropped_label");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(rules.iter().all(|r| {
        r["help"]["text"]
            .as_str()
            .is_some_and(|h| h.contains("\n\nWhy it matters: ") && h.contains("\n\nHow to fix: "))
    }));
    // The independent validator from scripts/setup.sh.
    let multitool = crate::root().join(".tools/node/node_modules/.bin/sarif-multitool");
    assert!(
        multitool.exists(),
        "sarif-multitool missing; run scripts/setup.sh"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("r.sarif");
    std::fs::write(&file, &out.stdout).expect("write sarif");
    let v = std::process::Command::new(&multitool)
        .args([
            "validate",
            "--output",
            &dir.path().join("v.sarif").display().to_string(),
        ])
        .arg(&file)
        .output()
        .expect("sarif-multitool runs");
    let vout = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success() && !vout.contains(": error "), "{vout}");
}

#[test]
fn checks_lists_every_id() {
    let out = run(&["checks"]);
    let report = out.report();
    assert_eq!(out.code, 0);
    assert_eq!(report["data"]["checks"].as_array().map(Vec::len), Some(32));
}
