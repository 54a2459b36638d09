//! The demo stage scripts/gate.d/90-evidence-pack.sh, run as scripts/demo.sh runs it, over
//! sample reports standing in for the earlier stages (never in the real out/demo).

use std::process::Command;

use serde_json::json;

use crate::util::{self, report, write_json};

fn stage(out: &std::path::Path) -> std::process::Output {
    let bin = std::path::Path::new(util::BIN)
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let root = util::root();
    Command::new("bash")
        .current_dir(&root)
        .arg("-c")
        .arg("set -euo pipefail; source scripts/lib/demo.sh; source scripts/gate.d/90-evidence-pack.sh")
        .env("BIN", bin)
        .env("EX", root.join("examples"))
        .env("OUT", out)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("bash runs")
}

fn rows(out: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(out.join("summary.tsv"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_stage_promotes_the_good_release_blocks_the_bad_one_and_verifies_the_pack() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    // Reports as the earlier stages would write them, stamped now so they are fresh.
    let now = gatehouse::time::Timestamp::now().to_rfc3339();
    let good = out.join("release");
    util::good_reports(&good);
    for f in std::fs::read_dir(&good).expect("dir") {
        let p = f.expect("entry").path();
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        v["started_at"] = now.clone().into();
        std::fs::write(&p, v.to_string()).expect("write");
    }
    let bad = out.join("bad-release");
    std::fs::create_dir_all(&bad).expect("mkdir");
    write_json(
        &bad,
        "alert-lint-check.json",
        &report(
            "alert-lint",
            "check",
            "ok",
            &now,
            json!({"totals": {"alerts": 3}}),
        ),
    );
    write_json(
        &bad,
        "sbom-diff-diff.json",
        &report("sbom-diff", "diff", "fail", &now, json!({})),
    );
    write_json(
        &bad,
        "migration-gate-lint.json",
        &report("migration-gate", "lint", "fail", &now, json!({})),
    );
    // migration-gate dry-run did not run for the bad release: missing, so it blocks too.

    let o = stage(&out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        !out.join("unexpected.txt").exists(),
        "{}\n{stderr}",
        std::fs::read_to_string(out.join("unexpected.txt")).unwrap_or_default()
    );
    let rows = rows(&out);
    let decision = |rel: &str| {
        rows.iter()
            .find(|r| r[0] == rel && r[1] == "decision")
            .cloned()
            .expect("a decision row")
    };
    assert_eq!(decision("release")[2], "promote", "{rows:?}");
    assert!(decision("release")[3].contains("openssl: yes"), "{rows:?}");
    assert!(
        decision("release")[3].contains("evidence-pack: ok"),
        "{rows:?}"
    );
    assert_eq!(decision("bad-release")[2], "block", "{rows:?}");
    assert!(
        decision("bad-release")[3]
            == "blocked by migration-gate dry-run, migration-gate lint, sbom-diff diff",
        "{rows:?}"
    );
    assert!(out.join("release/evidence.zip").exists());
    for f in [
        "evidence-pack-gate.json",
        "evidence-pack-build.json",
        "evidence-pack-verify.json",
    ] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(good.join(f)).expect(f)).expect("json");
        testkit::schema::assert_valid_report(&v);
    }
    assert!(
        stderr.contains("evidence-pack: release: promote"),
        "{stderr}"
    );
}

#[test]
fn the_stage_blocks_when_the_earlier_stages_wrote_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let o = stage(&out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The good release's gate exited 1 where 0 was expected: the demo records it.
    let unexpected = std::fs::read_to_string(out.join("unexpected.txt")).expect("unexpected.txt");
    assert!(unexpected.contains("evidence-pack gate"), "{unexpected}");
    let rows = rows(&out);
    assert!(
        rows.iter()
            .any(|r| r[0] == "release" && r[1] == "decision" && r[2] == "block"),
        "{rows:?}"
    );
}
