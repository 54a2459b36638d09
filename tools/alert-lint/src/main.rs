fn main() -> std::process::ExitCode {
    let cli: alert_lint::Cli = gatehouse::run::parse_args("alert-lint"); // usage error: one line, exit 2
    gatehouse::run::init("alert-lint", &cli.common);
    let (report, artifact) = alert_lint::run(&cli); // never panics; errors become result:error
    match artifact {
        Some(bytes) => gatehouse::run::emit_artifact(&cli.common, report, Some(&bytes)),
        None => gatehouse::run::emit(&cli.common, report, &alert_lint::rule_docs()),
    }
}
