//! The shared library of the Gatehouse tools: the report envelope and its renderers, the
//! common flags, input and YAML reading with one-line errors, trace context and OTLP
//! export, durations, rates, redaction and logging.
//!
//! A tool's `main` is `run::init` → its own work → `run::emit`; everything a user sees on
//! stdout goes through `render`.

pub mod checks;
pub mod cli;
pub mod duration;
pub mod hash;
pub mod input;
pub mod log;
pub mod otlp;
pub mod percent;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "prometheus")]
pub mod prometheus;
pub mod redact;
pub mod render;
pub mod report;
pub mod run;
pub mod slo;
pub mod time;
pub mod trace;
pub mod yaml;

#[doc(hidden)]
pub use serde as __serde;

pub use cli::CommonArgs;
pub use input::{Input, InputError, Source};
pub use render::{Format, RuleDoc};
pub use report::{
    Check, Evidence, Failure, Location, Outcome, Report, ReportBuilder, Section, Status,
};

/// `singular` when `n == 1`, else `plural`.
pub fn plural<'a>(n: usize, singular: &'a str, plural: &'a str) -> &'a str {
    if n == 1 { singular } else { plural }
}
