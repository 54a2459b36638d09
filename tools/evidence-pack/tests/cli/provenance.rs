//! `evidence-pack provenance`: SLSA Provenance v1 in a DSSE envelope, verified by openssl
//! over the PAE and by securesystemslib, as the pack's attestation is; reproducible bytes;
//! bad subjects and commits refused with one line.

use std::path::Path;
use std::process::Command;

use crate::util::{keygen, py, run};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn image_digest() -> String {
    format!("localhost/gatehouse:0.1.0=sha256:{}", "ab".repeat(32))
}

fn attest(dir: &Path, key: &Path, out: &str, extra: &[&str]) -> testkit::cli::Run {
    std::fs::write(dir.join("alert-lint"), b"a binary\n").expect("write");
    std::fs::write(dir.join("Cargo.lock"), b"# lock\n").expect("write");
    let digest = image_digest();
    let mut args = vec![
        "provenance",
        "--key",
        key.to_str().expect("utf-8"),
        "--builder-id",
        "https://gatehouse.dev/scripts/release-self.sh",
        "--source-uri",
        "https://github.com/gatehouse-dev/gatehouse",
        "--source-commit",
        COMMIT,
        "--build-command",
        "scripts/release-self.sh",
        "--material",
        "Cargo.lock",
        "--subject",
        "alert-lint",
        "--subject-digest",
        &digest,
        "--parameter",
        "profile=release",
        "-o",
        out,
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

/// Writes pae.bin and sig.bin from the envelope; prints the statement's facts.
const PAE: &str = r#"
import base64, json, sys
env = json.load(open(sys.argv[1]))
payload = base64.b64decode(env["payload"])
t = env["payloadType"].encode()
open("pae.bin", "wb").write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload))
open("sig.bin", "wb").write(base64.b64decode(env["signatures"][0]["sig"]))
s = json.loads(payload)
assert s["_type"] == "https://in-toto.io/Statement/v1", s["_type"]
assert s["predicateType"] == "https://slsa.dev/provenance/v1", s["predicateType"]
p = s["predicate"]
print("subjects", [(x["name"], x["digest"]["sha256"][:8]) for x in s["subject"]])
print("builder", p["runDetails"]["builder"]["id"])
print("command", p["buildDefinition"]["externalParameters"]["buildCommand"])
print("deps", [d.get("name", d.get("uri")) + "=" + list(d["digest"].values())[0][:8] for d in p["buildDefinition"]["resolvedDependencies"]])
"#;

const SSLIB: &str = r#"
import json, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
raw = json.load(open(sys.argv[1]))
key = SSlibKey.from_crypto(load_pem_public_key(open(sys.argv[2], "rb").read()), keyid=raw["signatures"][0]["keyid"])
print("securesystemslib", sorted(Envelope.from_dict(raw).verify([key], 1)))
"#;

fn openssl_verifies(dir: &Path, public: &Path, ecdsa: bool) -> bool {
    let mut c = Command::new("openssl");
    c.current_dir(dir)
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(public)
        .args(["-rawin", "-in", "pae.bin", "-sigfile", "sig.bin"]);
    if ecdsa {
        c.args(["-digest", "sha256"]);
    }
    c.output()
        .expect("openssl runs (scripts/setup.sh installs it)")
        .status
        .success()
}

#[test]
fn openssl_and_securesystemslib_verify_the_provenance_for_both_key_types() {
    for (alg, ecdsa) in [("ed25519", false), ("ecdsa-p256", true)] {
        let dir = tempfile::tempdir().expect("tmp");
        let (key, public) = keygen(dir.path(), &["--algorithm", alg]);
        let r = attest(dir.path(), &key, "prov.json", &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.json["data"]["subjects"][1]["name"],
            "localhost/gatehouse:0.1.0"
        );
        assert_eq!(r.json["data"]["source"]["commit"], COMMIT);

        let (code, out) = py(dir.path(), PAE, &["prov.json"]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("('alert-lint', '")
                && out.contains("('localhost/gatehouse:0.1.0', 'abababab')"),
            "{out}"
        );
        assert!(
            out.contains("builder https://gatehouse.dev/scripts/release-self.sh"),
            "{out}"
        );
        assert!(out.contains("command scripts/release-self.sh"), "{out}");
        let lock = gatehouse::hash::sha256_hex(b"# lock\n");
        assert!(out.contains(&format!("Cargo.lock={}", &lock[..8])), "{out}");
        assert!(out.contains("=0123456"), "{out}");
        assert!(
            openssl_verifies(dir.path(), &public, ecdsa),
            "{alg}: openssl refused"
        );

        let (code, out) = py(
            dir.path(),
            SSLIB,
            &["prov.json", public.to_str().expect("utf-8")],
        );
        assert_eq!(code, 0, "{alg}: {out}");
        assert!(out.contains("securesystemslib ['"), "{alg}: {out}");

        // A changed statement no longer verifies.
        let mut pae = std::fs::read(dir.path().join("pae.bin")).expect("pae");
        let last = pae.len() - 3;
        pae[last] ^= 1;
        std::fs::write(dir.path().join("pae.bin"), pae).expect("write");
        assert!(
            !openssl_verifies(dir.path(), &public, ecdsa),
            "{alg}: a changed statement verified"
        );
    }
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(dir.path(), &[]);
    assert_eq!(attest(dir.path(), &key, "a.json", &[]).code, 0);
    assert_eq!(attest(dir.path(), &key, "b.json", &[]).code, 0);
    let read = |n: &str| std::fs::read(dir.path().join(n)).expect("read");
    assert_eq!(read("a.json"), read("b.json"));
}

#[test]
fn bad_commits_subjects_and_parameters_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(dir.path(), &[]);
    for (extra, says) in [
        (
            vec!["--subject-digest", "img=sha256:abc"],
            "expected NAME=sha256:",
        ),
        (vec!["--subject", "missing-file"], "missing-file"),
        (vec!["--subject", "alert-lint"], "named twice"),
        (vec!["--parameter", "novalue"], "KEY=VALUE"),
    ] {
        let r = attest(dir.path(), &key, "p.json", &extra);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert_eq!(r.json["result"], "error");
        assert!(r.stderr.contains(says), "{extra:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(
            !dir.path().join("p.json").exists(),
            "{extra:?} wrote a file"
        );
    }
    let r = run(
        dir.path(),
        &[
            "provenance",
            "--key",
            key.to_str().expect("utf-8"),
            "--builder-id",
            "b",
            "--source-uri",
            "u",
            "--source-commit",
            "HEAD",
            "--build-command",
            "c",
            "--subject",
            "alert-lint",
            "-o",
            "p.json",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--source-commit \"HEAD\""),
        "{}",
        r.stderr
    );
}
