//! `ruff-fuzz`: differential fuzzers for the `ruff` binary.
//!
//! Each subcommand owns one fuzzer: `programs` generates random valid programs and
//! compares every JIT mode with `--no-jit` (see `programs.rs`). The process exits with
//! a non-zero status when a fuzzer finds a mismatch.

mod ast;
mod gen;
mod programs;
mod runner;
mod shrink;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ruff-fuzz", about = "Differential fuzzers for the ruff binary")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate random programs and compare every JIT mode with --no-jit
    Programs(programs::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Programs(args) => programs::main(args),
    }
}
