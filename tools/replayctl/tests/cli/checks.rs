//! `replayctl checks` and `--help`.

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
    assert!(ids.iter().any(|i| i == "verify.hash"), "{ids:?}");
}

#[test]
fn help_has_a_runnable_example_per_command() {
    let out = std::process::Command::new(crate::bin())
        .arg("--help")
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "replayctl lag",
        "replayctl dlq triage",
        "replayctl redrive",
        "replayctl replay",
        "replayctl verify",
    ] {
        assert!(help.contains(cmd), "--help lacks {cmd}:\n{help}");
    }
}

#[test]
fn every_command_has_an_example_in_its_help() {
    for cmd in [
        &["lag"][..],
        &["dlq", "triage"],
        &["dlq", "claim"],
        &["redrive"],
        &["replay"],
        &["verify"],
    ] {
        let out = std::process::Command::new(crate::bin())
            .args(cmd)
            .arg("--help")
            .output()
            .expect("runs");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains(&format!("Example:\n  replayctl {}", cmd.join(" "))),
            "{cmd:?} --help has no example:\n{help}"
        );
    }
}
