fn main() -> std::process::ExitCode {
    let cli: sbom_diff::cli::Cli = gatehouse::run::parse_args("sbom-diff"); // usage error: one line, exit 2
    gatehouse::run::init("sbom-diff", &cli.common);
    let report = sbom_diff::run(&cli); // never panics on input; errors become result: error
    gatehouse::run::emit(&cli.common, report, &sbom_diff::rule_docs())
}
