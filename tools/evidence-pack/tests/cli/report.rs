//! `evidence-pack report` and the page inside the pack: rendered by a real browser (Debian's
//! chromium, headless) with the network blocked and watched, validated by html5lib's strict
//! parser and an XML parser for every SVG, compared with the reports it was drawn from.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::util::{self, keygen};

fn report_set(release: &str) -> PathBuf {
    util::fixtures().join("report-set").join(release)
}

fn run(dir: &Path, args: &[&str]) -> util::Run {
    util::run(dir, args)
}

/// The reports of a fixture set, as JSON.
fn reports_of(dir: &Path) -> Vec<Value> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json"))
        .collect()
}

/// html5lib's strict parser over the page (any parse error fails), every `<svg>` through
/// an XML parser with a non-empty `<title>`, no script, and no attribute that loads
/// anything: `href`/`src` only as in-page fragments.
const VALIDATE: &str = r##"
import re, sys, html5lib, xml.etree.ElementTree as ET
data = open(sys.argv[1], "rb").read()
doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(data)
text = data.decode("utf-8")
svgs = re.findall(r"<svg\b.*?</svg>", text, re.S)
SVG = "{http://www.w3.org/2000/svg}"
for s in svgs:
    root = ET.fromstring(s)
    assert root.tag == SVG + "svg", root.tag
    t = root.find(SVG + "title")
    assert t is not None and (t.text or "").strip(), s[:200]
    assert root.find(SVG + "desc") is not None, s[:200]
scripts = [e for e in doc.iter() if isinstance(e.tag, str) and e.tag.split("}")[-1] == "script"]
assert not scripts, scripts
for e in doc.iter():
    for k, v in e.attrib.items():
        name = k.split("}")[-1] if isinstance(k, str) else str(k)
        if name in ("href", "src", "action", "formaction", "srcset", "poster", "data"):
            assert v.startswith("#"), (name, v)
        assert not name.startswith("on"), name
print("valid", len(svgs))
"##;

fn validate(page: &Path) -> usize {
    let out = Command::new(util::python())
        .args(["-c", VALIDATE])
        .arg(page)
        .output()
        .expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} is not valid: {}{}",
        page.display(),
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .trim()
        .strip_prefix("valid ")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// What the browser saw: the DOM after load, console lines, and the URLs the page asked
/// the network for (from Chromium's own net log: requests whose top frame is the file).
struct Browsed {
    dom: String,
    console: Vec<String>,
    requests: Vec<String>,
}

fn chromium() -> PathBuf {
    let p = PathBuf::from("/usr/bin/chromium");
    assert!(
        p.exists(),
        "/usr/bin/chromium is missing: run scripts/setup.sh (it installs Debian's chromium)"
    );
    p
}

/// Headless chromium over `page` with DNS and the proxy pointed nowhere, a fresh profile,
/// and a net log; `screenshot` also writes a PNG at a fixed window size.
fn browse(page: &Path, screenshot: Option<&Path>) -> Browsed {
    let profile = tempfile::tempdir().expect("profile");
    let netlog = profile.path().join("net.json");
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2400",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(format!("--log-net-log={}", netlog.display()));
    match screenshot {
        Some(png) => cmd.arg(format!("--screenshot={}", png.display())),
        None => cmd.arg("--dump-dom"),
    };
    let page = page.canonicalize().expect("page path");
    let out = cmd
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let log: Value =
        serde_json::from_slice(&std::fs::read(&netlog).expect("net log")).expect("net log json");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    let requests = log["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
        .map(str::to_owned)
        .collect();
    Browsed {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        requests,
    }
}

/// The DOM's text, tags dropped and entities decoded, whitespace collapsed.
fn dom_text(dom: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let mut skip = false;
    let lower = dom.to_ascii_lowercase();
    let mut i = 0;
    let bytes = dom.as_bytes();
    while i < bytes.len() {
        if !in_tag && lower[i..].starts_with("<style") {
            skip = true;
        }
        if skip && lower[i..].starts_with("</style>") {
            skip = false;
        }
        let c = bytes[i];
        if c == b'<' {
            in_tag = true;
            out.push(' ');
        } else if c == b'>' {
            in_tag = false;
        } else if !in_tag && !skip {
            let ch_len = dom[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&dom[i..i + ch_len]);
            i += ch_len;
            continue;
        }
        i += 1;
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn page_for(dir: &Path, set: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let r = run(
        dir,
        &[
            "report",
            "--reports",
            set.to_str().expect("utf-8"),
            "--release",
            "v3.0.0",
            "-o",
            out.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stderr, r.stdout);
    out
}

#[test]
fn slow_chromium_renders_both_demo_pages_without_console_errors_or_requests_and_shows_the_reports()
{
    let dir = tempfile::tempdir().expect("tmp");
    for release in ["release", "bad-release"] {
        let set = report_set(release);
        let page = page_for(dir.path(), &set, &format!("{release}.html"));
        let bytes = std::fs::metadata(&page).expect("page").len();
        assert!(bytes < 500 * 1024, "{release}: {bytes} bytes");
        assert!(validate(&page) >= 8, "{release}: too few charts");

        let seen = browse(&page, None);
        assert!(seen.console.is_empty(), "{release}: {:?}", seen.console);
        assert!(seen.requests.is_empty(), "{release}: {:?}", seen.requests);
        let text = dom_text(&seen.dom);
        let reports = reports_of(&set);
        let gate = reports
            .iter()
            .find(|r| r["agent"] == "evidence-pack" && r["action"] == "gate")
            .expect("a gate report in the set");
        let decision = gate["data"]["decision"].as_str().expect("decision");
        assert!(
            text.contains(&format!("Decision: {decision}")),
            "{release}: {text}"
        );
        for reason in gate["data"]["reasons"].as_array().expect("reasons") {
            let message = reason["message"].as_str().expect("message");
            assert!(
                text.contains(message),
                "{release}: reason {message:?} not shown"
            );
        }
        // A gate row per tool report: its name and its result, in that order.
        for r in reports.iter().filter(|r| r["agent"] != "evidence-pack") {
            let row = format!(
                "{} {} {}",
                r["agent"].as_str().unwrap_or(""),
                r["action"].as_str().unwrap_or(""),
                r["result"].as_str().unwrap_or("")
            );
            assert!(text.contains(&row), "{release}: no gate row {row:?}");
            let summary = r["summary"].as_str().unwrap_or("");
            assert!(
                text.contains(
                    summary
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .as_str()
                ),
                "{release}: summary {summary:?} not shown"
            );
        }

        let png = dir.path().join(format!("{release}.png"));
        let shot = browse(&page, Some(&png));
        assert!(shot.console.is_empty() && shot.requests.is_empty());
        let png_bytes = std::fs::read(&png).expect("screenshot");
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        // 1280 x 2400 in the IHDR.
        assert_eq!(&png_bytes[16..24], &[0, 0, 5, 0, 0, 0, 9, 96]);
    }
}

#[test]
fn slow_the_browser_checks_catch_a_request_and_a_console_error() {
    // The same checks over a page that does both: they must see them, or they prove nothing.
    let dir = tempfile::tempdir().expect("tmp");
    let page = dir.path().join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>c</title></head><body>\
         <img src=\"http://example.invalid/x.png\" alt=\"x\">\
         <script>console.error(\"control\")</script></body></html>",
    )
    .expect("write");
    let seen = browse(&page, None);
    assert!(
        seen.requests.iter().any(|u| u.contains("example.invalid")),
        "{:?}",
        seen.requests
    );
    assert!(
        seen.console.iter().any(|l| l.contains("control")),
        "{:?}",
        seen.console
    );
}

#[test]
fn a_set_with_every_tool_renders_each_tools_section() {
    let dir = tempfile::tempdir().expect("tmp");
    let page = page_for(dir.path(), &report_set("release"), "all.html");
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(
        html.contains("Every tool's report is here."),
        "missing tools in the complete set"
    );
    let titles: Vec<&str> = html
        .split("<title>")
        .skip(1)
        .filter_map(|t| t.split("</title>").next())
        .collect();
    for title in [
        "Latency by percentile",
        "Headroom search steps",
        "Golden path checkout: step timeline",
        "burn rate per window",
        "Canary vs baseline: error ratio",
        "Component changes",
        "Vulnerabilities by severity",
        "Locks per statement",
        "Drill timeline",
        "RTO and RPO against targets",
        "Consumer lag per group",
        "Live lag during the replay",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(title)),
            "no chart {title:?}"
        );
    }
    validate(&page);
}

#[test]
fn a_set_missing_tools_renders_what_it_has_and_names_what_is_missing() {
    let dir = tempfile::tempdir().expect("tmp");
    let set = dir.path().join("set");
    std::fs::create_dir(&set).expect("mkdir");
    for name in ["sbom-diff-diff.json", "alert-lint-check.json"] {
        std::fs::copy(report_set("bad-release").join(name), set.join(name)).expect("copy");
    }
    let r = run(
        dir.path(),
        &["report", "--reports", "set", "-o", "partial.html"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json["data"]["missing"],
        json!([
            "verify-goldens",
            "migration-gate",
            "perf-gate",
            "replayctl",
            "dr-drill"
        ])
    );
    assert_eq!(r.json["data"]["decision"], "none");
    let html = std::fs::read_to_string(dir.path().join("partial.html")).expect("page");
    assert!(html.contains(
        "<strong>Missing:</strong> no report from verify-goldens, migration-gate, perf-gate, replayctl, dr-drill."
    ));
    assert!(html.contains("No gate decision in these reports"));
    assert!(html.contains("<title>Component changes"));
    validate(&dir.path().join("partial.html"));
}

/// A report whose every string field a person sees is hostile.
fn hostile_report() -> Value {
    let evil = "</svg></table><script>alert(1)</script><img src=x onerror=alert(2)>";
    json!({
        "schema": "gatehouse.report/v1",
        "agent": "alert-lint",
        "action": "check",
        "phase": evil,
        "result": "fail",
        "summary": format!("1 problem {evil}"),
        "checks": [{
            "id": "policy.runbook",
            "result": "fail",
            "message": "HighErrorRate\u{202e}: runbook_url javascript:alert(document.cookie) is not https",
            "location": {"file": format!("rules/{evil}.yaml"), "line": 3, "column": 5}
        }],
        "data": {"files": [{"file": evil}]},
        "evidence": [],
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "started_at": "2026-11-24T10:00:00Z",
        "duration_ms": 1,
        "tool_version": "0.1.0"
    })
}

#[test]
fn slow_hostile_strings_in_reports_are_shown_as_text_never_markup() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut perf: Value = serde_json::from_slice(
        &std::fs::read(report_set("bad-release").join("perf-gate-run.json")).expect("perf"),
    )
    .expect("json");
    perf["data"]["thresholds"][0]["metric"] =
        json!("http_req_duration</svg><script>alert(3)</script>");
    perf["summary"] = json!("p99 ]]> <![CDATA[ </title><script>alert(4)</script>");
    let reports = [hostile_report(), perf];
    let lines: Vec<String> = reports.iter().map(Value::to_string).collect();
    std::fs::write(dir.path().join("evil.jsonl"), lines.join("\n")).expect("write");
    let r = run(
        dir.path(),
        &[
            "report",
            "--reports",
            "evil.jsonl",
            "--release",
            "<script>v</script>",
            "-o",
            "evil.html",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = dir.path().join("evil.html");
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("href=\"javascript:"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        html.contains("HighErrorRate\\u{202e}"),
        "the bidi override is shown, not obeyed"
    );
    validate(&page);
    let seen = browse(&page, None);
    assert!(seen.console.is_empty(), "{:?}", seen.console);
    assert!(seen.requests.is_empty(), "{:?}", seen.requests);
    let text = dom_text(&seen.dom);
    assert!(
        text.contains("<script>alert(1)</script>"),
        "the string is shown as text"
    );
    assert!(text.contains("javascript:alert(document.cookie)"));
    assert!(
        !seen.dom.to_ascii_lowercase().contains("<script"),
        "no script element in the DOM"
    );
}

#[test]
fn slow_build_puts_the_same_page_in_the_pack_reproducibly_and_report_reads_the_pack() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(dir.path(), &[]);
    let set = report_set("bad-release");
    let build = |out: &str| {
        run(
            dir.path(),
            &[
                "build",
                "--release",
                "v3.0.1",
                "--key",
                key.to_str().expect("utf-8"),
                "--reports",
                set.to_str().expect("utf-8"),
                "-o",
                out,
            ],
        )
    };
    let a = build("a.zip");
    assert_eq!(a.code, 0, "{}{}", a.stderr, a.failures());
    assert_eq!(build("b.zip").code, 0);
    let a_bytes = std::fs::read(dir.path().join("a.zip")).expect("a");
    assert_eq!(a_bytes, std::fs::read(dir.path().join("b.zip")).expect("b"));

    // In the manifest (so under the signature) and the same page `report --pack` writes.
    let (code, out) = util::py(
        dir.path(),
        "import sys, zipfile, json, hashlib; z = zipfile.ZipFile(sys.argv[1]); m = json.loads(z.read('manifest.json')); \
         f = [x for x in m['files'] if x['path'] == 'report.html'][0]; d = z.read('report.html'); \
         assert hashlib.sha256(d).hexdigest() == f['sha256']; open('inside.html', 'wb').write(d); print('listed')",
        &["a.zip"],
    );
    assert_eq!(code, 0, "{out}");
    let v = run(
        dir.path(),
        &["verify", "a.zip", "--key", public.to_str().expect("utf-8")],
    );
    assert_eq!(v.code, 0, "{}{}", v.stderr, v.failures());
    let inside = std::fs::read_to_string(dir.path().join("inside.html")).expect("inside");
    assert!(inside.contains("<title>Release v3.0.1: evidence</title>"));
    assert!(
        inside.contains("from reports/sbom-diff-diff.json"),
        "reports named by their pack path"
    );
    assert!(inside.contains("Decision: <span class=\"badge r-block\">block</span>"));
    validate(&dir.path().join("inside.html"));

    let r = run(
        dir.path(),
        &["report", "--pack", "a.zip", "-o", "from-pack.html"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["data"]["release"], "v3.0.1");
    assert_eq!(r.json["data"]["decision"], "block");
    let from_pack = std::fs::read_to_string(dir.path().join("from-pack.html")).expect("page");
    assert!(from_pack.contains(", read from a.zip."));
}

#[test]
fn no_reports_and_an_output_over_an_input_exit_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = run(dir.path(), &["report", "-o", "x.html"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!dir.path().join("x.html").exists());
    let set = report_set("release");
    let input = set.join("sbom-diff-diff.json");
    let before = std::fs::read(&input).expect("read");
    let r = run(
        dir.path(),
        &[
            "report",
            "--reports",
            input.to_str().expect("utf-8"),
            "-o",
            input.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(
        std::fs::read(&input).expect("read"),
        before,
        "the input is untouched"
    );
}

#[test]
fn the_yaml_gates_reasons_are_shown_even_when_a_rego_gate_ran_after_it() {
    // The release gate runs the YAML policy, then its Rego mirror over the same reports;
    // both reports are in the directory (and the pack). The page shows the YAML one's
    // reasons and waivers, which the Rego report does not carry.
    let dir = tempfile::tempdir().expect("tmp");
    let set = dir.path().join("set");
    std::fs::create_dir(&set).expect("mkdir");
    for r in reports_of(&report_set("bad-release")) {
        let name = format!(
            "{}-{}.json",
            r["agent"].as_str().unwrap_or(""),
            r["action"].as_str().unwrap_or("")
        );
        std::fs::write(set.join(name), r.to_string()).expect("write");
    }
    let yaml: Value = serde_json::from_slice(
        &std::fs::read(report_set("bad-release").join("evidence-pack-gate.json")).expect("gate"),
    )
    .expect("json");
    let mut rego = yaml.clone();
    rego["started_at"] = json!("2026-12-07T16:00:00Z");
    rego["data"] = json!({
        "decision": "block",
        "policy": {"path": "examples/policies/promote.rego", "language": "rego", "sha256": "0".repeat(64)},
        "evaluated_at": "2026-12-07T16:00:00Z",
        "reports": 13,
        "deny": ["alert-lint check: result fail"],
        "warn": [],
        "decision_rule": "block"
    });
    std::fs::write(set.join("evidence-pack-gate-rego.json"), rego.to_string()).expect("write");
    let r = run(dir.path(), &["report", "--reports", "set", "-o", "p.html"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(dir.path().join("p.html")).expect("page");
    let first = yaml["data"]["reasons"][0]["message"]
        .as_str()
        .expect("a reason");
    assert!(html.contains(&gatehouse::render::html::escape(first)));
    assert!(html.contains("<h3>Waivers</h3>"));

    // Only the Rego report: its deny messages are the reasons.
    std::fs::remove_file(set.join("evidence-pack-gate.json")).expect("rm");
    let r = run(dir.path(), &["report", "--reports", "set", "-o", "q.html"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(dir.path().join("q.html")).expect("page");
    assert!(html.contains("<li>alert-lint check: result fail</li>"));
    assert!(!html.contains("Every required gate passed"));
}
