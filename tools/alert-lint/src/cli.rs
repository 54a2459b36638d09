//! The command line: `check`, `catalog`, `noise` and `checks`, each with a runnable example.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse::CommonArgs;

#[derive(Debug, Parser)]
#[command(
    name = "alert-lint",
    version,
    about = "Judges Prometheus alerting and recording rules: owners, runbooks, PromQL soundness, templates, noise",
    after_help = AFTER_FULL,
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

const AFTER_FULL: &str = concat!(
    "Examples:\n",
    "  alert-lint check examples/release/rules/\n",
    "  alert-lint catalog examples/alert-catalog.yaml -o rules.yaml\n",
    "  alert-lint noise --prometheus http://localhost:9090 --window 7d\n",
    "  alert-lint checks --format text\n\n",
    gatehouse::help_footer!()
);

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lints rule files and PrometheusRule objects (directories are searched for *.yml/*.yaml)
    #[command(after_help = concat!(
        "Examples:\n",
        "  alert-lint check examples/release/rules/\n",
        "  alert-lint check --format github rules/*.yaml\n",
        "  kubectl get prometheusrules -A -o yaml | alert-lint check -\n",
        "  alert-lint check --config policy.yaml --prometheus http://localhost:9090 rules/\n",
        "  alert-lint check --prometheus http://localhost:9090 --timeout 10s rules/\n\n",
        "Silence a finding in the rule file: `# alert-lint disable promql/rate-on-gauge` on or\n",
        "above the rule, or `# alert-lint disable-file template` anywhere in the file.\n\n",
        gatehouse::help_footer!()
    ))]
    Check(CheckArgs),
    /// Compiles an alert catalog (services, owners, runbooks, SLOs) into PrometheusRule objects
    #[command(after_help = concat!(
        "Examples:\n",
        "  alert-lint catalog examples/alert-catalog.yaml -o rules.yaml\n",
        "  alert-lint catalog examples/alert-catalog.yaml --windows workbook --emit rules\n",
        "  alert-lint catalog catalog.yaml --windows 'page:1h/5m:14.4,ticket:3d/6h:1'\n\n",
        gatehouse::help_footer!()
    ))]
    Catalog(CatalogArgs),
    /// Ranks alerts by how noisy they were (from the ALERTS series) and fails those over budget
    #[command(after_help = concat!(
        "Examples:\n",
        "  alert-lint noise --prometheus http://localhost:9090\n",
        "  alert-lint noise --prometheus https://prom.example.com --window 24h --config policy.yaml\n",
        "  alert-lint noise --prometheus http://localhost:9090 --timeout 10s\n\n",
        gatehouse::help_footer!()
    ))]
    Noise(NoiseArgs),
    /// Lists every check id with what it judges, why, and how to fix a failure
    #[command(after_help = concat!(
        "Examples:\n",
        "  alert-lint checks --format text\n\n",
        gatehouse::help_footer!()
    ))]
    Checks,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rule files or directories; `-` reads stdin
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Policy file (YAML, schemas/alert-lint.config.schema.json)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Prometheus base URL: turns on the live checks
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// How far back a selector's series may have been seen (live checks)
    #[arg(long, value_name = "DURATION", value_parser = gatehouse::duration::duration_arg)]
    pub lookback: Option<Duration>,
    /// Deadline of each request to Prometheus: connecting, sending and reading the whole
    /// answer (default: the config's live.timeout, 30s)
    #[arg(long, value_name = "DURATION", value_parser = gatehouse::duration::duration_arg)]
    pub timeout: Option<Duration>,
    /// Directory that relative runbook_url paths resolve against
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// Kubernetes PrometheusRule objects (one per service)
    Prometheusrule,
    /// A plain Prometheus rule file (`groups:`), as promtool and rule_files read it
    Rules,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The alert catalog (YAML; see examples/alert-catalog.yaml)
    #[arg(value_name = "CATALOG")]
    pub catalog: PathBuf,
    /// Write the rules here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Burn-rate windows: `sloth` (4 windows), `workbook` (3), or `severity:long/short:factor,...`
    #[arg(long, value_name = "WINDOWS", default_value = "sloth")]
    pub windows: String,
    /// Output form
    #[arg(long, value_enum, default_value_t = Emit::Prometheusrule)]
    pub emit: Emit,
}

#[derive(Debug, Args)]
pub struct NoiseArgs {
    /// Prometheus base URL
    #[arg(long, value_name = "URL", required = true)]
    pub prometheus: String,
    /// How far back to look (default: the config's noise.window, 7d)
    #[arg(long, value_name = "DURATION", value_parser = gatehouse::duration::duration_arg)]
    pub window: Option<Duration>,
    /// Resolution of the ALERTS history (default: window/10000, at least 1s)
    #[arg(long, value_name = "DURATION", value_parser = gatehouse::duration::duration_arg)]
    pub step: Option<Duration>,
    /// Policy file with the noise budget
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Deadline of each request to Prometheus: connecting, sending and reading the whole
    /// answer (default: the config's live.timeout, 30s)
    #[arg(long, value_name = "DURATION", value_parser = gatehouse::duration::duration_arg)]
    pub timeout: Option<Duration>,
    /// Show this many alerts in the ranking
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
