//! The append-only audit log: JSON Lines, one entry per line, each carrying the SHA-256 of
//! the previous line's bytes (`prev`; 64 zeros for the first), a consecutive `seq`, the
//! time, the event, and optionally a signature.
//!
//! Appends hold an exclusive lock on the log file (flock via `File::lock`) from reading
//! the last line to writing the new one, so concurrent writers serialise. Each entry is one
//! `write` of the whole line including its newline, then fsync; a write that fails part-way
//! (a full disk) is truncated back to the old end. A crash mid-write can still leave a
//! torn last line, which `append` refuses to build on and `verify` reports.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding as _};
use gatehouse::time::Timestamp;
use gatehouse::{Check, Location, ReportBuilder};
use serde::Serialize;
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::dsse::pae;
use crate::error::{Error, Result};
use crate::keys::{PublicKey, SigningKey};

pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const SIG_PAYLOAD_TYPE: &str = "application/vnd.gatehouse.audit-entry+json";
const MAX_EVENTS_FILE: u64 = 64 * 1024 * 1024;

#[derive(Serialize)]
struct Entry<'a> {
    seq: u64,
    time: String,
    prev: String,
    event: &'a Value,
}

/// The last line of the file (without its newline) and whether it ended with one.
fn last_line(file: &mut File) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut end = len;
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    let complete = last[0] == b'\n';
    if complete {
        end -= 1;
    }
    // Read backwards in chunks until the previous newline.
    let mut buf: Vec<u8> = Vec::new();
    let mut pos = end;
    loop {
        let chunk = pos.min(64 * 1024);
        if chunk == 0 {
            break;
        }
        pos -= chunk;
        let mut c = vec![0u8; usize::try_from(chunk).unwrap_or(0)];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut c)?;
        if let Some(i) = c.iter().rposition(|&b| b == b'\n') {
            c.drain(..=i);
            c.extend_from_slice(&buf);
            return Ok(Some((c, complete)));
        }
        c.extend_from_slice(&buf);
        buf = c;
    }
    Ok(Some((buf, complete)))
}

/// The events to append: `--event` (one object) or `--event-file` (one object, an array
/// or JSON Lines of objects; each becomes its own entry).
pub(crate) fn read_events(event: Option<&str>, event_file: Option<&Path>) -> Result<Vec<Value>> {
    let (label, values) = match (event, event_file) {
        (Some(e), _) => {
            let v: Value = serde_json::from_str(e)
                .map_err(|err| gatehouse::input::json_error("--event", &err))?;
            ("--event".to_owned(), vec![v])
        }
        (None, Some(p)) => {
            let input =
                gatehouse::input::read_limited(&gatehouse::Source::new(p), MAX_EVENTS_FILE)?;
            (
                input.label(),
                gatehouse::input::parse_json_stream::<Value>(&input)?,
            )
        }
        (None, None) => {
            return Err(Error::Usage(
                "give --event JSON or --event-file FILE".to_owned(),
            ));
        }
    };
    if values.is_empty() {
        return Err(Error::Input(gatehouse::InputError::invalid(
            label,
            "holds no event",
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_object()) {
        return Err(Error::Input(gatehouse::InputError::invalid(
            label,
            format!("event {} is not a JSON object", i + 1),
        )));
    }
    Ok(values)
}

/// What one append wrote.
struct Appended {
    seq: u64,
    sha256: String,
    prev: String,
}

/// Appends one entry under an exclusive lock: read the last line, chain to it, write the
/// whole new line with one `write`, fsync, unlock.
fn append_one(
    file: &mut File,
    label: &str,
    event: &Value,
    key: Option<&SigningKey>,
    time: Timestamp,
) -> Result<Appended> {
    file.lock().map_err(|e| Error::io(label, e))?;
    let result = (|| {
        let last = last_line(file).map_err(|e| Error::io(label, e))?;
        let (seq, prev) = match last {
            None => (1, GENESIS.to_owned()),
            Some((line, complete)) => {
                let parsed: Option<Value> = serde_json::from_slice(&line).ok();
                let last_seq = parsed
                    .as_ref()
                    .and_then(|v| v.get("seq"))
                    .and_then(Value::as_u64);
                match (complete, last_seq) {
                    (true, Some(s)) => (s + 1, gatehouse::hash::sha256_hex(&line)),
                    (false, _) => {
                        return Err(Error::Audit {
                            path: label.to_owned(),
                            message: "the last line is torn (no newline at the end: a write was interrupted); refusing to append — inspect it with `evidence-pack audit verify`".to_owned(),
                        });
                    }
                    (true, None) => {
                        return Err(Error::Audit {
                            path: label.to_owned(),
                            message:
                                "the last line is not an audit entry (no seq); refusing to append"
                                    .to_owned(),
                        });
                    }
                }
            }
        };
        let entry = Entry {
            seq,
            time: time.to_rfc3339(),
            prev: prev.clone(),
            event,
        };
        let mut line = serde_json::to_vec(&entry).unwrap_or_default();
        if let Some(key) = key {
            let sig = key.sign(&pae(SIG_PAYLOAD_TYPE, &line));
            let sig = json!({"keyid": key.public().keyid(), "sig": Base64::encode_string(&sig)});
            line.pop(); // the closing brace
            line.extend_from_slice(b",\"sig\":");
            line.extend_from_slice(sig.to_string().as_bytes());
            line.push(b'}');
        }
        let sha256 = gatehouse::hash::sha256_hex(&line);
        line.push(b'\n');
        // Whole or not at all: a full disk never leaves a torn line behind.
        gatehouse::run::append_whole_line(file, &line).map_err(|e| Error::io(label, e))?;
        Ok(Appended { seq, sha256, prev })
    })();
    // Unlocking also happens when the file is closed; an error here changes nothing written.
    let _ = file.unlock();
    result
}

/// What `append` is given: the log, the events read (`read_events`), the signing key and a
/// fixed time, all checked.
pub(crate) struct AppendOptions {
    pub(crate) log: PathBuf,
    pub(crate) events: Vec<Value>,
    pub(crate) key: Option<SigningKey>,
    /// Record this time instead of now.
    pub(crate) time: Option<Timestamp>,
}

pub(crate) fn append(opts: &AppendOptions, b: &mut ReportBuilder) -> Result<()> {
    let (events, key, fixed_time) = (&opts.events, &opts.key, opts.time);
    let label = opts.log.display().to_string();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&opts.log)
        .map_err(|e| Error::io(&label, e))?;
    gatehouse::input::note_input(&opts.log); // `--report LOG` must not replace the log
    let _s = gatehouse::trace::step("append");
    let mut first: Option<Appended> = None;
    let mut last: Option<Appended> = None;
    for event in events {
        let a = append_one(
            &mut file,
            &label,
            event,
            key.as_ref(),
            fixed_time.unwrap_or_else(Timestamp::now),
        )?;
        if first.is_none() {
            first = Some(Appended {
                seq: a.seq,
                sha256: a.sha256.clone(),
                prev: a.prev.clone(),
            });
        }
        last = Some(a);
    }
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(());
    };
    let n = events.len();
    let what = if n == 1 {
        format!("entry {}", last.seq)
    } else {
        format!("{n} entries ({}…{})", first.seq, last.seq)
    };
    b.check(Check::ok(CheckId::AuditChain.as_str()).with_message(format!("appended {what}")));
    b.summary(format!(
        "{label}: appended {what}; head {}",
        &last.sha256[..16]
    ));
    b.data(json!({"log": label, "seq": last.seq, "count": n, "sha256": last.sha256, "prev": last.prev, "signed": key.is_some()}));
    Ok(())
}

/// The bytes a signed line's signature covers: the line without its trailing `"sig"`.
fn unsigned_part(line: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(line).ok()?;
    let at = text.rfind(",\"sig\":{\"keyid\":")?;
    let mut out = text.as_bytes()[..at].to_vec();
    out.push(b'}');
    Some(out)
}

/// Checks the chain (and with `key`, every entry's signature) from the first line on.
pub(crate) fn verify(log: &Path, key: Option<&PublicKey>, b: &mut ReportBuilder) -> Result<()> {
    let label = log.display().to_string();
    gatehouse::input::note_input(log);
    let file = File::open(log).map_err(|e| Error::io(&label, e))?;
    let _s = gatehouse::trace::step("verify");
    let chain = walk_chain(BufReader::with_capacity(1 << 20, file), &label, key)?;
    let Chain {
        n,
        signed,
        prev,
        broken,
    } = chain;
    match &broken {
        None => {
            b.check(
                Check::ok(CheckId::AuditChain.as_str())
                    .with_message(format!("{n} entries chain from the genesis")),
            );
            b.check(
                Check::ok(CheckId::AuditTorn.as_str()).with_message("the last line is complete"),
            );
            if key.is_some() {
                b.check(
                    Check::ok(CheckId::AuditSignature.as_str())
                        .with_message(format!("{signed} entries signed by the given key")),
                );
            }
            b.summary(format!(
                "{label}: {n} entries, chain intact; head {}",
                &prev[..16]
            ));
        }
        Some((line_no, id, message)) => {
            b.check(
                Check::fail(id.as_str(), message.clone())
                    .with_location(Location::line(label.clone(), *line_no)),
            );
            b.summary(format!("{label}: {message}"));
        }
    }
    b.data(json!({
        "log": label,
        "entries": if broken.is_some() { n.saturating_sub(1) } else { n },
        "head": if broken.is_some() { Value::Null } else { Value::from(prev) },
        "signed": signed,
        "first_broken_line": broken.as_ref().map(|(l, _, _)| *l),
    }));
    Ok(())
}

/// How far the chain holds: lines read, lines signed, the digest of the last good line,
/// and the first broken line (its number, the check it fails, why).
struct Chain {
    n: u64,
    signed: u64,
    prev: String,
    broken: Option<(u64, CheckId, String)>,
}

/// Reads the log line by line up to the first line that breaks the chain.
fn walk_chain(mut reader: impl BufRead, label: &str, key: Option<&PublicKey>) -> Result<Chain> {
    let mut chain = Chain {
        n: 0,
        signed: 0,
        prev: GENESIS.to_owned(),
        broken: None,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(label, e))?;
        if read == 0 {
            break;
        }
        chain.n += 1;
        let n = chain.n;
        if line.last() != Some(&b'\n') {
            chain.broken = Some((
                n,
                CheckId::AuditTorn,
                format!(
                    "line {n} is torn (no newline at the end): a write was interrupted; it is not accepted"
                ),
            ));
            break;
        }
        line.pop();
        if let Some((id, message)) = line_problem(n, &line, &chain.prev, key) {
            chain.broken = Some((n, id, message));
            break;
        }
        if key.is_some() {
            chain.signed += 1;
        }
        chain.prev = gatehouse::hash::sha256_hex(&line);
    }
    Ok(chain)
}

/// What is wrong with complete line `n` (without its newline), if anything: not an object,
/// a `seq` out of order, a `prev` that is not the digest of the line before, or with `key`
/// a missing or bad signature.
fn line_problem(
    n: u64,
    line: &[u8],
    prev: &str,
    key: Option<&PublicKey>,
) -> Option<(CheckId, String)> {
    let v: Option<Value> = serde_json::from_slice(line).ok();
    let Some(v) = v.filter(Value::is_object) else {
        return Some((
            CheckId::AuditChain,
            format!("line {n} is not a JSON object: it was edited or corrupted"),
        ));
    };
    let seq = v.get("seq").and_then(Value::as_u64);
    if seq != Some(n) {
        return Some((
            CheckId::AuditChain,
            format!(
                "line {n}: seq is {}, expected {n}: lines were removed, inserted or reordered",
                seq.map_or("missing".to_owned(), |s| s.to_string())
            ),
        ));
    }
    if v.get("prev").and_then(Value::as_str) != Some(prev) {
        return Some((
            CheckId::AuditChain,
            if n == 1 {
                "line 1: prev is not the genesis value (64 zeros): the log was truncated at the front".to_owned()
            } else {
                format!(
                    "line {n}: prev is not the SHA-256 of line {}: line {} was edited, or lines were removed or reordered",
                    n - 1,
                    n - 1
                )
            },
        ));
    }
    let key = key?;
    let sig = v.get("sig");
    let ok = sig
        .and_then(|s| s.get("sig"))
        .and_then(Value::as_str)
        .and_then(crate::dsse::decode_b64)
        .zip(unsigned_part(line))
        .is_some_and(|(sig, msg)| key.verify(&pae(SIG_PAYLOAD_TYPE, &msg), &sig));
    if ok {
        return None;
    }
    let why = if sig.is_none() {
        "is not signed"
    } else {
        "has a signature that does not verify with the given key"
    };
    Some((CheckId::AuditSignature, format!("line {n} {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_reads_across_chunks() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("l");
        let long = "x".repeat(200_000);
        std::fs::write(&p, format!("a\n{long}\n")).expect("write");
        let mut f = File::open(&p).expect("open");
        let (line, complete) = last_line(&mut f).expect("io").expect("line");
        assert!(complete);
        assert_eq!(line.len(), 200_000);
        std::fs::write(&p, "a\nbc").expect("write");
        let mut f = File::open(&p).expect("open");
        assert_eq!(
            last_line(&mut f).expect("io"),
            Some((b"bc".to_vec(), false))
        );
    }

    #[test]
    fn the_signed_part_drops_the_trailing_sig() {
        assert_eq!(
            unsigned_part(br#"{"seq":1,"event":{"sig":1},"sig":{"keyid":"k","sig":"AA=="}}"#),
            Some(br#"{"seq":1,"event":{"sig":1}}"#.to_vec())
        );
    }
}
