//! Keys: `keygen`, encrypted keys and their passwords, keys made by openssl, and key files
//! in formats we do not read.

use std::process::Command;

use crate::util::{self, build_pack, keygen, run, run_env};

const PW: &str = "correct horse battery staple";

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn keygen_writes_a_0600_private_key_and_refuses_to_overwrite() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(dir.path(), &[]);
    let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .expect("key")
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(
        std::fs::read_to_string(&public)
            .expect("pub")
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let r = run(dir.path(), &["keygen", "--out-dir", "keys"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "evidence-pack: keys/gatehouse.key: exists; pass --force to replace it"
    );
    assert_eq!(
        run(dir.path(), &["keygen", "--out-dir", "keys", "--force"]).code,
        0
    );
}

#[test]
fn keygen_encrypts_with_pbes2_that_openssl_reads_and_build_decrypts() {
    for alg in ["ed25519", "ecdsa-p256"] {
        let dir = tempfile::tempdir().expect("tmp");
        let r = run_env(
            dir.path(),
            &[
                "keygen",
                "--algorithm",
                alg,
                "--out-dir",
                "keys",
                "--key-password-env",
                "PW",
            ],
            &[("PW", PW)],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.json["data"]["encrypted"], true);
        assert!(!r.stdout.contains(PW) && !r.stderr.contains(PW));
        let key = dir.path().join("keys/gatehouse.key");
        assert!(
            std::fs::read_to_string(&key)
                .expect("key")
                .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        );
        // openssl reads it with the same password (PBES2, PBKDF2-SHA256, AES-256-CBC).
        let out = Command::new("openssl")
            .args([
                "pkey",
                "-in",
                "keys/gatehouse.key",
                "-passin",
                "env:PW",
                "-noout",
            ])
            .current_dir(dir.path())
            .env("PW", PW)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // 600 000 PBKDF2 rounds: one decryption per algorithm is enough here.
        util::good_reports(&dir.path().join("reports"));
        let r = run_env(
            dir.path(),
            &[
                "build",
                "--release",
                "v1",
                "--key",
                "keys/gatehouse.key",
                "--key-password-env",
                "PW",
                "--reports",
                "reports",
                "-o",
                "p.zip",
            ],
            &[("PW", PW)],
        );
        assert_eq!(r.code, 0, "{alg}: {}", r.stderr);
    }
}

#[test]
fn an_encrypted_key_needs_its_password_and_a_wrong_one_is_one_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let out = Command::new("openssl")
        .current_dir(d)
        .args([
            "genpkey",
            "-algorithm",
            "ed25519",
            "-aes-256-cbc",
            "-pass",
            "env:PW",
            "-out",
            "enc.key",
        ])
        .env("PW", PW)
        .output()
        .expect("openssl");
    assert!(out.status.success());
    util::good_reports(&d.join("reports"));
    let build = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec![
            "build",
            "--release",
            "v1",
            "--key",
            "enc.key",
            "--reports",
            "reports",
            "-o",
            "p.zip",
        ];
        args.extend_from_slice(extra);
        run_env(d, &args, env)
    };
    let r = build(&[], &[]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "evidence-pack: enc.key: the key is encrypted; give its password with --key-password-env NAME or --key-password-file FILE"
    );
    assert_eq!(r.json["error"]["kind"], "password");
    let r = build(&[("PW", "wrong password")], &["--key-password-env", "PW"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("evidence-pack: enc.key: wrong password for the encrypted key"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(
        !r.stderr
            .contains("wrong password for the encrypted key (wrong"),
        "the password is never printed"
    );
    let r = build(&[("PW", PW)], &["--key-password-env", "PW"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(d.join("pw.txt"), format!("{PW}\n")).expect("write");
    let r = build(&[], &["--key-password-file", "pw.txt"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains(PW) && !r.stderr.contains(PW));
    let r = build(&[], &["--key-password-env", "UNSET_VARIABLE_FOR_TEST"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "evidence-pack: --key-password-env UNSET_VARIABLE_FOR_TEST: the variable is not set"
    );
    // There is no flag that takes the password itself.
    let r = build(&[], &["--key-password", PW]);
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains(PW), "{}", r.stderr);
}

#[test]
fn keys_made_by_openssl_sign_and_verify() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "ed.key"]);
    openssl(d, &["pkey", "-in", "ed.key", "-pubout", "-out", "ed.pub"]);
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            "pass:secret",
            "-out",
            "ec.key",
        ],
    );
    openssl(
        d,
        &[
            "pkey",
            "-in",
            "ec.key",
            "-passin",
            "pass:secret",
            "-pubout",
            "-out",
            "ec.pub",
        ],
    );
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "sec1.key",
        ],
    );
    openssl(d, &["ec", "-in", "sec1.key", "-pubout", "-out", "sec1.pub"]);
    std::fs::write(d.join("pw"), "secret\n").expect("write");
    for (key, public, extra) in [
        ("ed.key", "ed.pub", vec![]),
        ("ec.key", "ec.pub", vec!["--key-password-file", "pw"]),
        ("sec1.key", "sec1.pub", vec![]),
    ] {
        let mut args = vec![
            "build",
            "--release",
            "v1",
            "--key",
            key,
            "--reports",
            "reports",
            "-o",
            "p.zip",
        ];
        args.extend(extra);
        util::good_reports(&d.join("reports"));
        let r = run(d, &args);
        assert_eq!(r.code, 0, "{key}: {}", r.stderr);
        let r = run(d, &["verify", "p.zip", "--key", public]);
        assert_eq!(r.code, 0, "{key}: {}", r.failures());
    }
}

#[test]
fn keys_in_other_formats_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (key, public) = keygen(d, &[]);
    assert_eq!(build_pack(d, &key, "p.zip").code, 0);
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.key",
        ],
    );
    openssl(d, &["pkey", "-in", "rsa.key", "-pubout", "-out", "rsa.pub"]);
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "p384.key",
        ],
    );
    std::fs::write(
        d.join("garbage.key"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0 user@host\n",
    )
    .expect("write");
    std::fs::write(d.join("cosign.key"), "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n").expect("write");
    std::fs::write(d.join("binary.key"), [0x30u8, 0x82, 0x01, 0xff, 0xfe, 0x00]).expect("write");
    util::good_reports(&d.join("reports"));
    let cases = [
        (
            "rsa.key",
            "unsupported key algorithm RSA (use ed25519 or ECDSA P-256)",
        ),
        (
            "p384.key",
            "unsupported key algorithm EC on a curve other than P-256",
        ),
        (
            "garbage.key",
            "unknown key format: no PEM block (expected -----BEGIN PRIVATE KEY-----)",
        ),
        ("cosign.key", "cosign's encrypted key format is not read"),
        ("binary.key", "not a PEM key (binary data"),
    ];
    for (file, expect) in cases {
        let r = run(
            d,
            &[
                "build",
                "--release",
                "v1",
                "--key",
                file,
                "--reports",
                "reports",
                "-o",
                "x.zip",
            ],
        );
        assert_eq!(r.code, 2, "{file}");
        assert_eq!(r.stderr.lines().count(), 1, "{file}: {}", r.stderr);
        assert!(
            r.stderr.starts_with(&format!("evidence-pack: {file}: ")),
            "{file}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(expect), "{file}: {}", r.stderr);
        assert_eq!(r.json["error"]["kind"], "key");
    }
    let r = run(d, &["verify", "p.zip", "--key", "rsa.pub"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("rsa.pub: unsupported key algorithm RSA"),
        "{}",
        r.stderr
    );
    let r = run(
        d,
        &["verify", "p.zip", "--key", key.to_str().expect("utf-8")],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("is a private key; verifying needs the public key (gatehouse.pub)"),
        "{}",
        r.stderr
    );
    let r = run(
        d,
        &[
            "build",
            "--release",
            "v1",
            "--key",
            public.to_str().expect("utf-8"),
            "--reports",
            "reports",
            "-o",
            "x.zip",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("is a public key; signing needs the private key"),
        "{}",
        r.stderr
    );
    assert!(!d.join("x.zip").exists());
}
