//! `evidence-pack verify`: an intact pack passes; each kind of tampering fails with its
//! reason and the entry's name; things that are not our packs are one line and exit 2.

use std::path::Path;

use crate::util::{self, build_pack, keygen, py, run};

/// Rewrites `src` into `dst` with Python's zipfile: `edits` maps a name to new bytes
/// (hex), or to "" to drop it; names not in `src` are added.
const REZIP: &str = r#"
import json, sys, zipfile
src, dst, edits = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
zin = zipfile.ZipFile(src)
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename in edits:
            new = edits.pop(info.filename)
            if new == "":
                continue
            data = bytes.fromhex(new)
        zout.writestr(zipfile.ZipInfo(info.filename, info.date_time), data, zipfile.ZIP_DEFLATED)
    for name, new in edits.items():
        zout.writestr(zipfile.ZipInfo(name, (2026, 11, 24, 10, 0, 0)), bytes.fromhex(new), zipfile.ZIP_DEFLATED)
"#;

fn hex(bytes: &[u8]) -> String {
    gatehouse::hash::hex(bytes)
}

fn read_entry(dir: &Path, zip: &str, name: &str) -> Vec<u8> {
    let (code, out) = py(
        dir,
        "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).hex())",
        &[zip, name],
    );
    assert_eq!(code, 0, "{out}");
    (0..out.trim().len() / 2)
        .map(|i| u8::from_str_radix(&out[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn rezip(dir: &Path, edits: &serde_json::Value) {
    let (code, out) = py(dir, REZIP, &["p.zip", "t.zip", &edits.to_string()]);
    assert_eq!(code, 0, "{out}");
}

struct Packed {
    dir: tempfile::TempDir,
    public: std::path::PathBuf,
}

fn packed() -> Packed {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(dir.path(), &[]);
    let r = build_pack(dir.path(), &key, "p.zip");
    assert_eq!(r.code, 0, "{}", r.stderr);
    Packed { dir, public }
}

fn verify(p: &Packed, zip: &str) -> util::Run {
    run(
        p.dir.path(),
        &["verify", zip, "--key", p.public.to_str().expect("utf-8")],
    )
}

#[test]
fn an_intact_pack_verifies_and_the_gate_reruns_inside_it() {
    let p = packed();
    let r = verify(&p, "p.zip");
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(r.json["data"]["release"], "v3.0.0");
    assert_eq!(r.json["data"]["decision_recorded"], "promote");
    let policy = util::demo_policy();
    let r = run(
        p.dir.path(),
        &[
            "verify",
            "p.zip",
            "--key",
            p.public.to_str().expect("utf-8"),
            "--policy",
            policy.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(r.json["data"]["decision"], "promote");
    // A pack Python re-zipped unchanged (different compression, same contents) verifies.
    rezip(p.dir.path(), &serde_json::json!({}));
    let r = verify(&p, "t.zip");
    assert_eq!(r.code, 0, "{}", r.failures());
    // … with a warning that it is not the file `build` wrote.
    assert_eq!(
        r.checks_with("pack.canonical", "warn").len(),
        1,
        "{}",
        r.stdout
    );
}

#[test]
fn a_changed_byte_in_a_report_fails_naming_the_entry() {
    let p = packed();
    let mut report = read_entry(p.dir.path(), "p.zip", "reports/sbom-diff-diff.json");
    let at = report.iter().position(|&b| b == b'o').expect("an o");
    report[at] = b'0';
    rezip(
        p.dir.path(),
        &serde_json::json!({"reports/sbom-diff-diff.json": hex(&report)}),
    );
    let r = verify(&p, "t.zip");
    assert_eq!(r.code, 1, "{}", r.stdout);
    let f = r.checks_with("pack.digest", "fail");
    assert_eq!(f.len(), 1, "{}", r.failures());
    assert_eq!(f[0]["location"]["file"], "reports/sbom-diff-diff.json");
    assert!(
        f[0]["message"]
            .as_str()
            .expect("msg")
            .contains("bytes) does not match manifest.json ("),
        "{}",
        r.failures()
    );
}

#[test]
fn a_flipped_byte_in_the_zip_itself_fails_naming_the_entry() {
    let p = packed();
    let mut z = std::fs::read(p.dir.path().join("p.zip")).expect("zip");
    // Inside the compressed data of the first entry (after its 30-byte header and name).
    let name_len = usize::from(u16::from_le_bytes([z[26], z[27]]));
    z[30 + name_len + 5] ^= 0x40;
    std::fs::write(p.dir.path().join("t.zip"), &z).expect("write");
    let r = verify(&p, "t.zip");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.failures().contains("artifacts/sbom.cdx.json"),
        "{}",
        r.failures()
    );
}

#[test]
fn a_removed_entry_fails() {
    let p = packed();
    rezip(
        p.dir.path(),
        &serde_json::json!({"reports/migration-gate-lint.json": ""}),
    );
    let r = verify(&p, "t.zip");
    assert_eq!(r.code, 1);
    let f = r.checks_with("pack.complete", "fail");
    assert_eq!(f.len(), 1, "{}", r.failures());
    assert_eq!(
        f[0]["message"],
        "reports/migration-gate-lint.json is listed in manifest.json but missing from the zip"
    );
}

#[test]
fn an_added_entry_fails() {
    let p = packed();
    rezip(
        p.dir.path(),
        &serde_json::json!({"reports/perf-gate-run.json": hex(b"{}")}),
    );
    let r = verify(&p, "t.zip");
    assert_eq!(r.code, 1);
    let f = r.checks_with("pack.complete", "fail");
    assert_eq!(f.len(), 1, "{}", r.failures());
    assert_eq!(
        f[0]["message"],
        "reports/perf-gate-run.json is in the zip but not in manifest.json: it was added"
    );
}

#[test]
fn a_signature_by_another_key_fails() {
    let p = packed();
    let other = p.dir.path().join("other");
    assert_eq!(
        run(
            p.dir.path(),
            &["keygen", "--out-dir", other.to_str().expect("utf-8")]
        )
        .code,
        0
    );
    let r = run(
        p.dir.path(),
        &[
            "verify",
            "p.zip",
            "--key",
            other.join("gatehouse.pub").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 1);
    let f = r.checks_with("pack.signature", "fail");
    assert_eq!(f.len(), 1, "{}", r.failures());
    assert!(
        f[0]["message"]
            .as_str()
            .expect("msg")
            .contains(", not by the given key (keyid "),
        "{}",
        r.failures()
    );

    // A pack rebuilt and signed by another key, presented with the first key's keyid.
    let (key2, _) = (other.join("gatehouse.key"), ());
    assert_eq!(build_pack(p.dir.path(), &key2, "q.zip").code, 0);
    let mut env: serde_json::Value =
        serde_json::from_slice(&read_entry(p.dir.path(), "q.zip", "attestation.dsse.json"))
            .expect("env");
    let mine: serde_json::Value =
        serde_json::from_slice(&read_entry(p.dir.path(), "p.zip", "attestation.dsse.json"))
            .expect("env");
    env["signatures"][0]["keyid"] = mine["signatures"][0]["keyid"].clone();
    let (code, out) = py(
        p.dir.path(),
        REZIP,
        &[
            "q.zip",
            "t.zip",
            &serde_json::json!({"attestation.dsse.json": hex(env.to_string().as_bytes())})
                .to_string(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let r = verify(&p, "t.zip");
    assert_eq!(r.code, 1);
    assert!(
        r.failures()
            .contains("does not verify: the statement was changed or signed by another key"),
        "{}",
        r.failures()
    );
}

#[test]
fn a_manifest_edited_to_match_a_changed_file_fails() {
    let p = packed();
    let mut report = read_entry(p.dir.path(), "p.zip", "reports/sbom-diff-diff.json");
    report.extend_from_slice(b" ");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&read_entry(p.dir.path(), "p.zip", "manifest.json"))
            .expect("manifest");
    for f in manifest["files"].as_array_mut().expect("files") {
        if f["path"] == "reports/sbom-diff-diff.json" {
            f["sha256"] = gatehouse::hash::sha256_hex(&report).into();
            f["bytes"] = report.len().into();
        }
    }
    rezip(
        p.dir.path(),
        &serde_json::json!({
            "reports/sbom-diff-diff.json": hex(&report),
            "manifest.json": hex(serde_json::to_string_pretty(&manifest).expect("json").as_bytes()),
        }),
    );
    let r = verify(&p, "t.zip");
    assert_eq!(r.code, 1);
    let f = r.failures();
    assert!(
        f.contains(
            "manifest.json does not match the signed statement: it was edited after signing"
        ),
        "{f}"
    );
    assert!(
        f.contains(
            "reports/sbom-diff-diff.json: its digest is not the one in the signed statement"
        ),
        "{f}"
    );
}

#[test]
fn an_edited_statement_fails_the_signature() {
    let p = packed();
    let mut env: serde_json::Value =
        serde_json::from_slice(&read_entry(p.dir.path(), "p.zip", "attestation.dsse.json"))
            .expect("env");
    let (code, payload) = py(
        p.dir.path(),
        "import base64, sys; sys.stdout.write(base64.b64encode(base64.b64decode(sys.argv[1]).replace(b'promote', b'rollback')).decode())",
        &[env["payload"].as_str().expect("payload")],
    );
    assert_eq!(code, 0);
    env["payload"] = payload.into();
    rezip(
        p.dir.path(),
        &serde_json::json!({"attestation.dsse.json": hex(env.to_string().as_bytes())}),
    );
    let r = verify(&p, "t.zip");
    assert_eq!(r.code, 1);
    assert_eq!(
        r.checks_with("pack.signature", "fail").len(),
        1,
        "{}",
        r.failures()
    );
    // The bundle still carries the original envelope: it no longer matches.
    assert_eq!(
        r.checks_with("pack.bundle", "fail").len(),
        1,
        "{}",
        r.failures()
    );
}

fn exits_2_with_one_line(p: &Packed, zip: &str, expect: &str) {
    let r = verify(p, zip);
    assert_eq!(r.code, 2, "{zip}: {}{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains(expect), "{zip}: {}", r.stderr);
    assert_eq!(r.json["result"], "error");
}

#[test]
fn files_that_are_not_our_packs_are_refused_in_one_line() {
    let p = packed();
    let d = p.dir.path();
    std::fs::write(
        d.join("text.zip"),
        "this is not a zip, it is a text file with a .zip name\n",
    )
    .expect("write");
    exits_2_with_one_line(
        &p,
        "text.zip",
        "evidence-pack: text.zip: not a zip file (no end-of-central-directory record)",
    );
    std::fs::write(d.join("empty.zip"), "").expect("write");
    exits_2_with_one_line(&p, "empty.zip", "not a zip file (too short)");
    let mk = |name: &str, code: &str| {
        let (c, out) = py(d, code, &[name]);
        assert_eq!(c, 0, "{out}");
    };
    mk(
        "other.zip",
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr('README.md', 'hello')",
    );
    exits_2_with_one_line(&p, "other.zip", "not an evidence pack: no manifest.json");
    mk(
        "evil.zip",
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr('../../etc/cron.d/x', 'boom')",
    );
    exits_2_with_one_line(&p, "evil.zip", "unsafe entry name \"../../etc/cron.d/x\"");
    mk(
        "abs.zip",
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr(zipfile.ZipInfo('/etc/passwd'), 'x')",
    );
    exits_2_with_one_line(&p, "abs.zip", "unsafe entry name");
    mk(
        "dup.zip",
        "import sys, warnings, zipfile; warnings.simplefilter('ignore'); z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr('manifest.json', '{}'); z.writestr('manifest.json', '{}')",
    );
    exits_2_with_one_line(&p, "dup.zip", "duplicate entry name \"manifest.json\"");
    mk(
        "enc.zip",
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_LZMA); z.writestr('manifest.json', '{}')",
    );
    exits_2_with_one_line(&p, "enc.zip", "compression method 14 is not read");
    assert!(!d.join("etc").exists());
}

/// Zip bombs are refused before inflating, unless the signed manifest vouches for the
/// entry's size: a zip that is not a pack is never inflated; a bomb slipped into a real pack
/// fails as unvouched (exit 1), not inflated; a header that lies about its size is exit 2.
#[test]
fn a_zip_bomb_is_refused_before_inflating() {
    let p = packed();
    let d = p.dir.path();
    // 64 MiB of zeros deflate to ~64 KiB: a 1000:1 ratio.
    let (c, out) = py(
        d,
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED); z.writestr('manifest.json', '{}'); z.writestr('artifacts/zeros.bin', bytes(64 << 20))",
        &["bomb.zip"],
    );
    assert_eq!(c, 0, "{out}");
    exits_2_with_one_line(
        &p,
        "bomb.zip",
        "not an evidence pack: no attestation.dsse.json",
    );
    let (c, out) = py(
        d,
        "import sys, zipfile\nsrc = zipfile.ZipFile('p.zip')\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n    for i in src.infolist(): z.writestr(i, src.read(i.filename))\n    z.writestr('artifacts/zeros.bin', bytes(64 << 20))",
        &["bombed.zip"],
    );
    assert_eq!(c, 0, "{out}");
    let r = verify(&p, "bombed.zip");
    assert_eq!(r.code, 1, "{}", r.stderr);
    let digest = r.checks_with("pack.digest", "fail");
    assert_eq!(digest.len(), 1, "{}", r.stdout);
    let message = digest[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("artifacts/zeros.bin: compression ratio 10")
            && message.ends_with(
                ":1 exceeds 500:1 and the signed manifest does not vouch for it; refusing a possible zip bomb"
            ),
        "{message}"
    );
    // A header that lies about a huge size.
    let mut z = std::fs::read(d.join("p.zip")).expect("zip");
    let eocd = z.len() - 22;
    let cd = u32::from_le_bytes(z[eocd + 16..eocd + 20].try_into().expect("4 bytes")) as usize;
    z[cd + 24..cd + 28].copy_from_slice(&0xF000_0000u32.to_le_bytes());
    std::fs::write(d.join("liar.zip"), &z).expect("write");
    exits_2_with_one_line(
        &p,
        "liar.zip",
        "the local header disagrees with the central directory",
    );
}

/// `build` and `verify` agree on limits: 100 MB of zeros packed with `--compression best`
/// (ratio 1029:1) once failed verify as a zip bomb; the signed manifest vouches for it now.
/// A lie about that entry's size is still caught without inflating it.
#[test]
fn what_build_packs_verify_accepts_however_compressible() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (key, public) = keygen(d, &[]);
    util::good_reports(&d.join("reports"));
    std::fs::write(d.join("zeros.bin"), vec![0u8; 100_000_000]).expect("write");
    let r = run(
        d,
        &util::build_args(
            key.to_str().expect("utf-8"),
            &[
                "--artifact",
                "zeros.bin",
                "--compression",
                "best",
                "-o",
                "z.zip",
            ],
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let public = public.to_str().expect("utf-8");
    let r = run(d, &["verify", "z.zip", "--key", public]);
    assert_eq!(r.code, 0, "{}", r.failures());
    // Over the ratio cap, so only the manifest's word let it through.
    let size = std::fs::metadata(d.join("z.zip")).expect("zip").len();
    assert!(100_000_000 / size > 500, "{size}");
    // Its central directory (and local header) declaring 1 byte more: caught, not inflated.
    let mut z = std::fs::read(d.join("z.zip")).expect("zip");
    let eocd = z.len() - 22;
    let cd = u32::from_le_bytes(z[eocd + 16..eocd + 20].try_into().expect("4 bytes")) as usize;
    assert_eq!(&z[cd + 46..cd + 46 + 19], b"artifacts/zeros.bin");
    let declared = 100_000_001u32.to_le_bytes();
    z[cd + 24..cd + 28].copy_from_slice(&declared);
    let local = u32::from_le_bytes(z[cd + 42..cd + 46].try_into().expect("4 bytes")) as usize;
    z[local + 22..local + 26].copy_from_slice(&declared);
    std::fs::write(d.join("lie.zip"), &z).expect("write");
    let r = run(d, &["verify", "lie.zip", "--key", public]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.checks_with("pack.digest", "fail")[0]["message"],
        "artifacts/zeros.bin: declares 100000001 bytes where the signed manifest says 100000000: the entry was altered (not inflated)"
    );
}

#[test]
fn the_verify_report_snapshot() {
    let p = packed();
    let r = verify(&p, "p.zip");
    testkit::cli::snapshot_settings_with(&[
        (".data.keyid", "[keyid]"),
        (".data.sha256", "[sha256]"),
        (".data.bytes", "[bytes]"),
        (".evidence[].sha256", "[sha256]"),
        (".evidence[].bytes", "[bytes]"),
        (".checks[1].message", "[signed by]"),
        (".summary", "[summary]"),
    ])
    .bind(|| insta::assert_json_snapshot!(r.json));
}
