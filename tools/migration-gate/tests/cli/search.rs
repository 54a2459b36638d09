//! `migration-gate search` on a real Typesense 0.24 server (testkit): the plan's change
//! kinds, flip and rollback, parity breaks that block the flip, tenant-scoped keys, bad
//! input, and a 100k-document reindex under concurrent writes with a search loop counting
//! failures throughout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use base64ct::{Base64, Encoding as _};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Value, json};
use testkit::Typesense;

use crate::{examples, migration_gate, path_str, tree};

/// The admin key's variable in every test run.
const KEY_ENV: &str = "TS_ADMIN_KEY";

/// Plain HTTP to the server, as an operator's curl would do it.
struct Http {
    base: String,
    key: String,
    agent: ureq::Agent,
}

impl Http {
    fn new(ts: &Typesense) -> Http {
        Http::with_key(ts, ts.api_key())
    }

    fn with_key(ts: &Typesense, key: &str) -> Http {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Http {
            base: ts.url(),
            key: key.to_owned(),
            agent,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let url = format!("{}{path}", self.base);
        let k = "X-TYPESENSE-API-KEY";
        let r = match method {
            "GET" => self.agent.get(&url).header(k, &self.key).call(),
            "DELETE" => self.agent.delete(&url).header(k, &self.key).call(),
            "POST" => self
                .agent
                .post(&url)
                .header(k, &self.key)
                .send(body.unwrap_or("")),
            "PUT" => self
                .agent
                .put(&url)
                .header(k, &self.key)
                .send(body.unwrap_or("")),
            _ => self
                .agent
                .patch(&url)
                .header(k, &self.key)
                .send(body.unwrap_or("")),
        };
        let mut r = r.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(1 << 32)
            .read_to_string()
            .expect("body");
        (status, text)
    }

    fn json(&self, method: &str, path: &str, body: Option<&str>) -> Value {
        let (status, text) = self.call(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    fn create(&self, schema: Value) {
        self.json("POST", "/collections", Some(&schema.to_string()));
    }

    fn import(&self, collection: &str, jsonl: &str) {
        let (status, text) = self.call(
            "POST",
            &format!("/collections/{collection}/documents/import?action=upsert"),
            Some(jsonl),
        );
        assert_eq!(status, 200, "{text}");
        assert!(
            text.lines().all(|l| l.contains("\"success\":true")),
            "import refused: {}",
            text.lines()
                .find(|l| !l.contains("\"success\":true"))
                .unwrap_or("")
        );
    }

    fn alias(&self, name: &str) -> Option<String> {
        let (status, text) = self.call("GET", &format!("/aliases/{name}"), None);
        (status == 200).then(|| {
            serde_json::from_str::<Value>(&text).expect("json")["collection_name"]
                .as_str()
                .expect("collection_name")
                .to_owned()
        })
    }

    fn set_alias(&self, name: &str, collection: &str) {
        self.json(
            "PUT",
            &format!("/aliases/{name}"),
            Some(&json!({"collection_name": collection}).to_string()),
        );
    }

    fn collections(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .json("GET", "/collections", None)
            .as_array()
            .expect("array")
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_owned())
            .collect();
        v.sort();
        v
    }

    fn search(&self, collection: &str, query: &str) -> (u16, Value) {
        let (status, text) = self.call(
            "GET",
            &format!("/collections/{collection}/documents/search?{query}"),
            None,
        );
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn top_ids(&self, collection: &str, query: &str) -> Vec<String> {
        let (status, v) = self.search(collection, query);
        assert_eq!(status, 200, "{v}");
        v["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|h| h["document"]["id"].as_str().expect("id").to_owned())
            .collect()
    }
}

/// `migration-gate search ARGS --typesense-url URL --api-key-env TS_ADMIN_KEY`, JSON report.
fn search(ts: &Typesense, args: &[&str]) -> testkit::cli::Run {
    search_with_key(ts, ts.api_key(), args)
}

fn search_with_key(ts: &Typesense, key: &str, args: &[&str]) -> testkit::cli::Run {
    let url = ts.url();
    let mut all = vec![
        "search",
        args[0],
        "--typesense-url",
        &url,
        "--api-key-env",
        KEY_ENV,
    ];
    all.extend_from_slice(&args[1..]);
    migration_gate(&all)
        .args(["--format", "json"])
        .env(KEY_ENV, key)
        .validate_stdout()
        .run()
}

fn release(file: &str) -> String {
    path_str(&examples().join("release/search").join(file)).to_owned()
}

/// The sample shop's 2,000 products as products_v2 behind `products`, via the tool itself.
fn shop(ts: &Typesense) {
    let r = search(
        ts,
        &[
            "reindex",
            "--alias",
            "products",
            "--to",
            &release("products.v2.yaml"),
            "--source",
            &release("products.jsonl"),
            "--flip",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stderr);
    assert_eq!(r.json["data"]["search"]["reindex"]["copied"], 2000);
}

#[test]
fn plan_classifies_each_change_kind_and_changes_nothing() {
    let ts = Typesense::start();
    let http = Http::new(&ts);
    http.create(json!({
        "name": "items_v1",
        "fields": [
            {"name": "title", "type": "string"},
            {"name": "price", "type": "int32"},
            {"name": "brand", "type": "string"},
            {"name": "stock", "type": "int32"},
            {"name": "old_code", "type": "string"},
            {"name": "tenant_id", "type": "string", "facet": true},
            {"name": "rank", "type": "int32"},
            {"name": "notes", "type": "string"},
        ],
        "default_sorting_field": "rank",
    }));
    http.import(
        "items_v1",
        "{\"id\":\"1\",\"title\":\"tent\",\"price\":100,\"brand\":\"a\",\"stock\":1,\"old_code\":\"x\",\"tenant_id\":\"t\",\"rank\":1,\"notes\":\"n\",\"score\":2.5}\n",
    );
    http.set_alias("items", "items_v1");
    let dir = tree(&[(
        "items.v2.yaml",
        "fields:\n\
         \x20 - {name: title, type: string}\n\
         \x20 - {name: price, type: int64}\n\
         \x20 - {name: brand, type: string, facet: true}\n\
         \x20 - {name: stock, type: int32, index: false, optional: true}\n\
         \x20 - {name: colour, type: string, optional: true}\n\
         \x20 - {name: score, type: float}\n\
         \x20 - {name: rank, type: int32}\n\
         \x20 - {name: notes, type: string}\n\
         default_sorting_field: price\n\
         used_by:\n\
         \x20 - {name: tenant keys, kind: scoped_key, fields: [tenant_id]}\n",
    )]);
    let before = http.collections();
    let r = search(&ts, &["plan", path_str(dir.path())]);
    assert_eq!(r.code, 1, "the dropped tenant_id is a hazard: {}", r.stdout);
    let plan = &r.json["data"]["search"]["plan"][0];
    assert_eq!(plan["live"], "items_v1");
    assert_eq!(plan["target"], "items_v2");
    assert_eq!(plan["rollout"], "reindex");
    let action = |field: &str, kind: &str| -> String {
        plan["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .find(|c| c["field"] == field && c["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} change of {field}: {plan}"))["action"]
            .as_str()
            .expect("action")
            .to_owned()
    };
    assert_eq!(action("colour", "add"), "in_place", "optional field added");
    assert_eq!(
        action("score", "add"),
        "reindex",
        "required field, existing docs"
    );
    assert_eq!(action("old_code", "drop"), "in_place", "nobody uses it");
    assert_eq!(
        action("tenant_id", "drop"),
        "hazard",
        "scoped keys filter on it"
    );
    assert_eq!(action("price", "type"), "reindex");
    assert_eq!(action("brand", "facet"), "reindex");
    assert_eq!(action("stock", "index"), "reindex");
    assert_eq!(action("stock", "optional"), "reindex");
    assert_eq!(action("price", "default_sorting_field"), "reindex");
    let hazard = r.check("search.plan.hazard");
    assert_eq!(hazard["result"], "fail");
    assert!(
        hazard["message"]
            .as_str()
            .unwrap_or("")
            .contains("tenant keys (scoped_key)")
    );
    assert_eq!(http.collections(), before, "plan changes nothing");
    assert_eq!(http.alias("items").as_deref(), Some("items_v1"));
}

#[test]
fn reindex_flips_after_parity_and_rollback_restores_the_old_answers() {
    let ts = Typesense::start();
    let http = Http::new(&ts);
    shop(&ts);
    let r = search(
        &ts,
        &[
            "reindex",
            "--alias",
            "products",
            "--to",
            &release("products.v3.yaml"),
            "--updated-field",
            "updated_at",
            "--canaries",
            &release("canaries.yaml"),
            "--flip",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stderr);
    let d = &r.json["data"]["search"]["reindex"];
    assert_eq!(d["parity"]["old_count"], 2000);
    assert_eq!(d["parity"]["old_hash"], d["parity"]["new_hash"]);
    assert_eq!(d["flipped"], true);
    assert_eq!(d["probe"]["failed"], 0);
    assert_eq!(r.checks_with("search.parity.canary", "ok").len(), 5);
    assert_eq!(http.alias("products").as_deref(), Some("products_v3"));
    // brand is a facet only in v3: faceting through the alias works now.
    let (status, _) = http.search("products", "q=*&query_by=name&facet_by=brand");
    assert_eq!(status, 200);
    let (status, _) = http.search("products_v2", "q=*&query_by=name&facet_by=brand");
    assert_eq!(status, 404, "v2 has no brand facet");

    // After the flip the new collection's answers change (a price update through the alias).
    let q = "q=*&query_by=name&filter_by=category:=outdoor&sort_by=price:asc&per_page=3";
    let old_answer = http.top_ids("products_v2", q);
    let cheapest = &old_answer[0];
    http.json(
        "PATCH",
        &format!("/collections/products/documents/{}", old_answer[2]),
        Some(r#"{"price": 1}"#),
    );
    assert_ne!(http.top_ids("products", q), old_answer);

    let r = search(&ts, &["flip", "--alias", "products", "--rollback"]);
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stderr);
    assert_eq!(r.json["data"]["search"]["flip"]["to"], "products_v2");
    assert_eq!(http.alias("products").as_deref(), Some("products_v2"));
    assert_eq!(
        http.top_ids("products", q),
        old_answer,
        "the old answers are back"
    );
    assert_eq!(&http.top_ids("products", q)[0], cheapest);

    // gc keeps the rolled-back-from collection within retention, deletes it after.
    let r = search(&ts, &["gc", "--alias", "products", "--retention", "1h"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(http.collections().contains(&"products_v3".to_owned()));
    let r = search(&ts, &["gc", "--alias", "products", "--retention", "0s"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!http.collections().contains(&"products_v3".to_owned()));
    assert_eq!(http.alias("products").as_deref(), Some("products_v2"));
}

#[test]
fn a_document_the_new_schema_refuses_blocks_the_flip_and_is_named() {
    let ts = Typesense::start();
    let http = Http::new(&ts);
    shop(&ts);
    // v4 makes colour required; every product has one except 1234 (as imported data does).
    let text = std::fs::read_to_string(release("products.jsonl")).expect("products");
    let mut docs = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).expect("json");
        if v["id"] != "1234" {
            v["color"] = json!("black");
        }
        docs.push_str(&v.to_string());
        docs.push('\n');
    }
    http.import("products_v2", &docs);
    let v3 = std::fs::read_to_string(release("products.v3.yaml")).expect("v3");
    let v4 = v3.replace(
        "{name: color, type: string, facet: true, optional: true}",
        "{name: color, type: string, facet: true}",
    );
    assert_ne!(v3, v4);
    let dir = tree(&[("products.v4.yaml", &v4)]);
    let r = search(
        &ts,
        &[
            "reindex",
            "--alias",
            "products",
            "--to",
            path_str(&dir.path().join("products.v4.yaml")),
            "--flip",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let import = r.check("search.reindex.import");
    assert_eq!(import["result"], "fail");
    assert!(
        import["message"]
            .as_str()
            .unwrap_or("")
            .contains("document 1234"),
        "{import}"
    );
    let hash = r.check("search.parity.hash");
    assert!(
        hash["message"]
            .as_str()
            .unwrap_or("")
            .contains("missing from products_v4: 1234"),
        "{hash}"
    );
    assert_eq!(r.check("search.flip")["result"], "fail");
    assert_eq!(
        http.alias("products").as_deref(),
        Some("products_v2"),
        "not flipped"
    );

    // The data fixed, the same command rebuilds the never-flipped products_v4 and flips.
    http.json(
        "PATCH",
        "/collections/products_v2/documents/1234",
        Some(r#"{"color": "sand"}"#),
    );
    let v4 = dir.path().join("products.v4.yaml");
    let r = search(
        &ts,
        &[
            "reindex",
            "--alias",
            "products",
            "--to",
            path_str(&v4),
            "--flip",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stderr);
    assert_eq!(r.checks_with("search.reindex.import", "warn").len(), 1);
    assert_eq!(http.alias("products").as_deref(), Some("products_v4"));
    // Once it has been live, the same version is refused: bump it or gc.
    let r = search(
        &ts,
        &["reindex", "--alias", "products", "--to", path_str(&v4)],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("has been live"), "{}", r.stderr);
}

#[test]
fn a_changed_field_in_the_new_collection_blocks_the_flip_and_is_named() {
    let ts = Typesense::start();
    let http = Http::new(&ts);
    shop(&ts);
    let r = search(
        &ts,
        &[
            "reindex",
            "--alias",
            "products",
            "--to",
            &release("products.v3.yaml"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(r.check("search.flip")["result"], "skip");
    // Something writes to the new collection behind the gate's back.
    http.json(
        "PATCH",
        "/collections/products_v3/documents/777",
        Some(r#"{"name": "Discontinued"}"#),
    );
    let r = search(&ts, &["flip", "--alias", "products", "--to", "products_v3"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let hash = r.check("search.parity.hash");
    assert!(
        hash["message"]
            .as_str()
            .unwrap_or("")
            .contains("changed in products_v3: 777"),
        "{hash}"
    );
    assert_eq!(r.json["data"]["search"]["flip"]["flipped"], false);
    assert_eq!(http.alias("products").as_deref(), Some("products_v2"));
}

/// Typesense's scoped key, computed here independently of the tool.
fn scoped(parent: &str, params: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(parent.as_bytes()).expect("key");
    mac.update(params.as_bytes());
    let digest = Base64::encode_string(&mac.finalize().into_bytes());
    Base64::encode_string(format!("{digest}{}{params}", &parent[..4]).as_bytes())
}

#[test]
fn a_tenants_scoped_key_cannot_read_another_tenants_documents() {
    let ts = Typesense::start();
    let http = Http::new(&ts);
    shop(&ts);
    let key = http.json(
        "POST",
        "/keys",
        Some(r#"{"description":"storefront-search","actions":["documents:search"],"collections":["products"]}"#),
    )["value"]
        .as_str()
        .expect("value")
        .to_owned();
    // Directly: acme's scoped key finds acme's products and none of globex's, even asked.
    let acme = Http::with_key(&ts, &scoped(&key, r#"{"filter_by":"tenant_id:=acme"}"#));
    let (status, own) = acme.search("products", "q=*&query_by=name&per_page=250");
    assert_eq!(status, 200, "{own}");
    assert!(own["found"].as_u64().unwrap_or(0) > 600);
    assert!(
        own["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .all(|h| h["document"]["tenant_id"] == "acme")
    );
    let (_, theirs) = acme.search("products", "q=*&query_by=name&filter_by=tenant_id:=globex");
    assert_eq!(theirs["found"], 0, "{theirs}");
    let parent = Http::with_key(&ts, &key);
    let (_, unscoped) = parent.search("products", "q=*&query_by=name&filter_by=tenant_id:=globex");
    assert!(
        unscoped["found"].as_u64().unwrap_or(0) > 600,
        "the parent key alone is not scoped"
    );

    // The tool: storefront's key is search-only on products and isolates every tenant.
    let policy = std::fs::read_to_string(release("keys.yaml")).expect("policy");
    let dir = tree(&[
        ("keys.yaml", &policy),
        ("storefront.env", "TYPESENSE_COLLECTION=products\n"),
    ]);
    let policy_path = dir.path().join("keys.yaml");
    let run = |admin_key: &str| {
        migration_gate(&[
            "search",
            "keys",
            "--typesense-url",
            &ts.url(),
            "--api-key-env",
            KEY_ENV,
            "--policy",
            path_str(&policy_path),
            "--format",
            "json",
        ])
        .env(KEY_ENV, admin_key)
        .env("STOREFRONT_SEARCH_KEY", &key)
        .validate_stdout()
        .run()
    };
    let r = run(ts.api_key());
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stderr);
    assert_eq!(r.checks_with("search.keys.tenant_isolation", "ok").len(), 3);
    assert_eq!(r.check("search.keys.search_only")["result"], "ok");

    // A client key that can write, and the admin key in the client's configuration: fail.
    http.json(
        "POST",
        "/keys",
        Some(
            r#"{"description":"storefront-search","actions":["documents:*"],"collections":["*"]}"#,
        ),
    );
    std::fs::write(
        dir.path().join("storefront.env"),
        format!(
            "TYPESENSE_COLLECTION=products\nTYPESENSE_API_KEY={}\n",
            ts.api_key()
        ),
    )
    .expect("write");
    let r = run(ts.api_key());
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.checks_with("search.keys.search_only", "fail").len(), 1);
    assert_eq!(r.checks_with("search.keys.collections", "fail").len(), 1);
    let admin = r.checks_with("search.keys.admin_in_client", "fail");
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0]["location"]["line"], 2);
    assert!(
        !r.stdout.contains(ts.api_key()),
        "the admin key never appears in a report"
    );
}

#[test]
fn bad_input_is_one_line_exit_2_and_nothing_is_created_or_flipped() {
    let ts = Typesense::start();
    let http = Http::new(&ts);
    shop(&ts);
    let before = http.collections();
    let v3 = release("products.v3.yaml");
    let reindex = [
        "reindex",
        "--alias",
        "products",
        "--to",
        v3.as_str(),
        "--flip",
    ];

    // Wrong key.
    let r = search_with_key(&ts, "not-the-key", &reindex);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.json["error"]["kind"], "auth");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("the API key was refused (401)"),
        "{}",
        r.stderr
    );

    // Unreachable.
    let port = testkit::free_port();
    let r = migration_gate(&[
        "search",
        "plan",
        "--typesense-url",
        &format!("http://127.0.0.1:{port}"),
        "--api-key-env",
        KEY_ENV,
        &release(""),
        "--format",
        "json",
    ])
    .env(KEY_ENV, "k")
    .validate_stdout()
    .run();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.json["error"]["kind"], "unreachable");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);

    // A schema Typesense would reject: found before anything is created.
    for (text, want) in [
        (
            "fields:\n  - {name: name, type: strin}\n",
            "products.v9.yaml:2:5: field `name` has an invalid data type `strin`",
        ),
        (
            "fields:\n  - {name: name, type: string}\ndefault_sorting_field: name\n",
            "products.v9.yaml:3:24: default sorting field `name` is not a sortable type",
        ),
        (
            "fields:\n  - {name: n, type: int32, optional: true}\ndefault_sorting_field: n\n",
            "cannot be an optional field",
        ),
        (
            "fields:\n  - {name: n, type: string}\n  - {name: n, type: string}\n",
            "products.v9.yaml:3:5: field `n` is declared twice",
        ),
        (
            "fields:\n  - {name: n, type: string, facets: true}\n",
            "products.v9.yaml:2",
        ),
    ] {
        let dir = tree(&[("products.v9.yaml", text)]);
        let file = dir.path().join("products.v9.yaml");
        let r = search(
            &ts,
            &[
                "reindex",
                "--alias",
                "products",
                "--to",
                path_str(&file),
                "--flip",
            ],
        );
        assert_eq!(r.code, 2, "{text}: {}", r.stdout);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(want), "{text}: {}", r.stderr);
    }

    // An alias that points nowhere.
    http.set_alias("ghost", "ghost_v1");
    let dir = tree(&[("ghost.v2.yaml", "fields:\n  - {name: name, type: string}\n")]);
    let r = search(
        &ts,
        &[
            "reindex",
            "--alias",
            "ghost",
            "--to",
            path_str(&dir.path().join("ghost.v2.yaml")),
            "--flip",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("alias ghost: points to collection ghost_v1, which does not exist"),
        "{}",
        r.stderr
    );
    let r = search(&ts, &["plan", path_str(dir.path())]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    let r = search(&ts, &["flip", "--alias", "ghost", "--to", "products_v2"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    // Flipping to a collection that does not exist.
    let r = search(&ts, &["flip", "--alias", "products", "--to", "products_v9"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("collection products_v9 does not exist"),
        "{}",
        r.stderr
    );

    assert_eq!(http.collections(), before, "nothing created");
    assert_eq!(
        http.alias("products").as_deref(),
        Some("products_v2"),
        "nothing flipped"
    );
    assert_eq!(http.alias("ghost").as_deref(), Some("ghost_v1"));
}

/// `n` products in the shop's shape, deterministic, stamped `updated_at` = base + i.
fn products(n: usize) -> String {
    let nouns = [
        "tent",
        "stove",
        "kettle",
        "headphones",
        "sweater",
        "lamp",
        "yoga mat",
        "helmet",
    ];
    let brands = ["Alpenglow", "Northwind", "Kestrel", "Lumen", "Voltwerk"];
    let tenants = ["acme", "globex", "initech"];
    let mut x: u64 = 0x5eed;
    let mut next = |m: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % m
    };
    let mut out = String::with_capacity(n * 260);
    for i in 0..n {
        let noun = nouns[next(nouns.len() as u64) as usize];
        let brand = brands[next(brands.len() as u64) as usize];
        let doc = json!({
            "id": i.to_string(), "name": format!("{brand} {noun} {i}"),
            "description": format!("A {noun} from {brand}"), "brand": brand,
            "category": if i % 2 == 0 { "outdoor" } else { "home" },
            "tags": [noun], "price": 299 + next(40_000), "rating": (next(50) as f64) / 10.0,
            "popularity": next(10_000), "stock": next(500),
            "legacy_sku": format!("SKU-{i:06}"), "tenant_id": tenants[i % 3],
            "updated_at": 1_790_000_000_000u64 + i as u64,
        });
        out.push_str(&doc.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn slow_reindex_of_100k_documents_under_concurrent_writes_flips_with_zero_failed_searches() {
    let ts = Typesense::start();
    let http = Arc::new(Http::new(&ts));
    let v2 = std::fs::read_to_string(release("products.v2.yaml")).expect("v2");
    let v3 = std::fs::read_to_string(release("products.v3.yaml")).expect("v3");
    let dir = tree(&[
        ("products.v2.yaml", &v2),
        ("products.v3.yaml", &v3),
        ("products.jsonl", &products(100_000)),
    ]);
    let r = search(
        &ts,
        &[
            "reindex",
            "--alias",
            "products",
            "--to",
            path_str(&dir.path().join("products.v2.yaml")),
            "--source",
            path_str(&dir.path().join("products.jsonl")),
            "--flip",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stderr);

    let stop = Arc::new(AtomicBool::new(false));
    // Writers: each product updated once (a distinct id per write), through the alias, with
    // the new stock and a fresh updated_at; every write must survive the flip.
    let written = Arc::new(std::sync::Mutex::new(Vec::<(u64, u64)>::new()));
    let writer = {
        let (http, stop, written) = (Arc::clone(&http), Arc::clone(&stop), Arc::clone(&written));
        std::thread::spawn(move || {
            let mut id = 0u64;
            while !stop.load(Ordering::SeqCst) && id < 20_000 {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_millis() as u64;
                let body = json!({"stock": 10_000 + id, "updated_at": now}).to_string();
                let (status, text) = http.call(
                    "PATCH",
                    &format!("/collections/products/documents/{}", id * 5),
                    Some(&body),
                );
                assert!(matches!(status, 200 | 201), "write {id}: {status} {text}");
                written.lock().expect("lock").push((id * 5, 10_000 + id));
                id += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    // The bounded search loop: counts every search through the alias and every failure.
    let (searches, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let searcher = {
        let (http, stop) = (Arc::clone(&http), Arc::clone(&stop));
        let (searches, failures) = (Arc::clone(&searches), Arc::clone(&failures));
        std::thread::spawn(move || {
            for _ in 0..200_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let (status, v) =
                    http.search("products", "q=tent&query_by=name,description&per_page=5");
                searches.fetch_add(1, Ordering::SeqCst);
                if status != 200 || !v["hits"].is_array() || v["found"].as_u64().unwrap_or(0) == 0 {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let r = search(
        &ts,
        &[
            "reindex",
            "--alias",
            "products",
            "--to",
            path_str(&dir.path().join("products.v3.yaml")),
            "--updated-field",
            "updated_at",
            "--canaries",
            &release("canaries.yaml"),
            "--max-lag",
            "60s",
            "--flip",
            "--probe-rate",
            "50",
        ],
    );
    // Keep writing and searching a moment after the flip, then stop.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer");
    searcher.join().expect("searcher");
    assert_eq!(r.code, 0, "{}\n{}\n{}", r.failures(), r.stderr, r.stdout);
    let d = &r.json["data"]["search"]["reindex"];
    assert_eq!(d["flipped"], true);
    assert_eq!(d["parity"]["old_count"], 100_000);
    assert_eq!(d["parity"]["new_count"], 100_000);
    assert_eq!(d["probe"]["failed"], 0, "{d}");
    assert!(d["probe"]["searches"].as_u64().unwrap_or(0) > 0);
    let total = searches.load(Ordering::SeqCst);
    assert!(total > 50, "the loop ran throughout: {total} searches");
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "failed searches of {total}"
    );
    assert_eq!(http.alias("products").as_deref(), Some("products_v3"));
    // Every write landed in the collection now behind the alias, before or after the flip.
    let written = written.lock().expect("lock").clone();
    assert!(
        written.len() > 100,
        "writes ran during the reindex: {}",
        written.len()
    );
    let export = http
        .call("GET", "/collections/products_v3/documents/export", None)
        .1;
    let stock: std::collections::HashMap<String, u64> = export
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            (
                v["id"].as_str().expect("id").to_owned(),
                v["stock"].as_u64().expect("stock"),
            )
        })
        .collect();
    let lost: Vec<&(u64, u64)> = written
        .iter()
        .filter(|(id, s)| stock.get(&id.to_string()) != Some(s))
        .collect();
    assert!(
        lost.is_empty(),
        "{} writes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    #[expect(
        clippy::print_stderr,
        reason = "the figures the docs quote, in the test's output"
    )]
    let () = eprintln!(
        "100k reindex: {} ms, {} catch-up rounds, {} in-flight documents followed at parity, {} copied after the flip; \
         {} writes during it, all kept; {total} searches through the alias from the test, 0 failed; tool probe {} searches, {} failed",
        d["duration_ms"],
        d["rounds"].as_array().map_or(0, Vec::len),
        d["parity"]["in_flight"],
        d["post_flip_copied"],
        written.len(),
        d["probe"]["searches"],
        d["probe"]["failed"]
    );
}

#[test]
fn the_example_search_inputs_follow_their_schemas() {
    for (file, schema) in [
        (
            "products.v2.yaml",
            "migration-gate.search-collection.schema.json",
        ),
        (
            "products.v3.yaml",
            "migration-gate.search-collection.schema.json",
        ),
        (
            "canaries.yaml",
            "migration-gate.search-canaries.schema.json",
        ),
        ("keys.yaml", "migration-gate.search-keys.schema.json"),
    ] {
        let text = std::fs::read_to_string(release(file)).expect("example");
        let value: Value = gatehouse::yaml::from_str(file, &text).expect("yaml");
        testkit::schema::assert_valid(schema, &value);
    }
    let bad: Value = json!({"fields": [{"name": "n", "type": "strin"}]});
    assert!(
        !testkit::schema::errors("migration-gate.search-collection.schema.json", &bad).is_empty()
    );
}

#[test]
fn reindex_fills_from_a_postgresql_query_and_names_a_row_the_schema_refuses() {
    let ts = Typesense::start();
    let http = Http::new(&ts);
    let pg = testkit::Postgres::start();
    pg.create_db("shop");
    pg.psql(
        "shop",
        "CREATE TABLE products (id bigint PRIMARY KEY, name text NOT NULL, price integer, tenant_id text NOT NULL);\n\
         INSERT INTO products SELECT g, 'product ' || g, 100 + g, (ARRAY['acme','globex'])[1 + g % 2] FROM generate_series(1, 500) g;",
    );
    let dir = tree(&[(
        "catalog.v1.yaml",
        "fields:\n  - {name: name, type: string}\n  - {name: price, type: int32}\n  - {name: tenant_id, type: string, facet: true}\n",
    )]);
    let schema = dir.path().join("catalog.v1.yaml");
    let url = pg.url("shop");
    let args = |query: &'static str| {
        vec![
            "reindex".to_owned(),
            "--alias".into(),
            "catalog".into(),
            "--to".into(),
            path_str(&schema).to_owned(),
            "--source-database-url".into(),
            url.clone(),
            "--source-query".into(),
            query.to_owned(),
            "--flip".into(),
        ]
    };
    let a = args("SELECT id, name, price, tenant_id FROM products");
    let r = search(&ts, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stderr);
    assert_eq!(r.json["data"]["search"]["reindex"]["copied"], 500);
    assert_eq!(http.alias("catalog").as_deref(), Some("catalog_v1"));
    let (_, v) = http.search(
        "catalog",
        "q=product&query_by=name&filter_by=tenant_id:=acme",
    );
    assert_eq!(v["found"], 250);

    // A NULL price the schema requires: the row is named and nothing flips.
    pg.psql("shop", "UPDATE products SET price = NULL WHERE id = 321");
    http.json("DELETE", "/aliases/catalog", None);
    http.json("DELETE", "/collections/catalog_v1", None);
    let r = search(&ts, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.check("search.reindex.import")["message"]
            .as_str()
            .unwrap_or("")
            .contains("document 321")
    );
    assert!(
        r.check("search.parity.hash")["message"]
            .as_str()
            .unwrap_or("")
            .contains("missing from catalog_v1: 321")
    );
    assert_eq!(http.alias("catalog"), None, "not flipped");

    // A query without an id column: exit 2 before anything is created.
    http.json("DELETE", "/collections/catalog_v1", None);
    let a = args("SELECT name, price, tenant_id FROM products");
    let r = search(&ts, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("no `id` column"), "{}", r.stderr);
    assert_eq!(http.collections(), vec!["migration_gate_flips".to_owned()]);
}

#[test]
fn a_server_that_accepts_and_never_answers_is_an_error_within_the_deadline() {
    let silent = testkit::SilentServer::start(testkit::Silence::Mute);
    let url = format!("http://{}", silent.addr());
    let schemas = release("");
    let t0 = std::time::Instant::now();
    let r = migration_gate(&[
        "search",
        "plan",
        "--typesense-url",
        &url,
        "--api-key-env",
        KEY_ENV,
        "--request-timeout",
        "1s",
        &schemas,
    ])
    .args(["--format", "json"])
    .env(KEY_ENV, "some-key")
    .validate_stdout()
    .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&silent.addr().to_string()),
        "{}",
        r.stderr
    );
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t0.elapsed()
    );
}
