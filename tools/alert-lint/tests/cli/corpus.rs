//! The corpus against promtool 2.42: every file promtool rejects, alert-lint rejects too, and
//! with only the syntax checks on, the verdicts agree except for the documented differences.

use std::path::PathBuf;
use std::process::Command;

use crate::{corpus, run};

fn files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![corpus()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("corpus dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() > 200, "the corpus is at {}", corpus().display());
    out
}

fn promtool_accepts(p: &PathBuf) -> bool {
    assert!(
        std::path::Path::new("/usr/bin/promtool").exists(),
        "promtool missing; run scripts/setup.sh"
    );
    Command::new("/usr/bin/promtool")
        .args(["check", "rules"])
        .arg(p)
        .output()
        .expect("promtool runs")
        .status
        .success()
}

#[test]
fn every_file_promtool_rejects_is_rejected_and_syntax_verdicts_agree() {
    let syntax_only = crate::fixture("syntax-only.yaml");
    let mut differences = Vec::new();
    for p in files() {
        let path = p.display().to_string();
        let promtool = promtool_accepts(&p);
        let full = run(&["check", &path]);
        assert!(matches!(full.code, 0..=2), "{path}: exit {}", full.code);
        assert!(
            !full.stderr.contains("internal error"),
            "{path}: {}",
            full.stderr
        );
        full.report();
        // PrometheusRule objects are not plain rule files to promtool (see below).
        let operator = path.contains("prometheusRule");
        if !promtool && !operator {
            assert_ne!(
                full.code, 0,
                "promtool rejects {path}, alert-lint accepts it"
            );
        }
        let syntax = run(&["check", "--config", &syntax_only, &path]);
        let ours = syntax.code == 0;
        if ours != promtool {
            differences.push(format!(
                "{}: promtool {}, alert-lint {}",
                p.strip_prefix(corpus()).unwrap_or(&p).display(),
                if promtool { "accepts" } else { "rejects" },
                if ours { "accepts" } else { "rejects" }
            ));
        }
    }
    // Intentional (docs/alert-lint.md, "Differences from promtool"): PrometheusRule objects
    // are rule files to alert-lint (promtool reads only plain `groups:` files).
    let expected: Vec<String> = [
        "alertmanager-prometheusRule.yaml",
        "grafana-prometheusRule.yaml",
        "kubePrometheus-prometheusRule.yaml",
        "kubeStateMetrics-prometheusRule.yaml",
        "kubernetesControlPlane-prometheusRule.yaml",
        "nodeExporter-prometheusRule.yaml",
        "prometheus-prometheusRule.yaml",
        "prometheusOperator-prometheusRule.yaml",
    ]
    .iter()
    .map(|f| format!("kube-prometheus/{f}: promtool rejects, alert-lint accepts"))
    .collect();
    let mut expected = expected;
    expected.sort();
    differences.sort();
    assert_eq!(differences, expected);
}

#[test]
fn the_whole_corpus_in_one_run_is_judged_without_errors() {
    let c = corpus();
    let dirs: Vec<String> = [
        "monitoring-mixins",
        "node-exporter",
        "prometheus-testdata",
        "kube-prometheus",
    ]
    .iter()
    .map(|d| c.join(d).display().to_string())
    .collect();
    let mut args = vec!["check"];
    args.extend(dirs.iter().map(String::as_str));
    let out = run(&args);
    let report = out.report();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        report["data"]["totals"]["rules"]
            .as_u64()
            .is_some_and(|n| n > 11_000)
    );
    assert!(report["error"].is_null());
}
