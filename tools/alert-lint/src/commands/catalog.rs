//! `alert-lint catalog`: compiles an alert catalog into rules (`catalog`), then writes them to
//! `-o FILE` (the report names the file as evidence) or hands them to `main` for stdout.

use gatehouse::{Evidence, Report};

use crate::catalog::{self, Form};
use crate::cli::{CatalogArgs, Emit};
use crate::error::Error;

/// The report, and the rules when they go to stdout.
pub(crate) fn run(args: &CatalogArgs) -> (Report, Option<Vec<u8>>) {
    let opts = catalog::Options {
        catalog: args.catalog.clone(),
        windows: args.windows.clone(),
        form: match args.emit {
            Emit::Prometheusrule => Form::PrometheusRule,
            Emit::Rules => Form::Rules,
        },
        output: args.output.clone(),
    };
    let mut artifact = None;
    let report = Report::judge(crate::AGENT, "catalog", |b| -> Result<(), Error> {
        let text = catalog::compile(&opts, b)?;
        match &opts.output {
            Some(path) => match gatehouse::run::write_atomic(path, text.as_bytes()) {
                Ok(()) => {
                    b.evidence(Evidence::of_bytes(
                        path.display().to_string(),
                        text.as_bytes(),
                    ));
                }
                Err(e) => {
                    b.error("io", format!("{}: cannot write: {e}", path.display()));
                }
            },
            None => artifact = Some(text.into_bytes()),
        }
        Ok(())
    });
    (report, artifact)
}
