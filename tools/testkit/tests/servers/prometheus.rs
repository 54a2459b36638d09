use testkit::Prometheus;

use crate::assert_cleaned_up;

const CONFIG: &str = "global:\n  evaluation_interval: 1s\nrule_files:\n  - rules/*.yml\n";

const RULES: &str = "groups:
  - name: testkit
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: info}
";

#[test]
fn answers_queries_loads_rules_and_reloads() {
    let prom = Prometheus::start(CONFIG, &[("rules/a.yml", RULES)]);
    assert_eq!(prom.url(), format!("http://127.0.0.1:{}", prom.port()));
    let up: serde_json::Value = serde_json::from_str(&prom.query("up")).expect("JSON");
    assert_eq!(up["status"], "success");

    let rules = prom.get("/api/v1/rules").1;
    assert!(rules.contains("AlwaysFiring"), "{rules}");
    assert!(!rules.contains("AddedLater"), "{rules}");
    prom.write_file(
        "rules/b.yml",
        &RULES
            .replace("AlwaysFiring", "AddedLater")
            .replace("name: testkit", "name: later"),
    );
    prom.reload();
    let rules = prom.get("/api/v1/rules").1;
    assert!(rules.contains("AddedLater"), "{rules}");

    let (pid, dir) = (prom.pid(), prom.dir().to_path_buf());
    assert!(dir.join("prometheus.yml").is_file());
    drop(prom);
    assert_cleaned_up(pid, &dir);
}

#[test]
#[should_panic(expected = "testkit: prometheus rejected the reload (500)")]
fn reload_panics_when_a_rule_file_is_broken() {
    let prom = Prometheus::start(CONFIG, &[("rules/a.yml", RULES)]);
    prom.write_file(
        "rules/a.yml",
        "groups: [{name: x, rules: [{alert: A, expr: 'sum('}]}]\n",
    );
    prom.reload();
}

#[test]
#[should_panic(expected = "testkit: prometheus query \"sum(\" failed (400)")]
fn query_panics_on_a_bad_expression() {
    Prometheus::start(CONFIG, &[]).query("sum(");
}
