//! Hostile and odd circumstances (issue 21): `keygen --force` over a world-readable key or a
//! symlink, a full disk under `keygen` and `audit append`, an output naming an input, FIFOs.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{self, Run, build_args, build_pack, good_reports, keygen, run};

/// Runs `evidence-pack ARGS --format json` in `dir` with files limited to `limit` bytes
/// (RLIMIT_FSIZE; SIGXFSZ ignored, so a write past it fails with EFBIG): a full disk.
#[expect(
    unsafe_code,
    reason = "setrlimit and signal between fork and exec: std has neither"
)]
fn run_on_a_full_disk(dir: &Path, args: &[&str], limit: u64) -> Run {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = util::cmd(dir);
    cmd.args(args)
        .args(["--format", "json"])
        .stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls (setrlimit, signal) run in the forked child.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[expect(unsafe_code, reason = "libc::mkfifo: std has no way to make a FIFO")]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().expect("utf-8")).expect("cstring");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Makes a FIFO at `path` and a thread that writes `bytes` into it once a reader opens it.
/// If no reader ever comes, the thread is left blocked in open when the test ends.
fn fifo_fed_with(path: &Path, bytes: Vec<u8>) -> std::thread::JoinHandle<std::io::Result<()>> {
    mkfifo(path);
    let p = path.to_path_buf();
    std::thread::spawn(move || std::fs::write(&p, bytes))
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Only the named files are in `dir` (no temporary file left behind).
fn assert_only(dir: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, names, "in {}", dir.display());
}

#[test]
fn keygen_force_over_a_world_readable_key_leaves_a_0600_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).expect("mkdir");
    let key = keys.join("gatehouse.key");
    std::fs::write(&key, "old\n").expect("write");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let r = run(dir.path(), &["keygen", "--out-dir", "keys", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&key), 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .expect("key")
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_only(&keys, &["gatehouse.key", "gatehouse.pub"]);
}

#[test]
fn keygen_force_over_a_symlink_replaces_the_link_not_its_target() {
    let dir = tempfile::tempdir().expect("tmp");
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).expect("mkdir");
    let target = dir.path().join("precious.txt");
    std::fs::write(&target, "do not overwrite\n").expect("write");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::os::unix::fs::symlink(&target, keys.join("gatehouse.key")).expect("symlink");
    let r = run(dir.path(), &["keygen", "--out-dir", "keys", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "do not overwrite\n"
    );
    assert_eq!(mode(&target), 0o644);
    let key = keys.join("gatehouse.key");
    let meta = std::fs::symlink_metadata(&key).expect("key");
    assert!(meta.file_type().is_file(), "the link itself was replaced");
    assert_eq!(mode(&key), 0o600);
}

/// A full disk under keygen once left an empty gatehouse.key that made the next keygen
/// refuse ("exists"); now nothing is left, and the next keygen works.
#[test]
fn keygen_on_a_full_disk_leaves_no_partial_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = run_on_a_full_disk(dir.path(), &["keygen", "--out-dir", "keys"], 50);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("gatehouse.key"), "{}", r.stderr);
    assert_only(&dir.path().join("keys"), &[]);
    let (key, _) = keygen(dir.path(), &[]);
    assert_eq!(mode(&key), 0o600);
    // And over an existing pair with --force: the old pair stays whole.
    let before = std::fs::read(&key).expect("key");
    let r = run_on_a_full_disk(dir.path(), &["keygen", "--out-dir", "keys", "--force"], 50);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read(&key).expect("key"), before);
    assert_only(
        &dir.path().join("keys"),
        &["gatehouse.key", "gatehouse.pub"],
    );
}

/// A failed append (disk full) once left a torn line after which every append refused; the
/// partial line is cut back now, and the next append chains on.
#[test]
fn audit_append_on_a_full_disk_leaves_the_log_as_it_was() {
    let dir = tempfile::tempdir().expect("tmp");
    let append = |event: &str| {
        vec![
            "audit".to_owned(),
            "append".to_owned(),
            "audit.jsonl".to_owned(),
            "--event".to_owned(),
            event.to_owned(),
            "--time".to_owned(),
            "2026-11-24T10:00:00Z".to_owned(),
        ]
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let first = append(r#"{"action":"promote","release":"v1"}"#);
    let r = run(dir.path(), &args(&first));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let log = dir.path().join("audit.jsonl");
    let before = std::fs::read(&log).expect("log");
    let second =
        append(r#"{"action":"promote","release":"v2","padding":"xxxxxxxxxxxxxxxxxxxxxxxx"}"#);
    let r = run_on_a_full_disk(dir.path(), &args(&second), before.len() as u64 + 30);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("the log is as it was"), "{}", r.stderr);
    assert_eq!(std::fs::read(&log).expect("log"), before, "no torn line");
    let r = run(dir.path(), &args(&second));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(dir.path(), &["audit", "verify", "audit.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.report()["data"]["entries"], 2, "{}", r.stdout);
}

/// `build --key keys/gatehouse.key -o keys/gatehouse.key` would destroy the signing key.
#[test]
fn build_refuses_to_write_over_its_own_inputs() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(dir.path(), &[]);
    good_reports(&dir.path().join("reports"));
    std::fs::write(dir.path().join("sbom.cdx.json"), "{}\n").expect("write");
    let key_before = std::fs::read(&key).expect("key");
    let r = run(
        dir.path(),
        &build_args("keys/gatehouse.key", &["-o", "keys/gatehouse.key"]),
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("an input of this run"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(&key).expect("key"),
        key_before,
        "key unchanged"
    );
    assert_eq!(mode(&key), 0o600);
    // An artifact, and a report, by another spelling of their paths.
    for out in ["./sbom.cdx.json", "reports/../reports/sbom-diff-diff.json"] {
        let target = dir.path().join(out);
        let before = std::fs::read(&target).expect("read");
        let r = run(
            dir.path(),
            &build_args(
                "keys/gatehouse.key",
                &["--artifact", "sbom.cdx.json", "-o", out],
            ),
        );
        assert_eq!(r.code, 2, "{out}: {}", r.stderr);
        assert_eq!(std::fs::read(&target).expect("read"), before, "{out}");
    }
    // Elsewhere, the same command builds.
    let r = run(
        dir.path(),
        &build_args("keys/gatehouse.key", &["-o", "pack.zip"]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `verify PACK --report PACK` would replace the pack it judged.
#[test]
fn verify_refuses_a_report_over_the_pack() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(dir.path(), &[]);
    let r = build_pack(dir.path(), &key, "pack.zip");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pack = dir.path().join("pack.zip");
    let before = std::fs::read(&pack).expect("pack");
    let r = run(
        dir.path(),
        &[
            "verify",
            "pack.zip",
            "--key",
            public.to_str().expect("utf-8"),
            "--report",
            "pack.zip",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read(&pack).expect("pack"), before);
}

/// FIFOs: one in a reports directory is skipped (a scan never blocks on it); one named on
/// the command line is read like stdin, with the verdict the file itself gets; a pack given
/// as a FIFO cannot be seeked, so it is one clear line and exit 2, never a hang.
/// Gate runs judge ages as of this time, so two runs a minute apart say the same.
const NOW: &str = "2026-11-24T12:00:00Z";

#[test]
fn fifos_are_read_when_named_skipped_in_directories_and_a_fifo_pack_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(dir.path(), &[]);
    let r = build_pack(dir.path(), &key, "pack.zip");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let policy = util::demo_policy();
    let policy = policy.to_str().expect("utf-8");
    let public_s = public.to_str().expect("utf-8").to_owned();

    // A FIFO in the reports directory: nobody writes it, and gate still finishes.
    let direct = run(
        dir.path(),
        &["gate", "--policy", policy, "--now", NOW, "reports"],
    );
    mkfifo(&dir.path().join("reports/zz-stuck.json"));
    let started = Instant::now();
    let r = run(
        dir.path(),
        &["gate", "--policy", policy, "--now", NOW, "reports"],
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(r.code, direct.code, "{}", r.stderr);
    assert_eq!(r.report()["summary"], direct.report()["summary"]);
    std::fs::remove_file(dir.path().join("reports/zz-stuck.json")).expect("rm");

    // A report named by a FIFO, read like stdin.
    let named = dir.path().join("reports/sbom-diff-diff.json");
    let bytes = std::fs::read(&named).expect("read");
    let fifo = dir.path().join("report.fifo");
    let writer = fifo_fed_with(&fifo, bytes);
    let direct = run(
        dir.path(),
        &[
            "gate",
            "--policy",
            policy,
            "--now",
            NOW,
            named.to_str().expect("utf-8"),
        ],
    );
    let r = run(
        dir.path(),
        &["gate", "--policy", policy, "--now", NOW, "report.fifo"],
    );
    assert_eq!(r.code, direct.code, "{}", r.stderr);
    assert_eq!(r.report()["summary"], direct.report()["summary"]);
    writer.join().expect("writer").expect("written");
    std::fs::remove_file(&fifo).expect("rm");

    // verify's --key as a FIFO: the same verdict as the file.
    let direct = run(dir.path(), &["verify", "pack.zip", "--key", &public_s]);
    assert_eq!(direct.code, 0, "{}", direct.stderr);
    let writer = fifo_fed_with(&fifo, std::fs::read(&public).expect("pub"));
    let r = run(dir.path(), &["verify", "pack.zip", "--key", "report.fifo"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.report()["summary"], direct.report()["summary"]);
    writer.join().expect("writer").expect("written");
    std::fs::remove_file(&fifo).expect("rm");

    // The pack as a FIFO: refused before opening it, so no writer is needed.
    mkfifo(&dir.path().join("pack.fifo"));
    let started = Instant::now();
    let r = run(dir.path(), &["verify", "pack.fifo", "--key", &public_s]);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "evidence-pack: pack.fifo: is not a regular file (a FIFO, socket or device): a zip is read by seeking; save it to a file first"
    );
    assert_eq!(r.report()["result"], "error");

    // A FIFO inside an artifact directory is skipped: nobody writes it, the build finishes.
    std::fs::create_dir(dir.path().join("artdir")).expect("mkdir");
    std::fs::write(dir.path().join("artdir/a.txt"), "a\n").expect("write");
    mkfifo(&dir.path().join("artdir/stuck"));
    let started = Instant::now();
    let r = run(
        dir.path(),
        &build_args(
            key.to_str().expect("utf-8"),
            &["--artifact", "artdir", "-o", "dir-pack.zip"],
        ),
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Four reports, artdir/a.txt, report.html, the manifest and the two attestations.
    assert_eq!(r.report()["data"]["entries"], 9, "{}", r.stdout);

    // An artifact named by a FIFO is packed like the file.
    let art = std::fs::read(dir.path().join("sbom.cdx.json")).expect("read");
    let writer = fifo_fed_with(&dir.path().join("art.fifo"), art.clone());
    let r = run(
        dir.path(),
        &build_args(
            key.to_str().expect("utf-8"),
            &["--artifact", "art.fifo", "-o", "fifo-pack.zip"],
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    writer.join().expect("writer").expect("written");
    let r = run(dir.path(), &["verify", "fifo-pack.zip", "--key", &public_s]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
