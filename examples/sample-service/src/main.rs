//! `sample-service`: parse the flags, run the service, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = sample_service::cli::Cli::parse();
    sample_service::run(cli)
}
