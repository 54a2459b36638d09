//! `evidence-pack provenance`: a DSSE-signed SLSA Provenance v1 statement for built files
//! and image digests.

use std::collections::BTreeMap;

use gatehouse::Report;

use crate::AGENT;
use crate::cli::ProvenanceArgs;
use crate::error::{Error, Result};
use crate::keys::{self, PasswordSource};
use crate::provenance::{self, ProvenanceOptions, SubjectSpec};

pub(crate) fn run(args: &ProvenanceArgs) -> Report {
    Report::judge(AGENT, "provenance", |b| {
        let opts = options(args)?;
        provenance::write(&opts, b)
    })
}

fn options(args: &ProvenanceArgs) -> Result<ProvenanceOptions> {
    let password = PasswordSource::new(
        args.password.key_password_env.as_deref(),
        args.password.key_password_file.as_deref(),
    );
    let key = keys::load_signing_key(&args.key, &password)?;
    let mut subjects: Vec<SubjectSpec> = args
        .subjects
        .iter()
        .cloned()
        .map(SubjectSpec::File)
        .collect();
    for d in &args.subject_digests {
        subjects.push(SubjectSpec::parse_digest(d)?);
    }
    let mut parameters = BTreeMap::new();
    for p in &args.parameters {
        let Some((k, v)) = p.split_once('=') else {
            return Err(Error::Usage(format!(
                "--parameter {p:?}: expected KEY=VALUE"
            )));
        };
        parameters.insert(k.to_owned(), v.to_owned());
    }
    Ok(ProvenanceOptions {
        key,
        output: args.output.clone(),
        subjects,
        materials: args.materials.clone(),
        source_uri: args.source_uri.clone(),
        source_commit: args.source_commit.clone(),
        builder_id: args.builder_id.clone(),
        build_type: args.build_type.clone(),
        build_command: args.build_command.clone(),
        parameters,
    })
}
