use evidence_pack::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli: Cli = gatehouse::run::parse_args("evidence-pack"); // usage error: one line, exit 2
    gatehouse::run::init("evidence-pack", &cli.common);
    let report = evidence_pack::run(&cli); // never panics; errors become result: error
    gatehouse::run::emit(&cli.common, report, &evidence_pack::rule_docs())
}
