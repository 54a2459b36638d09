//! `--budget`: every budget line is one check; exceptions are time-boxed.

use serde_json::Value;

use crate::{assert_refused, date_in_days, run};

const V1: &str = "examples/release/sbom-v1.cdx.json";
const V2: &str = "examples/release/sbom-v2.cdx.json";
const BAD: &str = "examples/bad-release/sbom-v2.cdx.json";
const LIC_OLD: &str = "tools/sbom-diff/tests/fixtures/licenses-old.cdx.json";
const LIC_NEW: &str = "tools/sbom-diff/tests/fixtures/licenses-new.cdx.json";

/// Writes `text` as a budget file in a temp dir; returns (dir guard, path).
fn budget(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("budget.yaml");
    std::fs::write(&p, text).expect("write budget");
    let s = p.to_str().expect("utf-8").to_owned();
    (dir, s)
}

fn check(rep: &Value, id: &str) -> Value {
    rep["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {}", rep["checks"]))
        .clone()
}

fn checks(rep: &Value, id: &str) -> Vec<Value> {
    rep["checks"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["id"] == id).cloned().collect())
        .unwrap_or_default()
}

#[test]
fn exits_1_when_new_critical_exceeds_budget() {
    let (_d, b) = budget("max_new_vulnerabilities: {critical: 0}\n");
    let r = run(&[V1, BAD, "--budget", &b]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let rep = r.report();
    let c = check(&rep, "budget.new_critical");
    assert_eq!(
        (c["observed"].clone(), c["limit"].clone()),
        (1.into(), 0.into())
    );
    assert_eq!(c["location"]["line"], 1);
    assert!(
        rep["summary"]
            .as_str()
            .is_some_and(|s| s.contains("over budget: new_critical 1 > 0"))
    );
}

#[test]
fn exits_0_when_the_critical_is_excepted_until_tomorrow() {
    let (_d, b) = budget(&format!(
        "max_new_vulnerabilities: {{critical: 0}}\nexceptions:\n  - id: CVE-2022-37434\n    until: {}\n    reason: base image pinned for the hotfix\n    owner: platform-team\n",
        date_in_days(1)
    ));
    let r = run(&[V1, BAD, "--budget", &b]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let rep = r.report();
    let c = check(&rep, "budget.new_critical");
    assert_eq!(c["result"], "ok");
    assert_eq!(c["observed"], 0);
    let v = &rep["data"]["vulnerabilities"]["new"][0];
    assert_eq!(v["id"], "CVE-2022-37434");
    assert_eq!(v["excepted"], "CVE-2022-37434");
    assert_eq!(rep["data"]["budget"]["exceptions"][0]["expired"], false);
}

#[test]
fn an_exception_ending_today_still_counts() {
    let (_d, b) = budget(&format!(
        "max_new_vulnerabilities: {{critical: 0}}\nexceptions:\n  - {{id: CVE-2022-37434, until: {}}}\n",
        date_in_days(0)
    ));
    assert_eq!(run(&[V1, BAD, "--budget", &b]).code, 0);
}

#[test]
fn an_expired_exception_warns_and_counts_again() {
    let (_d, b) = budget(&format!(
        "max_new_vulnerabilities: {{critical: 0}}\nexceptions:\n  - id: CVE-2022-37434\n    until: {}\n    owner: platform-team\n",
        date_in_days(-1)
    ));
    let r = run(&[V1, BAD, "--budget", &b]);
    assert_eq!(r.code, 1);
    let rep = r.report();
    let w = check(&rep, "budget.exception_expired");
    assert_eq!(w["result"], "warn");
    assert_eq!(w["location"]["line"], 3);
    assert!(
        w["message"]
            .as_str()
            .is_some_and(|m| m.contains("CVE-2022-37434") && m.contains("owner platform-team"))
    );
    assert_eq!(check(&rep, "budget.new_critical")["observed"], 1);
    assert_eq!(rep["data"]["budget"]["exceptions"][0]["expired"], true);
}

#[test]
fn an_exception_without_until_exits_2_naming_the_budget_line() {
    let (_d, b) = budget(
        "max_new_vulnerabilities: {critical: 0}\nexceptions:\n  - id: CVE-2022-37434\n    reason: later\n",
    );
    let r = run(&[V1, BAD, "--budget", &b]);
    assert_refused(
        &r,
        &format!("{b}:3:"),
        "no `until`; exceptions are time-boxed",
    );
}

#[test]
fn exceptions_by_alias_and_by_purl() {
    // The rustls finding is GHSA-qg5g-gv98-5ffh with alias RUSTSEC-2024-0399.
    let (_d, b) = budget(&format!(
        "max_new_vulnerabilities: {{critical: 0, high: 0}}\nexceptions:\n  - {{id: RUSTSEC-2024-0399, until: {d}}}\n  - {{id: 'pkg:deb/debian/zlib1g', until: {d}}}\n",
        d = date_in_days(30)
    ));
    let r = run(&[V1, BAD, "--budget", &b]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let rep = r.report();
    assert_eq!(check(&rep, "budget.new_high")["observed"], 0);
    assert_eq!(check(&rep, "budget.new_critical")["observed"], 0);
}

#[test]
fn downgrades_added_components_and_licenses_are_budget_lines() {
    let (_d, b) =
        budget("max_added_components: 2\ndeny_downgrades: true\ndeny_licenses: [OpenSSL]\n");
    let r = run(&[V1, BAD, "--budget", &b]);
    assert_eq!(r.code, 1);
    let rep = r.report();
    let added = check(&rep, "budget.added_components");
    assert_eq!(
        (
            added["observed"].clone(),
            added["limit"].clone(),
            added["result"].clone()
        ),
        (3.into(), 2.into(), "fail".into())
    );
    let down = check(&rep, "budget.downgrades");
    assert_eq!(down["observed"], 7);
    assert!(
        down["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("base-files 12.4+deb12u5 → 11.1+deb11u5"))
    );
    let denied = check(&rep, "budget.denied_licenses");
    assert_eq!(denied["observed"], 1);
    assert!(
        denied["message"]
            .as_str()
            .is_some_and(|m| m.contains("libssl1.1") && m.contains("(OpenSSL)"))
    );
}

#[test]
fn an_or_expression_passes_a_deny_list_when_one_choice_avoids_it() {
    let (_d, b) = budget("deny_licenses: [GPL-3.0-only]\n");
    let rep = run(&[LIC_OLD, LIC_NEW, "--budget", &b]).report();
    let denied = check(&rep, "budget.denied_licenses");
    // left-pad is MIT OR GPL-3.0-only (MIT can be chosen); right-pad is MIT AND GPL-3.0-only.
    assert_eq!(denied["observed"], 1);
    assert!(
        denied["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("pkg:npm/right-pad@1.0.1"))
    );
}

#[test]
fn an_allowlist_needs_one_fully_allowed_choice() {
    let (_d, b) = budget("allow_licenses: [MIT]\n");
    let rep = run(&[LIC_OLD, LIC_NEW, "--budget", &b]).report();
    // Only the license-changed components are in scope: left-pad passes (MIT), right-pad not.
    assert_eq!(check(&rep, "budget.allowed_licenses")["observed"], 1);
    let (_d2, all) = budget("allow_licenses: [MIT]\nlicense_scope: all\n");
    let rep = run(&[LIC_OLD, LIC_NEW, "--budget", &all]).report();
    // With every component in scope, up-pad (ISC AND MIT) fails too; center (MIT OR Apache-2.0) passes.
    assert_eq!(check(&rep, "budget.allowed_licenses")["observed"], 2);
}

#[test]
fn without_vulnerability_data_the_vulnerability_lines_are_skipped() {
    let (_d, b) = budget("max_new_vulnerabilities: {critical: 0, high: 0}\n");
    let rep = run(&[LIC_OLD, LIC_NEW, "--budget", &b]).report();
    let skipped = checks(&rep, "budget.new_critical");
    assert_eq!(skipped[0]["result"], "skip");
    assert_eq!(rep["result"], "ok");
    assert_eq!(rep["data"]["vulnerabilities"], Value::Null);
}

#[test]
fn budget_typos_exit_2_with_their_line() {
    for (text, want_line, needle) in [
        (
            "max_new_vulnerabilites: {critical: 0}\n",
            1,
            "unknown field",
        ),
        (
            "deny_licenses:\n  - MIT\n  - GPLv9\n",
            3,
            "not an SPDX license identifier",
        ),
        ("exceptions:\n  - id: CVE-1\n    until: soon\n", 2, "until"),
        ("max_added_components: many\n", 1, ""),
    ] {
        let (_d, b) = budget(text);
        let r = run(&[V1, V2, "--budget", &b]);
        assert_refused(&r, &format!("{b}:{want_line}:"), needle);
    }
}

#[test]
fn the_example_budget_validates_against_its_schema() {
    let text = std::fs::read_to_string(crate::root().join("examples/release/sbom-budget.yaml"))
        .expect("example budget");
    let v: Value = serde_saphyr::from_str(&text).expect("YAML");
    testkit::schema::assert_valid("sbom-diff.budget.schema.json", &v);
    // And the schema rejects what the tool rejects.
    let no_until: Value = serde_json::json!({"exceptions": [{"id": "CVE-2024-1234"}]});
    assert!(!testkit::schema::errors("sbom-diff.budget.schema.json", &no_until).is_empty());
    let typo: Value = serde_json::json!({"max_new_vulnerability": {"critical": 0}});
    assert!(!testkit::schema::errors("sbom-diff.budget.schema.json", &typo).is_empty());
}
