#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli: migration_gate::cli::Cli = gatehouse::run::parse_args("migration-gate"); // usage error: one line, exit 2
    gatehouse::run::init("migration-gate", &cli.common);
    let report = migration_gate::run(&cli).await; // never panics; errors become result:error
    gatehouse::run::emit(&cli.common, report, &migration_gate::rule_docs())
}
