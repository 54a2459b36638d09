#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli: dr_drill::cli::Cli = gatehouse::run::parse_args("dr-drill"); // usage error: one line, exit 2
    gatehouse::run::init("dr-drill", &cli.common);
    let report = dr_drill::run(&cli).await; // never panics on input; errors become result: error
    gatehouse::run::emit(&cli.common, report, &dr_drill::rule_docs())
}
