//! Golden traces: every `traces/NAME.ruff` runs with
//! `ruff run --jit-threshold T --dump-traces=DIR`, and the `---- TRACE n IR optimized`
//! sections of all the traces it compiled, header lines included and in trace order, must
//! equal `traces/NAME.trace`. `T` comes from a first line `# jit-threshold: T` (default
//! [`DEFAULT_THRESHOLD`]). The program's stdout and exit status must also equal those of
//! its `--no-jit` run. The JIT run also passes `--jit-stats`, whose report (on stderr)
//! explains a program that compiled nothing.
//!
//! A program that compiles no trace at all fails (a golden of nothing would pass
//! vacuously). On a mismatch the actual IR is written to `traces/NAME.trace.new` (ignored
//! by git) for `diff`; `RUFF_BLESS=1 cargo test --test traces` rewrites the `.trace` files
//! instead and prints which ones changed. traces/README.md describes the workflow.

// Golden traces need the native backend, which exists only on x86-64.
#![cfg(target_arch = "x86_64")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Threshold used when a program has no `# jit-threshold: N` first line.
const DEFAULT_THRESHOLD: u32 = 10;

/// Fewest golden programs expected, so that an emptied folder cannot pass.
const MIN_PROGRAMS: usize = 14;

const THRESHOLD_DIRECTIVE: &str = "# jit-threshold:";

/// Lines of stderr (ending with the `--jit-stats` report) shown when no trace compiled.
const STDERR_TAIL_LINES: usize = 12;

/// The path relative to the crate root, as reports show it.
fn shown(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display().to_string()
}

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces")
}

fn files_with_extension(extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(traces_dir())
        .expect("traces/ exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// The threshold named by the program's first line, or [`DEFAULT_THRESHOLD`].
fn threshold(program: &Path) -> Result<u32, String> {
    let source = std::fs::read_to_string(program).map_err(|e| format!("cannot read: {}", e))?;
    match source.lines().next().and_then(|line| line.strip_prefix(THRESHOLD_DIRECTIVE)) {
        None => Ok(DEFAULT_THRESHOLD),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| format!("bad first line: `{}` needs a positive integer", THRESHOLD_DIRECTIVE)),
    }
}

fn ruff(args: &[&str], program: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruff"))
        .arg("run")
        .args(args)
        .arg(program)
        .env_remove("RUFF_DEOPT_STRESS")
        .env_remove("RUFF_GC_STRESS")
        .output()
        .expect("the ruff binary runs")
}

/// The number in a dump file name `trace-NNNN.txt`.
fn trace_number(path: &Path) -> Option<u32> {
    path.file_name()?.to_str()?.strip_prefix("trace-")?.strip_suffix(".txt")?.parse().ok()
}

/// The `---- TRACE n IR optimized` section of one dump, header line included, up to the
/// next `---- TRACE` header.
fn optimized_section(dump: &str) -> Option<String> {
    let mut lines = dump.lines().skip_while(|l| !(l.starts_with("---- TRACE ") && l.ends_with(" IR optimized")));
    let header = lines.next()?;
    let mut section = format!("{}\n", header);
    for line in lines.take_while(|l| !l.starts_with("---- TRACE ")) {
        section.push_str(line);
        section.push('\n');
    }
    Some(section)
}

/// Runs the program with trace dumps on and returns the concatenated optimized IR.
fn actual_trace(program: &Path, threshold: u32, dump_dir: &Path) -> Result<String, String> {
    if dump_dir.exists() {
        std::fs::remove_dir_all(dump_dir).map_err(|e| format!("cannot clear {}: {}", dump_dir.display(), e))?;
    }
    let dump_arg = format!("--dump-traces={}", dump_dir.display());
    let threshold_arg = threshold.to_string();
    let jit = ruff(&["--jit-threshold", &threshold_arg, &dump_arg, "--jit-stats"], program);
    let interpreted = ruff(&["--no-jit"], program);
    let mut problems = Vec::new();
    if jit.stdout != interpreted.stdout {
        problems.push(format!(
            "stdout differs from --no-jit\n--- --no-jit\n{}--- --jit-threshold {}\n{}",
            String::from_utf8_lossy(&interpreted.stdout),
            threshold,
            String::from_utf8_lossy(&jit.stdout)
        ));
    }
    if jit.status.code() != interpreted.status.code() {
        problems.push(format!("{} with the JIT, {} with --no-jit", jit.status, interpreted.status));
    }
    let mut dumps: Vec<(u32, PathBuf)> = match std::fs::read_dir(dump_dir) {
        Ok(entries) => entries
            .map(|e| e.expect("readable directory entry").path())
            .filter_map(|p| trace_number(&p).map(|n| (n, p)))
            .collect(),
        Err(_) => Vec::new(),
    };
    dumps.sort();
    if dumps.is_empty() {
        let stderr = String::from_utf8_lossy(&jit.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        problems.push(format!(
            "no trace was compiled: `ruff run --jit-threshold {} {} --jit-stats` wrote no trace-NNNN.txt; \
             a golden trace program must compile at least one trace\nlast lines of stderr (JIT statistics):\n{}",
            threshold,
            dump_arg,
            lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n")
        ));
    }
    let mut ir = String::new();
    for (_, path) in &dumps {
        let dump = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {}", path.display(), e))?;
        match optimized_section(&dump) {
            Some(section) => ir.push_str(&section),
            None => problems.push(format!("{} has no `---- TRACE n IR optimized` section", path.display())),
        }
    }
    if problems.is_empty() {
        Ok(ir)
    } else {
        Err(problems.join("\n"))
    }
}

/// Checks (or with `bless`, rewrites) one golden; `Ok(Some(note))` reports a blessed change.
fn check(program: &Path, bless: bool) -> Result<Option<String>, String> {
    let name = program.file_stem().and_then(|s| s.to_str()).expect("UTF-8 file name");
    let golden = program.with_extension("trace");
    let new_file = program.with_extension("trace.new");
    let dump_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace-dumps").join(name);
    let actual = actual_trace(program, threshold(program)?, &dump_dir)?;
    let expected = std::fs::read_to_string(&golden).ok();
    if expected.as_deref() == Some(actual.as_str()) {
        // A leftover from an earlier mismatch would only mislead.
        let _ = std::fs::remove_file(&new_file);
        return Ok(None);
    }
    if bless {
        std::fs::write(&golden, &actual).map_err(|e| format!("cannot write {}: {}", shown(&golden), e))?;
        let _ = std::fs::remove_file(&new_file);
        let what = if expected.is_some() { "changed" } else { "new" };
        return Ok(Some(format!("blessed ({}): {}", what, shown(&golden))));
    }
    std::fs::write(&new_file, &actual).map_err(|e| format!("cannot write {}: {}", shown(&new_file), e))?;
    Err(match expected {
        None => format!(
            "{} is missing; the actual IR is in {} (bless with RUFF_BLESS=1 cargo test --test traces)",
            shown(&golden),
            shown(&new_file)
        ),
        Some(_) => format!(
            "optimized IR differs from {0}; see `diff {0} {1}` (bless with RUFF_BLESS=1 cargo test --test traces)",
            shown(&golden),
            shown(&new_file)
        ),
    })
}

#[test]
fn optimized_ir_matches_the_golden_traces() {
    let bless = std::env::var("RUFF_BLESS").is_ok_and(|v| v == "1");
    let programs = files_with_extension("ruff");
    assert!(
        programs.len() >= MIN_PROGRAMS,
        "expected at least {} programs in traces/, found {}",
        MIN_PROGRAMS,
        programs.len()
    );
    let mut failures = Vec::new();
    for orphan in files_with_extension("trace") {
        if !orphan.with_extension("ruff").exists() {
            failures.push(format!(
                "== {}\nno {} beside it; delete it",
                shown(&orphan),
                shown(&orphan.with_extension("ruff"))
            ));
        }
    }
    for program in &programs {
        match check(program, bless) {
            Ok(None) => {}
            // Straight to the stderr handle: libtest would capture `eprintln!` of a passing test.
            Ok(Some(note)) => writeln!(std::io::stderr(), "{}", note).expect("writable stderr"),
            Err(problem) => failures.push(format!("== {}\n{}", shown(program), problem)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden trace programs failed:\n\n{}",
        failures.len(),
        programs.len(),
        failures.join("\n\n")
    );
}

#[test]
fn dump_parsing_keeps_only_the_optimized_section() {
    let dump = "---- TRACE 3 start f line 2 (loop header pc 5)\n---- TRACE 3 bytecode\n0005 Jump\n\
                ---- TRACE 3 IR recorded\nA\n---- TRACE 3 IR optimized\nB\n\nC\n\
                ---- TRACE 3 mcode 10 bytes\nD\n---- TRACE 3 end\n";
    assert_eq!(optimized_section(dump).as_deref(), Some("---- TRACE 3 IR optimized\nB\n\nC\n"));
    assert_eq!(optimized_section("---- TRACE 1 IR recorded\nA\n---- TRACE 1 end\n"), None);
    assert_eq!(trace_number(Path::new("dir/trace-0012.txt")), Some(12));
    assert_eq!(trace_number(Path::new("dir/trace-12345.txt")), Some(12345));
    assert_eq!(trace_number(Path::new("dir/notes.txt")), None);
}
