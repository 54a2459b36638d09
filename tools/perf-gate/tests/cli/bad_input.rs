//! Bad input: one line on stderr naming what is wrong, a report with result error, exit 2;
//! the partial report kept when a run was interrupted.

use std::time::{Duration, Instant};

use crate::server::{Config, Server};
use crate::{assert_refused, run, scenario};

fn one_request(target: &str, extra: &str) -> String {
    format!(
        "target: {target}\nrequests:\n  - path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 10, duration: 1s, maxVUs: 5{extra}}}\n"
    )
}

/// A port nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn an_unreachable_target_is_one_line_before_any_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &one_request(&format!("http://127.0.0.1:{port}"), ""),
    );
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_refused(&r, "refused");
    assert_eq!(r.json["error"]["kind"], "unreachable");
}

#[test]
fn a_target_refusing_connections_mid_run_stops_it_and_keeps_the_partial_report() {
    let mut srv = Server::start(Config::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 50, duration: 30s, maxVUs: 20}}\n",
            srv.url()
        ),
    );
    let started = Instant::now();
    let child = crate::perf_gate()
        .args(["run", s.to_str().unwrap_or_default(), "--format", "json"])
        .into_command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    srv.shutdown();
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stops soon after the target went away"
    );
    let r = crate::Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_slice(&out.stdout).unwrap_or_default(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_refused(&r, "went away mid-run");
    assert_eq!(r.json["data"]["partial"], true);
    assert!(
        r.json["data"]["metrics"]["http_reqs"]["count"]
            .as_u64()
            .unwrap_or(0)
            >= 30
    );
    assert!(r.json["data"]["errors"]["connect"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn tls_to_a_plain_http_port_is_one_line() {
    let srv = Server::start(Config::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(
        dir.path(),
        "s.yaml",
        &one_request(&format!("https://{}", srv.addr), ""),
    );
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_refused(&r, "TLS handshake failed");
}

#[test]
fn a_silent_server_times_requests_out_instead_of_hanging() {
    // Accepts and never writes: real, and the case a missing deadline hangs on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let keep = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in l.incoming().take(64) {
            conns.push(c);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: http://127.0.0.1:{port}\ntimeout: 500ms\nrequests:\n  - path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 10, duration: 1s, maxVUs: 20, gracefulStop: 2s}}\nthresholds:\n  http_req_failed: [\"rate<0.01\"]\n"
        ),
    );
    let started = Instant::now();
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["errors"]["timeout"], 10);
    drop(keep);
}

#[test]
fn a_malformed_scenario_names_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(
        dir.path(),
        "s.yaml",
        "target: http://127.0.0.1:1\nrequests:\n  - path: /\n   bad: [\n",
    );
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_refused(&r, "s.yaml:");
}

#[test]
fn an_unknown_executor_field_is_one_line_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        // A k6 field that belongs to another executor.
        (
            "vus.yaml",
            "target: http://127.0.0.1:1\nrequests:\n  - path: /\nscenarios:\n  a:\n    executor: constant-vus\n    vus: 2\n    duration: 1s\n    rate: 5\n",
            "vus.yaml:9:",
            "constant-vus has no field rate",
        ),
        // A field k6 does not have at all.
        (
            "typo.yaml",
            "target: http://127.0.0.1:1\nrequests:\n  - path: /\nscenarios:\n  a:\n    executor: constant-arrival-rate\n    rate: 5\n    duraton: 1s\n",
            "typo.yaml:8:",
            "duraton",
        ),
        (
            "exec.yaml",
            "target: http://127.0.0.1:1\nrequests:\n  - path: /\nscenarios:\n  a:\n    executor: constant-rate\n",
            "exec.yaml:6:",
            "unknown executor",
        ),
        (
            "need.yaml",
            "target: http://127.0.0.1:1\nrequests:\n  - path: /\nscenarios:\n  a:\n    executor: constant-arrival-rate\n    duration: 1s\n",
            "need.yaml:5:",
            "needs rate",
        ),
    ];
    for (name, yaml, at, what) in cases {
        let s = scenario(dir.path(), name, yaml);
        let r = run(&["run", s.to_str().unwrap_or_default()]);
        assert_refused(&r, what);
        assert!(r.stderr.contains(at), "{name}: {} lacks {at}", r.stderr);
    }
}

#[test]
fn a_bad_shard_flag_is_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(dir.path(), "s.yaml", &one_request("http://127.0.0.1:1", ""));
    for bad in ["4/4", "1", "a/b", "0/0"] {
        let r = run(&["run", s.to_str().unwrap_or_default(), "--shard", bad]);
        assert_refused(&r, "--shard");
    }
    // --judge-shard judges a shard's share: without --shard there is none.
    let r = crate::perf_gate_raw()
        .args(["run", s.to_str().unwrap_or_default(), "--judge-shard"])
        .run();
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--shard"), "{}", r.stderr);
}

/// A staging CA and a certificate it signed for 127.0.0.1, made with openssl:
/// (CA PEM path, leaf certificate PEM, leaf key PEM).
fn staging_ca(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let p = |n: &str| dir.join(n).display().to_string();
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let steps: Vec<Vec<String>> = vec![
        [
            &["req", "-x509"][..],
            &ec[..],
            &["-days", "2", "-subj", "/CN=perf-gate test CA"][..],
        ]
        .concat()
        .iter()
        .map(|s| (*s).to_owned())
        .chain(["-keyout".into(), p("ca.key"), "-out".into(), p("ca.pem")])
        .collect(),
        [&["req"][..], &ec[..], &["-subj", "/CN=127.0.0.1"][..]]
            .concat()
            .iter()
            .map(|s| (*s).to_owned())
            .chain(["-keyout".into(), p("key.pem"), "-out".into(), p("leaf.csr")])
            .collect(),
        ["x509", "-req", "-days", "2", "-CAcreateserial"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([
                "-in".into(),
                p("leaf.csr"),
                "-CA".into(),
                p("ca.pem"),
                "-CAkey".into(),
                p("ca.key"),
                "-extfile".into(),
                p("ext.cnf"),
                "-out".into(),
                p("cert.pem"),
            ])
            .collect(),
    ];
    for args in steps {
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .expect("openssl (Debian's openssl package)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let read = |n: &str| std::fs::read(dir.join(n)).expect("PEM");
    (dir.join("ca.pem"), read("cert.pem"), read("key.pem"))
}

#[test]
fn https_with_a_staging_ca_runs_and_an_unknown_issuer_is_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, c, k) = staging_ca(dir.path());
    let srv = Server::start(Config {
        tls: Some((c, k)),
        ..Config::default()
    });
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: https://127.0.0.1:{}\nrequests:\n  - path: /\n    checks: {{status: 200}}\nscenarios:\n  a: {{executor: per-vu-iterations, vus: 2, iterations: 3}}\nthresholds:\n  checks: [\"rate==1\"]\n",
            srv.addr.port()
        ),
    );
    let sp = s.to_str().unwrap_or_default();
    let r = run(&["run", sp, "--ca-cert", cert.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(crate::metric(&r, "http_reqs", "count"), 6.0);
    // Without the CA: the handshake fails before any load, in one line.
    let r = run(&["run", sp]);
    assert_refused(&r, "--ca-cert FILE trusts a staging CA");
    // A --ca-cert that holds no certificate.
    let r = run(&["run", sp, "--ca-cert", s.to_str().unwrap_or_default()]);
    assert_refused(&r, "no CERTIFICATE");
}
