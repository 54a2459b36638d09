//! Command-line flags: `perf-gate run|merge|headroom`. What the user typed, nothing checked
//! beyond clap's parsers; `commands/` turns it into the engine's options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  perf-gate run tools/perf-gate/tests/fixtures/steady.yaml --target http://127.0.0.1:8000
  perf-gate run scenario.yaml --baseline out/last-release.json --out-histogram out/latency.hgrm
  perf-gate run scenario.yaml --shard \"$JOB_COMPLETION_INDEX/4\" --report shard-$JOB_COMPLETION_INDEX.json
  perf-gate merge shard-0.json shard-1.json shard-2.json shard-3.json   # the verdict: thresholds on all 4
  perf-gate headroom scenario.yaml --slo 'p(99)<250' --expected-peak 400/s --required 20%
  perf-gate run script.js                # a k6 script: options and literal http calls
  perf-gate convert script.js -o scenario.yaml

Scenario files are YAML (schemas/perf-gate.scenario.schema.json): k6's `options` (scenarios
with k6's executors, thresholds in k6's syntax) plus the requests a k6 script would make.
Latency (http_req_duration) is measured from each request's intended send time; the time
from the actual send is data.service_time.
";

#[derive(Debug, Parser)]
#[command(
    name = "perf-gate",
    version,
    about = "An open-model HTTP load generator: HdrHistogram latencies from the intended send time, k6's thresholds and scenarios, baselines, capacity headroom, shards that merge exactly",
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
    /// Run a scenario and judge its thresholds (and a baseline's budget)
    #[command(
        after_help = "Examples:\n  perf-gate run scenario.yaml --target http://127.0.0.1:8080 --baseline last.json\n  perf-gate run scenario.yaml --shard 0/4 --report shard-0.json   # thresholds skip: merge judges them\n  perf-gate run scenario.yaml --shard 0/4 --judge-shard            # judge this shard's share alone"
    )]
    Run(RunArgs),
    /// Add shard reports' histograms and counts exactly; re-judge the thresholds
    #[command(after_help = "Example:\n  perf-gate merge shard-*.json --report merged.json")]
    Merge(MergeArgs),
    /// Step the arrival rate up, then bisect, to find the highest rate that keeps the SLO
    #[command(
        after_help = "Example:\n  perf-gate headroom scenario.yaml --slo 'p(99)<250' --expected-peak 400/s --required 20%"
    )]
    Headroom(HeadroomArgs),
    /// Print the scenario YAML equivalent to a k6 script (its options and literal http calls)
    #[command(after_help = "Example:\n  perf-gate convert script.js -o scenario.yaml")]
    Convert(ConvertArgs),
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The k6 script (JavaScript)
    #[arg(value_name = "SCRIPT")]
    pub script: PathBuf,

    /// Write the scenario to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What `run` and `headroom` share: where the load goes and how it is generated.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The scenario (YAML), or a k6 script (.js) to translate and run
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,

    /// Base URL of the service; overrides the scenario's `target`
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,

    /// Worker threads generating load (each with its own histograms and connections)
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Also trust the CA certificates in FILE (PEM) for https targets (a staging CA)
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Deadline for each TCP connect (and TLS handshake)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = gatehouse::duration::duration_arg)]
    pub connect_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Run shard I of N (I from 0, as JOB_COMPLETION_INDEX): 1/N of every rate and of the VUs
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// With --shard: judge the thresholds (and abortOnFail) on this shard's share alone, exit 1
    /// when one is crossed. Without it a shard's thresholds are skip: `perf-gate merge` judges
    /// them over all N shards
    #[arg(long, requires = "shard")]
    pub judge_shard: bool,

    /// An earlier report to compare p50/p95/p99 and the error rate with
    #[arg(long, value_name = "REPORT")]
    pub baseline: Option<PathBuf>,

    /// Also write http_req_duration's HdrHistogram (V2 compressed, binary) to FILE
    #[arg(long, value_name = "FILE")]
    pub out_histogram: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard reports (JSON) written by `perf-gate run --shard I/N`
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    /// An earlier report to compare the merged p50/p95/p99 and error rate with
    #[arg(long, value_name = "REPORT")]
    pub baseline: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HeadroomArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// The latency SLO on http_req_duration, in k6's threshold syntax (repeatable)
    #[arg(long, value_name = "THRESHOLD", required = true)]
    pub slo: Vec<String>,

    /// The expected peak arrival rate, e.g. 400/s
    #[arg(long, value_name = "RATE", value_parser = gatehouse::duration::rate_arg)]
    pub expected_peak: gatehouse::duration::Rate,

    /// Headroom required over the expected peak (sustainable / peak - 1)
    #[arg(long, value_name = "PERCENT", default_value = "20%")]
    pub required: String,

    /// Error budget per step: a step whose failed-request (or dropped-iteration) share is higher breaks
    #[arg(long, value_name = "PERCENT", default_value = "1%")]
    pub error_budget: String,

    /// How long each step runs
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = gatehouse::duration::duration_arg)]
    pub step_duration: Duration,

    /// Virtual users available to each step (the arrival-rate executor's maxVUs)
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_vus: u64,
}
