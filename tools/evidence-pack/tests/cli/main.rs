//! CLI tests: the real `evidence-pack` binary as a process, one module per command.

mod audit;
mod build;
mod checks;
mod demo;
mod gate;
mod hostile;
mod keys;
mod policy;
mod provenance;
mod rego;
mod report;
mod util;
mod verify;
