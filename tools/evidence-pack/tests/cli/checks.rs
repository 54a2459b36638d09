//! `evidence-pack checks`: the listing comes from the checks table, one row per id, each
//! with what it judges and how to fix a failure.

use serde_json::Value;

use crate::util;

#[test]
fn checks_lists_every_id_with_its_help() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = util::run(dir.path(), &["checks"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["action"], "checks");
    let listed: Vec<&Value> = r.json["data"]["checks"]
        .as_array()
        .expect("data.checks")
        .iter()
        .collect();
    let ids: Vec<&str> = listed.iter().filter_map(|c| c["id"].as_str()).collect();
    for id in [
        "gate.required",
        "gate.decision",
        "pack.digest",
        "pack.canonical",
        "audit.chain",
        "audit.signature",
    ] {
        assert!(ids.contains(&id), "{id} not listed in {ids:?}");
    }
    assert_eq!(ids.len(), 18);
    for c in listed {
        assert!(
            c["summary"].as_str().is_some_and(|s| !s.is_empty())
                && c["fix"].as_str().is_some_and(|s| !s.is_empty()),
            "{c}"
        );
    }
}
