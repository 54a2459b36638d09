fn main() -> std::process::ExitCode {
    let cli: perf_gate::cli::Cli = gatehouse::run::parse_args("perf-gate"); // usage error: one line, exit 2
    gatehouse::run::init("perf-gate", &cli.common);
    let (report, artifact) = perf_gate::run(&cli); // never panics on input; errors become result: error
    match artifact {
        Some(bytes) => gatehouse::run::emit_artifact(&cli.common, report, Some(&bytes)),
        None => gatehouse::run::emit(&cli.common, report, &perf_gate::rule_docs()),
    }
}
