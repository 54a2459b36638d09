//! CLI tests: the real `evidence-pack` binary as a process, one module per command.

mod util;
mod gate;
mod build;
mod verify;
