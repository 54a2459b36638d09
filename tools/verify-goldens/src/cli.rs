//! Command-line flags: `verify-goldens run FILE [--env NAME]` probes the golden paths,
//! `slo --prometheus URL --slo FILE` judges burn rates, `canary … --canary SEL --baseline SEL`
//! decides promote / hold / rollback, `checks` lists the check ids.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gatehouse::duration::duration_arg;

const EXAMPLES: &str = "\
Examples:
  SERVICE_URL=http://127.0.0.1:8080 verify-goldens run examples/release/golden_paths.yaml --env local
  verify-goldens slo --prometheus http://127.0.0.1:9090 --slo examples/alert-catalog.yaml
  verify-goldens slo --prometheus http://127.0.0.1:9090 --slo sloth.yaml --at 2026-12-01T10:30:00Z
  verify-goldens canary --prometheus http://127.0.0.1:9090 --slo examples/alert-catalog.yaml \\
      --canary 'version=\"v2\"' --baseline 'version=\"v1\"' --window 10m --min-requests 500
  verify-goldens run golden_paths.yaml --every 60s --metrics-listen 127.0.0.1:9464 --jsonl rounds.jsonl
  verify-goldens checks --format markdown

golden_paths.yaml: schemas/verify-goldens.golden-paths.schema.json. SLO files: the alert
catalog alert-lint compiles (services[].slos[]) or a Sloth prometheus/v1 spec.
";

#[derive(Debug, Parser)]
#[command(
    name = "verify-goldens",
    version,
    about = "Golden-path probes with traces and phase timings, SLO burn rates from Prometheus, and the canary decision",
    after_help = format!("{EXAMPLES}\n{}", gatehouse::cli::CONVENTIONS)
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub common: gatehouse::CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probes the golden paths of a service: every step's request, assertions and captures
    Run(RunArgs),
    /// Multiwindow, multi-burn-rate check of every SLO in a catalog or Sloth spec
    Slo(SloArgs),
    /// Compares canary and baseline on each SLO's SLI: promote, hold or rollback
    Canary(CanaryArgs),
    /// Lists every check id with what it judges and how to fix a failure
    Checks,
}

/// `verify-goldens run FILE [--env NAME]`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The golden paths (YAML: environments and paths of steps)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The environment to probe (a key of `environments:`); optional when there is one
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,

    /// Only these paths (repeatable); all when omitted
    #[arg(long = "path", value_name = "NAME")]
    pub paths: Vec<String>,

    /// Deadline of a step's request without its own `timeout:` (connect to last byte)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg)]
    pub timeout: Duration,

    /// Trust the CA certificates of this PEM file for https probes, besides the public
    /// roots (a staging CA)
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Probe daemon: a round every DURATION until stopped (or --max-rounds)
    #[arg(long, value_name = "DURATION", value_parser = duration_arg, help_heading = "Daemon")]
    pub every: Option<Duration>,

    /// Serve golden_path_up, golden_path_duration_seconds and realtime_delivery_lag_seconds
    /// at http://ADDR/metrics
    #[arg(long, value_name = "ADDR", requires = "every", help_heading = "Daemon")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Append each round's report to FILE as one JSON line
    #[arg(long, value_name = "FILE", requires = "every", help_heading = "Daemon")]
    pub jsonl: Option<PathBuf>,

    /// Stop after N rounds; the last round's report is the run's
    #[arg(long, value_name = "N", requires = "every", help_heading = "Daemon")]
    pub max_rounds: Option<u64>,
}

/// The flags `slo` and `canary` share: where Prometheus is and which SLOs to read.
#[derive(Debug, Args)]
pub struct PromArgs {
    /// Prometheus base URL (http:// or https://; user:password@ is sent as basic auth)
    #[arg(long, value_name = "URL")]
    pub prometheus: String,

    /// The SLO file: an alert catalog (services[].slos[]) or a Sloth prometheus/v1 spec
    #[arg(long, value_name = "FILE")]
    pub slo: PathBuf,

    /// Evaluate at this instant (RFC 3339 or unix seconds) instead of now
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Deadline of each Prometheus request (connect to last byte)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg)]
    pub timeout: Duration,
}

/// `verify-goldens slo --prometheus URL --slo FILE [--at TIME]`.
#[derive(Debug, Args)]
pub struct SloArgs {
    #[command(flatten)]
    pub prom: PromArgs,

    /// The SLO period the error budget is counted over
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = duration_arg)]
    pub period: Duration,
}

/// `verify-goldens canary … --canary SEL --baseline SEL`.
#[derive(Debug, Args)]
pub struct CanaryArgs {
    #[command(flatten)]
    pub prom: PromArgs,

    /// Label matchers selecting the canary's series, e.g. 'version="v2"'
    #[arg(long, value_name = "MATCHERS")]
    pub canary: String,

    /// Label matchers selecting the baseline's series, e.g. 'version="v1"'
    #[arg(long, value_name = "MATCHERS")]
    pub baseline: String,

    /// How far back both are compared
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration_arg)]
    pub window: Duration,

    /// Fewer canary (or baseline) requests than this in the window: hold
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub min_requests: u64,

    /// Significance level of the tests (rollback only when p < alpha)
    #[arg(long, value_name = "P", default_value_t = 0.05)]
    pub alpha: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_footer_carries_the_shared_conventions() {
        gatehouse::cli::assert_help::<Cli>(EXAMPLES);
    }
}
