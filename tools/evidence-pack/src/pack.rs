//! `build`: lays out the evidence pack (reports, artifacts, notes, manifest, statement,
//! DSSE envelope, Sigstore bundle) and writes it through the deterministic zip writer.
//!
//! Layout (fixed; other tools read it without us):
//! `manifest.json` (every file but itself and the two attestations: path, sha256, bytes),
//! `attestation.dsse.json`, `attestation.sigstore.json`, `reports/<agent>-<action>.json`,
//! `artifacts/…`, `release-notes.md`, `commits.json`, `report.html` (the release page).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatehouse::time::Timestamp;
use gatehouse::{Check, ReportBuilder};
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::dsse::{self, Envelope, Statement, Subject};
use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::policy::Policy;
use crate::reports::LoadedReport;
use crate::zip::write::{Method, Written, ZipWriter};

pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const DSSE_FILE: &str = "attestation.dsse.json";
pub(crate) const BUNDLE_FILE: &str = "attestation.sigstore.json";
pub(crate) const MANIFEST_SCHEMA: &str = "gatehouse.evidence-pack.manifest/v1";

/// 1980-01-01T00:00:00Z, the earliest ZIP time: used when nothing else dates the pack.
const ZIP_EPOCH: i64 = 315_532_800;

enum Content {
    Memory(Vec<u8>),
    File(PathBuf),
}

/// `SOURCE_DATE_EPOCH` when set (reproducible-builds.org), as a time.
fn source_date_epoch() -> Result<Option<Timestamp>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .map(|s| Some(Timestamp::from_unix(s)))
            .map_err(|_| {
                Error::Usage(format!(
                    "SOURCE_DATE_EPOCH={v:?} is not a number of seconds"
                ))
            }),
        _ => Ok(None),
    }
}

/// The pack's time: SOURCE_DATE_EPOCH, else the newest report's `started_at`, else 1980.
fn pack_time(reports: &[LoadedReport]) -> Result<Timestamp> {
    if let Some(t) = source_date_epoch()? {
        return Ok(t);
    }
    Ok(reports
        .iter()
        .filter_map(LoadedReport::started_at)
        .max()
        .map_or_else(
            || Timestamp::from_unix(ZIP_EPOCH),
            |t| Timestamp::from_unix(t.unix()),
        ))
}

fn report_bytes(r: &LoadedReport) -> Vec<u8> {
    r.original.clone().unwrap_or_else(|| {
        let mut v = serde_json::to_vec_pretty(&r.value).unwrap_or_default();
        v.push(b'\n');
        v
    })
}

/// `reports/<agent>-<action>.json`, then `-2`, `-3` … for further runs of the same pair,
/// oldest first (ties broken by content digest, so the order never depends on input order).
fn name_reports(reports: &[LoadedReport]) -> Vec<(String, Vec<u8>, &LoadedReport)> {
    let mut items: Vec<(String, Vec<u8>, &LoadedReport)> = reports
        .iter()
        .map(|r| {
            let bytes = report_bytes(r);
            (gatehouse::hash::sha256_hex(&bytes), bytes, r)
        })
        .collect();
    items.sort_by(|a, b| {
        (
            &a.2.report.agent,
            &a.2.report.action,
            a.2.started_at(),
            &a.0,
        )
            .cmp(&(
                &b.2.report.agent,
                &b.2.report.action,
                b.2.started_at(),
                &b.0,
            ))
    });
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (_, bytes, r) in items {
        let base = format!(
            "{}-{}",
            file_part(&r.report.agent),
            file_part(&r.report.action)
        );
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let name = if *n == 1 {
            format!("reports/{base}.json")
        } else {
            format!("reports/{base}-{n}.json")
        };
        out.push((name, bytes, r));
    }
    out
}

/// An agent or action as part of a file name: Gatehouse names are `[a-z][a-z0-9-]*`, but a
/// report from elsewhere could say `../../etc`; anything else becomes `_`.
fn file_part(s: &str) -> String {
    let part: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if part.is_empty() {
        "_".to_owned()
    } else {
        part
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let label = dir.display().to_string();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(&label, e))?
        .filter_map(std::result::Result::ok)
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let meta =
            std::fs::symlink_metadata(&path).map_err(|err| Error::io(path.display(), err))?;
        if meta.file_type().is_symlink() && path.is_dir() {
            tracing::warn!("{}: symlinked directory not followed", path.display());
        } else if path.is_dir() {
            walk(&path, &format!("{prefix}/{name}"), out)?;
        } else if path.is_file() {
            out.push((format!("{prefix}/{name}"), path));
        } else {
            // A FIFO, socket or device inside a directory: reading it could block forever.
            tracing::debug!("{}: not a regular file; skipped", path.display());
        }
    }
    Ok(())
}

fn artifact_entries(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .canonicalize()
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
            .ok_or_else(|| {
                Error::io(
                    p.display(),
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                )
            })?;
        // A FIFO named on the command line is read like stdin: the user chose it.
        let fifo = std::fs::metadata(p).is_ok_and(|m| {
            use std::os::unix::fs::FileTypeExt as _;
            m.file_type().is_fifo()
        });
        if p.is_dir() {
            walk(p, &format!("artifacts/{name}"), &mut out)?;
        } else if p.is_file() || fifo {
            out.push((format!("artifacts/{name}"), p.clone()));
        } else {
            return Err(Error::Input(gatehouse::InputError::invalid(
                p.display().to_string(),
                "not a regular file or directory",
            )));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (name, path) in &out {
        // Read with File::open, not gatehouse::input: -o must not name one of them.
        gatehouse::input::note_input(path);
        if !crate::zip::read::safe_name(name) {
            return Err(Error::Input(gatehouse::InputError::invalid(
                path.display().to_string(),
                format!("{name:?} cannot be a name inside the pack"),
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(Error::Input(gatehouse::InputError::invalid(
                path.display().to_string(),
                format!(
                    "two artifacts would both be {name}; rename one or put them in directories"
                ),
            )));
        }
    }
    Ok(out)
}

/// What `build` is given, checked: the key loaded, the policy parsed, the time read.
pub(crate) struct BuildOptions {
    /// The release the pack is evidence for; not empty.
    pub(crate) release: String,
    pub(crate) key: SigningKey,
    pub(crate) output: PathBuf,
    pub(crate) reports: Vec<PathBuf>,
    pub(crate) artifacts: Vec<PathBuf>,
    pub(crate) notes: Option<PathBuf>,
    pub(crate) git_range: Option<String>,
    pub(crate) repo: PathBuf,
    /// Judge the gate with this policy and record its decision.
    pub(crate) policy: Option<Policy>,
    /// Judge it as of this time instead of the newest report's start.
    pub(crate) now: Option<Timestamp>,
    pub(crate) compression: Method,
}

pub(crate) fn build(args: &BuildOptions, b: &mut ReportBuilder) -> Result<()> {
    let reports = crate::reports::load_all(&args.reports)?;
    if reports.is_empty() && args.artifacts.is_empty() {
        return Err(Error::Usage(
            "nothing to pack: give --reports and/or --artifact".to_owned(),
        ));
    }
    let created = pack_time(&reports)?;
    let named = name_reports(&reports);
    let mut entries = collect_entries(args, &named)?;
    let gate = args.policy.as_ref().map(|policy| {
        // Judged when the evidence was complete (the newest report), not at
        // SOURCE_DATE_EPOCH (often the commit time, before the checks ran) and not at the
        // clock (the pack must be reproducible); `--now` overrides.
        let at = args.now.unwrap_or_else(|| {
            reports
                .iter()
                .filter_map(LoadedReport::started_at)
                .max()
                .unwrap_or(created)
        });
        crate::gate::evaluate(policy, &reports, at)
    });

    // The release page over the same reports and decision, named as they are in the pack:
    // covered by the manifest and the signature, and as reproducible as the rest.
    let in_pack: Vec<LoadedReport> = named
        .iter()
        .map(|(name, _, r)| LoadedReport {
            source: name.clone(),
            ..(*r).clone()
        })
        .collect();
    let page = crate::page::render(&crate::page::PageInput {
        release: Some(&args.release),
        reports: &in_pack,
        gate: gate
            .as_ref()
            .map(|g| &g.data)
            .or_else(|| crate::page::gate_data(&in_pack)),
        origin: None,
    });
    entries.insert(
        crate::page::PACK_ENTRY.to_owned(),
        Content::Memory(page.into_bytes()),
    );

    // What verify reads, build writes: no more entries than it accepts.
    if entries.len() + 3 > crate::zip::read::MAX_ENTRIES {
        return Err(Error::Usage(format!(
            "{} entries: a pack holds at most {}; pack a directory as one archive artifact",
            entries.len() + 3,
            crate::zip::read::MAX_ENTRIES
        )));
    }
    // The key, the reports, the notes, the policy and the artifacts are inputs: `-o` naming
    // one of them (`--key k -o k`) would destroy it.
    gatehouse::input::refuse_input_overwrite(&args.output)?;
    let pack = Pack {
        args,
        created,
        entries: &entries,
        named: &named,
        gate: gate.as_ref(),
    };
    let written = pack.write()?;
    report_built(b, &pack, &written);
    if let Some(g) = gate {
        b.checks(g.checks);
        b.section(g.section);
    }
    Ok(())
}

/// Every entry but the manifest and the attestations: the reports, the artifacts, the
/// release notes and the commit list.
fn collect_entries(
    args: &BuildOptions,
    named: &[(String, Vec<u8>, &LoadedReport)],
) -> Result<BTreeMap<String, Content>> {
    let mut entries: BTreeMap<String, Content> = BTreeMap::new();
    for (name, bytes, _) in named {
        entries.insert(name.clone(), Content::Memory(bytes.clone()));
    }
    for (name, path) in artifact_entries(&args.artifacts)? {
        entries.insert(name, Content::File(path));
    }
    let mut notes = String::new();
    if let Some(p) = &args.notes {
        let input = gatehouse::input::read(&gatehouse::Source::new(p))?;
        notes.push_str(input.text()?);
    }
    if let Some(range) = &args.git_range {
        let commits = crate::gitlog::commits(&args.repo, range)?;
        let mut cj = serde_json::to_vec_pretty(&crate::gitlog::commits_json(range, &commits))
            .unwrap_or_default();
        cj.push(b'\n');
        entries.insert("commits.json".to_owned(), Content::Memory(cj));
        if !notes.is_empty() && !notes.ends_with("\n\n") {
            notes.push_str(if notes.ends_with('\n') { "\n" } else { "\n\n" });
        }
        notes.push_str(&crate::gitlog::release_notes(
            &args.release,
            range,
            &commits,
        ));
    }
    if !notes.is_empty() {
        entries.insert(
            "release-notes.md".to_owned(),
            Content::Memory(notes.into_bytes()),
        );
    }
    Ok(entries)
}

/// Everything that goes into the zip, ready to be written.
struct Pack<'a> {
    args: &'a BuildOptions,
    created: Timestamp,
    entries: &'a BTreeMap<String, Content>,
    named: &'a [(String, Vec<u8>, &'a LoadedReport)],
    gate: Option<&'a crate::gate::Evaluation>,
}

/// The zip as written.
struct Packed {
    sha256: String,
    bytes: u64,
    manifest_sha: String,
}

impl Pack<'_> {
    /// Writes the zip to a temporary sibling of the output and renames it into place; on
    /// failure the temporary file is removed.
    fn write(&self) -> Result<Packed> {
        let output = &self.args.output;
        let (tmp, file) = gatehouse::run::create_temp_sibling(output, 0o666)
            .map_err(|e| Error::io(output.display(), e))?;
        let written = self.write_to(&tmp, file);
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Write: artifacts/… sort before attestation.*, so every digest the manifest needs is
    /// known by the time the attestations are written, in one pass over each artifact.
    fn write_to(&self, tmp: &Path, file: std::fs::File) -> Result<Packed> {
        let _s = gatehouse::trace::step("write_zip");
        let out_label = self.args.output.display().to_string();
        let mut zip = ZipWriter::new(
            std::io::BufWriter::with_capacity(1 << 20, file),
            self.created.unix(),
            self.args.compression,
        );
        let digests = self.write_contents(&mut zip)?;
        let (generated, manifest_sha) = self.attestations(&digests);
        for (name, bytes) in &generated {
            zip.add(name, &mut bytes.as_slice())
                .map_err(|e| Error::io(&out_label, e))?;
        }
        let writer = zip.finish().map_err(|e| Error::io(&out_label, e))?;
        let file = writer
            .into_inner()
            .map_err(|e| Error::io(&out_label, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&out_label, e))?;
        drop(file);
        std::fs::rename(tmp, &self.args.output).map_err(|e| Error::io(&out_label, e))?;
        let (sha256, bytes) = gatehouse::hash::sha256_file(&self.args.output)
            .map_err(|e| Error::io(&out_label, e))?;
        Ok(Packed {
            sha256,
            bytes,
            manifest_sha,
        })
    }

    /// Streams the entries that sort before the attestations into the zip, and digests the
    /// rest (written with the attestations); every entry's digest and size.
    fn write_contents<W: std::io::Write + std::io::Seek>(
        &self,
        zip: &mut ZipWriter<W>,
    ) -> Result<BTreeMap<String, Written>> {
        let out_label = self.args.output.display().to_string();
        let mut digests: BTreeMap<String, Written> = BTreeMap::new();
        for (name, content) in self.entries {
            if name.as_str() < DSSE_FILE {
                let w = match content {
                    Content::File(p) => {
                        let mut f =
                            std::fs::File::open(p).map_err(|e| Error::io(p.display(), e))?;
                        // The length decides ZIP64 before the data is read (0 for a FIFO).
                        let hint = f.metadata().map(|m| m.len()).unwrap_or(0);
                        zip.add_sized(name, &mut f, hint)
                            .map_err(|e| Error::io(p.display(), e))?
                    }
                    Content::Memory(m) => zip
                        .add(name, &mut m.as_slice())
                        .map_err(|e| Error::io(&out_label, e))?,
                };
                digests.insert(name.clone(), w);
            } else if let Content::Memory(m) = content {
                digests.insert(
                    name.clone(),
                    Written {
                        sha256: gatehouse::hash::sha256_hex(m),
                        bytes: m.len() as u64,
                    },
                );
            }
        }
        Ok(digests)
    }

    /// The manifest, the signed statement's envelope and the Sigstore bundle, with the
    /// entries that sort after them: what is written last, in name order; and the
    /// manifest's digest.
    fn attestations(
        &self,
        digests: &BTreeMap<String, Written>,
    ) -> (BTreeMap<String, Vec<u8>>, String) {
        let files: Vec<Value> = digests
            .iter()
            .map(|(n, w)| json!({"path": n, "sha256": w.sha256, "bytes": w.bytes}))
            .collect();
        let mut manifest = serde_json::to_vec_pretty(&json!({
            "schema": MANIFEST_SCHEMA,
            "release": self.args.release,
            "created": self.created.to_rfc3339(),
            "files": files,
        }))
        .unwrap_or_default();
        manifest.push(b'\n');
        let manifest_sha = gatehouse::hash::sha256_hex(&manifest);
        let mut subjects: Vec<Subject> = digests
            .iter()
            .map(|(n, w)| Subject {
                name: n.clone(),
                digest: BTreeMap::from([("sha256".to_owned(), w.sha256.clone())]),
            })
            .collect();
        subjects.push(Subject {
            name: MANIFEST.to_owned(),
            digest: BTreeMap::from([("sha256".to_owned(), manifest_sha.clone())]),
        });
        subjects.sort_by(|a, b| a.name.cmp(&b.name));
        let public = self.args.key.public();
        let statement = Statement {
            statement_type: dsse::STATEMENT_TYPE.to_owned(),
            subject: subjects,
            predicate_type: dsse::PREDICATE_TYPE.to_owned(),
            predicate: predicate(
                self.args,
                &self.created.to_rfc3339(),
                self.named,
                self.gate,
                &manifest_sha,
                &public,
            ),
        };
        let payload = serde_json::to_vec(&statement).unwrap_or_default();
        let envelope = Envelope::sign(dsse::PAYLOAD_TYPE, &payload, &self.args.key);
        let mut env_bytes = serde_json::to_vec_pretty(&envelope).unwrap_or_default();
        env_bytes.push(b'\n');
        let mut bundle = serde_json::to_vec_pretty(&dsse::sigstore_bundle(&envelope, &public))
            .unwrap_or_default();
        bundle.push(b'\n');
        let mut generated: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        generated.insert(DSSE_FILE.to_owned(), env_bytes);
        generated.insert(BUNDLE_FILE.to_owned(), bundle);
        generated.insert(MANIFEST.to_owned(), manifest);
        for (name, content) in self.entries {
            if let Content::Memory(m) = content
                && name.as_str() >= DSSE_FILE
            {
                generated.insert(name.clone(), m.clone());
            }
        }
        (generated, manifest_sha)
    }
}

/// The build report: a `pack.report` check per report, the signature, the summary, the
/// evidence (the zip) and `data`. The gate's checks follow.
fn report_built(b: &mut ReportBuilder, pack: &Pack<'_>, written: &Packed) {
    let args = pack.args;
    let public = args.key.public();
    let out_label = args.output.display().to_string();
    let total_entries = pack.entries.len() + 3;
    for (name, _, r) in pack.named {
        b.check(
            Check::ok(CheckId::Report.as_str())
                .with_message(format!(
                    "{} {} ({}) from {}",
                    r.report.agent,
                    r.report.action,
                    r.report.result.as_str(),
                    r.source
                ))
                .with_location(gatehouse::Location::file(name.clone())),
        );
    }
    b.check(Check::ok(CheckId::Signature.as_str()).with_message(format!(
        "signed with {} key {}",
        public.algorithm(),
        public.keyid()
    )));
    let mut summary = format!(
        "{} {}: {} entries, {} bytes, signed by {} key {}",
        out_label,
        args.release,
        total_entries,
        written.bytes,
        public.algorithm(),
        public.keyid().get(..16).unwrap_or("")
    );
    if let Some(g) = pack.gate {
        summary.push_str(&format!("; gate: {}", g.summary));
    }
    b.summary(summary);
    b.evidence(gatehouse::Evidence {
        path: out_label.clone(),
        sha256: written.sha256.clone(),
        bytes: written.bytes,
    });
    b.data(json!({
        "release": args.release,
        "output": out_label,
        "sha256": written.sha256,
        "bytes": written.bytes,
        "entries": total_entries,
        "reports": pack.named.len(),
        "created": pack.created.to_rfc3339(),
        "manifest_sha256": written.manifest_sha,
        "keyid": public.keyid(),
        "algorithm": public.algorithm(),
        "decision": pack.gate.map(|g| g.decision.as_str()),
    }));
}

fn predicate(
    args: &BuildOptions,
    created: &str,
    named: &[(String, Vec<u8>, &LoadedReport)],
    gate: Option<&crate::gate::Evaluation>,
    manifest_sha: &str,
    public: &crate::keys::PublicKey,
) -> Value {
    let mut tools: BTreeMap<String, String> = BTreeMap::new();
    for (_, _, r) in named {
        tools.insert(r.report.agent.clone(), r.report.tool_version.clone());
    }
    tools.insert(
        "evidence-pack".to_owned(),
        gatehouse::report::TOOL_VERSION.to_owned(),
    );
    json!({
        "release": args.release,
        "created": created,
        "builder": {"id": "evidence-pack", "version": gatehouse::report::TOOL_VERSION},
        "signer": {"keyid": public.keyid(), "algorithm": public.algorithm()},
        "manifest": {"path": MANIFEST, "sha256": manifest_sha},
        "gate": gate.map(|g| json!({
            "decision": g.decision.as_str(),
            "summary": g.summary,
            "policy": g.data.get("policy"),
            "evaluated_at": g.data.get("evaluated_at"),
            "reasons": g.data.get("reasons"),
        })),
        "reports": named.iter().map(|(name, _, r)| json!({
            "path": name,
            "agent": r.report.agent,
            "action": r.report.action,
            "result": r.report.result.as_str(),
            "summary": r.report.summary,
            "started_at": r.report.started_at,
            "trace_id": r.report.trace_id,
        })).collect::<Vec<_>>(),
        "tools": tools,
        "git_range": args.git_range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_cannot_escape_the_reports_directory() {
        assert_eq!(file_part("sbom-diff"), "sbom-diff");
        assert_eq!(file_part("../../etc/passwd"), "______etc_passwd");
        assert_eq!(file_part(""), "_");
        assert!(crate::zip::read::safe_name(&format!(
            "reports/{}-{}.json",
            file_part(".."),
            file_part("/x")
        )));
    }
}
