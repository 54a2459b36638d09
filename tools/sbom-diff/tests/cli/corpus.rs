//! The shared corpus of real SBOMs and scanner reports: every file is read or refused with
//! one line; version pairs agree with an independent count (tests/independent_diff.py);
//! diff(A, A) is empty, diff(B, A) mirrors diff(A, B), and component order does not matter.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{corpus, run};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x != "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no files under {}", dir.display());
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn every_corpus_sbom_diffs_empty_against_itself_or_is_refused() {
    let mut read = 0;
    for f in files(&corpus("sbom")) {
        let r = run(&[s(&f), s(&f)]);
        if f.components().any(|c| c.as_os_str() == "invalid") {
            assert_eq!(r.code, 2, "{} should be refused", f.display());
            assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
            assert!(
                r.stderr.starts_with(&format!("sbom-diff: {}", f.display())),
                "{}",
                r.stderr
            );
            continue;
        }
        assert_eq!(r.code, 0, "{}: {}", f.display(), r.stderr);
        let rep = r.report();
        let c = &rep["data"]["counts"];
        for k in [
            "added",
            "removed",
            "upgraded",
            "downgraded",
            "changed",
            "license_changed",
        ] {
            assert_eq!(c[k], 0, "{}: diff with itself has {k}", f.display());
        }
        assert_eq!(
            c["unchanged"],
            rep["data"]["new"]["components"],
            "{}",
            f.display()
        );
        if let Some(v) = rep["data"]["vulnerabilities"].as_object() {
            assert_eq!(
                v["new"].as_array().map(Vec::len),
                Some(0),
                "{}",
                f.display()
            );
            assert_eq!(
                v["fixed"].as_array().map(Vec::len),
                Some(0),
                "{}",
                f.display()
            );
        }
        read += 1;
    }
    assert!(read >= 90, "only {read} SBOMs read");
}

#[test]
fn every_corpus_vulnerability_report_is_read_or_refused() {
    let sbom = corpus("sbom/syft-testdata/cyclonedxjson-identify-1.6.json");
    for f in files(&corpus("vuln-reports")) {
        let r = run(&[
            s(&sbom),
            s(&sbom),
            "--vulns-old",
            s(&f),
            "--vulns-new",
            s(&f),
        ]);
        let name = f.to_string_lossy();
        if name.contains("sarif") || name.contains("trivy-spdx") {
            assert_eq!(r.code, 2, "{name}");
            assert_eq!(r.stderr.lines().count(), 1);
            continue;
        }
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let rep = r.report();
        let v = &rep["data"]["vulnerabilities"];
        assert_eq!(
            v["new"].as_array().map(Vec::len),
            Some(0),
            "{name}: same report, nothing new"
        );
        assert_eq!(v["fixed"].as_array().map(Vec::len), Some(0), "{name}");
    }
}

/// (added, removed, changed, unchanged) from the independent Python count.
fn independent(old: &Path, new: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/independent_diff.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(old)
        .arg(new)
        .output()
        .expect("python3 runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("script prints JSON")
}

fn ours(old: &Path, new: &Path) -> Value {
    let r = run(&[s(old), s(new)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.report()
}

fn assert_agrees(old: &Path, new: &Path) -> Value {
    let rep = ours(old, new);
    let c = &rep["data"]["counts"];
    let py = independent(old, new);
    let changed = c["upgraded"].as_u64().unwrap_or(0)
        + c["downgraded"].as_u64().unwrap_or(0)
        + c["changed"].as_u64().unwrap_or(0);
    let label = format!("{} → {}", old.display(), new.display());
    assert_eq!(c["added"], py["added"], "{label}");
    assert_eq!(c["removed"], py["removed"], "{label}");
    assert_eq!(
        changed,
        py["changed"].as_u64().unwrap_or(u64::MAX),
        "{label}"
    );
    assert_eq!(c["unchanged"], py["unchanged"], "{label}");
    rep
}

#[test]
fn version_pairs_agree_with_an_independent_count() {
    let p = |n: &str| corpus(&format!("sbom/pairs/{n}"));
    let proton = assert_agrees(
        &p("proton-bridge__v1.6.3.cdx.json"),
        &p("proton-bridge__v1.8.0.cdx.json"),
    );
    assert_eq!(proton["data"]["counts"]["upgraded"], 7);
    let proton_xml = assert_agrees(
        &p("proton-bridge__v1.6.3.cdx.xml"),
        &p("proton-bridge__v1.8.0.cdx.xml"),
    );
    // The XML and JSON encodings of one BOM give one diff.
    for k in ["counts", "upgraded", "license_changed"] {
        assert_eq!(proton["data"][k], proton_xml["data"][k], "{k}");
    }
    let juice = assert_agrees(
        &p("juice-shop__v11.1.2.cdx-1.2.json"),
        &p("juice-shop__v14.1.1.cdx-1.6.json"),
    );
    assert_eq!(juice["data"]["counts"]["added"], 388);
    assert_eq!(juice["data"]["counts"]["removed"], 127);
    // Go pseudo-versions order by their timestamp: all seven proton-bridge changes are upgrades.
    assert_eq!(proton["data"]["counts"]["downgraded"], 0);
}

#[test]
fn one_product_in_several_formats_diffs_empty() {
    for (a, b) in [
        (
            "cyclonedx-json/laravel-7.12.0.cdx-1.2.json",
            "cyclonedx-xml/laravel-7.12.0.cdx-1.1.xml",
        ),
        (
            "cyclonedx-json/laravel-7.12.0.cdx-1.3.json",
            "cyclonedx-xml/laravel-7.12.0.cdx-1.4.xml",
        ),
        (
            "cyclonedx-json/dropwizard-1.3.15.cdx-1.2.json",
            "cyclonedx-xml/dropwizard-1.3.15.cdx.xml",
        ),
        (
            "cyclonedx-json/cern-lhc-vdm-editor-e564943.cdx.json",
            "cyclonedx-xml/cern-lhc-vdm-editor-e564943.cdx.xml",
        ),
        (
            "cyclonedx-json/juice-shop-14.1.1-node-npm-flat.cdx-1.5.json",
            "cyclonedx-xml/juice-shop-14.1.1-node-npm-flat.cdx-1.6.xml",
        ),
        (
            "cyclonedx-json/juice-shop-14.1.1-node-npm-flat.cdx-1.5.json",
            "pairs/juice-shop__v14.1.1.cdx-1.6.json",
        ),
    ] {
        let rep = assert_agrees(&corpus(&format!("sbom/{a}")), &corpus(&format!("sbom/{b}")));
        let c = &rep["data"]["counts"];
        for k in ["added", "removed", "upgraded", "downgraded", "changed"] {
            assert_eq!(c[k], 0, "{a} vs {b}: {k}");
        }
    }
}

/// Rewrites a CycloneDX JSON file with its components in another order.
fn reordered(src: &Path, dir: &tempfile::TempDir, rotate: usize) -> PathBuf {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(src).expect("read")).expect("json");
    let comps = doc["components"].as_array_mut().expect("components");
    comps.reverse();
    let n = comps.len();
    comps.rotate_left(rotate % n.max(1));
    let out = dir.path().join(format!("reordered-{rotate}.json"));
    std::fs::write(&out, serde_json::to_vec(&doc).expect("json")).expect("write");
    out
}

fn strip_paths(mut rep: Value) -> Value {
    for side in ["old", "new"] {
        rep["data"][side]["path"] = Value::Null;
    }
    rep["data"].clone()
}

#[test]
fn component_order_does_not_change_the_result() {
    let dir = tempfile::tempdir().expect("tmp");
    let old = corpus("sbom/pairs/juice-shop__v11.1.2.cdx-1.2.json");
    let new = corpus("sbom/pairs/juice-shop__v14.1.1.cdx-1.6.json");
    let want = strip_paths(ours(&old, &new));
    for rotate in [0, 1, 377] {
        let got = strip_paths(ours(
            &reordered(&old, &dir, rotate),
            &reordered(&new, &dir, rotate + 5),
        ));
        assert_eq!(got, want, "rotation {rotate}");
    }
}

#[test]
fn the_reverse_diff_mirrors_the_forward_one() {
    let old = corpus("sbom/pairs/juice-shop__v11.1.2.cdx-1.2.json");
    let new = corpus("sbom/pairs/juice-shop__v14.1.1.cdx-1.6.json");
    let fwd = ours(&old, &new)["data"].clone();
    let rev = ours(&new, &old)["data"].clone();
    assert_eq!(fwd["added"], rev["removed"]);
    assert_eq!(fwd["removed"], rev["added"]);
    assert_eq!(fwd["counts"]["upgraded"], rev["counts"]["downgraded"]);
    assert_eq!(fwd["counts"]["downgraded"], rev["counts"]["upgraded"]);
    assert_eq!(
        fwd["counts"]["license_changed"],
        rev["counts"]["license_changed"]
    );
}
