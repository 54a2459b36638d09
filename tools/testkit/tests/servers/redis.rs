use std::net::TcpListener;
use std::panic::{AssertUnwindSafe, catch_unwind};

use testkit::{Redis, RedisOptions};

use crate::{assert_cleaned_up, panic_text};

#[test]
fn sets_and_gets_and_is_gone_after_drop() {
    let redis = Redis::start();
    assert_eq!(redis.cli(&["SET", "greeting", "hello world"]), "OK");
    assert_eq!(redis.cli(&["GET", "greeting"]), "hello world");
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
    assert_eq!(
        redis.cli(&["CONFIG", "GET", "appendonly"]),
        "appendonly\nno"
    );
    assert_eq!(redis.cli(&["CONFIG", "GET", "save"]), "save");
    let (pid, dir) = (redis.pid(), redis.dir().to_path_buf());
    drop(redis);
    assert_cleaned_up(pid, &dir);
}

#[test]
fn persistent_option_writes_an_append_only_file() {
    let redis = Redis::start_with(
        RedisOptions::default()
            .persistent(true)
            .arg("--maxmemory")
            .arg("10mb"),
    );
    assert_eq!(
        redis.cli(&["CONFIG", "GET", "appendonly"]),
        "appendonly\nyes"
    );
    assert_eq!(
        redis.cli(&["CONFIG", "GET", "maxmemory"]),
        "maxmemory\n10485760"
    );
    redis.cli(&["SET", "k", "v"]);
    // Redis 7 keeps the AOF as a directory of segments.
    assert!(redis.dir().join("appendonlydir").is_dir());
}

#[test]
#[should_panic(expected = "testkit: redis-cli INCR failed: ERR wrong number of arguments")]
fn cli_panics_on_an_error_reply() {
    Redis::start().cli(&["INCR"]);
}

#[test]
fn a_taken_port_is_retried_and_then_reported_with_the_log() {
    let taken = TcpListener::bind(("127.0.0.1", 0)).expect("bind a port to keep busy");
    let port = taken.local_addr().expect("bound").port().to_string();
    // A later --port wins over testkit's, so every attempt hits the busy port.
    let caught = catch_unwind(AssertUnwindSafe(|| {
        Redis::start_with(RedisOptions::default().arg("--port").arg(port))
    }));
    let message = panic_text(&*caught.expect_err("the port stays busy"));
    assert!(
        message.starts_with("testkit: redis-server: 5 free ports in a row were taken"),
        "{message}"
    );
    assert!(message.contains("Address already in use"), "{message}");
}
