//! `gate --policy *.rego`, `policy test` and `gate --audit`: the Rego example agrees with the
//! YAML policy on every report set, and with OPA's own Go engine on every deny, warning and
//! decision; bad Rego is one line naming file:line:column and exit 2.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};

use crate::util::{self, root, run};

/// The gate's time: after the fixture reports ran (15:18 to 16:20 that day).
const NOW: &str = "2026-12-07T17:00:00Z";

fn yaml_policy() -> PathBuf {
    root().join("examples/release/promote.yaml")
}

fn rego_policy() -> PathBuf {
    root().join("examples/policies/promote.rego")
}

/// A good release's reports (real ones from the demo, plus dr-drill's), sorted by file name.
fn good_set() -> Vec<Value> {
    let dir = util::fixtures().join("report-sets/good");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).expect("read")).expect("json"))
        .collect()
}

/// The YAML policy's `required` entries: (agent, action, on_fail).
fn required() -> Vec<(String, String, String)> {
    let policy: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(yaml_policy()).expect("policy"))
            .expect("yaml");
    policy["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|q| {
            (
                q["agent"].as_str().expect("agent").to_owned(),
                q["action"].as_str().expect("action").to_owned(),
                q["on_fail"].as_str().unwrap_or("block").to_owned(),
            )
        })
        .collect()
}

struct Case {
    name: String,
    reports: Vec<Value>,
    waivers: Vec<Value>,
    expect: &'static str,
}

fn is(r: &Value, agent: &str, action: &str) -> bool {
    r["agent"] == agent && r["action"] == action
}

fn without(agent: &str, action: &str) -> Vec<Value> {
    let mut set = good_set();
    set.retain(|r| !is(r, agent, action));
    set
}

fn changed(agent: &str, action: &str, change: impl Fn(&mut Value)) -> Vec<Value> {
    let mut set = good_set();
    let r = set
        .iter_mut()
        .find(|r| is(r, agent, action))
        .unwrap_or_else(|| panic!("no {agent} {action} in the good set"));
    change(r);
    set
}

/// The report says fail, with a failing check, as a tool that found a problem writes it.
fn failing(r: &mut Value) {
    r["result"] = json!("fail");
    r["summary"] = json!(format!("{} {}: a problem", r["agent"], r["action"]).replace('"', ""));
    r["checks"]
        .as_array_mut()
        .expect("checks")
        .push(json!({"id": "case.injected", "result": "fail", "message": "made to fail"}));
}

fn set_path(r: &mut Value, path: &[&str], v: Value) {
    let mut at = r;
    for p in &path[..path.len() - 1] {
        at = &mut at[*p];
    }
    at[path[path.len() - 1]] = v;
}

fn waiver(until: &str) -> Value {
    json!({"agent": "sbom-diff", "action": "diff", "owner": "payments-team@example.com",
           "until": until, "reason": "dependency bump pending"})
}

/// Every report set the two policies must agree on.
fn cases() -> Vec<Case> {
    let case = |name: &str, reports, expect| Case {
        name: name.to_owned(),
        reports,
        waivers: Vec::new(),
        expect,
    };
    let mut out = vec![case("good release", good_set(), "promote")];
    for (agent, action, on_fail) in required() {
        let expect = if on_fail == "rollback" {
            "rollback"
        } else {
            "block"
        };
        out.push(case(
            &format!("{agent} {action} fails"),
            changed(&agent, &action, failing),
            expect,
        ));
        out.push(case(
            &format!("{agent} {action} missing"),
            without(&agent, &action),
            "block",
        ));
    }
    let figure = |name: &str, agent: &str, action: &str, path: &[&str], v: Value, expect| {
        case(
            name,
            changed(agent, action, |r| set_path(r, path, v.clone())),
            expect,
        )
    };
    out.extend([
        figure(
            "headroom 19 %",
            "perf-gate",
            "headroom",
            &["data", "headroom"],
            json!(0.19),
            "block",
        ),
        figure(
            "headroom 20 %",
            "perf-gate",
            "headroom",
            &["data", "headroom"],
            json!(0.2),
            "promote",
        ),
        figure(
            "RPO 301 s",
            "dr-drill",
            "failover",
            &["data", "rpo_seconds"],
            json!(301),
            "block",
        ),
        figure(
            "RPO 300 s",
            "dr-drill",
            "failover",
            &["data", "rpo_seconds"],
            json!(300),
            "promote",
        ),
        figure(
            "down migrations fail",
            "migration-gate",
            "dry-run",
            &["data", "rollback", "applied"],
            json!(false),
            "block",
        ),
        figure(
            "load errors during migrations",
            "migration-gate",
            "dry-run",
            &["data", "load", "errors"],
            json!(2),
            "block",
        ),
        figure(
            "lock wait 1.5 s",
            "migration-gate",
            "dry-run",
            &["data", "load", "longest_blocked_ms"],
            json!(1500),
            "block",
        ),
        figure(
            "no alerts",
            "alert-lint",
            "check",
            &["data", "totals", "alerts"],
            json!(0),
            "block",
        ),
        figure(
            "headroom not in the report",
            "perf-gate",
            "headroom",
            &["data", "headroom"],
            Value::Null,
            "block",
        ),
        case(
            "no failover drill",
            without("dr-drill", "failover"),
            "block",
        ),
        case(
            "stale SBOM diff",
            changed("sbom-diff", "diff", |r| {
                r["started_at"] = json!("2026-12-05T12:00:00Z")
            }),
            "block",
        ),
        case(
            "stale SLO report blocks, not rolls back",
            changed("verify-goldens", "slo", |r| {
                r["started_at"] = json!("2026-12-05T12:00:00Z")
            }),
            "block",
        ),
        case(
            "SLO report could not judge: blocks, not rolls back",
            changed("verify-goldens", "slo", |r| {
                r["result"] = json!("error");
                r["error"] = json!({"kind": "io", "message": "127.0.0.1:9090: connection refused"});
            }),
            "block",
        ),
        case(
            "canary says rollback",
            changed("verify-goldens", "canary", |r| {
                failing(r);
                r["data"]["decision"] = json!("rollback");
            }),
            "rollback",
        ),
    ]);
    let mut both = changed("verify-goldens", "slo", failing);
    failing(
        both.iter_mut()
            .find(|r| is(r, "sbom-diff", "diff"))
            .expect("sbom"),
    );
    out.push(case("SLO burn and SBOM drift", both, "rollback"));
    let waived = |name: &str, reports, until: &str, expect| Case {
        name: name.to_owned(),
        reports,
        waivers: vec![waiver(until)],
        expect,
    };
    out.extend([
        waived(
            "expired waiver",
            changed("sbom-diff", "diff", failing),
            "2026-10-31",
            "block",
        ),
        waived(
            "active waiver",
            changed("sbom-diff", "diff", failing),
            "2026-12-31",
            "promote",
        ),
        waived(
            "waiver through today",
            changed("sbom-diff", "diff", failing),
            "2026-12-07",
            "promote",
        ),
        waived(
            "a waiver never covers a missing report",
            without("sbom-diff", "diff"),
            "2026-12-31",
            "block",
        ),
    ]);
    out
}

/// Writes the case's reports (JSON Lines) and both policies' waivers into `dir`.
fn write_case(dir: &Path, case: &Case) {
    let lines: String = case.reports.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("reports.jsonl"), lines).expect("write");
    let yaml = std::fs::read_to_string(yaml_policy()).expect("policy");
    let waivers: String = case
        .waivers
        .iter()
        .map(|w| {
            format!(
                "  - agent: {}\n    action: {}\n    owner: {}\n    until: \"{}\"\n    reason: {}\n",
                w["agent"].as_str().expect("s"),
                w["action"].as_str().expect("s"),
                w["owner"].as_str().expect("s"),
                w["until"].as_str().expect("s"),
                w["reason"]
            )
        })
        .collect();
    let yaml = if waivers.is_empty() {
        yaml
    } else {
        assert!(
            yaml.contains("\nwaivers: []\n"),
            "examples/release/promote.yaml no longer ends with `waivers: []`; update this test"
        );
        yaml.replace("\nwaivers: []\n", &format!("\nwaivers:\n{waivers}"))
    };
    std::fs::write(dir.join("promote.yaml"), yaml).expect("write");
    std::fs::write(
        dir.join("waivers.json"),
        json!({"waivers": case.waivers}).to_string(),
    )
    .expect("write");
}

fn gate_rego(dir: &Path, extra: &[&str]) -> util::Run {
    let policy = rego_policy();
    let mut args = vec![
        "gate",
        "--policy",
        policy.to_str().expect("utf-8"),
        "--data",
        "waivers.json",
        "--now",
        NOW,
        "reports.jsonl",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn gate_yaml(dir: &Path, extra: &[&str]) -> util::Run {
    let mut args = vec![
        "gate",
        "--policy",
        "promote.yaml",
        "--now",
        NOW,
        "reports.jsonl",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

#[test]
fn slow_yaml_and_rego_agree_on_every_report_set() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut disagreements = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().expect("tmp");
        write_case(dir.path(), case);
        let yaml = gate_yaml(dir.path(), &[]);
        let rego = gate_rego(dir.path(), &[]);
        let (y, r) = (
            yaml.json["data"]["decision"].as_str().unwrap_or("error"),
            rego.json["data"]["decision"].as_str().unwrap_or("error"),
        );
        if y != case.expect || r != case.expect {
            disagreements.push(format!(
                "{}: expected {}, YAML {y}, Rego {r}\n  YAML: {}\n  Rego: {}{}",
                case.name, case.expect, yaml.json["summary"], rego.json["summary"], rego.stderr
            ));
        }
        // Exit codes follow the decision in both languages.
        let code = if case.expect == "promote" { 0 } else { 1 };
        assert_eq!((yaml.code, rego.code), (code, code), "{}", case.name);
        // A decision other than promote always says why.
        let denies = rego.json["data"]["deny"].as_array().expect("deny").len();
        assert_eq!(denies > 0, case.expect != "promote", "{}", case.name);
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// OPA's Go engine, through the wheel scripts/setup.sh installs into .tools/venv.
fn opa(request: &Value) -> Value {
    let python = util::python();
    let probe = std::process::Command::new(&python)
        .args(["-c", "import opa_bindings"])
        .output()
        .expect("python");
    assert!(
        probe.status.success(),
        "OPA's engine (opa-golib-python-bindings) is missing from .tools/venv: run scripts/setup.sh\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let mut child = std::process::Command::new(&python)
        .arg(util::fixtures().join("opa_parity.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    std::io::Write::write_all(
        &mut child.stdin.take().expect("stdin"),
        request.to_string().as_bytes(),
    )
    .expect("write");
    let out = child.wait_with_output().expect("opa");
    assert!(
        out.status.success(),
        "opa_parity.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn sorted(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn slow_rego_decisions_are_identical_to_opa_itself() {
    let mut ours = Vec::new();
    let mut request_cases = Vec::new();
    for case in cases() {
        let dir = tempfile::tempdir().expect("tmp");
        write_case(dir.path(), &case);
        let r = gate_rego(dir.path(), &["--save-input", "input.json"]);
        assert_ne!(r.code, 2, "{}: {}", case.name, r.stderr);
        let input: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("input.json")).expect("input"),
        )
        .expect("json");
        request_cases
            .push(json!({"name": case.name, "input": input, "data": {"waivers": case.waivers}}));
        ours.push((case.name, r.json["data"].clone()));
    }
    let answer = opa(&json!({
        "policies": [rego_policy()],
        "package": "gatehouse.promote",
        "cases": request_cases,
    }));
    let theirs = answer["cases"].as_array().expect("cases");
    assert_eq!(theirs.len(), ours.len());
    let mut differences = Vec::new();
    for ((name, data), opa) in ours.iter().zip(theirs) {
        assert_eq!(opa["name"], json!(name));
        if sorted(&data["deny"]) != sorted(&opa["deny"])
            || sorted(&data["warn"]) != sorted(&opa["warn"])
            || data["decision"] != opa["decision"]
        {
            differences.push(format!(
                "{name}:\n  regorus: {} {} {}\n  OPA:     {} {} {}",
                data["decision"],
                data["deny"],
                data["warn"],
                opa["decision"],
                opa["deny"],
                opa["warn"]
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn slow_the_example_policy_tests_pass_here_and_in_opa() {
    let dir = root();
    let r = run(&dir, &["policy", "test", "examples/policies/"]);
    assert_eq!(r.code, 0, "{}{}", r.failures(), r.stderr);
    let tests = r.json["data"]["tests"].as_array().expect("tests");
    assert!(tests.len() >= 25, "{} tests", tests.len());
    assert_eq!(r.json["data"]["passed"], json!(tests.len()));
    // The same test rules under OPA's engine: every one true.
    let names: Vec<&str> = tests
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    let answer = opa(&json!({
        "policies": [rego_policy(), root().join("examples/policies/promote_test.rego")],
        "package": "gatehouse.promote",
        "tests": names,
    }));
    for name in names {
        assert_eq!(answer["tests"][name], json!(true), "{name} under OPA");
    }
}

#[test]
fn a_failing_or_undefined_rego_test_fails_the_run() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("p.rego"),
        "package p\n\nimport rego.v1\n\ndeny contains \"big\" if input.x > 1\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("p_test.rego"),
        "package p_test\n\nimport rego.v1\n\nimport data.p\n\n\
         test_big_is_denied if p.deny[\"big\"] with input as {\"x\": 2}\n\n\
         test_small_is_denied if p.deny[\"big\"] with input as {\"x\": 0}\n\n\
         test_undefined if input.nothing\n\n\
         todo_test_later if false\n",
    )
    .expect("write");
    let r = run(dir.path(), &["policy", "test", "."]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let status: Vec<(String, String)> = r.json["data"]["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("name").to_owned(),
                t["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    let expect = [
        ("data.p_test.test_big_is_denied", "PASS"),
        ("data.p_test.test_small_is_denied", "FAIL"),
        ("data.p_test.test_undefined", "FAIL"),
        ("data.p_test.todo_test_later", "SKIPPED"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(status, expect);
    assert_eq!(r.json["summary"], "PASS: 1/4, FAIL: 2, SKIPPED: 1");
    let failed = r.checks_with("policy.test", "fail");
    assert_eq!(failed[0]["location"]["line"], 9, "{failed:?}");
}

#[test]
fn bad_rego_is_one_line_naming_file_line_and_exit_2() {
    let good = util::fixtures().join("report-sets/good");
    let good = good.to_str().expect("utf-8");
    let cases: [(&str, &str, &[&str], &str); 9] = [
        (
            "brackets nested deep enough to stall the parser",
            "package p\n\ndeny contains x if {\n  x := [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n}\n",
            &[],
            "p.rego:4:19: brackets nested more than 12 deep",
        ),
        (
            "a deny that is not a message",
            "package p\n\nimport rego.v1\n\ndeny contains [1] if true\n",
            &[],
            "p.rego:5:1: an element of `deny` is not a message",
        ),
        (
            "syntax error",
            "package p\n\ndeny contains msg if {\n  msg :=\n}\n",
            &[],
            "p.rego:4:",
        ),
        (
            "undefined reference",
            "package p\n\ndeny contains msg if {\n  msg := no_such_rule\n}\n",
            &[],
            "p.rego:4:10: ",
        ),
        (
            "undefined variable",
            "package p\n\ndeny contains msg if {\n  msg := \"x\"\n  count(foo.bar) > 1\n}\n",
            &[],
            "p.rego:5:",
        ),
        (
            "no deny, violation, warn or decision",
            "package p\n\nallow := true\n",
            &[],
            "p.rego:1:1: data.p defines no deny, violation, warn or decision rule",
        ),
        (
            "a decision that is not one",
            "package p\n\ndecision := \"maybe\"\n",
            &[],
            "p.rego:3:1: `decision` must be",
        ),
        (
            "a built-in called wrongly",
            "package p\n\ndeny contains msg if {\n  msg := upper(input.now, 3)\n}\n",
            &[],
            "p.rego:4:",
        ),
        (
            "runaway evaluation",
            "package p\n\ndeny contains x if {\n  some a in numbers.range(1, 20000)\n  some b in numbers.range(1, 20000)\n  some c in numbers.range(1, 20000)\n  x := sprintf(\"%d\", [a + b + c])\n  false\n}\n",
            &["--timeout", "1s"],
            "p.rego:3:1: `deny`: evaluation stopped",
        ),
    ];
    for (name, text, extra, want) in cases {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("p.rego"), text).expect("write");
        let mut args = vec!["gate", "--policy", "p.rego", good];
        args.extend_from_slice(extra);
        let r = run(dir.path(), &args);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);
        assert!(
            r.stderr.starts_with(&format!("evidence-pack: {want}")),
            "{name}: {}",
            r.stderr
        );
        assert_eq!(r.json["result"], "error", "{name}");
        assert_eq!(r.json["error"]["kind"], "policy", "{name}");
    }
}

#[test]
fn conftest_conventions_deny_objects_violation_warn_and_decision() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = util::fixtures().join("report-sets/good");
    let good = good.to_str().expect("utf-8");
    let policy = |text: &str| {
        std::fs::write(dir.path().join("p.rego"), text).expect("write");
        run(
            dir.path(),
            &["gate", "--policy", "p.rego", "--now", NOW, good],
        )
    };
    // violation objects with msg, and a warning: block, one gate.deny per message.
    let r = policy(
        "package p\n\nimport rego.v1\n\n\
         violation contains {\"msg\": sprintf(\"%d reports\", [count(input.reports)]), \"n\": 1} if true\n\n\
         warn contains \"heads up\" if true\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json["data"]["decision"], "block");
    let deny = r.checks_with("gate.deny", "fail");
    assert_eq!(deny.len(), 1);
    assert_eq!(deny[0]["message"], "13 reports");
    assert_eq!(deny[0]["location"]["line"], 5);
    assert_eq!(r.checks_with("gate.warn", "warn")[0]["message"], "heads up");
    assert_eq!(r.json["data"]["deny"][0]["n"], 1);
    // A decision rule may say rollback by itself.
    let r = policy("package p\n\ndecision := \"rollback\"\n");
    assert_eq!(
        (r.code, r.json["data"]["decision"].clone()),
        (1, json!("rollback"))
    );
    // ... but a deny always blocks, whatever the decision rule says.
    let r = policy(
        "package p\n\nimport rego.v1\n\ndecision := \"promote\"\n\ndeny contains \"no\" if true\n",
    );
    assert_eq!(
        (r.code, r.json["data"]["decision"].clone()),
        (1, json!("block"))
    );
    // Only warnings: promote.
    let r = policy("package p\n\nimport rego.v1\n\nwarn contains \"w\" if true\n");
    assert_eq!(
        (r.code, r.json["data"]["decision"].clone()),
        (0, json!("promote"))
    );
    // Release and environment reach the policy.
    let r = run(
        dir.path(),
        &[
            "gate",
            "--policy",
            "p.rego",
            "--now",
            NOW,
            "--release",
            "v3.0.0",
            "--environment",
            "prod",
            good,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(
        dir.path().join("p.rego"),
        "package p\n\nimport rego.v1\n\ndeny contains sprintf(\"%s to %s\", [input.release, input.environment]) if input.environment == \"prod\"\n",
    )
    .expect("write");
    let r = run(
        dir.path(),
        &[
            "gate",
            "--policy",
            "p.rego",
            "--now",
            NOW,
            "--release",
            "v3.0.0",
            "--environment",
            "prod",
            good,
        ],
    );
    assert_eq!(
        r.checks_with("gate.deny", "fail")[0]["message"],
        "v3.0.0 to prod"
    );
}

#[test]
fn the_saved_input_is_the_newest_report_per_agent_and_action() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut set = good_set();
    // An older, failing run of the SBOM diff: superseded by the newer green one.
    let mut old = set
        .iter()
        .find(|r| is(r, "sbom-diff", "diff"))
        .expect("sbom")
        .clone();
    failing(&mut old);
    old["started_at"] = json!("2026-12-07T09:00:00Z");
    set.push(old);
    let lines: String = set.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.path().join("reports.jsonl"), lines).expect("write");
    std::fs::write(dir.path().join("waivers.json"), "{}").expect("write");
    let r = gate_rego(
        dir.path(),
        &["--save-input", "input.json", "--release", "v3.0.0"],
    );
    assert_eq!(r.code, 0, "{}{}", r.failures(), r.stderr);
    let input: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("input.json")).expect("in"))
            .expect("json");
    testkit::schema::assert_valid("evidence-pack.policy-input.schema.json", &input);
    let reports = input["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), set.len() - 1);
    let keys: Vec<(String, String)> = reports
        .iter()
        .map(|r| (r["agent"].to_string(), r["action"].to_string()))
        .collect();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort();
    assert_eq!(keys, sorted_keys, "sorted by agent, then action");
    let sbom = reports
        .iter()
        .find(|r| is(r, "sbom-diff", "diff"))
        .expect("sbom");
    assert_eq!(sbom["result"], "ok", "the newest run counts");
    assert_eq!(
        (input["release"].clone(), input["now"].clone()),
        (json!("v3.0.0"), json!(NOW))
    );
    assert_eq!(input["environment"], Value::Null);
}

#[test]
fn every_decision_lands_in_the_audit_log_and_the_chain_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    let case = Case {
        name: "SBOM drift".into(),
        reports: changed("sbom-diff", "diff", failing),
        waivers: Vec::new(),
        expect: "block",
    };
    write_case(dir.path(), &case);
    let audit = [
        "--audit",
        "audit.jsonl",
        "--release",
        "v3.0.0",
        "--environment",
        "prod",
    ];
    let yaml = gate_yaml(dir.path(), &audit);
    assert_eq!(yaml.code, 1, "{}", yaml.stderr);
    let rego = gate_rego(dir.path(), &audit);
    assert_eq!(rego.code, 1, "{}", rego.stderr);
    assert_eq!(rego.checks_with("audit.chain", "ok").len(), 1);
    let verify = run(dir.path(), &["audit", "verify", "audit.jsonl"]);
    assert_eq!(verify.code, 0, "{}{}", verify.failures(), verify.stderr);
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("log");
    let entries: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("entry"))
        .collect();
    assert_eq!(entries.len(), 2);
    let sha = |p: &Path| gatehouse::hash::sha256_hex(&std::fs::read(p).expect("read"));
    for (entry, lang, policy) in [
        (&entries[0], "yaml", dir.path().join("promote.yaml")),
        (&entries[1], "rego", rego_policy()),
    ] {
        let event = &entry["event"];
        assert_eq!(event["type"], "gate-decision");
        assert_eq!(event["decision"], "block");
        assert_eq!(event["release"], "v3.0.0");
        assert_eq!(event["environment"], "prod");
        assert_eq!(event["policy"]["language"], lang);
        assert_eq!(event["policy"]["sha256"], json!(sha(&policy)));
        assert_eq!(event["evaluated_at"], NOW);
        assert_eq!(entry["time"], NOW);
        let reasons = event["reasons"].as_array().expect("reasons");
        assert!(
            reasons.iter().any(|m| m
                .as_str()
                .expect("reason")
                .starts_with("sbom-diff diff: result fail")),
            "{lang}: {reasons:?}"
        );
        assert_eq!(event["input"]["reports"].as_array().expect("r").len(), 13);
    }
    // Both languages saw the same input, so they record the same input digest.
    assert_eq!(
        entries[0]["event"]["input"]["sha256"],
        entries[1]["event"]["input"]["sha256"]
    );
    // Editing a recorded decision breaks the chain.
    std::fs::write(
        dir.path().join("audit.jsonl"),
        log.replacen("\"decision\":\"block\"", "\"decision\":\"promote\"", 1),
    )
    .expect("write");
    let verify = run(dir.path(), &["audit", "verify", "audit.jsonl"]);
    assert_eq!(verify.code, 1, "{}", verify.stderr);
}

#[test]
fn data_is_for_rego_only() {
    let dir = tempfile::tempdir().expect("tmp");
    write_case(
        dir.path(),
        &Case {
            name: String::new(),
            reports: good_set(),
            waivers: Vec::new(),
            expect: "promote",
        },
    );
    let r = gate_yaml(dir.path(), &["--data", "waivers.json"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--data is for Rego policies"),
        "{}",
        r.stderr
    );
}
