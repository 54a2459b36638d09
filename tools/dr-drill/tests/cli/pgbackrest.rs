//! pgBackRest through a real repository: stanza-create, archive-push from the server,
//! backup, info (judged by freshness), and dr-drill's restore of the stanza.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{PgOptions, Postgres};

use crate::run_with;

/// `pgbackrest ARGS` as the server's account (nobody when root), like its archive_command.
fn pgbackrest(conf: &Path, pg: &Postgres, args: &[&str]) -> String {
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
            "pgbackrest",
        ]);
        c
    } else {
        Command::new("pgbackrest")
    };
    let out = cmd
        .arg(format!("--config={}", conf.display()))
        .arg("--stanza=main")
        .args(args)
        .env("PGPASSWORD", pg.password())
        .current_dir("/")
        .output()
        .expect("pgbackrest runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "pgbackrest {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

#[test]
fn slow_pgbackrest_backup_info_and_restore_through_a_real_repository() {
    let dir = tempfile::Builder::new()
        .prefix("dr-drill-pgbr-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    for sub in ["repo", "log", "lock", "spool"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
    }
    let conf = dir.path().join("pgbackrest.conf");
    let pg = Postgres::start_with(PgOptions::default().conf("archive_mode = on").conf(format!(
        "archive_command = 'pgbackrest --config={} --stanza=main archive-push %p'",
        conf.display()
    )));
    let socket_dir = pg
        .data_dir()
        .parent()
        .expect("the testkit dir")
        .to_path_buf();
    std::fs::write(
        &conf,
        format!(
            "[global]\nrepo1-path={d}/repo\nlog-path={d}/log\nlock-path={d}/lock\nspool-path={d}/spool\n\
             start-fast=y\ncompress-type=none\nlog-level-console=warn\nlog-level-file=off\n\n\
             [main]\npg1-path={}\npg1-port={}\npg1-socket-path={}\npg1-user=postgres\n",
            pg.data_dir().display(),
            pg.port(),
            socket_dir.display(),
            d = dir.path().display()
        ),
    )
    .expect("write pgbackrest.conf");
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(dir.path())
            .status()
            .expect("chown runs");
        assert!(ok.success());
    }
    pg.psql(
        "postgres",
        "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 1000)",
    );
    pgbackrest(&conf, &pg, &["stanza-create"]);
    pgbackrest(&conf, &pg, &["backup", "--type=full"]);
    pg.psql(
        "postgres",
        "INSERT INTO orders SELECT generate_series(1001, 1500); SELECT pg_switch_wal();",
    );
    // The archiver pushed the segment with the 500 rows (pgbackrest check waits for one).
    pgbackrest(&conf, &pg, &["check"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while pg.psql(
        "postgres",
        "SELECT failed_count = 0 AND archived_count >= 2 FROM pg_stat_archiver",
    ) != "t"
    {
        assert!(Instant::now() < deadline, "archiving never caught up");
        std::thread::sleep(Duration::from_millis(100));
    }

    let info = dir.path().join("info.json");
    std::fs::write(&info, pgbackrest(&conf, &pg, &["info", "--output=json"])).expect("write");
    let r = run_with(
        [
            "freshness",
            "--pgbackrest-info",
            info.to_str().expect("utf-8"),
            "--max-backup-age",
            "1h",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    assert_eq!(r.check("backup.valid")["result"], "ok");

    let verify = dir.path().join("verify.yaml");
    std::fs::write(
        &verify,
        "queries:\n  - {name: orders restored, sql: \"SELECT count(*) FROM orders\", equals: 1500}\n",
    )
    .expect("write verify");
    let r = run_with(
        [
            "restore",
            "--pgbackrest-stanza",
            "main",
            "--pgbackrest-config",
            conf.to_str().expect("utf-8"),
            "--verify",
            verify.to_str().expect("utf-8"),
        ],
        Some(pg.bin_dir()),
    );
    assert_eq!(r.code, 0, "{}\n{:#}", r.stderr, r.report());
    assert_eq!(r.report()["data"]["verify"][0]["value"], "1500");
}
