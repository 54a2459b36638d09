//! `provenance`: an in-toto Statement v1 with a SLSA Provenance v1 predicate for built
//! artifacts (binaries by file, an image by the digest its registry or podman reports),
//! signed as a DSSE envelope with the same keys and the same PAE as the pack's attestation.
//!
//! Nothing in it comes from the clock: the same build, key and inputs give the same bytes
//! (ed25519 signatures are deterministic), so two runs over one commit can be compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatehouse::ReportBuilder;
use serde_json::{Value, json};

use crate::dsse::{Envelope, PAYLOAD_TYPE, STATEMENT_TYPE, Statement, Subject};
use crate::error::{Error, Result};
use crate::keys::SigningKey;

pub(crate) const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// A subject named on the command line: a file to hash, or a name with a known digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubjectSpec {
    File(PathBuf),
    Digest { name: String, sha256: String },
}

impl SubjectSpec {
    /// `NAME=sha256:HEX` (the name may itself hold `@` or `:`, as image references do).
    pub(crate) fn parse_digest(text: &str) -> Result<SubjectSpec> {
        let bad = || {
            Error::Usage(format!(
                "--subject-digest {text:?}: expected NAME=sha256:<64 hex digits>"
            ))
        };
        let (name, digest) = text.rsplit_once('=').ok_or_else(bad)?;
        let hex = digest.strip_prefix("sha256:").ok_or_else(bad)?;
        if name.is_empty() || !is_hex(hex, 64) {
            return Err(bad());
        }
        Ok(SubjectSpec::Digest {
            name: name.to_owned(),
            sha256: hex.to_ascii_lowercase(),
        })
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Everything `provenance` needs, checked by the command.
pub(crate) struct ProvenanceOptions {
    pub(crate) key: SigningKey,
    pub(crate) output: PathBuf,
    pub(crate) subjects: Vec<SubjectSpec>,
    pub(crate) materials: Vec<PathBuf>,
    pub(crate) source_uri: String,
    pub(crate) source_commit: String,
    pub(crate) builder_id: String,
    pub(crate) build_type: String,
    pub(crate) build_command: String,
    pub(crate) parameters: BTreeMap<String, String>,
}

impl ProvenanceOptions {
    /// The checks a command line parser cannot make: a commit is 40 or 64 hex digits,
    /// there is something to attest, names are not empty.
    pub(crate) fn check(&self) -> Result<()> {
        if !is_hex(&self.source_commit, 40) && !is_hex(&self.source_commit, 64) {
            return Err(Error::Usage(format!(
                "--source-commit {:?}: expected a full git commit id (40 or 64 hex digits)",
                self.source_commit
            )));
        }
        if self.subjects.is_empty() {
            return Err(Error::Usage(
                "nothing to attest: give --subject FILE or --subject-digest NAME=sha256:HEX"
                    .to_owned(),
            ));
        }
        for (flag, v) in [
            ("--source-uri", &self.source_uri),
            ("--builder-id", &self.builder_id),
            ("--build-type", &self.build_type),
            ("--build-command", &self.build_command),
        ] {
            if v.trim().is_empty() {
                return Err(Error::Usage(format!("{flag} must not be empty")));
            }
        }
        Ok(())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn hash_file(path: &Path) -> Result<String> {
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "{}: a directory; name the files to attest",
            path.display()
        )));
    }
    gatehouse::hash::sha256_file(path)
        .map(|(sha, _)| sha)
        .map_err(|e| Error::io(path.display(), e))
}

fn digest(sha256: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("sha256".to_owned(), sha256.to_owned())])
}

/// The statement's subjects, in the order given; a name given twice is refused (a verifier
/// matching by name could not tell which digest is meant).
fn subjects(specs: &[SubjectSpec]) -> Result<Vec<Subject>> {
    let mut out: Vec<Subject> = Vec::with_capacity(specs.len());
    for spec in specs {
        let (name, sha) = match spec {
            SubjectSpec::File(p) => (file_name(p), hash_file(p)?),
            SubjectSpec::Digest { name, sha256 } => (name.clone(), sha256.clone()),
        };
        if out.iter().any(|s| s.name == name) {
            return Err(Error::Usage(format!("subject {name:?} is named twice")));
        }
        out.push(Subject {
            name,
            digest: digest(&sha),
        });
    }
    Ok(out)
}

/// The SLSA Provenance v1 predicate: the source commit and the material files (Cargo.lock)
/// are the resolved dependencies; the build command and parameters the external ones.
fn predicate(opts: &ProvenanceOptions, materials: &[(String, String)]) -> Value {
    let mut resolved = vec![json!({
        "uri": format!("git+{}", opts.source_uri),
        "digest": {"gitCommit": opts.source_commit.to_ascii_lowercase()},
    })];
    resolved.extend(
        materials
            .iter()
            .map(|(name, sha)| json!({"name": name, "digest": {"sha256": sha}})),
    );
    json!({
        "buildDefinition": {
            "buildType": opts.build_type,
            "externalParameters": {
                "source": {
                    "uri": opts.source_uri,
                    "digest": {"gitCommit": opts.source_commit.to_ascii_lowercase()},
                },
                "buildCommand": opts.build_command,
                "parameters": opts.parameters,
            },
            "resolvedDependencies": resolved,
        },
        "runDetails": {
            "builder": {"id": opts.builder_id},
            "metadata": {},
        },
    })
}

/// Builds, signs and writes the envelope; the report names every subject and material.
pub(crate) fn write(opts: &ProvenanceOptions, b: &mut ReportBuilder) -> Result<()> {
    opts.check()?;
    let subjects = subjects(&opts.subjects)?;
    let mut materials = Vec::with_capacity(opts.materials.len());
    for m in &opts.materials {
        materials.push((file_name(m), hash_file(m)?));
    }
    let statement = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: subjects,
        predicate_type: SLSA_PROVENANCE_V1.to_owned(),
        predicate: predicate(opts, &materials),
    };
    let payload = serde_json::to_vec(&statement)
        .map_err(|e| Error::Usage(format!("the statement could not be serialised: {e}")))?;
    let envelope = Envelope::sign(PAYLOAD_TYPE, &payload, &opts.key);
    let mut bytes = serde_json::to_vec_pretty(&envelope)
        .map_err(|e| Error::Usage(format!("the envelope could not be serialised: {e}")))?;
    bytes.push(b'\n');
    gatehouse::run::write_atomic(&opts.output, &bytes)
        .map_err(|e| Error::io(opts.output.display(), e))?;
    let keyid = opts.key.public().keyid();
    b.summary(format!(
        "SLSA provenance for {} subject{} signed by {} in {}",
        statement.subject.len(),
        if statement.subject.len() == 1 {
            ""
        } else {
            "s"
        },
        &keyid[..16],
        opts.output.display()
    ));
    b.data(json!({
        "output": opts.output.display().to_string(),
        "sha256": gatehouse::hash::sha256_hex(&bytes),
        "keyid": keyid,
        "predicate_type": SLSA_PROVENANCE_V1,
        "subjects": statement.subject.iter().map(|s| json!({"name": s.name, "sha256": s.digest["sha256"]})).collect::<Vec<_>>(),
        "materials": materials.iter().map(|(n, s)| json!({"name": n, "sha256": s})).collect::<Vec<_>>(),
        "source": {"uri": opts.source_uri, "commit": opts.source_commit.to_ascii_lowercase()},
        "builder_id": opts.builder_id,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_digests_parse_image_references() {
        let hex = "a".repeat(64);
        assert_eq!(
            SubjectSpec::parse_digest(&format!("localhost/gatehouse:0.1.0=sha256:{hex}")).ok(),
            Some(SubjectSpec::Digest {
                name: "localhost/gatehouse:0.1.0".to_owned(),
                sha256: hex.clone()
            })
        );
        for bad in [
            format!("=sha256:{hex}"),
            format!("x=sha512:{hex}"),
            "x=sha256:abc".to_owned(),
            format!("x sha256:{hex}"),
        ] {
            assert!(SubjectSpec::parse_digest(&bad).is_err(), "{bad}");
        }
    }
}
