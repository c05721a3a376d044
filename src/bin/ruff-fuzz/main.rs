//! `ruff-fuzz`: fuzzers for the Ruff implementation, one subcommand each.
//!
//! Owns only the command line; every fuzzer lives in its own module with its own `Args`:
//! `programs` generates random valid programs and compares every JIT mode with
//! `--no-jit` (`programs.rs`, with `gen.rs`, `ast.rs`, `runner.rs`, `shrink.rs`);
//! `frontend` feeds mutated and random sources to `ruff check` and `ruff run`
//! (`frontend.rs`). The process exits with a non-zero status when a fuzzer finds a failure.

mod ast;
mod diff;
mod frontend;
mod gen;
mod programs;
mod runner;
mod shrink;

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
    /// Generate random programs and compare every JIT mode with --no-jit
    Programs(programs::Args),
    /// Mutated and random sources through `ruff check` and `ruff run`: no panic, crash or
    /// hang, located messages and documented exit statuses
    Frontend(frontend::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Programs(args) => programs::main(args),
        Command::Frontend(args) => frontend::run(args),
    }
}
