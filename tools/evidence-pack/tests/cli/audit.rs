//! `audit append` / `audit verify`: concurrent writers give one chain, an edited line is
//! found, a torn last line is reported and never built upon.

use std::process::{Command, Stdio};

use crate::util::{self, keygen, run};

fn append(dir: &std::path::Path, event: &str) -> util::Run {
    run(
        dir,
        &[
            "audit",
            "append",
            "audit.jsonl",
            "--event",
            event,
            "--time",
            "2026-11-24T10:00:00Z",
        ],
    )
}

#[test]
fn ten_thousand_appends_from_four_processes_give_one_valid_chain() {
    let dir = tempfile::tempdir().expect("tmp");
    // Each process appends 2500 events, one entry (and one lock) at a time, so the four
    // interleave on the lock.
    for w in 0..4 {
        let lines: String = (0..2500)
            .map(|i| format!("{{\"writer\":{w},\"n\":{i}}}\n"))
            .collect();
        std::fs::write(dir.path().join(format!("events{w}.jsonl")), lines).expect("write");
    }
    let children: Vec<_> = (0..4)
        .map(|w| {
            util::cmd(dir.path())
                .args([
                    "audit",
                    "append",
                    "audit.jsonl",
                    "--event-file",
                    &format!("events{w}.jsonl"),
                    "--format",
                    "json",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawns")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("waits");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let r = run(dir.path(), &["audit", "verify", "audit.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(r.json["data"]["entries"], 10_000);
    // Every event is there exactly once, and the writers did interleave.
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("read");
    let mut seen = std::collections::HashSet::new();
    let mut switches = 0;
    let mut last_writer = None;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let (w, n) = (
            v["event"]["writer"].as_u64().expect("w"),
            v["event"]["n"].as_u64().expect("n"),
        );
        assert!(seen.insert((w, n)), "duplicate event {w}/{n}");
        if last_writer.is_some_and(|l| l != w) {
            switches += 1;
        }
        last_writer = Some(w);
    }
    assert_eq!(seen.len(), 10_000);
    assert!(switches > 0, "the four writers never interleaved");
}

#[test]
fn a_line_edited_in_the_middle_is_found() {
    let dir = tempfile::tempdir().expect("tmp");
    for i in 0..10 {
        assert_eq!(
            append(dir.path(), &format!("{{\"action\":\"promote\",\"n\":{i}}}")).code,
            0
        );
    }
    let p = dir.path().join("audit.jsonl");
    let text = std::fs::read_to_string(&p).expect("read");
    let edited = text.replacen("\"n\":4}", "\"n\":40}", 1);
    assert_ne!(text, edited);
    std::fs::write(&p, edited).expect("write");
    let r = run(dir.path(), &["audit", "verify", "audit.jsonl"]);
    assert_eq!(r.code, 1);
    let f = r.checks_with("audit.chain", "fail");
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0]["message"],
        "line 6: prev is not the SHA-256 of line 5: line 5 was edited, or lines were removed or reordered"
    );
    assert_eq!(f[0]["location"]["line"], 6);
    assert_eq!(r.json["data"]["first_broken_line"], 6);

    // A removed line shows up as a seq gap.
    let lines: Vec<&str> = text.lines().collect();
    let removed: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&p, removed).expect("write");
    let r = run(dir.path(), &["audit", "verify", "audit.jsonl"]);
    assert_eq!(r.code, 1);
    assert!(
        r.failures().starts_with("line 4: seq is 5, expected 4"),
        "{}",
        r.failures()
    );
}

#[test]
fn a_torn_last_line_is_reported_and_not_appended_to() {
    let dir = tempfile::tempdir().expect("tmp");
    for i in 0..3 {
        assert_eq!(append(dir.path(), &format!("{{\"n\":{i}}}")).code, 0);
    }
    let p = dir.path().join("audit.jsonl");
    let mut bytes = std::fs::read(&p).expect("read");
    bytes.extend_from_slice(b"{\"seq\":4,\"time\":\"2026-11-24T10:00:00Z\",\"prev\":\"ab");
    std::fs::write(&p, &bytes).expect("write");
    let r = run(dir.path(), &["audit", "verify", "audit.jsonl"]);
    assert_eq!(r.code, 1);
    let f = r.checks_with("audit.torn", "fail");
    assert_eq!(f.len(), 1, "{}", r.failures());
    assert_eq!(
        f[0]["message"],
        "line 4 is torn (no newline at the end): a write was interrupted; it is not accepted"
    );
    let r = append(dir.path(), "{\"n\":9}");
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(
        r.stderr
            .starts_with("evidence-pack: audit.jsonl: the last line is torn"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(&p).expect("read"),
        bytes,
        "a refused append must not write"
    );
}

#[test]
fn signed_entries_verify_with_the_key_and_not_without_a_signature() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(dir.path(), &[]);
    let k = key.to_str().expect("utf-8");
    for i in 0..3 {
        let r = run(
            dir.path(),
            &[
                "audit",
                "append",
                "audit.jsonl",
                "--event",
                &format!("{{\"n\":{i},\"sig\":\"not ours\"}}"),
                "--key",
                k,
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.json["data"]["signed"], true);
    }
    let r = run(
        dir.path(),
        &[
            "audit",
            "verify",
            "audit.jsonl",
            "--key",
            public.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(r.json["data"]["signed"], 3);
    assert_eq!(append(dir.path(), "{\"n\":3}").code, 0);
    let r = run(
        dir.path(),
        &[
            "audit",
            "verify",
            "audit.jsonl",
            "--key",
            public.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.failures(), "line 4 is not signed");
    // Without --key the chain alone still verifies.
    assert_eq!(run(dir.path(), &["audit", "verify", "audit.jsonl"]).code, 0);
}

#[test]
fn bad_events_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = append(dir.path(), "[1,2]");
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "evidence-pack: --event: event 1 is not a JSON object"
    );
    let r = append(dir.path(), "{\"a\": tru}");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("evidence-pack: --event:1:"),
        "{}",
        r.stderr
    );
    assert!(
        !dir.path().join("audit.jsonl").exists()
            || std::fs::read(dir.path().join("audit.jsonl"))
                .expect("read")
                .is_empty()
    );
    let r = run(dir.path(), &["audit", "verify", "missing.jsonl"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("evidence-pack: missing.jsonl: "),
        "{}",
        r.stderr
    );
    // And the report's shape, once.
    let r = append(
        dir.path(),
        "{\"action\":\"promote\",\"release\":\"v3.0.0\"}",
    );
    assert_eq!(r.code, 0);
    assert_eq!(r.json["data"]["seq"], 1);
    assert_eq!(r.json["data"]["prev"], "0".repeat(64));
    let line = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("read");
    assert_eq!(
        line,
        "{\"seq\":1,\"time\":\"2026-11-24T10:00:00Z\",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"event\":{\"action\":\"promote\",\"release\":\"v3.0.0\"}}\n"
    );
    let out = Command::new("jq")
        .arg("-c")
        .arg(".event")
        .arg(dir.path().join("audit.jsonl"))
        .output()
        .expect("jq");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "{\"action\":\"promote\",\"release\":\"v3.0.0\"}"
    );
}
