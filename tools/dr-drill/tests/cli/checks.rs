//! `dr-drill checks` and `--help`.

use crate::run;

#[test]
fn checks_lists_every_id_with_its_fix() {
    let r = run(["checks"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: Vec<String> = r.report()["data"]["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    testkit::schema::assert_unique_valid_ids(ids.iter().map(String::as_str));
    for id in ["drill.rto", "drill.rpo", "backup.age", "restore.verify"] {
        assert!(ids.iter().any(|i| i == id), "{ids:?}");
    }
}

#[test]
fn every_command_has_an_example_in_its_help() {
    for cmd in ["freshness", "restore", "failover", "cutback"] {
        let out = std::process::Command::new(crate::bin())
            .args([cmd, "--help"])
            .output()
            .expect("runs");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains(&format!("Example:\n  dr-drill {cmd}")),
            "{cmd} --help has no example:\n{help}"
        );
    }
}
