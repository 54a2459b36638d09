//! The demo stage scripts/gate.d/90-evidence-pack.sh, run as scripts/release-gate.sh runs it
//! (one release per run), with the demo's real policies over the real reports in
//! tests/fixtures/report-sets/good/ standing in for the earlier stages (never in the real
//! out/demo).

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::util::{self, report, write_json};

/// Runs the stage for release `rel` (a directory under `out`) gated by `policy`, with the
/// environment scripts/release-gate.sh exports to its stages.
fn stage(out: &Path, rel: &str, policy: &Path) -> std::process::Output {
    let bin = Path::new(util::BIN)
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
        .env("REL", rel)
        .env("GATE_POLICY", policy)
        .env("GATE_VERSION", "v3.0.0")
        .env("GATE_ENV", "local")
        .env("NO_COLOR", "1")
        .env_remove("GATE_SIGNING_KEY")
        .env_remove("GATE_CANARY_FAULTS")
        .env_remove("GATE_REGO_POLICY")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("bash runs")
}

fn rows(out: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(out.join("summary.tsv"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Copies the good release's real reports into `dir`, stamped `now` so they are fresh.
fn real_reports(dir: &Path, now: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for f in std::fs::read_dir(util::fixtures().join("report-sets/good")).expect("fixtures") {
        let p = f.expect("entry").path();
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        v["started_at"] = now.into();
        std::fs::write(
            dir.join(p.file_name().expect("name")),
            serde_json::to_string_pretty(&v).expect("json"),
        )
        .expect("write");
    }
}

#[test]
fn the_stage_promotes_the_good_release_blocks_the_bad_one_and_verifies_the_pack() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    let root = util::root();
    let now = gatehouse::time::Timestamp::now().to_rfc3339();
    let good = out.join("release");
    real_reports(&good, &now);
    // The bad release: the same reports, but sbom-diff and migration-gate lint said no, and
    // migration-gate dry-run did not run (missing, so it blocks too).
    let bad = out.join("bad-release");
    real_reports(&bad, &now);
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
    std::fs::remove_file(bad.join("migration-gate-dry-run.json")).expect("rm");

    let mut stderr = String::new();
    for (rel, policy) in [
        ("release", root.join("examples/release/promote.yaml")),
        (
            "bad-release",
            root.join("examples/bad-release/promote.yaml"),
        ),
    ] {
        let o = stage(&out, rel, &policy);
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{rel}: {e}");
        stderr.push_str(&e);
    }
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
        decision("bad-release")[3].starts_with(
            "failed: migration-gate lint, sbom-diff diff; missing: migration-gate dry-run; evidence.zip sha256 "
        ),
        "{rows:?}"
    );
    for rel in [&good, &bad] {
        assert!(rel.join("evidence.zip").exists());
    }
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
    let o = stage(
        &out,
        "release",
        &util::root().join("examples/release/promote.yaml"),
    );
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
