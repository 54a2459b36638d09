//! `sbom-diff OLD NEW`: the examples, formats, stdin, gzip and vulnerability sources.

use std::io::Write;

use serde_json::Value;

use crate::{assert_report_snapshot, cmd, corpus, run, run_stdin};

const V1: &str = "examples/release/sbom-v1.cdx.json";
const V2: &str = "examples/release/sbom-v2.cdx.json";
const BAD: &str = "examples/bad-release/sbom-v2.cdx.json";
const BUDGET: &str = "examples/release/sbom-budget.yaml";

fn count(r: &Value, key: &str) -> u64 {
    r["data"]["counts"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("counts.{key}"))
}

#[test]
fn exits_0_when_the_good_release_fits_its_budget() {
    let r = run(&[V1, V2, "--budget", BUDGET]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = r.report();
    assert_eq!(rep["result"], "ok");
    assert_report_snapshot!("release_ok", rep);
}

#[test]
fn exits_1_when_the_bad_release_brings_a_new_critical() {
    let r = run(&[V1, BAD, "--budget", BUDGET]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let rep = r.report();
    let crit = rep["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "budget.new_critical"))
        .expect("budget.new_critical")
        .clone();
    assert_eq!(crit["result"], "fail");
    assert_eq!(crit["observed"], 1);
    assert_eq!(crit["limit"], 0);
    assert!(
        crit["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("CVE-2022-37434 (critical) in pkg:deb/debian/zlib1g@"))
    );
    assert_eq!(crit["location"]["file"], BUDGET);
    assert_report_snapshot!("bad_release_fail", rep);
}

#[test]
fn text_and_markdown_are_tables_a_reviewer_reads() {
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for format in ["text", "markdown"] {
        let out = cmd()
            .args([V1, BAD, "--budget", BUDGET, "--format", format])
            .env("TRACEPARENT", traceparent)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout);
        // The duration is the one thing that changes between runs.
        let stable: String = text
            .lines()
            .map(|l| {
                l.split(" · ")
                    .map(|part| {
                        let p = part.trim_end_matches("</sub>");
                        if p.ends_with(" ms")
                            && p.trim_end_matches(" ms")
                                .chars()
                                .all(|c| c.is_ascii_digit())
                        {
                            part.replace(p, "[duration] ms")
                        } else {
                            part.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
            .collect::<Vec<_>>()
            .join("\n");
        crate::settings().bind(|| insta::assert_snapshot!(format!("bad_release_{format}"), stable));
    }
}

#[test]
fn reads_new_from_stdin() {
    let bytes = std::fs::read(crate::root().join(V2)).expect("example");
    let r = run_stdin(&[V1, "-"], &bytes);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = r.report();
    assert_eq!(rep["data"]["new"]["path"], "<stdin>");
    assert_eq!(count(&rep, "upgraded"), 24);
    assert_eq!(rep["evidence"][1]["path"], "<stdin>");
}

#[test]
fn gzip_is_read_transparently() {
    let dir = tempfile::tempdir().expect("tmp");
    let gz = dir.path().join("sbom-v2.cdx.json.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&std::fs::read(crate::root().join(V2)).expect("example"))
        .expect("gzip");
    std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
    let plain = run(&[V1, V2]).report();
    let zipped = run(&[V1, gz.to_str().expect("utf-8 path")]).report();
    assert_eq!(plain["data"]["counts"], zipped["data"]["counts"]);
    assert_eq!(plain["data"]["upgraded"], zipped["data"]["upgraded"]);
}

#[test]
fn without_a_budget_the_diff_is_reported_and_nothing_judged() {
    let r = run(&[V1, BAD]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = r.report();
    assert_eq!(rep["checks"][0]["id"], "budget");
    assert_eq!(rep["checks"][0]["result"], "skip");
    assert_eq!(count(&rep, "downgraded"), 7);
    assert_eq!(
        rep["data"]["vulnerabilities"]["counts"]["new"]["critical"],
        1
    );
    assert_eq!(rep["data"]["budget"], Value::Null);
}

#[test]
fn a_license_change_to_an_or_expression_is_reported() {
    let r = run(&[
        "tools/sbom-diff/tests/fixtures/licenses-old.cdx.json",
        "tools/sbom-diff/tests/fixtures/licenses-new.cdx.json",
    ]);
    let rep = r.report();
    let changed = rep["data"]["license_changed"].as_array().expect("array");
    let names: Vec<&str> = changed.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["left-pad", "right-pad"], "{changed:?}");
    assert_eq!(changed[0]["old_license"], "MIT");
    assert_eq!(changed[0]["new_license"], "MIT OR GPL-3.0-only");
    // Equivalent spellings are not a change.
    assert_eq!(count(&rep, "license_changed"), 2);
}

#[test]
fn vulnerabilities_from_scanner_reports_join_by_alias() {
    let s = corpus("sbom/syft-testdata/cyclonedxjson-identify-1.6.json");
    let s = s.to_str().expect("utf-8");
    let a = corpus("vuln-reports/osv-scanner/ci-test-vuln-results-a.json");
    let b = corpus("vuln-reports/osv-scanner/ci-test-vuln-results-b.json");
    let r = run(&[
        s,
        s,
        "--vulns-old",
        a.to_str().expect("p"),
        "--vulns-new",
        b.to_str().expect("p"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = r.report();
    let v = &rep["data"]["vulnerabilities"];
    // GO-2021-0053 (old) is GHSA-c3h9-896r-86jm (new): unchanged, not new + fixed.
    assert_eq!(v["new"].as_array().map(Vec::len), Some(0), "{v}");
    assert_eq!(v["fixed"].as_array().map(Vec::len), Some(0), "{v}");
    assert_eq!(v["unchanged"].as_array().map(Vec::len), Some(2), "{v}");
    assert!(
        rep["data"]["new"]["vulnerabilities_from"]
            .as_str()
            .is_some_and(|s| s.ends_with("(OSV-Scanner JSON)"))
    );
}

#[test]
fn grype_and_trivy_reports_are_read() {
    let s = corpus("sbom/syft-testdata/cyclonedxjson-identify-1.6.json");
    let s = s.to_str().expect("utf-8");
    let g = corpus("vuln-reports/grype/defectdojo-many_vulns_with_epss_values.json");
    let t = corpus("vuln-reports/trivy/alpine-39.json");
    let r = run(&[
        s,
        s,
        "--vulns-old",
        g.to_str().expect("p"),
        "--vulns-new",
        t.to_str().expect("p"),
    ]);
    let rep = r.report();
    let v = &rep["data"]["vulnerabilities"];
    assert_eq!(v["fixed"].as_array().map(Vec::len), Some(15));
    assert_eq!(v["counts"]["new"]["critical"], 2);
    let first = &v["new"][0];
    assert_eq!(first["id"], "CVE-2019-14697");
    assert_eq!(first["cvss"]["score"], 9.8);
    assert_eq!(first["fixed_in"][0], "1.1.20-r5");
}

#[test]
fn only_a_new_scan_makes_every_finding_new_and_says_so() {
    let s = corpus("sbom/syft-testdata/cyclonedxjson-identify-1.6.json");
    let s = s.to_str().expect("utf-8");
    let t = corpus("vuln-reports/trivy/alpine-39.json");
    let r = run(&[s, s, "--vulns-new", t.to_str().expect("p")]);
    let rep = r.report();
    let warn = rep["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "input.vulnerability_baseline"))
        .expect("baseline warning");
    assert_eq!(warn["result"], "warn");
    assert_eq!(
        rep["data"]["vulnerabilities"]["new"]
            .as_array()
            .map(Vec::len),
        Some(6)
    );
}

#[test]
fn help_and_version() {
    let out = cmd().arg("--help").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains(
            "sbom-diff examples/release/sbom-v1.cdx.json examples/release/sbom-v2.cdx.json"
        )
    );
    assert!(help.contains("Exit status: 0 ok, 1 the gate says no, 2 could not judge"));
    for flag in [
        "--vulns-old",
        "--vulns-new",
        "--budget",
        "--max-size",
        "--format",
        "--report",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
    let out = cmd().arg("--version").output().expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sbom-diff "));
}

#[test]
fn usage_errors_exit_2() {
    let out = cmd().arg(V1).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = cmd()
        .args([V1, V2, "--max-size", "lots"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn report_file_and_sarif() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("sbom-diff.json");
    let out = cmd()
        .args([V1, BAD, "--budget", BUDGET, "--format", "sarif", "--report"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let report: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("report file")).expect("json");
    testkit::schema::assert_valid_report(&report);
    assert_eq!(report["result"], "fail");
}

#[test]
fn spdx_json_against_spdx_tag_value() {
    let r = run(&[
        "tools/sbom-diff/tests/fixtures/service-old.spdx.json",
        "tools/sbom-diff/tests/fixtures/service.spdx",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = r.report();
    assert_eq!(rep["data"]["new"]["format"], "SPDX 2.3 tag-value");
    assert_eq!(rep["data"]["new"]["subject"]["version"], "2.4.0");
    let up: Vec<String> = rep["data"]["upgraded"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            format!("{} {} -> {}", c["name"], c["old_version"], c["new_version"]).replace('"', "")
        })
        .collect();
    assert_eq!(up, ["requests 2.31.0 -> 2.32.3", "urllib3 2.0.7 -> 2.2.3"]);
    // pkg:pypi/Django and pkg:pypi/django are one package (PyPI names are case-insensitive).
    assert_eq!(count(&rep, "unchanged"), 1);
    assert_eq!(count(&rep, "removed"), 1);
    // requests: concluded NOASSERTION, so the declared Apache-2.0 counts, on both sides.
    assert_eq!(count(&rep, "license_changed"), 0);
}
