//! `--format sarif`: SARIF 2.1.0 for code-scanning UIs. One result per failed, warned or
//! skipped (suppressed in source) check that points at a file; checks without a location
//! are not findings in a file and stay in the other formats.

use serde_json::{Value, json};

use crate::render::{RuleDoc, check_message};
use crate::report::{Report, Status};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub(super) fn render(report: &Report, docs: &[RuleDoc]) -> String {
    let located: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.result != Status::Ok && c.location.is_some())
        .collect();
    let mut rule_ids: Vec<&str> = located.iter().map(|c| c.id.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let doc = docs.iter().find(|d| d.id == *id);
            let mut rule = json!({
                "id": id,
                "shortDescription": {"text": doc.map_or(*id, |d| d.summary.as_str())},
            });
            if let Some(help) = doc.and_then(|d| d.help.as_deref()) {
                rule["help"] = json!({"text": help});
            }
            rule
        })
        .collect();
    let results: Vec<Value> = located
        .iter()
        .filter_map(|c| {
            let loc = c.location.as_ref()?;
            let level = match c.result {
                Status::Fail => "error",
                Status::Warn => "warning",
                Status::Skip | Status::Ok => "note",
            };
            let mut physical = json!({"artifactLocation": {"uri": uri(&loc.file)}});
            if let Some(line) = loc.line.filter(|l| *l > 0) {
                let mut region = json!({"startLine": line});
                if let Some(col) = loc.column.filter(|c| *c > 0) {
                    region["startColumn"] = json!(col);
                }
                physical["region"] = region;
            }
            let index = rule_ids.binary_search(&c.id.as_str()).ok()?;
            let text = check_message(c);
            let mut result = json!({
                "ruleId": c.id,
                "ruleIndex": index,
                "level": level,
                "message": {"text": if text.is_empty() { c.id.clone() } else { text }},
                "locations": [{"physicalLocation": physical}],
            });
            if c.result == Status::Skip {
                result["suppressions"] = json!([{"kind": "inSource"}]);
            }
            Some(result)
        })
        .collect();
    let mut invocation = json!({"executionSuccessful": report.error.is_none()});
    if let Some(err) = &report.error {
        invocation["toolExecutionNotifications"] =
            json!([{"level": "error", "message": {"text": err.message}}]);
    }
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.agent,
                "version": report.tool_version,
                "informationUri": "https://github.com/gatehouse-dev/gatehouse",
                "rules": rules,
            }},
            "automationDetails": {"id": format!("{}/{}/", report.agent, report.action)},
            "invocations": [invocation],
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// A SARIF `uri`: relative paths stay relative (resolved against the checkout by code
/// scanning), absolute ones become `file://` URIs; unsafe characters are percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::render::{RuleDoc, fixture};

    /// Rule help as every tool writes it: three paragraphs, so the text has newlines.
    fn docs() -> [RuleDoc; 1] {
        [RuleDoc::new(
            "policy.runbook_missing",
            "Paging alerts need a runbook.",
            "A page without a runbook costs the on-call engineer minutes.",
            "Add annotations.runbook_url.",
        )]
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!("sarif", super::render(&fixture::report(), &docs()));
    }

    /// Microsoft's SARIF multitool (installed by scripts/setup.sh) validates the output
    /// against the SARIF 2.1.0 schema and its own rules. It exits 0 even when the file is
    /// invalid, so the test reads the findings it writes.
    #[test]
    fn output_passes_the_sarif_multitool() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let tool =
            root.join(".tools/node/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
        assert!(
            tool.exists(),
            "sarif-multitool not found at {}; run scripts/setup.sh",
            tool.display()
        );
        let dir = std::env::temp_dir().join(format!("gatehouse-sarif-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut findings = Vec::new();
        for (name, report) in [
            ("ok", fixture::report()),
            ("error", fixture::error_report()),
        ] {
            let input = dir.join(format!("{name}.sarif"));
            let output = dir.join(format!("{name}.validation.sarif"));
            let text = super::render(&report, &docs());
            std::fs::write(&input, &text).expect("write sarif");
            // The multitool's schema check is lenient (it accepts an unknown `level`), so the
            // schema it ships is also applied strictly.
            let schema: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(tool.with_file_name("sarif-2.1.0.json")).expect("schema"),
            )
            .expect("schema json");
            let instance: serde_json::Value = serde_json::from_str(&text).expect("sarif json");
            let validator = jsonschema::validator_for(&schema).expect("schema compiles");
            findings.extend(
                validator
                    .iter_errors(&instance)
                    .map(|e| format!("{name}: schema: {e} at {}", e.instance_path())),
            );
            let status = std::process::Command::new(&tool)
                .arg("validate")
                .arg(&input)
                .arg("--json-schema")
                .arg(tool.with_file_name("sarif-2.1.0.json"))
                .arg("-o")
                .arg(&output)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run sarif-multitool");
            assert!(status.success());
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&output).expect("validation output"))
                    .expect("json");
            for r in v["runs"][0]["results"].as_array().expect("results") {
                if matches!(r["level"].as_str(), Some("error" | "warning")) {
                    findings.push(format!("{name}: {} {}", r["ruleId"], r["message"]));
                }
            }
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert!(findings.is_empty(), "sarif-multitool found: {findings:#?}");
    }

    #[test]
    fn uris_are_encoded() {
        assert_eq!(super::uri("rules/my rules.yml"), "rules/my%20rules.yml");
        assert_eq!(super::uri("/abs/x.yml"), "file:///abs/x.yml");
    }
}
