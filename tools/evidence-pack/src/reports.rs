//! Reading the other tools' reports for `gate` and `build`: files (one object, an array or
//! JSON Lines), directories of such files, or stdin. Keeps each report's JSON as written,
//! and its original bytes when a file held exactly one report.

use std::path::{Path, PathBuf};

use gatehouse::input::{self, Input};
use gatehouse::{InputError, Report, Source};
use serde_json::Value;

use crate::error::Result;

#[derive(Debug, Clone)]
pub(crate) struct LoadedReport {
    pub(crate) report: Report,
    /// The report as JSON, with every field it had (figure paths read this).
    pub(crate) value: Value,
    /// Where it came from: `file` or `file#3` for the third report of a stream.
    pub(crate) source: String,
    /// The file's bytes, when the file held exactly this one report.
    pub(crate) original: Option<Vec<u8>>,
}

impl LoadedReport {
    pub(crate) fn started_at(&self) -> Option<gatehouse::time::Timestamp> {
        gatehouse::time::Timestamp::parse(&self.report.started_at).ok()
    }
}

/// Reads every PATH (file, directory or `-`).
pub(crate) fn load_all(paths: &[PathBuf]) -> Result<Vec<LoadedReport>> {
    let _s = gatehouse::trace::step("read_reports");
    let mut out = Vec::new();
    for p in paths {
        let source = Source::new(p);
        if source == Source::Stdin && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(InputError::invalid(
                "<stdin>",
                "no reports given: name report files or directories, or pipe reports in",
            )
            .into());
        }
        match &source {
            Source::Path(path) if path.is_dir() => load_dir(path, &mut out)?,
            _ => load_source(&source, false, &mut out)?,
        }
    }
    Ok(out)
}

/// The `*.json` / `*.jsonl` files of a directory, sorted; hidden files, subdirectories and
/// anything that is not a regular file (a FIFO would block the scan) are left out.
fn load_dir(dir: &Path, out: &mut Vec<LoadedReport>) -> Result<()> {
    let files: Vec<PathBuf> = input::list_dir(dir)?
        .into_iter()
        .filter(|(p, name)| (name.ends_with(".json") || name.ends_with(".jsonl")) && p.is_file())
        .map(|(p, _)| p)
        .collect();
    for f in files {
        load_source(&Source::new(&f), true, out)?;
    }
    Ok(())
}

/// `lenient` (directory scans): an empty file or JSON that is not a Gatehouse report is
/// skipped with a warning, so a directory may hold other JSON; a malformed file is still an
/// error, because a truncated report must never count as "missing, so fine".
fn load_source(source: &Source, lenient: bool, out: &mut Vec<LoadedReport>) -> Result<()> {
    let input = input::read(source)?;
    let label = input.label();
    if lenient && input.bytes.iter().all(u8::is_ascii_whitespace) {
        tracing::warn!("{label}: empty; skipped");
        return Ok(());
    }
    let values: Vec<Value> = input::parse_json_stream(&input)?;
    if values.is_empty() {
        return Err(InputError::invalid(label, "holds no reports").into());
    }
    let single = values.len() == 1;
    for (i, value) in values.into_iter().enumerate() {
        let schema = value.get("schema").and_then(Value::as_str).unwrap_or("");
        if !schema.starts_with("gatehouse.report/") {
            if lenient {
                tracing::warn!("{label}: not a Gatehouse report (schema {schema:?}); skipped");
                continue;
            }
            return Err(InputError::invalid(
                item_label(&label, i, single),
                format!(
                    "{schema:?} is not a Gatehouse report schema (expected gatehouse.report/v1)"
                ),
            )
            .into());
        }
        let report: Report = serde_json::from_value(value.clone()).map_err(|e| {
            InputError::invalid(
                item_label(&label, i, single),
                format!("not a Gatehouse report: {e}"),
            )
        })?;
        out.push(LoadedReport {
            report,
            value,
            source: item_label(&label, i, single),
            original: single.then(|| original_bytes(&input)),
        });
    }
    Ok(())
}

fn original_bytes(input: &Input) -> Vec<u8> {
    input.bytes.clone()
}

fn item_label(label: &str, i: usize, single: bool) -> String {
    if single {
        label.to_owned()
    } else {
        format!("{label}#{}", i + 1)
    }
}

/// Resolves `data.headroom`, `data.shards[0].p99` or `data.shards.0.p99` in a report.
pub(crate) fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = value;
    for seg in path.split('.') {
        let mut parts = seg.split('[');
        let name = parts.next()?;
        cur = match cur {
            Value::Object(m) => m.get(name)?,
            Value::Array(a) => a.get(name.parse::<usize>().ok()?)?,
            _ => return None,
        };
        for idx in parts {
            let i: usize = idx.strip_suffix(']')?.parse().ok()?;
            cur = cur.as_array()?.get(i)?;
        }
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        #[test]
        fn arbitrary_paths_never_panic(path in "[a-z0-9_.\\[\\]-]{0,40}") {
            let v = json!({"data": {"a": [1, {"b": 2}], "headroom": 0.2}});
            let _ = lookup(&v, &path);
        }
    }

    #[test]
    fn paths_reach_nested_fields_and_array_items() {
        let v = json!({"data": {"headroom": 0.25, "shards": [{"p99": 7}]}});
        assert_eq!(lookup(&v, "data.headroom"), Some(&json!(0.25)));
        assert_eq!(lookup(&v, "data.shards[0].p99"), Some(&json!(7)));
        assert_eq!(lookup(&v, "data.shards.0.p99"), Some(&json!(7)));
        assert_eq!(lookup(&v, "data.missing"), None);
        assert_eq!(lookup(&v, "data.shards[9].p99"), None);
        assert_eq!(lookup(&v, "data.headroom[0"), None);
    }
}
