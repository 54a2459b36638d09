//! Bad input is a product feature: one line naming the file, exit 2, memory bounded.

use std::io::Write;

use crate::{assert_refused, corpus, run, run_stdin};

const V1: &str = "examples/release/sbom-v1.cdx.json";

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write");
    p.to_str().expect("utf-8").to_owned()
}

#[test]
fn truncated_json_names_the_line_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let full = std::fs::read(corpus("sbom/pairs/proton-bridge__v1.8.0.cdx.json")).expect("corpus");
    let cut = write(&dir, "truncated.cdx.json", &full[..full.len() / 2]);
    let r = run(&[V1, &cut]);
    assert_refused(&r, &format!("{cut}:"), "EOF while parsing");
}

#[test]
fn a_wrongly_typed_field_names_its_json_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        &dir,
        "new.cdx.json",
        br#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
  "components": [
    {"name": "a", "version": "1"},
    {"name": "b", "version": {"major": 1}}
  ]}"#,
    );
    let r = run(&[V1, &p]);
    assert_refused(
        &r,
        &format!("{p}:4:"),
        "components[1].version: invalid type: map, expected a string",
    );
}

#[test]
fn an_xml_bomb_is_refused_not_expanded() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut bomb =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE bom [\n  <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        bomb.push_str(&format!(
            "  <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    bomb.push_str("]>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"><components><component type=\"library\"><name>&lol9;</name></component></components></bom>\n");
    let p = write(&dir, "bomb.cdx.xml", bomb.as_bytes());
    let r = run(&[V1, &p]);
    assert_refused(&r, &format!("{p}:2:"), "DTD");
}

#[test]
fn a_1_gib_file_of_garbage_is_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("garbage.json");
    let f = std::fs::File::create(&p).expect("create");
    // Sparse: a gibibyte on paper, nothing on disk.
    f.set_len(1 << 30).expect("set_len");
    let p = p.to_str().expect("utf-8");
    let r = run(&[V1, p]);
    assert_refused(
        &r,
        p,
        "is larger than 268435456 bytes; refusing to read it (--max-size raises the limit)",
    );
    let rep = r.report();
    assert_eq!(rep["error"]["kind"], "too_large");
}

#[test]
fn garbage_on_stdin_is_capped_too() {
    let garbage: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let r = run_stdin(&[V1, "-", "--max-size", "1M"], &garbage);
    assert_refused(&r, "<stdin>", "larger than 1048576 bytes");
    let small: Vec<u8> = garbage[..4096].to_vec();
    let r = run_stdin(&[V1, "-"], &small);
    assert_refused(&r, "<stdin>", "");
}

#[test]
fn a_gzip_bomb_is_capped_by_its_decompressed_size() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).expect("gzip");
    }
    let gz = enc.finish().expect("gzip");
    assert!(gz.len() < 1 << 20, "{} bytes", gz.len());
    let p = write(&dir, "bomb.json.gz", &gz);
    let r = run(&[V1, &p, "--max-size", "8M"]);
    assert_refused(
        &r,
        &p,
        "the decompressed content is larger than 8388608 bytes",
    );
}

#[test]
fn valid_json_that_is_neither_cyclonedx_nor_spdx() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        &dir,
        "package.json",
        br#"{"name": "left-pad", "version": "1.3.0", "dependencies": {}}"#,
    );
    let r = run(&[V1, &p]);
    assert_refused(
        &r,
        &format!("{p}: "),
        "neither CycloneDX (no bomFormat) nor SPDX (no spdxVersion)",
    );
}

#[test]
fn empty_binary_missing_and_directory_inputs() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = write(&dir, "empty.json", b"");
    assert_refused(&run(&[V1, &empty]), &format!("{empty}: "), "is empty");
    let bin = write(
        &dir,
        "image.png",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
    );
    assert_refused(&run(&[V1, &bin]), &format!("{bin}:"), "not valid UTF-8");
    let missing = dir.path().join("nope.json");
    let missing = missing.to_str().expect("utf-8");
    let r = run(&[V1, missing]);
    assert_refused(&r, &format!("{missing}: cannot read"), "No such file");
    assert_eq!(r.report()["error"]["kind"], "io");
    let d = dir.path().to_str().expect("utf-8");
    assert_refused(&run(&[V1, d]), &format!("{d}: "), "is a directory");
}

#[test]
fn a_scanner_report_given_as_an_sbom_says_where_it_belongs() {
    let g = corpus("vuln-reports/grype/upstream-ghsa-test.json");
    let g = g.to_str().expect("utf-8");
    let r = run(&[g, V1]);
    assert_refused(
        &r,
        &format!("{g}: "),
        "is a Grype JSON vulnerability report, not an SBOM; give it with --vulns-old",
    );
}

#[test]
fn sarif_and_spdx_are_not_vulnerability_reports() {
    let sarif = corpus("vuln-reports/grype-sarif/upstream-TestSarifPresenter_image.sarif.json");
    let sarif = sarif.to_str().expect("utf-8");
    assert_refused(
        &run(&[V1, V1, "--vulns-new", sarif]),
        &format!("{sarif}: "),
        "is SARIF",
    );
    let spdx = corpus("vuln-reports/trivy-spdx/conda-spdx.json");
    let spdx = spdx.to_str().expect("utf-8");
    assert_refused(
        &run(&[V1, V1, "--vulns-new", spdx]),
        &format!("{spdx}: "),
        "carries no vulnerabilities",
    );
}

#[test]
fn stdin_serves_one_input_only() {
    let r = run_stdin(&["-", "-"], b"{}");
    assert_refused(&r, "-: ", "stdin (-) can be given for one input only");
}

#[test]
fn the_corpus_invalid_files_are_refused_with_one_line() {
    for name in [
        "syft-bad-bad-sbom",
        "syft-bad-example7-bin.spdx.json",
        "syft-bad-example7-go-module.spdx.json",
        "syft-bad-example7-golang.spdx.json",
        "syft-bad-example7-third-party-modules.spdx.json",
    ] {
        let p = corpus(&format!("sbom/invalid/{name}"));
        let p = p.to_str().expect("utf-8");
        let r = run(&[V1, p]);
        let needle = if name.ends_with(".json") {
            "missing field `name`"
        } else {
            "neither JSON, XML nor SPDX tag-value"
        };
        assert_refused(&r, p, needle);
    }
}
