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
use crate::zip::read::{Entry, UNVOUCHED, ZipReader};

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
    gatehouse::input::note_input(&opts.pack);
    let mut zip = ZipReader::open(&opts.pack)?;
    let label = zip.label().to_owned();
    require_pack_entries(&zip)?;
    check_canonical(&zip, b);
    let (zip_sha, zip_bytes) =
        gatehouse::hash::sha256_file(&opts.pack).map_err(|e| Error::io(&label, e))?;
    let _s = gatehouse::trace::step("verify");

    // Every entry, streamed once: digest, size, and the bytes of the small ones we parse.
    // First the envelope, the bundle and the manifest (small: capped at MAX_META), so that
    // the signed manifest can vouch for the sizes of the rest before they are inflated.
    let mut contents = Contents::default();
    contents.read_metadata(&mut zip, b)?;
    // 1. The signature over the statement.
    let (envelope, statement) = check_signature(&contents, &opts.key, b);
    // 2. The Sigstore bundle says what the DSSE file says.
    check_bundle(&contents, envelope.as_ref(), b);
    // 3. The manifest: signed (a statement subject) and well formed.
    let signed = check_manifest(&contents, statement, b);
    // The rest, inflated only as far as the signed manifest vouches for (or the caps allow).
    contents.read_rest(&mut zip, &signed, b)?;
    // 4. Every file: in the manifest, in the statement, in the zip, same digest and size.
    let listed = check_files(&zip, &contents, &signed, b);
    // 5. Optionally, the gate again over the reports inside.
    let decision = match &opts.policy {
        Some(policy) => Some(rerun_gate(&label, &contents, &signed, policy, opts.now, b)?),
        None => None,
    };
    let summary = summary(&label, listed, &opts.key, decision, b);
    b.summary(summary);
    let predicate = signed.statement.as_ref().map(|s| &s.predicate);
    let recorded = predicate
        .and_then(|p| p.pointer("/gate/decision"))
        .and_then(Value::as_str);
    let created = predicate
        .and_then(|p| p.get("created"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let manifest = signed.manifest.as_ref();
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
        "release": manifest.map(|m| m.release.clone()).unwrap_or_default(),
        "created": created.or_else(|| manifest.map(|m| m.created.clone())),
        "keyid": opts.key.keyid(),
        "algorithm": opts.key.algorithm(),
        "decision_recorded": recorded,
        "decision": decision,
    }));
    Ok(())
}

/// A zip without a manifest or an envelope is not ours to judge (exit 2, not tampering).
fn require_pack_entries(zip: &ZipReader) -> Result<()> {
    for required in [MANIFEST, DSSE_FILE] {
        if zip.entry(required).is_none() {
            return Err(Error::archive(
                zip.label(),
                format!(
                    "not an evidence pack: no {required} (build one with `evidence-pack build`)"
                ),
            ));
        }
    }
    Ok(())
}

/// `pack.canonical`: the zip's metadata is what `build` writes; a difference only warns.
fn check_canonical(zip: &ZipReader, b: &mut ReportBuilder) {
    let label = zip.label();
    if zip.noncanonical.is_empty() {
        b.check(Check::ok(CheckId::Canonical.as_str()).with_location(Location::file(label)));
    } else {
        b.check(
            Check::warn(
                CheckId::Canonical.as_str(),
                format!(
                    "zip metadata of {} differs from what evidence-pack writes (re-zipped or edited?); contents are still checked by digest",
                    zip.noncanonical.join(", ")
                ),
            )
            .with_location(Location::file(label)),
        );
    }
}

/// What reading the zip found: each intact entry's digest and size, the bytes of the small
/// ones we parse, and how many entries were damaged (each already a failed check).
#[derive(Default)]
struct Contents {
    seen: BTreeMap<String, (String, u64)>,
    kept: BTreeMap<String, Vec<u8>>,
    damaged: usize,
}

impl Contents {
    /// The envelope, the bundle and the manifest, each capped at [`MAX_META`].
    fn read_metadata(&mut self, zip: &mut ZipReader, b: &mut ReportBuilder) -> Result<()> {
        for name in [DSSE_FILE, BUNDLE_FILE, MANIFEST] {
            let Some(entry) = zip.entry(name).cloned() else {
                continue;
            };
            if entry.size > MAX_META {
                self.damaged += 1;
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
            self.read(zip, &entry, MAX_META, b)?;
        }
        Ok(())
    }

    /// Every other entry. The signed manifest vouches for the size of what it lists (once
    /// the statement's signature and the manifest's digest check out): such an entry is
    /// inflated whatever its size or ratio, so whatever `build` wrote verifies. Anything
    /// else is held to the zip-bomb caps.
    fn read_rest(
        &mut self,
        zip: &mut ZipReader,
        signed: &Signed,
        b: &mut ReportBuilder,
    ) -> Result<()> {
        let manifest_signed = signed.statement.is_some()
            && signed.subjects.contains_key(MANIFEST)
            && signed.subjects.get(MANIFEST) == self.seen.get(MANIFEST).map(|(sha, _)| sha);
        let vouched: BTreeMap<&str, u64> = match (&signed.manifest, manifest_signed) {
            (Some(m), true) => m.files.iter().map(|f| (f.path.as_str(), f.bytes)).collect(),
            _ => BTreeMap::new(),
        };
        let mut unvouched_total = 0u64;
        for entry in zip.entries.clone() {
            if [DSSE_FILE, BUNDLE_FILE, MANIFEST].contains(&entry.name.as_str()) {
                continue;
            }
            let vouch = vouched.get(entry.name.as_str()).copied();
            let mut admitted = entry.admit(vouch, &UNVOUCHED);
            if admitted.is_ok() && vouch.is_none() {
                unvouched_total = unvouched_total.saturating_add(entry.size);
                if unvouched_total > UNVOUCHED.max_total_size {
                    admitted = Err(format!(
                        "entries the signed manifest does not vouch for add up to more than {} bytes; refusing a possible zip bomb",
                        UNVOUCHED.max_total_size
                    ));
                }
            }
            if let Err(why) = admitted {
                self.damaged += 1;
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
            self.read(zip, &entry, keep, b)?;
        }
        Ok(())
    }

    /// Reads one entry into `seen` (and `kept`, up to `keep` bytes); a damaged one is
    /// counted and reported as a failed digest check.
    fn read(
        &mut self,
        zip: &mut ZipReader,
        entry: &Entry,
        keep: u64,
        b: &mut ReportBuilder,
    ) -> Result<()> {
        match zip.read_entry(entry, keep)? {
            Ok((sha, n, bytes)) => {
                self.seen.insert(entry.name.clone(), (sha, n));
                if let Some(bytes) = bytes {
                    self.kept.insert(entry.name.clone(), bytes);
                }
            }
            Err(e) => {
                self.damaged += 1;
                fail(b, CheckId::Digest, Some(&e.name), e.to_string());
            }
        }
        Ok(())
    }
}

/// Step 1, `pack.signature`: the envelope and, when its signature verifies, the statement
/// it signs.
fn check_signature(
    contents: &Contents,
    key: &PublicKey,
    b: &mut ReportBuilder,
) -> (Option<Envelope>, Option<Statement>) {
    let env = match contents
        .kept
        .get(DSSE_FILE)
        .map(|bytes| serde_json::from_slice::<Envelope>(bytes))
    {
        None => {
            let message = format!("{DSSE_FILE} cannot be read");
            fail(b, CheckId::Signature, Some(DSSE_FILE), message);
            return (None, None);
        }
        Some(Err(e)) => {
            let message = format!("{DSSE_FILE} is not a DSSE envelope: {e}");
            fail(b, CheckId::Signature, Some(DSSE_FILE), message);
            return (None, None);
        }
        Some(Ok(env)) => env,
    };
    if env.payload_type != dsse::PAYLOAD_TYPE {
        let message = format!(
            "payloadType is {:?}, expected {}",
            env.payload_type,
            dsse::PAYLOAD_TYPE
        );
        fail(b, CheckId::Signature, Some(DSSE_FILE), message);
        return (Some(env), None);
    }
    if let Err(why) = env.verify(key) {
        fail(b, CheckId::Signature, Some(DSSE_FILE), why);
        return (Some(env), None);
    }
    b.check(Check::ok(CheckId::Signature.as_str()).with_message(format!(
        "signed by {} key {}",
        key.algorithm(),
        key.keyid()
    )));
    let statement = env
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
    (Some(env), statement)
}

/// Step 2, `pack.bundle`: the Sigstore bundle carries the DSSE file's envelope.
fn check_bundle(contents: &Contents, envelope: Option<&Envelope>, b: &mut ReportBuilder) {
    let (bytes, env) = match (contents.kept.get(BUNDLE_FILE), envelope) {
        (None, _) => {
            let message = format!("{BUNDLE_FILE} is missing or unreadable");
            fail(b, CheckId::Bundle, Some(BUNDLE_FILE), message);
            return;
        }
        (Some(_), None) => return,
        (Some(bytes), Some(env)) => (bytes, env),
    };
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
        let message = format!("mediaType is not {}", dsse::BUNDLE_MEDIA_TYPE);
        fail(b, CheckId::Bundle, Some(BUNDLE_FILE), message);
    } else if inner.as_ref() != Some(env) {
        let message = format!("its dsseEnvelope differs from {DSSE_FILE}");
        fail(b, CheckId::Bundle, Some(BUNDLE_FILE), message);
    } else {
        b.check(
            Check::ok(CheckId::Bundle.as_str())
                .with_message(format!("{BUNDLE_FILE} carries the same envelope")),
        );
    }
}

/// What the signed statement and the manifest say the pack holds.
struct Signed {
    statement: Option<Statement>,
    /// The statement's subjects: name → sha256.
    subjects: BTreeMap<String, String>,
    manifest: Option<Manifest>,
}

/// Step 3: the manifest is well formed (`pack.digest`), the statement is ours
/// (`pack.statement`) and names the manifest with the digest it has.
fn check_manifest(
    contents: &Contents,
    statement: Option<Statement>,
    b: &mut ReportBuilder,
) -> Signed {
    let manifest = match contents
        .kept
        .get(MANIFEST)
        .map(|m| serde_json::from_slice::<Manifest>(m))
    {
        Some(Ok(m)) if m.schema == MANIFEST_SCHEMA => Some(m),
        Some(Ok(m)) => {
            let message = format!("schema {:?} is not {MANIFEST_SCHEMA}", m.schema);
            fail(b, CheckId::Statement, Some(MANIFEST), message);
            None
        }
        Some(Err(e)) => {
            let message = format!("{MANIFEST} is not a manifest: {e}");
            fail(b, CheckId::Digest, Some(MANIFEST), message);
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
                    let sha = x.digest.get("sha256").cloned().unwrap_or_default();
                    (x.name.clone(), sha)
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(st) = &statement {
        check_statement(st, &subjects, contents, b);
    }
    Signed {
        statement,
        subjects,
        manifest,
    }
}

/// The statement's and predicate's types, and the manifest's digest in its subjects.
fn check_statement(
    st: &Statement,
    subjects: &BTreeMap<String, String>,
    contents: &Contents,
    b: &mut ReportBuilder,
) {
    if st.statement_type != dsse::STATEMENT_TYPE || st.predicate_type != dsse::PREDICATE_TYPE {
        let message = format!(
            "statement type {:?} / predicate {:?} is not {} / {}",
            st.statement_type,
            st.predicate_type,
            dsse::STATEMENT_TYPE,
            dsse::PREDICATE_TYPE
        );
        fail(b, CheckId::Statement, Some(DSSE_FILE), message);
    }
    match (subjects.get(MANIFEST), contents.seen.get(MANIFEST)) {
        (Some(want), Some((got, _))) if want == got => {}
        (Some(_), Some(_)) => fail(
            b,
            CheckId::Digest,
            Some(MANIFEST),
            format!("{MANIFEST} does not match the signed statement: it was edited after signing"),
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

/// Step 4, `pack.digest` and `pack.complete`: every file the manifest lists is in the zip
/// with its digest and size, is in the signed statement, and nothing else is in the zip.
/// Returns how many files the manifest lists.
fn check_files(
    zip: &ZipReader,
    contents: &Contents,
    signed: &Signed,
    b: &mut ReportBuilder,
) -> usize {
    let mut listed: BTreeSet<String> = BTreeSet::new();
    let mut mismatched = 0usize;
    if let Some(m) = &signed.manifest {
        for f in &m.files {
            listed.insert(f.path.clone());
            if let Some((id, message)) = file_mismatch(f, zip, contents, signed) {
                mismatched += 1;
                fail(b, id, Some(&f.path), message);
            }
        }
        if signed.statement.is_some() {
            for name in signed.subjects.keys() {
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
        if !ours && signed.manifest.is_some() && !listed.contains(&e.name) {
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
    if mismatched == 0 && contents.damaged == 0 && signed.manifest.is_some() {
        b.check(Check::ok(CheckId::Digest.as_str()).with_message(format!(
            "{} files match {MANIFEST} and the signed statement",
            listed.len()
        )));
        b.check(
            Check::ok(CheckId::Complete.as_str()).with_message("nothing missing, nothing added"),
        );
    }
    listed.len()
}

/// Why one file the manifest lists does not match, if it does not (a damaged entry was
/// already reported when it was read).
fn file_mismatch(
    f: &ManifestFile,
    zip: &ZipReader,
    contents: &Contents,
    signed: &Signed,
) -> Option<(CheckId, String)> {
    match contents.seen.get(&f.path) {
        None if zip.entry(&f.path).is_some() => None,
        None => Some((
            CheckId::Complete,
            format!(
                "{} is listed in {MANIFEST} but missing from the zip",
                f.path
            ),
        )),
        Some((sha, n)) if *sha != f.sha256 || *n != f.bytes => Some((
            CheckId::Digest,
            format!(
                "{}: sha256 {} ({} bytes) does not match {MANIFEST} ({}, {} bytes): the file was changed",
                f.path,
                short(sha),
                n,
                short(&f.sha256),
                f.bytes
            ),
        )),
        Some((sha, _))
            if signed.statement.is_some() && signed.subjects.get(&f.path) != Some(sha) =>
        {
            Some((
                CheckId::Digest,
                format!(
                    "{}: its digest is not the one in the signed statement: the file and {MANIFEST} were changed together",
                    f.path
                ),
            ))
        }
        Some(_) => None,
    }
}

/// Step 5: the gate over the reports inside, as of when build judged it (recorded), else
/// the pack's time, unless `--now`. Returns its decision.
fn rerun_gate(
    label: &str,
    contents: &Contents,
    signed: &Signed,
    policy: &Policy,
    now: Option<Timestamp>,
    b: &mut ReportBuilder,
) -> Result<&'static str> {
    let mut reports = Vec::new();
    for (name, bytes) in contents
        .kept
        .iter()
        .filter(|(n, _)| n.starts_with("reports/"))
    {
        let input = gatehouse::Input {
            source: gatehouse::Source::new(format!("{label}!{name}")),
            bytes: bytes.clone(),
        };
        let values: Vec<Value> = gatehouse::input::parse_json_stream(&input)?;
        for value in values {
            let report: gatehouse::Report = serde_json::from_value(value.clone()).map_err(|e| {
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
    let predicate = signed.statement.as_ref().map(|s| &s.predicate);
    let time = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|t| Timestamp::parse(t).ok())
    };
    let at = now
        .or_else(|| time(predicate.and_then(|p| p.pointer("/gate/evaluated_at"))))
        .or_else(|| time(predicate.and_then(|p| p.get("created"))))
        .unwrap_or_else(Timestamp::now);
    let eval = crate::gate::evaluate(policy, &reports, at);
    let decision = eval.decision.as_str();
    b.checks(eval.checks);
    b.section(eval.section);
    Ok(decision)
}

/// "intact, N files, signed by …", or the number of problems and the first one.
fn summary(
    label: &str,
    listed: usize,
    key: &PublicKey,
    decision: Option<&str>,
    b: &ReportBuilder,
) -> String {
    let mut fails = b
        .checks_so_far()
        .iter()
        .filter(|c| c.result == gatehouse::Status::Fail);
    let Some(first) = fails.next() else {
        return format!(
            "{label}: intact, {listed} files, signed by {} key {}{}",
            key.algorithm(),
            key.keyid().get(..16).unwrap_or(""),
            decision.map(|d| format!("; gate: {d}")).unwrap_or_default()
        );
    };
    let count = 1 + fails.count();
    format!(
        "{label}: {count} {} — {}",
        gatehouse::plural(count, "problem", "problems"),
        first.message.clone().unwrap_or_default()
    )
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}
