//! Findings inside expressions and templates point at the exact file:line:column, whatever
//! the YAML scalar style (plain, `|`, `>`, quoted) and in multi-document PrometheusRule files.

use crate::{fixture, run};

fn located(file: &str, id: &str) -> Vec<String> {
    let path = fixture(&format!("locations/{file}"));
    let report = run(&["check", &path]).report();
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["id"] == id && c["result"] != "ok" && c["result"] != "skip")
        .map(|c| {
            format!(
                "{}:{}:{}: {}",
                c["location"]["file"]
                    .as_str()
                    .expect("file")
                    .rsplit('/')
                    .next()
                    .expect("name"),
                c["location"]["line"],
                c["location"]["column"],
                c["message"].as_str().expect("message")
            )
        })
        .collect()
}

#[test]
fn a_plain_scalar_error_points_at_the_token() {
    assert_eq!(
        located("plain.yaml", "syntax.promql"),
        vec!["plain.yaml:5:48: job:x:rate5m: unexpected operator \"*\""]
    );
}

#[test]
fn a_literal_block_error_is_on_the_line_inside_the_block() {
    // "rate(" on the last line never closes: Prometheus reports the end of input.
    assert_eq!(
        located("literal.yaml", "syntax.promql"),
        vec!["literal.yaml:9:25: job:x:rate5m: unclosed left parenthesis"]
    );
}

#[test]
fn a_folded_block_error_follows_the_folding() {
    assert_eq!(
        located("folded.yaml", "syntax.promql"),
        vec!["folded.yaml:7:13: job:x:rate5m: unknown function with name 'unknown_fn'"]
    );
}

#[test]
fn quoted_scalars_count_escapes_and_doubled_quotes() {
    assert_eq!(
        located("quoted.yaml", "syntax.promql"),
        vec![
            // The `)` inside `[5m)`: 16 + its index in the value + 2 escaping backslashes.
            "quoted.yaml:5:85: job:x:rate5m: unexpected character inside brackets: ')'".to_owned(),
            // The second `@`: 16 + its index + 2 for the doubled quotes of ''500''.
            "quoted.yaml:7:54: job:y:rate5m: unexpected operator \"@\"".to_owned(),
        ]
    );
}

#[test]
fn templates_in_prometheusrule_block_annotations_are_located() {
    assert_eq!(
        located("operator.yaml", "template.dropped_label"),
        vec![
            "operator.yaml:23:27: ApiDown: annotation \"description\" uses $labels.instance but the query result carries only job"
        ]
    );
}
