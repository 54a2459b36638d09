//! Hostile and odd inputs (issue 21): one package spelled two ways, a purl with 100 000
//! qualifiers, a FIFO given by name, and `--report` naming an input.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{root, run};

fn cdx(components: Value) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": components,
    }))
    .expect("json")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p.to_str().expect("utf-8").to_owned()
}

fn counts(r: &crate::Run) -> (u64, u64, u64) {
    let rep = r.report();
    let c = &rep["data"]["counts"];
    let n = |k: &str| c[k].as_u64().unwrap_or_else(|| panic!("counts.{k}: {rep}"));
    (n("added"), n("removed"), n("upgraded"))
}

/// Older cdxgen writes an npm scope inside an encoded name (`%40cypress%2Fxvfb`), newer
/// cdxgen as the namespace (`%40cypress/xvfb`): one package, not one removed and one added.
/// Likewise a Go module path with encoded slashes and Maven `group:artifact` as the name.
#[test]
fn one_package_spelled_two_ways_is_neither_added_nor_removed() {
    let dir = tempfile::tempdir().expect("tmp");
    let old = write(
        dir.path(),
        "old.cdx.json",
        &cdx(json!([
            {"type": "library", "name": "@cypress/xvfb", "version": "1.2.4",
             "purl": "pkg:npm/%40cypress%2Fxvfb@1.2.4"},
            {"type": "library", "name": "github.com/gorilla/mux", "version": "v1.8.0",
             "purl": "pkg:golang/github.com%2Fgorilla%2Fmux@v1.8.0"},
            {"type": "library", "name": "commons-lang3", "version": "3.12.0",
             "purl": "pkg:maven/org.apache.commons:commons-lang3@3.12.0"},
        ])),
    );
    let new = write(
        dir.path(),
        "new.cdx.json",
        &cdx(json!([
            {"type": "library", "group": "@cypress", "name": "xvfb", "version": "1.2.4",
             "purl": "pkg:npm/%40cypress/xvfb@1.2.4"},
            {"type": "library", "name": "mux", "version": "v1.8.1",
             "purl": "pkg:golang/github.com/gorilla/mux@v1.8.1"},
            {"type": "library", "group": "org.apache.commons", "name": "commons-lang3",
             "version": "3.14.0", "purl": "pkg:maven/org.apache.commons/commons-lang3@3.14.0"},
        ])),
    );
    let r = run(&[&old, &new]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&r), (0, 0, 2), "{}", r.stdout);
}

/// One purl with 100 000 qualifiers (about 0.9 MB) once took 25 s; parsing is linear now.
/// Not timed: the bound only proves it does not hang.
#[test]
fn a_purl_with_100k_qualifiers_does_not_take_quadratic_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut purl = String::from("pkg:npm/left-pad@1.3.0?");
    for i in 0..100_000 {
        purl.push_str(&format!("q{i}=v&"));
    }
    purl.push_str("arch=x");
    let comps: Vec<Value> = (0..3)
        .map(|i| {
            json!({"type": "library", "name": format!("left-pad{i}"), "version": "1.3.0",
             "purl": purl.replace("left-pad@", &format!("left-pad{i}@"))})
        })
        .collect();
    let old = write(dir.path(), "old.cdx.json", &cdx(json!(comps)));
    let new = write(dir.path(), "new.cdx.json", &cdx(json!(comps)));
    let started = Instant::now();
    let r = run(&[&old, &new]);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&r), (0, 0, 0));
}

#[expect(unsafe_code, reason = "libc::mkfifo: std has no way to make a FIFO")]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().expect("utf-8")).expect("cstring");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A FIFO given by name is read like stdin: a writer writes the file and closes, and the
/// verdict is the one for the file itself.
#[test]
fn a_fifo_given_by_name_is_read_like_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let v1 = root().join("examples/release/sbom-v1.cdx.json");
    let v2 = root().join("examples/release/sbom-v2.cdx.json");
    let budget = root().join("examples/release/sbom-budget.yaml");
    let s = |p: &PathBuf| p.to_str().expect("utf-8").to_owned();
    let direct = run(&[&s(&v1), &s(&v2), "--budget", &s(&budget)]);
    for (i, fed) in [&v2, &budget].into_iter().enumerate() {
        let fifo = dir.path().join(format!("fifo{i}"));
        mkfifo(&fifo);
        let bytes = std::fs::read(fed).expect("read");
        let writer_path = fifo.clone();
        // The writer blocks in open until the tool opens the FIFO for reading; if the tool
        // never does, the thread is left behind when the test process ends.
        let writer = std::thread::spawn(move || std::fs::write(&writer_path, bytes));
        let started = Instant::now();
        let r = if i == 0 {
            run(&[&s(&v1), &s(&fifo), "--budget", &s(&budget)])
        } else {
            run(&[&s(&v1), &s(&v2), "--budget", &s(&fifo)])
        };
        assert!(started.elapsed() < Duration::from_secs(60));
        assert_eq!(r.code, direct.code, "{}", r.stderr);
        assert_eq!(r.report()["summary"], direct.report()["summary"]);
        writer.join().expect("writer").expect("written");
    }
}

/// `--report NEW` would replace an input of the run: refused, exit 2, NEW unchanged.
#[test]
fn a_report_over_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().expect("tmp");
    let v1 = std::fs::read(root().join("examples/release/sbom-v1.cdx.json")).expect("read");
    let v2 = std::fs::read(root().join("examples/release/sbom-v2.cdx.json")).expect("read");
    let old = write(dir.path(), "old.cdx.json", &v1);
    let new = write(dir.path(), "new.cdx.json", &v2);
    let r = run(&[&old, &new, "--report", &new]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("an input of this run"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(&new).expect("read"),
        v2,
        "the input is unchanged"
    );
    // Through another spelling of the same path, too.
    let other = format!("{}/./new.cdx.json", dir.path().display());
    let r = run(&[&old, &new, "--report", &other]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read(&new).expect("read"), v2);
}
