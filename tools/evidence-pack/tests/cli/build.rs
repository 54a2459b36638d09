//! `evidence-pack build`: reproducible bytes, the fixed layout, and independent verification
//! of what it writes by openssl, securesystemslib, in-toto, Python's zipfile and the
//! sigstore-verify crate.

use std::process::Command;

use serde_json::Value;

use crate::util::{self, build_pack, keygen, py, run, run_env};

#[test]
fn building_twice_gives_identical_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(dir.path(), &[]);
    let a = build_pack(dir.path(), &key, "a.zip");
    assert_eq!(a.code, 0, "{}{}", a.stderr, a.failures());
    let b = build_pack(dir.path(), &key, "b.zip");
    assert_eq!(b.code, 0);
    let (a_bytes, b_bytes) = (
        std::fs::read(dir.path().join("a.zip")).expect("a"),
        std::fs::read(dir.path().join("b.zip")).expect("b"),
    );
    assert_eq!(a_bytes, b_bytes, "two builds from the same inputs differ");
    assert_eq!(a.json["data"]["sha256"], b.json["data"]["sha256"]);
    assert_eq!(a.json["data"]["created"], "2026-11-24T10:00:00Z");
    assert_eq!(a.json["data"]["decision"], "promote");
}

#[test]
fn without_source_date_epoch_the_time_comes_from_the_newest_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(dir.path(), &[]);
    util::good_reports(&dir.path().join("reports"));
    let r = run(
        dir.path(),
        &util::build_args(key.to_str().expect("utf-8"), &["-o", "p.zip"]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The newest of the four reports started at 10:03.
    assert_eq!(r.json["data"]["created"], "2026-11-24T10:03:00Z");
    assert_eq!(r.json["data"]["decision"], Value::Null);
    let first = std::fs::read(dir.path().join("p.zip")).expect("zip");
    let r = run(
        dir.path(),
        &util::build_args(key.to_str().expect("utf-8"), &["-o", "p.zip"]),
    );
    assert_eq!(r.code, 0);
    assert_eq!(std::fs::read(dir.path().join("p.zip")).expect("zip"), first);
}

const ZIP_CHECK: &str = r#"
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "CRC error"
names = z.namelist()
assert names == sorted(names), names
manifest = json.loads(z.read("manifest.json"))
listed = {f["path"]: f for f in manifest["files"]}
for info in z.infolist():
    assert info.date_time == (2026, 11, 24, 10, 0, 0), info.date_time
    assert info.extra == b"", info.filename
    assert (info.external_attr >> 16) == 0o100644, oct(info.external_attr >> 16)
    if info.filename in ("manifest.json", "attestation.dsse.json", "attestation.sigstore.json"):
        continue
    data = z.read(info.filename)
    f = listed.pop(info.filename)
    assert hashlib.sha256(data).hexdigest() == f["sha256"], info.filename
    assert len(data) == f["bytes"], info.filename
assert not listed, listed
print("zipfile ok", len(names))
"#;

#[test]
fn pythons_zipfile_reads_every_entry_and_the_digests_match_the_manifest() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(dir.path(), &[]);
    assert_eq!(build_pack(dir.path(), &key, "p.zip").code, 0);
    let (code, out) = py(dir.path(), ZIP_CHECK, &["p.zip"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("zipfile ok 9"), "{out}");
    let names: Vec<&str> = out.lines().collect();
    assert!(!names.is_empty());
}

#[test]
fn the_layout_is_the_documented_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(dir.path(), &[]);
    assert_eq!(build_pack(dir.path(), &key, "p.zip").code, 0);
    let (code, out) = py(
        dir.path(),
        "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
        &["p.zip"],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "artifacts/sbom.cdx.json",
            "attestation.dsse.json",
            "attestation.sigstore.json",
            "manifest.json",
            "report.html",
            "reports/alert-lint-check.json",
            "reports/migration-gate-dry-run.json",
            "reports/migration-gate-lint.json",
            "reports/sbom-diff-diff.json",
        ]
    );
    let (_, manifest) = py(
        dir.path(),
        "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read('manifest.json').decode())",
        &["p.zip"],
    );
    let manifest: Value = serde_json::from_str(&manifest).expect("manifest json");
    testkit::schema::assert_valid("evidence-pack.manifest.schema.json", &manifest);
    // Reports are stored byte for byte as the tools wrote them.
    let original =
        std::fs::read_to_string(dir.path().join("reports/sbom-diff-diff.json")).expect("read");
    let (_, stored) = py(
        dir.path(),
        "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read('reports/sbom-diff-diff.json').decode())",
        &["p.zip"],
    );
    assert_eq!(stored, original);
}

/// Extracts the envelope and writes PAE(payloadType, payload) and the raw signature.
const PAE: &str = r#"
import base64, json, sys, zipfile
env = json.loads(zipfile.ZipFile(sys.argv[1]).read("attestation.dsse.json"))
payload = base64.b64decode(env["payload"])
t = env["payloadType"].encode()
open("pae.bin", "wb").write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload))
open("sig.bin", "wb").write(base64.b64decode(env["signatures"][0]["sig"]))
stmt = json.loads(payload)
assert stmt["_type"] == "https://in-toto.io/Statement/v1"
assert stmt["predicateType"] == "https://gatehouse.dev/evidence-pack/v1"
print(env["signatures"][0]["keyid"])
"#;

fn openssl_verify(dir: &std::path::Path, public: &std::path::Path, ecdsa: bool) -> (bool, String) {
    let mut c = Command::new("openssl");
    c.current_dir(dir)
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(public);
    c.args(["-rawin", "-in", "pae.bin", "-sigfile", "sig.bin"]);
    if ecdsa {
        c.args(["-digest", "sha256"]);
    }
    let out = c
        .output()
        .expect("openssl runs (scripts/setup.sh installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn openssl_verifies_the_dsse_signature_for_both_key_types() {
    for (alg, ecdsa) in [("ed25519", false), ("ecdsa-p256", true)] {
        let dir = tempfile::tempdir().expect("tmp");
        let (key, public) = keygen(dir.path(), &["--algorithm", alg]);
        assert_eq!(build_pack(dir.path(), &key, "p.zip").code, 0);
        let (code, keyid) = py(dir.path(), PAE, &["p.zip"]);
        assert_eq!(code, 0, "{keyid}");
        let (ok, out) = openssl_verify(dir.path(), &public, ecdsa);
        assert!(ok, "{alg}: openssl: {out}");
        assert!(out.contains("Signature Verified Successfully"), "{out}");
        // The keyid is the SHA-256 of the SPKI DER, as openssl computes it.
        let der = Command::new("openssl")
            .args(["pkey", "-pubin", "-outform", "DER", "-in"])
            .arg(&public)
            .output()
            .expect("openssl");
        assert_eq!(keyid.trim(), gatehouse::hash::sha256_hex(&der.stdout));
        // And a different payload does not verify.
        let mut pae = std::fs::read(dir.path().join("pae.bin")).expect("pae");
        let last = pae.len() - 2;
        pae[last] ^= 1;
        std::fs::write(dir.path().join("pae.bin"), pae).expect("write");
        assert!(
            !openssl_verify(dir.path(), &public, ecdsa).0,
            "{alg}: a changed payload verified"
        );
    }
}

const SSLIB: &str = r#"
import copy, json, sys, zipfile
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
from in_toto.models.metadata import Envelope as InTotoEnvelope
raw = json.loads(zipfile.ZipFile(sys.argv[1]).read("attestation.dsse.json"))
keyid = raw["signatures"][0]["keyid"]
key = SSlibKey.from_crypto(load_pem_public_key(open(sys.argv[2], "rb").read()), keyid=keyid)
# from_dict decodes signatures in place: give each parser its own copy.
print("securesystemslib", sorted(Envelope.from_dict(copy.deepcopy(raw)).verify([key], 1)))
env = InTotoEnvelope.from_dict(copy.deepcopy(raw))
print("in-toto", sorted(env.verify([key], 1)), env.payload_type)
other = SSlibKey.from_crypto(load_pem_public_key(open(sys.argv[3], "rb").read()), keyid=keyid)
try:
    Envelope.from_dict(copy.deepcopy(raw)).verify([other], 1)
    print("WRONG: another key verified")
except Exception as e:
    print("another key refused:", type(e).__name__)
"#;

#[test]
fn securesystemslib_and_in_toto_verify_the_envelope() {
    for alg in ["ed25519", "ecdsa-p256"] {
        let dir = tempfile::tempdir().expect("tmp");
        let (key, public) = keygen(dir.path(), &["--algorithm", alg]);
        let other = dir.path().join("other");
        let r = run(
            dir.path(),
            &[
                "keygen",
                "--algorithm",
                alg,
                "--out-dir",
                other.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(r.code, 0);
        assert_eq!(build_pack(dir.path(), &key, "p.zip").code, 0);
        let (code, out) = py(
            dir.path(),
            SSLIB,
            &[
                "p.zip",
                public.to_str().expect("utf-8"),
                other.join("gatehouse.pub").to_str().expect("utf-8"),
            ],
        );
        assert_eq!(code, 0, "{alg}: {out}");
        assert!(out.contains("securesystemslib ['"), "{alg}: {out}");
        assert!(out.contains("in-toto ['"), "{alg}: {out}");
        assert!(out.contains("application/vnd.in-toto+json"), "{out}");
        assert!(
            out.contains("another key refused: VerificationError"),
            "{alg}: {out}"
        );
    }
}

/// sigstore-verify (sigstore-rust) parses our bundle and verifies its DSSE signature with
/// its own PAE and aws-lc. Its full `Verifier` refuses any bundle without signing-time
/// evidence (a Rekor entry or an RFC 3161 timestamp), even for managed keys with the
/// transparency log skipped; an offline key-signed bundle has neither (keyless signing
/// and timestamping need a network: future work), and the test pins that behaviour.
#[test]
fn the_sigstore_bundle_verifies_with_the_sigstore_verify_crate() {
    use sigstore_verify::crypto::{SigningScheme, verify_signature};
    use sigstore_verify::types::bundle::SignatureContent;
    use sigstore_verify::{PublicKeyVerificationPolicy, Verifier};
    for (alg, scheme) in [
        ("ed25519", SigningScheme::Ed25519),
        ("ecdsa-p256", SigningScheme::EcdsaP256Sha256),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let (key, public) = keygen(dir.path(), &["--algorithm", alg]);
        assert_eq!(build_pack(dir.path(), &key, "p.zip").code, 0);
        let (code, out) = py(
            dir.path(),
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open('bundle.json','wb').write(z.read('attestation.sigstore.json')); open('manifest.json','wb').write(z.read('manifest.json'))",
            &["p.zip"],
        );
        assert_eq!(code, 0, "{out}");
        let bundle_text = std::fs::read_to_string(dir.path().join("bundle.json")).expect("bundle");
        let bundle: sigstore_verify::types::Bundle =
            serde_json::from_str(&bundle_text).expect("a Sigstore bundle");
        assert_eq!(
            bundle.media_type(),
            sigstore_verify::types::MediaType::Bundle0_3
        );
        let pem = std::fs::read_to_string(&public).expect("pub");
        let der = sigstore_verify::types::DerPublicKey::from_pem(&pem).expect("SPKI PEM");
        let SignatureContent::DsseEnvelope(env) = &bundle.content else {
            panic!("{alg}: the bundle holds no DSSE envelope");
        };
        verify_signature(&der, &env.pae(), &env.signature.sig, scheme)
            .unwrap_or_else(|e| panic!("{alg}: sigstore-crypto refused the DSSE signature: {e}"));
        let mut tampered = env.pae();
        let last = tampered.len() - 2;
        tampered[last] ^= 1;
        assert!(
            verify_signature(&der, &tampered, &env.signature.sig, scheme).is_err(),
            "{alg}"
        );
        // The statement inside binds manifest.json by digest.
        let statement: Value = serde_json::from_slice(env.payload.as_bytes()).expect("statement");
        let manifest = std::fs::read(dir.path().join("manifest.json")).expect("manifest");
        let subject = statement["subject"]
            .as_array()
            .expect("subjects")
            .iter()
            .find(|s| s["name"] == "manifest.json")
            .expect("manifest subject");
        assert_eq!(
            subject["digest"]["sha256"],
            gatehouse::hash::sha256_hex(&manifest)
        );

        let root = sigstore_verify::trust_root::TrustedRoot::from_json(
            sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT,
        )
        .expect("root");
        let verifier = Verifier::new(&root).expect("verifier");
        let policy = PublicKeyVerificationPolicy::new(der).skip_tlog_unsafe();
        let err = verifier
            .verify(manifest.as_slice(), &bundle, &policy)
            .expect_err("no signing-time evidence offline");
        assert!(
            err.to_string()
                .contains("at least one tlog entry or timestamp"),
            "{alg}: {err}"
        );
    }
}

#[test]
fn git_range_adds_commits_and_grouped_release_notes() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&repo)
            .args([
                "-c",
                "user.name=Dev",
                "-c",
                "user.email=dev@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env("GIT_AUTHOR_DATE", "2026-11-20T10:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-20T10:00:00Z")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["commit", "-q", "--allow-empty", "-m", "chore: start"]);
    git(&["tag", "v2.9.0"]);
    git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "feat(api): paginate /orders",
    ]);
    git(&["commit", "-q", "--allow-empty", "-m", "fix: retry on 503"]);
    git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "feat!: drop the v1 API",
        "-m",
        "BREAKING CHANGE: /v1 is gone",
    ]);
    git(&["commit", "-q", "--allow-empty", "-m", "Update README"]);
    let (key, _) = keygen(dir.path(), &[]);
    util::good_reports(&dir.path().join("reports"));
    std::fs::write(
        dir.path().join("notes.md"),
        "# v3.0.0\n\nHighlights: faster checkout.\n",
    )
    .expect("write");
    let args = [
        "build",
        "--release",
        "v3.0.0",
        "--key",
        key.to_str().expect("utf-8"),
        "--reports",
        "reports",
        "--notes",
        "notes.md",
        "--git-range",
        "v2.9.0..HEAD",
        "--repo",
        "repo",
        "-o",
        "p.zip",
    ];
    let r = run_env(dir.path(), &args, &[("SOURCE_DATE_EPOCH", "1795514400")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, notes) = py(
        dir.path(),
        "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read('release-notes.md').decode())",
        &["p.zip"],
    );
    assert_eq!(code, 0, "{notes}");
    insta::assert_snapshot!(notes.lines().map(|l| if l.ends_with(')') && l.len() > 10 { &l[..l.len() - 10] } else { l }).collect::<Vec<_>>().join("\n"), @r"
    # v3.0.0

    Highlights: faster checkout.

    ## v3.0.0

    Changes in `v2.9.0..HEAD` (4 commits).

    ### ⚠ Breaking changes

    - drop the v1 API

    ### Features

    - drop the v1 API
    - **api:** paginate /orders

    ### Bug fixes

    - retry on 503

    ### Other changes

    - Update README
    ");
    let (_, commits) = py(
        dir.path(),
        "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read('commits.json').decode())",
        &["p.zip"],
    );
    let commits: Value = serde_json::from_str(&commits).expect("commits.json");
    assert_eq!(commits["commits"].as_array().map(Vec::len), Some(4));
    assert_eq!(commits["commits"][0]["subject"], "Update README");
    assert_eq!(commits["commits"][1]["breaking"], true);

    let r = run(
        dir.path(),
        &util::build_args(
            key.to_str().expect("utf-8"),
            &["--git-range", "nope..HEAD", "--repo", "repo", "-o", "q.zip"],
        ),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("evidence-pack: git: log nope..HEAD in repo: "),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("q.zip").exists());
}

#[test]
fn a_blocked_release_is_still_packed_but_exits_1() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(dir.path(), &[]);
    util::good_reports(&dir.path().join("reports"));
    std::fs::remove_file(dir.path().join("reports/migration-gate-dry-run.json")).expect("rm");
    let policy = util::demo_policy();
    let r = run(
        dir.path(),
        &util::build_args(
            key.to_str().expect("utf-8"),
            &["--policy", policy.to_str().expect("utf-8"), "-o", "p.zip"],
        ),
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.json["data"]["decision"], "block");
    assert!(dir.path().join("p.zip").exists());
}

#[test]
fn stored_packs_verify_and_read_the_same() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(dir.path(), &[]);
    util::good_reports(&dir.path().join("reports"));
    let r = run_env(
        dir.path(),
        &util::build_args(
            key.to_str().expect("utf-8"),
            &["--compression", "store", "-o", "s.zip"],
        ),
        &[("SOURCE_DATE_EPOCH", "1795514400")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        dir.path(),
        &["verify", "s.zip", "--key", public.to_str().expect("utf-8")],
    );
    assert_eq!(r.code, 0, "{}", r.failures());
    let (code, out) = py(
        dir.path(),
        "import sys, zipfile; print({i.compress_type for i in zipfile.ZipFile(sys.argv[1]).infolist()})",
        &["s.zip"],
    );
    assert_eq!((code, out.trim()), (0, "{0}"));
}

#[test]
fn the_recorded_gate_is_judged_when_the_evidence_was_complete() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(dir.path(), &[]);
    util::good_reports(&dir.path().join("reports"));
    let policy = util::demo_policy();
    let p = policy.to_str().expect("utf-8");
    // SOURCE_DATE_EPOCH is the commit time, a day before the checks ran.
    let r = run_env(
        dir.path(),
        &util::build_args(
            key.to_str().expect("utf-8"),
            &["--policy", p, "-o", "p.zip"],
        ),
        &[("SOURCE_DATE_EPOCH", "1795428000")],
    );
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(r.json["data"]["created"], "2026-11-23T10:00:00Z");
    let (code, out) = py(
        dir.path(),
        "import base64, json, sys, zipfile; e = json.loads(zipfile.ZipFile(sys.argv[1]).read('attestation.dsse.json')); print(json.loads(base64.b64decode(e['payload']))['predicate']['gate']['evaluated_at'])",
        &["p.zip"],
    );
    assert_eq!((code, out.trim()), (0, "2026-11-24T10:03:00Z"));
    // verify re-runs the gate as of that recorded time; --now moves it.
    let r = run(
        dir.path(),
        &[
            "verify",
            "p.zip",
            "--key",
            public.to_str().expect("utf-8"),
            "--policy",
            p,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.failures());
    let r = run(
        dir.path(),
        &[
            "verify",
            "p.zip",
            "--key",
            public.to_str().expect("utf-8"),
            "--policy",
            p,
            "--now",
            "2026-12-24T00:00:00Z",
        ],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.json["data"]["decision"], "block");
    assert_eq!(r.json["data"]["decision_recorded"], "promote");
}

/// sigstore-js (`@sigstore/verify`, the client npm provenance uses) verifies the bundle
/// offline with the key, requiring no log entry or timestamp, and refuses another key.
#[test]
fn the_sigstore_bundle_verifies_with_sigstore_js() {
    let node_modules = util::root().join(".tools/node/node_modules");
    assert!(
        node_modules.join("@sigstore/verify").exists(),
        "{}/@sigstore/verify is missing: run scripts/setup.sh (it installs the `sigstore` npm package)",
        node_modules.display()
    );
    let script = util::fixtures().join("verify-bundle.js");
    for alg in ["ed25519", "ecdsa-p256"] {
        let dir = tempfile::tempdir().expect("tmp");
        let (key, public) = keygen(dir.path(), &["--algorithm", alg]);
        let other = dir.path().join("other");
        assert_eq!(
            run(
                dir.path(),
                &[
                    "keygen",
                    "--algorithm",
                    alg,
                    "--out-dir",
                    other.to_str().expect("utf-8")
                ]
            )
            .code,
            0
        );
        assert_eq!(build_pack(dir.path(), &key, "p.zip").code, 0);
        let (code, out) = py(
            dir.path(),
            "import sys, zipfile; open('bundle.json','wb').write(zipfile.ZipFile(sys.argv[1]).read('attestation.sigstore.json'))",
            &["p.zip"],
        );
        assert_eq!(code, 0, "{out}");
        let node = |public: &std::path::Path| {
            let out = Command::new("node")
                .current_dir(dir.path())
                .env("NODE_PATH", &node_modules)
                .arg(&script)
                .arg("bundle.json")
                .arg(public)
                .output()
                .expect("node runs");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        };
        let (ok, out) = node(&public);
        assert!(ok, "{alg}: {out}");
        assert!(
            out.contains("sigstore-js: verified (application/vnd.dev.sigstore.bundle.v0.3+json"),
            "{out}"
        );
        let (ok, out) = node(&other.join("gatehouse.pub"));
        assert!(!ok, "{alg}: another key verified: {out}");
        assert!(out.contains("SIGNATURE_ERROR"), "{alg}: {out}");
    }
}
