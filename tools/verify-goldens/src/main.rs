fn main() -> std::process::ExitCode {
    let cli: verify_goldens::cli::Cli = gatehouse::run::parse_args("verify-goldens"); // usage error: one line, exit 2
    gatehouse::run::init("verify-goldens", &cli.common);
    let report = verify_goldens::run(&cli); // never panics on input; errors become result: error
    gatehouse::run::emit(&cli.common, report, &verify_goldens::rule_docs())
}
