//! TLS with libpq's sslmode semantics, against a real PostgreSQL that only accepts TLS
//! connections (`hostssl` in pg_hba.conf) with a self-signed certificate made by openssl.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use testkit::{PgOptions, Postgres};

use crate::run;

struct Tls {
    dir: tempfile::TempDir,
}

impl Tls {
    /// The CA that signed the server's certificate.
    fn ca(&self) -> String {
        self.dir.path().join("ca.crt").display().to_string()
    }
}

/// A CA-signed certificate for IP 127.0.0.1 only, and an hba file that refuses plain TCP.
fn tls_files() -> Tls {
    let dir = tempfile::tempdir().expect("tmp");
    // The server runs as nobody under root: it must reach and read these files.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // A CA, and a server certificate it signs for IP 127.0.0.1 (webpki, like browsers,
    // refuses a CA certificate used as the server's own).
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("openssl runs (scripts/setup.sh installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=gatehouse test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=gatehouse-test",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.path().join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.crt",
    ]);
    let key = dir.path().join("server.key");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if root {
        // Owned by root, readable by the server's group: PostgreSQL accepts 0640 then.
        let st = Command::new("chown")
            .arg("root:nogroup")
            .arg(&key)
            .status()
            .expect("chown");
        assert!(st.success());
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    } else {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    std::fs::write(
        dir.path().join("pg_hba.conf"),
        "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
    )
    .expect("hba");
    Tls { dir }
}

fn connects(url: &str) -> crate::Run {
    run(&[
        "parity",
        "--database-url",
        url,
        "--old",
        "SELECT 1 AS id",
        "--new",
        "SELECT 1 AS id",
        "--key",
        "id",
    ])
}

#[test]
fn sslmode_require_verify_ca_and_verify_full_follow_libpq() {
    let tls = tls_files();
    let d = tls.dir.path().display().to_string();
    let pg = Postgres::start_with(
        PgOptions::default()
            .conf("ssl = on")
            .conf(format!("ssl_cert_file = '{d}/server.crt'"))
            .conf(format!("ssl_key_file = '{d}/server.key'"))
            .conf(format!("hba_file = '{d}/pg_hba.conf'")),
    );
    let url = pg.url("postgres");
    // Plain TCP is refused by pg_hba.conf: the other cases really use TLS.
    let r = connects(&format!("{url}?sslmode=disable"));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("no encryption"), "{}", r.stderr);
    // The default (prefer) and require encrypt without checking the certificate.
    assert_eq!(connects(&url).code, 0);
    assert_eq!(connects(&format!("{url}?sslmode=require")).code, 0);
    // verify-full against the right CA and name.
    let ca = tls.ca();
    let r = connects(&format!("{url}?sslmode=verify-full&sslrootcert={ca}"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Without that CA (only the public roots), the certificate is refused.
    let r = connects(&format!("{url}?sslmode=verify-full"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("certificate"), "{}", r.stderr);
    assert!(!r.stderr.contains(pg.password()));
    // The name: the certificate is for 127.0.0.1, not localhost. verify-ca does not care.
    let by_name = format!(
        "postgres://postgres:{}@localhost:{}/postgres",
        pg.password(),
        pg.port()
    );
    let r = connects(&format!("{by_name}?sslmode=verify-full&sslrootcert={ca}"));
    assert_eq!(r.code, 2, "{}", r.stdout);
    let r = connects(&format!("{by_name}?sslmode=verify-ca&sslrootcert={ca}"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = connects(&format!("{url}?sslmode=sometimes"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("sslmode \"sometimes\""), "{}", r.stderr);
}
