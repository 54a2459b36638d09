fn main() -> std::process::ExitCode {
    let cli = <sbom_diff::cli::Cli as clap::Parser>::parse(); // clap exits 2 on usage errors
    gatehouse::run::init("sbom-diff", &cli.common);
    let report = sbom_diff::run(&cli); // never panics on input; errors become result: error
    gatehouse::run::emit(&cli.common, report, &sbom_diff::rule_docs())
}
