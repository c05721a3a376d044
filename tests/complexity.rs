//! Complexity checks of the value-semantics write idioms (DESIGN.md, "Value semantics"):
//! every `tests/complexity/NAME.ruff` starts with `N := 1000`, builds its data and runs its
//! idiom over it (it prints the milliseconds the idiom took, for people reading it). The
//! test runs it at `N` = n and 4n and requires the CPU time of the whole run to grow less
//! than 10x (linear work grows 4x, somewhat more once the data outgrows the caches; a
//! hidden copy of the whole container per write grows 16x), with the JIT off and on.
//!
//! A check of complexity, not of speed: it compares CPU time (`getrusage` of the child),
//! which a busy machine does not stretch the way it stretches wall time; the two sizes
//! run in turn, five times each, and the fastest run of each counts. A 4n run under
//! `FAST_ENOUGH_MS` passes whatever the ratio: at 4n = 120,000 elements a copy per write
//! would take seconds.

use std::path::{Path, PathBuf};
use std::process::Command;

const SMALL: usize = 30_000;
const RUNS: usize = 5;
const MAX_RATIO: f64 = 10.0;
const FAST_ENOUGH_MS: f64 = 15.0;

fn programs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/complexity");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/complexity exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ruff"))
        .collect();
    files.sort();
    files
}

/// `source` with its `N` set to `n`, written to a file of the test's own.
fn sized_program(program: &Path, source: &str, n: usize) -> Result<PathBuf, String> {
    let sized = source.replacen("N := 1000", &format!("N := {}", n), 1);
    let dir = std::env::temp_dir().join(format!("ruff-complexity-{}-{}", std::process::id(), n));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(program.file_name().expect("a file name"));
    std::fs::write(&file, sized).map_err(|e| e.to_string())?;
    Ok(file)
}

/// The CPU time, in milliseconds, of every child process waited for so far.
fn children_cpu_ms() -> f64 {
    // SAFETY: `getrusage` fills the struct it is given; a zeroed `rusage` is a valid value.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// The CPU time of one run of `file`, in milliseconds.
fn run_ms(file: &Path, jit: bool) -> Result<f64, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ruff"));
    command.arg("run");
    if !jit {
        command.arg("--no-jit");
    }
    let before = children_cpu_ms();
    let output = command.arg(file).output().map_err(|e| e.to_string())?;
    let spent = children_cpu_ms() - before;
    if !output.status.success() {
        return Err(format!("exit {:?}: {}", output.status.code(), String::from_utf8_lossy(&output.stderr)));
    }
    Ok(spent)
}

/// The fastest of `RUNS` runs at n and at 4n, the two sizes in turn.
fn measured_ms(program: &Path, source: &str, jit: bool) -> Result<(f64, f64), String> {
    let (small, large) = (sized_program(program, source, SMALL)?, sized_program(program, source, 4 * SMALL)?);
    let (mut best_small, mut best_large) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..RUNS {
        best_small = best_small.min(run_ms(&small, jit)?);
        best_large = best_large.min(run_ms(&large, jit)?);
    }
    Ok((best_small, best_large))
}

#[test]
fn write_idioms_are_linear() {
    let mut failures = Vec::new();
    for program in programs() {
        assert!(
            std::fs::read_to_string(&program).expect("readable").contains("N := 1000"),
            "{} must start with `N := 1000`",
            program.display()
        );
        let source = std::fs::read_to_string(&program).expect("readable");
        for jit in [false, true] {
            let mode = if jit { "jit" } else { "no-jit" };
            let name = program.file_name().expect("a file name").to_string_lossy();
            match measured_ms(&program, &source, jit) {
                Err(e) => failures.push(format!("{} ({}): {}", name, mode, e)),
                Ok((small, large)) => {
                    let ratio = large / small.max(f64::MIN_POSITIVE);
                    eprintln!("{:>24} {:>6}: {:8.2} ms -> {:8.2} ms ({:.1}x)", name, mode, small, large, ratio);
                    if ratio >= MAX_RATIO && large >= FAST_ENOUGH_MS {
                        failures.push(format!(
                            "{} ({}): {:.2} ms at n={} but {:.2} ms at 4n ({:.1}x, limit {}x)",
                            name, mode, small, SMALL, large, ratio, MAX_RATIO
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "not linear:\n{}", failures.join("\n"));
}
