//! The `ruff` command line: `ruff run [OPTIONS] FILE [ARGS...]`, `ruff check FILE`.
//!
//! Every argument after FILE belongs to the script (`args()`), even one that looks like
//! an option of `ruff`; a `--` right after FILE is dropped. [`split_script_args`] cuts
//! the command line there before clap sees it. FILE `-` reads the program from standard
//! input.
//!
//! Exit statuses (LANGUAGE.md decision 4): 0 success, 1 the file cannot be read, 2 bad
//! command-line usage, 3 syntax error (nothing ran), 4 uncaught runtime error; 70 internal
//! error (a panic, or the interpreter thread could not get its stack).

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use ruff::interpret::{self, DEFAULT_MAX_DEPTH};
use ruff::jit::dump::DumpTarget;
use ruff::jit::log::LogTarget;
use ruff::jit::JitOptions;
use ruff::{Failure, RunOptions, StatsFormat};

/// Native stack for parsing, compiling and running: deep but bounded source nesting and
/// deep data must never overflow it (the parser and the printer bound their recursion).
#[cfg(not(feature = "memcheck"))]
const WORKER_STACK_BYTES: usize = 1 << 30;
/// Under valgrind memcheck a 1 GB stack costs seconds per process to set up; the golden
/// programs peak below 40 MB of stack and heap together, so 256 MB keeps a wide margin
/// (and an overflow would show as a crash, not pass silently).
#[cfg(feature = "memcheck")]
const WORKER_STACK_BYTES: usize = 256 << 20;

#[derive(Parser)]
#[command(
    name = "ruff",
    version,
    about = "Run Ruff programs on a bytecode interpreter with a tracing JIT",
    after_help = "Exit status: 0 success, 1 file cannot be read, 2 bad usage, 3 syntax error, 4 uncaught runtime error, 70 internal error (a bug in ruff, or no memory for its stack).\n\
                  Environment: RUFF_GC_STRESS=1 collects garbage at every safe point after an allocation; \
                  RUFF_DEOPT_STRESS=1 makes every JIT guard fail the first time it runs; \
                  RUFF_JIT_STRICT=1 makes a trace the JIT's assembler rejects as invalid IR an internal error instead of an abort (all for testing)."
)]
struct Cli {
    /// With no command, `ruff` starts the REPL when standard input is a terminal
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Ruff program
    Run(RunArgs),
    /// Read statements and run each as soon as it is complete, printing the value of a
    /// bare expression; without a terminal, read standard input without prompts
    Repl {
        /// Run everything in the interpreter (no tracing JIT)
        #[arg(long)]
        no_jit: bool,
    },
    /// Parse and compile programs without running them; print warnings: undefined names
    /// (with "did you mean"), wrong builtin argument counts, assignments to `let`/`const`,
    /// calls of values that are not functions, the lost result of a bare `push(a, x)`
    Check {
        /// The programs to check; a directory means every `.ruff` file under it
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also print the compiled bytecode of every function
        #[arg(long)]
        bytecode: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The program to run; `-` reads it from standard input. Every argument after it is
    /// the script's (see `args()`), even one that looks like an option
    file: PathBuf,
    /// Arguments for the script
    #[arg(value_name = "ARGS")]
    script_args: Vec<String>,
    /// Run everything in the interpreter (no tracing JIT)
    #[arg(long)]
    no_jit: bool,
    /// Back-edges a loop takes (or calls a function gets) in the interpreter before it is
    /// recorded and compiled
    #[arg(long, value_name = "N", default_value_t = ruff::jit::DEFAULT_THRESHOLD,
          value_parser = clap::value_parser!(u32).range(1..))]
    jit_threshold: u32,
    /// Print each compiled trace (source location, bytecode, IR before and after
    /// optimization with snapshots, machine code) to stderr, or with =DIR write one file
    /// per trace into DIR (its old trace-NNNN.txt files are removed first)
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    dump_traces: Option<String>,
    /// Print JIT statistics at exit (traces with entries and exits at file:line:col,
    /// aborted recordings, retired traces, deoptimizations, iterations and calls run
    /// natively, time): =text or =json (schema in docs/jit-stats.md), to stderr or, with
    /// :FILE (=json:FILE), into FILE
    #[arg(long, value_name = "FORMAT[:FILE]", num_args = 0..=1, require_equals = true, default_missing_value = "text")]
    jit_stats: Option<String>,
    /// Log what the JIT does as it happens, one line per event (recording started,
    /// aborted with its reason and location, trace compiled, side trace attached, exit
    /// linked, trace retired, flush), to stderr or with =FILE into FILE
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    jit_log: Option<String>,
    /// Sample the run (1 ms of CPU time per sample) and print a per-line profile at exit,
    /// costliest lines first: samples, share of the time, share run as native code, trace
    /// exits and aborted recordings at the line, the source line; to stderr or =FILE
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    profile: Option<String>,
    /// Write an HTML report of what the JIT did into FILE (one self-contained page): the
    /// source with per-line heat, the traces through each line, each trace's bytecode,
    /// IR, machine code and exits, the trace tree, aborts; the run is sampled for it
    #[arg(long, value_name = "FILE.html", require_equals = true)]
    jit_report: Option<PathBuf>,
    /// Name each compiled trace's machine code for Linux `perf`: one line per trace
    /// (`ruff trace N: loop at FILE:LINE in F`) in /tmp/perf-PID.map, the file `perf
    /// report` reads, so a profile taken with `perf record` names traces, not addresses
    #[arg(long)]
    jit_perf_map: bool,
    /// Maximum number of nested Ruff calls before the catchable depth error
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DEPTH)]
    max_call_depth: usize,
    /// Machine code the JIT may hold, in KiB; when it is reached every trace is dropped
    /// (a flush, counted in --jit-stats) and hot code compiles again
    #[arg(long, value_name = "KIB", default_value_t = (ruff::jit::MAX_MACHINE_CODE >> 10) as u64,
          value_parser = clap::value_parser!(u64).range(1..=(1 << 30)))]
    jit_code_limit: u64,
    /// For tests of the JIT's counters: print the loop back-edges and calls the
    /// interpreter itself ran to stderr at exit (`interpreter: back-edges N calls N`)
    #[arg(long, hide = true)]
    interpreter_counts: bool,
}

/// The name messages give a program read from standard input.
const STDIN_NAME: &str = "<stdin>";

/// Splits `ruff run [OPTIONS] FILE [ARGS...]` after FILE: the command line for clap (up to
/// and including FILE) and the script's arguments (a leading `--` dropped). Options of
/// `run` that take a separate value are found in clap's own definition of `RunArgs`.
fn split_script_args(command: &clap::Command, argv: Vec<OsString>) -> (Vec<OsString>, Vec<String>) {
    if argv.get(1).map(|a| a.as_os_str()) != Some("run".as_ref()) {
        return (argv, Vec::new());
    }
    let run = command.find_subcommand("run").expect("the run subcommand exists");
    let takes_separate_value = |option: &str| {
        run.get_arguments().any(|arg| {
            arg.get_long().is_some_and(|long| option == format!("--{}", long))
                && arg.get_action().takes_values()
                && !arg.is_require_equals_set()
        })
    };
    let mut at = 2;
    while at < argv.len() {
        let text = argv[at].to_string_lossy();
        if text == "-" || !text.starts_with('-') {
            break;
        }
        if text == "--" {
            // `ruff run -- FILE`: the next argument is FILE whatever it looks like.
            at += 1;
            break;
        }
        at += if takes_separate_value(&text) { 2 } else { 1 };
    }
    if at >= argv.len() {
        return (argv, Vec::new());
    }
    let mut rest = argv;
    let script: Vec<OsString> = rest.split_off(at + 1);
    let skip = script.first().is_some_and(|a| a == "--") as usize;
    (rest, script[skip..].iter().map(|a| a.to_string_lossy().into_owned()).collect())
}

/// Drops a UTF-8 byte-order mark at the start of a source text.
fn without_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// Reads a source file (`-`: standard input), or explains in one line why it cannot.
fn read_source(path: &Path) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("ruff: cannot read the program from standard input: {}", e))?;
        return String::from_utf8(bytes).map(without_bom).map_err(|e| {
            format!("ruff: cannot read {}: not valid UTF-8 (at byte {})", STDIN_NAME, e.utf8_error().valid_up_to())
        });
    }
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
    String::from_utf8(bytes).map(without_bom).map_err(|e| {
        format!("ruff: cannot read '{}': not valid UTF-8 (at byte {})", shown, e.utf8_error().valid_up_to())
    })
}

/// How messages name the program at `path`.
fn program_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        STDIN_NAME.to_string()
    } else {
        path.display().to_string()
    }
}

/// Whether environment variable `name` is set to something other than empty or `0`.
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn report(failure: &Failure) -> u8 {
    // Everything the program printed comes before the error.
    let _ = ruff::process::flush_stdout();
    eprint!("{}", failure.message());
    failure.exit_status() as u8
}

/// The file of an option that takes an optional `=FILE` (empty: stderr).
fn named_file(option: &Option<String>) -> Option<&Path> {
    option.as_deref().filter(|f| !f.is_empty()).map(Path::new)
}

/// A usage error (exit status 2) with its message.
fn usage_error(message: String) -> u8 {
    eprintln!("ruff: {}", message);
    2
}

/// Checks that the inspection outputs asked for can be written before the program runs,
/// and clears a dump directory of an earlier run's traces. Returns the statistics format
/// and file.
fn prepare_outputs(args: &RunArgs) -> Result<(Option<StatsFormat>, Option<PathBuf>), String> {
    if args.dump_traces.as_deref() == Some("") && args.file.is_dir() {
        return Err(format!(
            "--dump-traces takes its directory after '=' (--dump-traces={}); '{}' is a directory, not a program",
            args.file.display(),
            args.file.display()
        ));
    }
    let (format, stats_file) = match args.jit_stats.as_deref().map(|v| v.split_once(':').unwrap_or((v, ""))) {
        None => (None, None),
        Some((format, file)) => {
            let format = match format {
                "text" => StatsFormat::Text,
                "json" => StatsFormat::Json,
                other => {
                    return Err(format!("--jit-stats takes =text or =json, optionally with :FILE, not '{}'", other))
                }
            };
            (Some(format), (!file.is_empty()).then(|| PathBuf::from(file)))
        }
    };
    let files =
        [stats_file.as_deref(), named_file(&args.jit_log), named_file(&args.profile), args.jit_report.as_deref()];
    for file in files.into_iter().flatten() {
        std::fs::File::create(file).map_err(|e| format!("cannot write '{}': {}", file.display(), e))?;
    }
    if let Some(dir) = args.dump_traces.as_deref().filter(|d| !d.is_empty()) {
        ruff::jit::dump::prepare_directory(Path::new(dir))
            .map_err(|e| format!("--dump-traces: cannot write trace dumps into '{}': {}", dir, e))?;
    }
    Ok((format, stats_file))
}

fn run(args: RunArgs) -> u8 {
    let (jit_stats, stats_file) = match prepare_outputs(&args) {
        Ok(outputs) => outputs,
        Err(message) => return usage_error(message),
    };
    let source = match read_source(&args.file) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{}", message);
            return 1;
        }
    };
    let jit = (!args.no_jit && cfg!(target_arch = "x86_64")).then(|| JitOptions {
        threshold: args.jit_threshold,
        deopt_stress: env_flag("RUFF_DEOPT_STRESS"),
        dump: args.dump_traces.as_deref().map(|dir| match dir {
            "" => DumpTarget::Stderr,
            dir => DumpTarget::Directory(PathBuf::from(dir)),
        }),
        max_machine_code: (args.jit_code_limit << 10) as usize,
        keep_dumps: false,
        log: args.jit_log.as_deref().map(|file| match file {
            "" => LogTarget::Stderr,
            file => LogTarget::File(PathBuf::from(file)),
        }),
        source_name: String::new(),
        measure_native: false,
        strict: env_flag("RUFF_JIT_STRICT"),
        perf_map: args.jit_perf_map,
    });
    let options = RunOptions {
        interpreter: interpret::Options { max_depth: args.max_call_depth, gc_stress: env_flag("RUFF_GC_STRESS"), jit },
        jit_stats,
        profile: args.profile.is_some(),
        html_report: args.jit_report.is_some(),
    };
    let name = program_name(&args.file);
    ruff::process::set_script_args(args.script_args);
    ruff::process::flush_on_signals();
    let report = ruff::run_source(&name, &source, &options, Box::new(ruff::process::Stdout::new()));
    let _ = ruff::process::flush_stdout();
    if let Some(stats) = &report.jit_stats {
        match &stats_file {
            None => eprint!("{}", stats),
            Some(file) => {
                if let Err(e) = std::fs::write(file, stats) {
                    eprintln!("ruff: cannot write '{}': {}", file.display(), e);
                }
            }
        }
    }
    match (&report.profile, args.profile.as_deref()) {
        (Some(Ok(text)), Some("")) => eprint!("{}", text),
        (Some(Ok(text)), Some(file)) => {
            if let Err(e) = std::fs::write(file, text) {
                eprintln!("ruff: cannot write '{}': {}", file, e);
            }
        }
        (Some(Err(why)), _) => eprintln!("ruff: --profile: {}", why),
        _ => {}
    }
    match (&report.html_report, &args.jit_report) {
        (Some(Ok(page)), Some(file)) => {
            if let Err(e) = std::fs::write(file, page) {
                eprintln!("ruff: cannot write '{}': {}", file.display(), e);
            }
        }
        (Some(Err(why)), _) => eprintln!("ruff: --jit-report: {}", why),
        _ => {}
    }
    if args.interpreter_counts {
        let counts = report.interpreter_counts;
        eprintln!("interpreter: back-edges {} calls {}", counts.back_edges, counts.calls);
    }
    match report.outcome {
        Ok(()) => 0,
        Err(failure) => self::report(&failure),
    }
}

fn repl(no_jit: bool) -> ExitCode {
    let jit = (!no_jit && cfg!(target_arch = "x86_64")).then(|| JitOptions {
        deopt_stress: env_flag("RUFF_DEOPT_STRESS"),
        strict: env_flag("RUFF_JIT_STRICT"),
        ..JitOptions::default()
    });
    let options = interpret::Options { gc_stress: env_flag("RUFF_GC_STRESS"), jit, ..interpret::Options::default() };
    ExitCode::from(ruff::repl::run(&options) as u8)
}

/// `.ruff` files under `directory`, sorted, found recursively.
fn ruff_files(directory: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(directory)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            ruff_files(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "ruff") {
            found.push(path);
        }
    }
    Ok(())
}

/// Checks every file (directories expanded); the exit status is the worst one.
fn check_all(paths: &[PathBuf], show_bytecode: bool) -> u8 {
    let mut worst = 0u8;
    for path in paths {
        let mut files = Vec::new();
        if path.is_dir() {
            if let Err(e) = ruff_files(path, &mut files) {
                eprintln!("ruff: cannot read directory '{}': {}", path.display(), e);
                worst = worst.max(1);
                continue;
            }
        } else {
            files.push(path.clone());
        }
        for file in files {
            let status = check(&file, show_bytecode);
            worst = worst.max(status);
        }
    }
    worst
}

fn check(file: &Path, show_bytecode: bool) -> u8 {
    let source = match read_source(file) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{}", message);
            return 1;
        }
    };
    let mut heap = ruff::runtime::heap::Heap::default();
    match ruff::compile_source(&program_name(file), &source, &mut heap) {
        Ok((program, warnings)) => {
            if show_bytecode {
                print!("{}", ruff::compile::listing::program_listing(&program));
            }
            for w in &warnings {
                eprint!("{}", w);
            }
            let _ = writeln!(std::io::stdout(), "{}: ok, {} warning(s)", file.display(), warnings.len());
            0
        }
        Err(failure) => {
            eprint!("{}", failure.message());
            failure.exit_status() as u8
        }
    }
}

/// Ends `ruff run` and `ruff check` with `status` once everything is written: at once,
/// without freeing the heap and the thread (`allocator::exit_without_teardown`). The
/// memcheck build exits the ordinary way, so valgrind sees every block freed as before.
fn finish(status: u8) -> ExitCode {
    #[cfg(not(feature = "memcheck"))]
    ruff::runtime::allocator::exit_without_teardown(status);
    #[cfg(feature = "memcheck")]
    ExitCode::from(status)
}

fn main() -> ExitCode {
    // One clap `Command` for both the split and the parse: building it is a twentieth of the
    // instructions `ruff run` of a one-line program executes.
    let command = Cli::command();
    let (argv, script_args) = split_script_args(&command, std::env::args_os().collect());
    let mut matches = command.get_matches_from(argv);
    let mut cli = Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut Cli::command()).exit());
    if let Some(Command::Run(run)) = &mut cli.command {
        run.script_args.extend(script_args);
    }
    if cli.command.is_none() {
        if !std::io::stdin().is_terminal() {
            let _ = Cli::command().print_help();
            return ExitCode::from(2);
        }
        cli.command = Some(Command::Repl { no_jit: false });
    }
    let worker = std::thread::Builder::new().stack_size(WORKER_STACK_BYTES).spawn(move || match cli.command {
        Some(Command::Run(args)) => finish(run(args)),
        Some(Command::Check { files, bytecode }) => finish(check_all(&files, bytecode)),
        Some(Command::Repl { no_jit }) => repl(no_jit),
        None => unreachable!("no command means the REPL"),
    });
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => {
            eprintln!("ruff: internal error: the interpreter thread failed");
            ExitCode::from(70)
        }
        Err(error) => {
            eprintln!(
                "ruff: cannot start the interpreter thread with its {} MiB stack ({}); is the virtual memory limit (ulimit -v) too low?",
                WORKER_STACK_BYTES >> 20,
                error
            );
            ExitCode::from(70)
        }
    }
}

/// Ruff allocates many small objects (dicts, strings, closures) and frees them in bulk
/// during sweeps; mimalloc handles that pattern markedly faster than the system malloc.
/// The `memcheck` feature keeps the system malloc, which valgrind memcheck can see.
#[cfg(not(feature = "memcheck"))]
#[global_allocator]
static ALLOCATOR: ruff::runtime::allocator::Allocator = ruff::runtime::allocator::Allocator;

/// Runs as the process loads, before Rust's runtime allocates anything: mimalloc must get
/// the first arena before it reserves one of its own (`runtime::allocator`'s header).
#[cfg(all(target_os = "linux", not(feature = "memcheck")))]
#[used]
#[link_section = ".init_array"]
static RESERVE_FIRST_ARENA: extern "C" fn() = {
    extern "C" fn reserve() {
        ruff::runtime::allocator::reserve_first_arena();
    }
    reserve
};
