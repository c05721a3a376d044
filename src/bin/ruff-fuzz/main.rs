//! `ruff-fuzz`: fuzzers for the Ruff implementation, one subcommand each.
//!
//! Owns only the command line; every fuzzer lives in its own module with its own `Args`
//! and `run`.

mod frontend;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ruff-fuzz", about = "Fuzzers for the Ruff implementation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mutated and random sources through `ruff check` and `ruff run`: no panic, crash or
    /// hang, located messages and documented exit statuses
    Frontend(frontend::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Frontend(args) => frontend::run(args),
    }
}
