//! https probes against a real TLS server: Debian's nginx on loopback with a certificate
//! signed by a throwaway CA that openssl makes at test time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cmd;

/// A CA and a leaf for IP 127.0.0.1 it signed, in `dir`: (ca.pem, cert.pem, key.pem).
fn staging_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| dir.join(n).display().to_string();
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext.cnf");
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    let steps = [
        format!(
            "req -x509 {ec} -days 2 -subj /CN=verify-goldens-test-CA -keyout {} -out {}",
            p("ca.key"),
            p("ca.pem")
        ),
        format!(
            "req {ec} -subj /CN=127.0.0.1 -keyout {} -out {}",
            p("key.pem"),
            p("leaf.csr")
        ),
        format!(
            "x509 -req -days 2 -CAcreateserial -in {} -CA {} -CAkey {} -extfile {} -out {}",
            p("leaf.csr"),
            p("ca.pem"),
            p("ca.key"),
            p("ext.cnf"),
            p("cert.pem")
        ),
    ];
    for step in steps {
        let out = Command::new("openssl")
            .args(step.split(' '))
            .output()
            .expect("openssl (Debian's openssl; scripts/setup.sh)");
        assert!(
            out.status.success(),
            "openssl {step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

/// nginx serving `{"ok": true}` over TLS on a free loopback port; stopped on drop.
struct Nginx {
    child: Child,
    port: u16,
}

impl Nginx {
    fn start(dir: &Path, cert: &Path, key: &Path) -> Nginx {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|b| Path::new(b).is_file())
            .unwrap_or_else(|| panic!("nginx is not installed: run scripts/setup.sh"));
        let port = testkit::free_port();
        let d = dir.display();
        std::fs::create_dir_all(dir.join("tmp")).expect("tmp");
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/tmp;\n  \
             proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  \
             scgi_temp_path {d}/tmp;\n  server {{\n    listen 127.0.0.1:{port} ssl;\n    \
             ssl_certificate {};\n    ssl_certificate_key {};\n    \
             location / {{ default_type application/json; return 200 '{{\"ok\": true}}'; }}\n  }}\n}}\n",
            cert.display(),
            key.display()
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let mut nginx = Nginx { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!(
                    "nginx exited ({status}): {}",
                    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "nginx did not listen within 20s");
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PATHS: &str = "environments:\n  tls:\n    base_url: ${env:SERVICE_URL}\npaths:\n  - name: https\n    steps:\n      - name: hello\n        path: /hello\n        timeout: 5s\n        expect:\n          status: 200\n          json:\n            - {path: $.ok, equals: true}\n";

#[test]
fn an_https_probe_times_its_tls_phase_and_a_bad_certificate_fails_its_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = staging_ca(dir.path());
    let nginx = Nginx::start(dir.path(), &cert, &key);
    let file = dir.path().join("golden.yaml");
    std::fs::write(&file, PATHS).expect("golden.yaml");
    let file = file.display().to_string();
    let ca_s = ca.display().to_string();
    let probe = |url: String, extra: &[&str]| {
        cmd()
            .env("SERVICE_URL", url)
            .args(["run", &file, "--format", "json"])
            .args(extra)
            .run()
    };
    let https = format!("https://127.0.0.1:{}", nginx.port);

    // Trusted (the staging CA): passes, with a TLS phase between connect and first byte.
    let r = probe(https.clone(), &["--ca-cert", &ca_s]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let t = &r.json["data"]["paths"][0]["steps"][0]["timings"];
    let tls = t["tls_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("tls_ms: {t}"));
    assert!(tls > 0.0, "{t}");
    let first_byte = t["first_byte_ms"].as_f64().expect("first_byte_ms");
    let connect = t["connect_ms"].as_f64().expect("connect_ms");
    assert!(connect + tls <= first_byte + 0.001, "phases in order: {t}");

    // Not trusted (the public roots only): the step fails on the certificate, in its check.
    let r = probe(https.clone(), &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let c = r.check("step.response");
    assert_eq!(c["result"], "fail", "{c}");
    let msg = c["message"].as_str().expect("message");
    assert!(msg.contains("UnknownIssuer"), "{msg}");
    assert_eq!(c["location"]["line"], 7, "the step's line: {c}");

    // Trusted CA, but the certificate is for 127.0.0.1 and the probe asked for localhost.
    let r = probe(
        format!("https://localhost:{}", nginx.port),
        &["--ca-cert", &ca_s],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let msg = r.check("step.response")["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(msg.contains("not valid for name \"localhost\""), "{msg}");

    // A --ca-cert that holds no certificate: one line naming the flag and file, exit 2.
    let r = probe(https, &["--ca-cert", &file]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("--ca-cert") && r.stderr.contains("no CERTIFICATE"),
        "{}",
        r.stderr
    );
}
