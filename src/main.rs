//! The `ruff` command line: `ruff run FILE`, `ruff check FILE`.
//!
//! Exit statuses (LANGUAGE.md decision 4): 0 success, 1 the file cannot be read, 2 bad
//! command-line usage, 3 syntax error (nothing ran), 4 uncaught runtime error.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ruff::interpret::{self, DEFAULT_MAX_DEPTH};
use ruff::{Failure, RunOptions};

/// Native stack for parsing, compiling and running: deep but bounded source nesting and
/// deep data must never overflow it (the parser and the printer bound their recursion).
const WORKER_STACK_BYTES: usize = 1 << 30;

#[derive(Parser)]
#[command(
    name = "ruff",
    version,
    about = "Run Ruff programs on a bytecode interpreter with a tracing JIT",
    after_help = "Exit status: 0 success, 1 file cannot be read, 2 bad usage, 3 syntax error, 4 uncaught runtime error.\n\
                  Environment: RUFF_GC_STRESS=1 collects garbage at every safe point after an allocation (for testing)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Ruff program
    Run(RunArgs),
    /// Parse and compile a program without running it; print warnings such as the lost
    /// result of a bare `push(a, x)`
    Check {
        /// The program to check
        file: PathBuf,
        /// Also print the compiled bytecode of every function
        #[arg(long)]
        bytecode: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The program to run
    file: PathBuf,
    /// Run everything in the interpreter. [JIT not built yet: every run is interpreted]
    #[arg(long)]
    no_jit: bool,
    /// Loop iterations before a loop is compiled to native code (default 50).
    /// [JIT not built yet: accepted, no effect]
    #[arg(long, value_name = "N")]
    jit_threshold: Option<u32>,
    /// Print each compiled trace (bytecode, IR before and after optimization, machine
    /// code) to stderr, or with =DIR one file per trace into DIR.
    /// [JIT not built yet: accepted, prints nothing]
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    dump_traces: Option<String>,
    /// Print JIT statistics at exit (traces, aborts, exits); =json for one JSON document.
    /// [JIT not built yet: accepted, prints nothing]
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "text")]
    jit_stats: Option<String>,
    /// Maximum number of nested Ruff calls before the catchable depth error
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DEPTH)]
    max_call_depth: usize,
}

/// Reads a source file, or explains in one line why it cannot.
fn read_source(path: &Path) -> Result<String, String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("ruff: cannot read '{}': it is a directory", shown));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        format!("ruff: cannot read '{}': {}", shown, reason)
    })?;
    String::from_utf8(bytes).map_err(|e| {
        format!("ruff: cannot read '{}': not valid UTF-8 (at byte {})", shown, e.utf8_error().valid_up_to())
    })
}

fn gc_stress_from_env() -> bool {
    std::env::var("RUFF_GC_STRESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn report(failure: &Failure) -> ExitCode {
    eprint!("{}", failure.message());
    ExitCode::from(failure.exit_status() as u8)
}

fn run(args: RunArgs) -> ExitCode {
    if let Some(format) = &args.jit_stats {
        if format != "text" && format != "json" {
            eprintln!("ruff: --jit-stats takes no value or =json, not '{}'", format);
            return ExitCode::from(2);
        }
    }
    let source = match read_source(&args.file) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{}", message);
            return ExitCode::from(1);
        }
    };
    let options = RunOptions {
        interpreter: interpret::Options { max_depth: args.max_call_depth, gc_stress: gc_stress_from_env() },
    };
    let name = args.file.display().to_string();
    let out = Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout()));
    match ruff::run_source(&name, &source, &options, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure),
    }
}

fn check(file: &Path, show_bytecode: bool) -> ExitCode {
    let source = match read_source(file) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{}", message);
            return ExitCode::from(1);
        }
    };
    let mut heap = ruff::runtime::heap::Heap::default();
    match ruff::compile_source(&file.display().to_string(), &source, &mut heap) {
        Ok((program, warnings)) => {
            if show_bytecode {
                print!("{}", ruff::compile::listing::program_listing(&program));
            }
            for w in &warnings {
                eprint!("{}", w);
            }
            let _ = writeln!(std::io::stdout(), "{}: ok, {} warning(s)", file.display(), warnings.len());
            ExitCode::SUCCESS
        }
        Err(failure) => report(&failure),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let worker = std::thread::Builder::new().stack_size(WORKER_STACK_BYTES).spawn(move || match cli.command {
        Command::Run(args) => run(args),
        Command::Check { file, bytecode } => check(&file, bytecode),
    });
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("ruff: internal error: the interpreter thread failed");
            ExitCode::from(70)
        }
    }
}

/// Ruff allocates many small objects (dicts, strings, closures) and frees them in bulk
/// during sweeps; mimalloc handles that pattern markedly faster than the system malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
