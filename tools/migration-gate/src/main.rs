#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli = <migration_gate::cli::Cli as clap::Parser>::parse(); // clap exits 2 on usage errors
    gatehouse::run::init("migration-gate", &cli.common);
    let report = migration_gate::run(&cli).await; // never panics; errors become result:error
    gatehouse::run::emit(&cli.common, report, &migration_gate::rule_docs())
}
