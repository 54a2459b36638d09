//! Method patroni on a real two-node Patroni cluster with etcd (testkit::PatroniCluster):
//! `failover` through `POST /failover`, `cutback` through `POST /switchover`, both timed.

use testkit::PatroniCluster;

use crate::run;

#[test]
fn slow_patroni_failover_and_switchover_back_are_timed() {
    let cluster = PatroniCluster::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("drill.yaml");
    std::fs::write(
        &cfg,
        format!(
            "name: patroni-db\nallow_destructive: true\ntargets: {{rto: 60s, rpo: 5m}}\npostgres:\n  method: patroni\n  patroni: {{url: \"{}\"}}\n  primary: {{url: \"{}\"}}\n  replica: {{url: \"{}\"}}\n",
            cluster.api(0),
            cluster.url(0, "postgres"),
            cluster.url(1, "postgres")
        ),
    )
    .expect("write config");
    let cfg = cfg.to_str().expect("utf-8");
    let r = run(["failover", "--config", cfg]);
    assert_eq!(r.code, 0, "{}\n{:#}", r.stderr, r.report());
    let data = &r.report()["data"];
    assert_eq!(data["method"], "patroni");
    assert!(
        data["rto_seconds"].as_f64().expect("seconds") > 0.0,
        "{data:#}"
    );
    assert_eq!(data["rpo_transactions"], 0, "{data:#}");
    assert_eq!(r.check("drill.topology")["result"], "ok");
    let state = cluster.cluster().expect("GET /cluster");
    assert!(
        state.contains("\"name\": \"node2\", \"role\": \"leader\""),
        "{state}"
    );

    let r = run(["cutback", "--config", cfg]);
    assert_eq!(r.code, 0, "{}\n{:#}", r.stderr, r.report());
    assert_eq!(r.check("drill.topology")["result"], "ok");
    let state = cluster.cluster().expect("GET /cluster");
    assert!(
        state.contains("\"name\": \"node1\", \"role\": \"leader\""),
        "{state}"
    );
    assert!(!r.stdout.contains(cluster.password()));
}
