//! Bad input: one line on stderr naming the file:line and the path/step, result error,
//! exit 2, nothing sent.

use super::{cmd, fixture};

fn one_line_error(r: &testkit::cli::Run) -> String {
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["result"], "error", "{}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", r.stderr);
    lines[0].to_owned()
}

fn golden(name: &str, url: &str) -> testkit::cli::Run {
    cmd()
        .env("SERVICE_URL", url)
        .args(["run"])
        .arg_path(fixture(name))
        .args(["--format", "json"])
        .run()
}

trait ArgPath {
    fn arg_path(self, p: std::path::PathBuf) -> Self;
}

impl ArgPath for testkit::cli::Cmd {
    fn arg_path(self, p: std::path::PathBuf) -> Self {
        self.args([p])
    }
}

#[test]
fn a_jsonpath_syntax_error_is_one_line_naming_its_line() {
    let silent = testkit::SilentServer::start(testkit::Silence::Mute);
    let line = one_line_error(&golden(
        "bad-jsonpath.yaml",
        &format!("http://{}", silent.addr()),
    ));
    assert!(
        line.contains("bad-jsonpath.yaml:10:25: path \"health\", step \"ready\": JSONPath"),
        "{line}"
    );
    assert!(line.contains("not valid RFC 9535"), "{line}");
    assert_eq!(
        silent.accepted(),
        0,
        "nothing is sent before the file is checked"
    );
}

#[test]
fn a_variable_never_captured_is_one_line_naming_its_step() {
    let line = one_line_error(&golden("uncaptured.yaml", "http://127.0.0.1:9"));
    assert!(line.contains("uncaptured.yaml:12:"), "{line}");
    assert!(
        line.contains("step \"read\": variable {{order_id}} is never captured"),
        "{line}"
    );
}

#[test]
fn an_unreachable_service_is_one_line_naming_the_path_and_step() {
    // A port nothing listens on: bind, note it, drop.
    let port = testkit::free_port();
    let r = golden("latency.yaml", &format!("http://127.0.0.1:{port}"));
    let line = one_line_error(&r);
    assert!(
        line.contains(
            "latency.yaml:7: path \"health\", step \"ready within budget\": cannot reach"
        ),
        "{line}"
    );
    assert_eq!(r.json["error"]["kind"], "unreachable");
}

#[test]
fn a_silent_service_fails_the_step_within_its_timeout() {
    for mode in [testkit::Silence::Mute, testkit::Silence::Drip] {
        silent_step_fails(mode);
    }
}

fn silent_step_fails(mode: testkit::Silence) {
    let silent = testkit::SilentServer::start(mode);
    let started = std::time::Instant::now();
    let r = cmd()
        .env("SERVICE_URL", format!("http://{}", silent.addr()))
        .args(["run"])
        .arg_path(fixture("latency.yaml"))
        .args(["--timeout", "1s", "--format", "json"])
        .run();
    assert_eq!(r.code, 1, "{}", r.stdout);
    let c = r.check("step.response");
    assert!(
        c["message"]
            .as_str()
            .expect("msg")
            .contains("no complete answer within 1s"),
        "{c}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "does not hang"
    );
}

#[test]
fn an_unknown_environment_and_an_unset_variable_are_one_line() {
    let r = cmd()
        .args(["run"])
        .arg_path(fixture("latency.yaml"))
        .args(["--env", "prod", "--format", "json"])
        .run();
    assert!(one_line_error(&r).contains("no environment \"prod\""));
    let r = cmd()
        .env_remove("SERVICE_URL")
        .args(["run"])
        .arg_path(fixture("latency.yaml"))
        .args(["--format", "json"])
        .run();
    assert!(one_line_error(&r).contains("latency.yaml:3:"));
}

#[test]
fn the_daemons_jsonl_may_not_replace_its_golden_paths_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("g.yaml");
    std::fs::copy(fixture("latency.yaml"), &file).expect("copy");
    let before = std::fs::read(&file).expect("read");
    let silent = testkit::SilentServer::start(testkit::Silence::Mute);
    let r = cmd()
        .env("SERVICE_URL", format!("http://{}", silent.addr()))
        .args([std::ffi::OsStr::new("run"), file.as_os_str()])
        .args(["--every", "1s", "--max-rounds", "1", "--format", "json"])
        .args([
            std::ffi::OsStr::new("--jsonl"),
            dir.path().join("./g.yaml").as_os_str(),
        ])
        .run();
    let line = one_line_error(&r);
    assert!(line.contains("refusing to write over"), "{line}");
    assert_eq!(
        std::fs::read(&file).expect("read"),
        before,
        "the input is untouched"
    );
    assert_eq!(silent.accepted(), 0, "refused before probing");
}
