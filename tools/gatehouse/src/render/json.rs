//! `--format json`: the envelope as one compact line, so `tool >> all.jsonl` builds JSON
//! Lines that `evidence-pack gate` reads back.

use crate::report::Report;

pub(super) fn render(report: &Report) -> String {
    // Serializing plain data cannot fail; a failure would be a bug in our types.
    let mut s = serde_json::to_string(report).unwrap_or_else(|e| format!(r#"{{"schema":"gatehouse.report/v1","result":"error","error":{{"kind":"internal","message":"{e}"}}}}"#));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use crate::render::fixture;

    #[test]
    fn snapshot() {
        let out = super::render(&fixture::report());
        assert_eq!(out.lines().count(), 1);
        let _: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        // The raw line, so the snapshot also pins the key order.
        insta::assert_snapshot!("json", out);
    }
}
