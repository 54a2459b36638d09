//! `verify`: proves an evidence zip — the DSSE signature over the statement, the statement's
//! subjects against the manifest, every entry's digest and size, nothing missing or extra,
//! the Sigstore bundle against the envelope — and, with a policy, re-runs the gate on the
//! reports inside as of the pack's time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use gatehouse::time::Timestamp;
use gatehouse::{Check, Location, ReportBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::dsse::{self, Envelope, Statement};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::pack::{BUNDLE_FILE, DSSE_FILE, MANIFEST, MANIFEST_SCHEMA};
use crate::policy::Policy;
use crate::reports::LoadedReport;
use crate::zip::read::ZipReader;

/// Metadata entries (manifest, envelope, bundle, reports) are read into memory up to this.
const MAX_META: u64 = 64 * 1024 * 1024;

#[derive(Debug, Deserialize)]
struct Manifest {
    schema: String,
    #[serde(default)]
    release: String,
    #[serde(default)]
    created: String,
    files: Vec<ManifestFile>,
}

#[derive(Debug, Deserialize)]
struct ManifestFile {
    path: String,
    sha256: String,
    bytes: u64,
}

fn fail(b: &mut ReportBuilder, id: CheckId, entry: Option<&str>, message: impl Into<String>) {
    let mut c = Check::fail(id.as_str(), message);
    if let Some(e) = entry {
        c = c.with_location(Location::file(e.to_owned()));
    }
    b.check(c);
}

/// What `verify` is given, checked: the pack, the key it must be signed with, and for
/// re-running the gate a policy and a time.
pub(crate) struct VerifyOptions {
    pub(crate) pack: PathBuf,
    pub(crate) key: PublicKey,
    pub(crate) policy: Option<Policy>,
    /// Judge as of this time instead of the time recorded in the pack.
    pub(crate) now: Option<Timestamp>,
}

pub(crate) fn verify(opts: &VerifyOptions, b: &mut ReportBuilder) -> Result<()> {
    let (key, policy, now) = (&opts.key, &opts.policy, opts.now);
    gatehouse::input::note_input(&opts.pack);
    let mut zip = ZipReader::open(&opts.pack)?;
    let label = zip.label().to_owned();
    for required in [MANIFEST, DSSE_FILE] {
        if zip.entry(required).is_none() {
            return Err(Error::archive(
                &label,
                format!(
                    "not an evidence pack: no {required} (build one with `evidence-pack build`)"
                ),
            ));
        }
    }
    if zip.noncanonical.is_empty() {
        b.check(Check::ok(CheckId::Canonical.as_str()).with_location(Location::file(&label)));
    } else {
        b.check(
            Check::warn(
                CheckId::Canonical.as_str(),
                format!(
                    "zip metadata of {} differs from what evidence-pack writes (re-zipped or edited?); contents are still checked by digest",
                    zip.noncanonical.join(", ")
                ),
            )
            .with_location(Location::file(&label)),
        );
    }
    let (zip_sha, zip_bytes) =
        gatehouse::hash::sha256_file(&opts.pack).map_err(|e| Error::io(&label, e))?;
    let _s = gatehouse::trace::step("verify");

    // Every entry, streamed once: digest, size, and the bytes of the small ones we parse.
    // First the envelope, the bundle and the manifest (small: capped at MAX_META), so that
    // the signed manifest can vouch for the sizes of the rest before they are inflated.
    let mut seen: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut kept: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut damaged = 0usize;
    for name in [DSSE_FILE, BUNDLE_FILE, MANIFEST] {
        let Some(entry) = zip.entry(name).cloned() else {
            continue;
        };
        if entry.size > MAX_META {
            damaged += 1;
            fail(
                b,
                CheckId::Digest,
                Some(name),
                format!(
                    "{name}: declares {} bytes (more than {MAX_META}); not inflated",
                    entry.size
                ),
            );
            continue;
        }
        damaged += read_into(&mut zip, &entry, MAX_META, b, &mut seen, &mut kept)?;
    }

    // 1. The signature over the statement.
    let mut statement: Option<Statement> = None;
    let mut envelope: Option<Envelope> = None;
    match kept
        .get(DSSE_FILE)
        .map(|bytes| serde_json::from_slice::<Envelope>(bytes))
    {
        None => fail(
            b,
            CheckId::Signature,
            Some(DSSE_FILE),
            format!("{DSSE_FILE} cannot be read"),
        ),
        Some(Err(e)) => fail(
            b,
            CheckId::Signature,
            Some(DSSE_FILE),
            format!("{DSSE_FILE} is not a DSSE envelope: {e}"),
        ),
        Some(Ok(env)) => {
            if env.payload_type != dsse::PAYLOAD_TYPE {
                fail(
                    b,
                    CheckId::Signature,
                    Some(DSSE_FILE),
                    format!(
                        "payloadType is {:?}, expected {}",
                        env.payload_type,
                        dsse::PAYLOAD_TYPE
                    ),
                );
            } else {
                match env.verify(key) {
                    Ok(()) => {
                        b.check(Check::ok(CheckId::Signature.as_str()).with_message(format!(
                            "signed by {} key {}",
                            key.algorithm(),
                            key.keyid()
                        )));
                        statement = env
                            .payload_bytes()
                            .and_then(|p| serde_json::from_slice::<Statement>(&p).ok());
                        if statement.is_none() {
                            fail(
                                b,
                                CheckId::Statement,
                                Some(DSSE_FILE),
                                "the signed payload is not an in-toto Statement",
                            );
                        }
                    }
                    Err(why) => fail(b, CheckId::Signature, Some(DSSE_FILE), why),
                }
            }
            envelope = Some(env);
        }
    }

    // 2. The Sigstore bundle says what the DSSE file says.
    match (kept.get(BUNDLE_FILE), &envelope) {
        (None, _) => fail(
            b,
            CheckId::Bundle,
            Some(BUNDLE_FILE),
            format!("{BUNDLE_FILE} is missing or unreadable"),
        ),
        (Some(bytes), Some(env)) => {
            let bundle: Option<Value> = serde_json::from_slice(bytes).ok();
            let media = bundle
                .as_ref()
                .and_then(|v| v.get("mediaType"))
                .and_then(Value::as_str);
            let inner = bundle
                .as_ref()
                .and_then(|v| v.get("dsseEnvelope"))
                .and_then(|v| serde_json::from_value::<Envelope>(v.clone()).ok());
            if media != Some(dsse::BUNDLE_MEDIA_TYPE) {
                fail(
                    b,
                    CheckId::Bundle,
                    Some(BUNDLE_FILE),
                    format!("mediaType is not {}", dsse::BUNDLE_MEDIA_TYPE),
                );
            } else if inner.as_ref() != Some(env) {
                fail(
                    b,
                    CheckId::Bundle,
                    Some(BUNDLE_FILE),
                    format!("its dsseEnvelope differs from {DSSE_FILE}"),
                );
            } else {
                b.check(
                    Check::ok(CheckId::Bundle.as_str())
                        .with_message(format!("{BUNDLE_FILE} carries the same envelope")),
                );
            }
        }
        (Some(_), None) => {}
    }

    // 3. The manifest: signed (a statement subject) and well formed.
    let manifest: Option<Manifest> = match kept
        .get(MANIFEST)
        .map(|m| serde_json::from_slice::<Manifest>(m))
    {
        Some(Ok(m)) if m.schema == MANIFEST_SCHEMA => Some(m),
        Some(Ok(m)) => {
            fail(
                b,
                CheckId::Statement,
                Some(MANIFEST),
                format!("schema {:?} is not {MANIFEST_SCHEMA}", m.schema),
            );
            None
        }
        Some(Err(e)) => {
            fail(
                b,
                CheckId::Digest,
                Some(MANIFEST),
                format!("{MANIFEST} is not a manifest: {e}"),
            );
            None
        }
        None => None,
    };
    let subjects: BTreeMap<String, String> = statement
        .as_ref()
        .map(|s| {
            s.subject
                .iter()
                .map(|x| {
                    (
                        x.name.clone(),
                        x.digest.get("sha256").cloned().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(st) = &statement {
        if st.statement_type != dsse::STATEMENT_TYPE || st.predicate_type != dsse::PREDICATE_TYPE {
            fail(
                b,
                CheckId::Statement,
                Some(DSSE_FILE),
                format!(
                    "statement type {:?} / predicate {:?} is not {} / {}",
                    st.statement_type,
                    st.predicate_type,
                    dsse::STATEMENT_TYPE,
                    dsse::PREDICATE_TYPE
                ),
            );
        }
        match (subjects.get(MANIFEST), seen.get(MANIFEST)) {
            (Some(want), Some((got, _))) if want == got => {}
            (Some(_), Some(_)) => fail(
                b,
                CheckId::Digest,
                Some(MANIFEST),
                format!(
                    "{MANIFEST} does not match the signed statement: it was edited after signing"
                ),
            ),
            (None, _) => fail(
                b,
                CheckId::Statement,
                Some(MANIFEST),
                format!("the statement does not name {MANIFEST}"),
            ),
            (_, None) => {}
        }
    }

    // The rest. The signed manifest vouches for the size of what it lists (once the
    // statement's signature and the manifest's digest check out): such an entry is inflated
    // whatever its size or ratio, so whatever `build` wrote verifies. Anything else is
    // held to the zip-bomb caps.
    let manifest_signed = statement.is_some()
        && subjects.contains_key(MANIFEST)
        && subjects.get(MANIFEST) == seen.get(MANIFEST).map(|(sha, _)| sha);
    let vouched: BTreeMap<&str, u64> = match (&manifest, manifest_signed) {
        (Some(m), true) => m.files.iter().map(|f| (f.path.as_str(), f.bytes)).collect(),
        _ => BTreeMap::new(),
    };
    let mut unvouched_total = 0u64;
    for entry in zip.entries.clone() {
        if [DSSE_FILE, BUNDLE_FILE, MANIFEST].contains(&entry.name.as_str()) {
            continue;
        }
        let vouch = vouched.get(entry.name.as_str()).copied();
        let mut admitted = entry.admit(vouch, &crate::zip::read::UNVOUCHED);
        if admitted.is_ok() && vouch.is_none() {
            unvouched_total = unvouched_total.saturating_add(entry.size);
            if unvouched_total > crate::zip::read::UNVOUCHED.max_total_size {
                admitted = Err(format!(
                    "entries the signed manifest does not vouch for add up to more than {} bytes; refusing a possible zip bomb",
                    crate::zip::read::UNVOUCHED.max_total_size
                ));
            }
        }
        if let Err(why) = admitted {
            damaged += 1;
            fail(
                b,
                CheckId::Digest,
                Some(&entry.name),
                format!("{}: {why}", entry.name),
            );
            continue;
        }
        let keep = if entry.name.ends_with(".json") && !entry.name.starts_with("artifacts/") {
            MAX_META
        } else {
            0
        };
        damaged += read_into(&mut zip, &entry, keep, b, &mut seen, &mut kept)?;
    }

    // 4. Every file: in the manifest, in the statement, in the zip, same digest and size.
    let mut listed: BTreeSet<String> = BTreeSet::new();
    let mut mismatched = 0usize;
    if let Some(m) = &manifest {
        for f in &m.files {
            listed.insert(f.path.clone());
            match seen.get(&f.path) {
                None if zip.entry(&f.path).is_some() => {} // damaged: already reported
                None => {
                    mismatched += 1;
                    fail(
                        b,
                        CheckId::Complete,
                        Some(&f.path),
                        format!(
                            "{} is listed in {MANIFEST} but missing from the zip",
                            f.path
                        ),
                    );
                }
                Some((sha, n)) if *sha != f.sha256 || *n != f.bytes => {
                    mismatched += 1;
                    fail(
                        b,
                        CheckId::Digest,
                        Some(&f.path),
                        format!(
                            "{}: sha256 {} ({} bytes) does not match {MANIFEST} ({}, {} bytes): the file was changed",
                            f.path,
                            short(sha),
                            n,
                            short(&f.sha256),
                            f.bytes
                        ),
                    );
                }
                Some((sha, _)) => {
                    if statement.is_some() && subjects.get(&f.path) != Some(sha) {
                        mismatched += 1;
                        fail(
                            b,
                            CheckId::Digest,
                            Some(&f.path),
                            format!(
                                "{}: its digest is not the one in the signed statement: the file and {MANIFEST} were changed together",
                                f.path
                            ),
                        );
                    }
                }
            }
        }
        if statement.is_some() {
            for name in subjects.keys() {
                if name != MANIFEST && !listed.contains(name) {
                    mismatched += 1;
                    fail(
                        b,
                        CheckId::Complete,
                        Some(name),
                        format!(
                            "{name} is in the signed statement but not in {MANIFEST}: it was removed"
                        ),
                    );
                }
            }
        }
    }
    for e in &zip.entries {
        let ours = [MANIFEST, DSSE_FILE, BUNDLE_FILE].contains(&e.name.as_str());
        if !ours && manifest.is_some() && !listed.contains(&e.name) {
            mismatched += 1;
            fail(
                b,
                CheckId::Complete,
                Some(&e.name),
                format!(
                    "{} is in the zip but not in {MANIFEST}: it was added",
                    e.name
                ),
            );
        }
    }
    if mismatched == 0 && damaged == 0 && manifest.is_some() {
        b.check(Check::ok(CheckId::Digest.as_str()).with_message(format!(
            "{} files match {MANIFEST} and the signed statement",
            listed.len()
        )));
        b.check(
            Check::ok(CheckId::Complete.as_str()).with_message("nothing missing, nothing added"),
        );
    }

    // 5. Optionally, the gate again over the reports inside.
    let predicate = statement.as_ref().map(|s| &s.predicate);
    let recorded = predicate
        .and_then(|p| p.pointer("/gate/decision"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let created = predicate
        .and_then(|p| p.get("created"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut decision = None;
    if let Some(policy) = policy {
        let mut reports = Vec::new();
        for (name, bytes) in kept.iter().filter(|(n, _)| n.starts_with("reports/")) {
            let input = gatehouse::Input {
                source: gatehouse::Source::new(format!("{label}!{name}")),
                bytes: bytes.clone(),
            };
            let values: Vec<Value> = gatehouse::input::parse_json_stream(&input)?;
            for value in values {
                let report: gatehouse::Report =
                    serde_json::from_value(value.clone()).map_err(|e| {
                        gatehouse::InputError::invalid(
                            input.label(),
                            format!("not a Gatehouse report: {e}"),
                        )
                    })?;
                reports.push(LoadedReport {
                    report,
                    value,
                    source: name.clone(),
                    original: None,
                });
            }
        }
        // As of when build judged it (recorded), else the pack's time, unless --now.
        let recorded_at = predicate
            .and_then(|p| p.pointer("/gate/evaluated_at"))
            .and_then(Value::as_str)
            .and_then(|t| Timestamp::parse(t).ok());
        let at = now
            .or(recorded_at)
            .or_else(|| created.as_deref().and_then(|c| Timestamp::parse(c).ok()))
            .unwrap_or_else(Timestamp::now);
        let eval = crate::gate::evaluate(policy, &reports, at);
        decision = Some(eval.decision.as_str());
        b.checks(eval.checks);
        b.section(eval.section);
    }

    let fails = b
        .checks_so_far()
        .iter()
        .filter(|c| c.result == gatehouse::Status::Fail)
        .count();
    let release = manifest
        .as_ref()
        .map(|m| m.release.clone())
        .unwrap_or_default();
    let summary = if fails == 0 {
        format!(
            "{label}: intact, {} files, signed by {} key {}{}",
            listed.len(),
            key.algorithm(),
            key.keyid().get(..16).unwrap_or(""),
            decision.map(|d| format!("; gate: {d}")).unwrap_or_default()
        )
    } else {
        let first = b
            .checks_so_far()
            .iter()
            .find(|c| c.result == gatehouse::Status::Fail)
            .and_then(|c| c.message.clone())
            .unwrap_or_default();
        format!(
            "{label}: {fails} {} — {first}",
            gatehouse::plural(fails, "problem", "problems")
        )
    };
    b.summary(summary);
    b.evidence(gatehouse::Evidence {
        path: label.clone(),
        sha256: zip_sha.clone(),
        bytes: zip_bytes,
    });
    b.data(json!({
        "pack": label,
        "sha256": zip_sha,
        "bytes": zip_bytes,
        "entries": zip.entries.len(),
        "release": release,
        "created": created.or_else(|| manifest.as_ref().map(|m| m.created.clone())),
        "keyid": key.keyid(),
        "algorithm": key.algorithm(),
        "decision_recorded": recorded,
        "decision": decision,
    }));
    Ok(())
}

/// Reads one entry into `seen` (and `kept`, up to `keep` bytes); 1 when it is damaged
/// (reported as a failed digest check), else 0.
fn read_into(
    zip: &mut ZipReader,
    entry: &crate::zip::read::Entry,
    keep: u64,
    b: &mut ReportBuilder,
    seen: &mut BTreeMap<String, (String, u64)>,
    kept: &mut BTreeMap<String, Vec<u8>>,
) -> Result<usize> {
    match zip.read_entry(entry, keep)? {
        Ok((sha, n, bytes)) => {
            seen.insert(entry.name.clone(), (sha, n));
            if let Some(bytes) = bytes {
                kept.insert(entry.name.clone(), bytes);
            }
            Ok(0)
        }
        Err(e) => {
            fail(b, CheckId::Digest, Some(&e.name), e.to_string());
            Ok(1)
        }
    }
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}
