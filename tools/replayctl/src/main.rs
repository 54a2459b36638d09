#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli: replayctl::cli::Cli = gatehouse::run::parse_args("replayctl"); // usage error: one line, exit 2
    gatehouse::run::init("replayctl", &cli.common);
    let report = replayctl::run(&cli).await; // never panics on input; errors become result: error
    gatehouse::run::emit(&cli.common, report, &replayctl::rule_docs())
}
