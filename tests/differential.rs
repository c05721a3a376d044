//! Differential test of the tracing JIT against the interpreter: every
//! `tests/programs/*.ruff` runs through the built `ruff` binary with `--no-jit` (the
//! reference) and then in each JIT mode; stdout, stderr and the exit status of every JIT
//! run must equal the reference byte for byte.
//!
//! Modes (see [`Mode`] in `tests/jit_modes`): the default threshold; `--jit-threshold 1`
//! (every loop is recorded at its first back-edge, so even short loops run on traces); the
//! same with `RUFF_DEOPT_STRESS=1` (every guard fails once, so every snapshot is restored
//! at least once); and, for the `jit_*` and `hot_*` programs only (to bound the running
//! time), the deopt-stress mode again under `RUFF_GC_STRESS=1`.
//!
//! Programs run in parallel on `available_parallelism()` workers; each run has a time
//! limit so that a JIT that loops forever fails the test instead of hanging it (a
//! `--no-jit` run over the limit is a failure too). Every mismatch is collected and
//! reported (program, mode, short diff) before failing.

mod jit_modes;
mod parallel;

use jit_modes::{compare, run, Mode};
use parallel::for_each_in_parallel;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Fewest programs the corpus must hold, so that a wrong directory cannot pass vacuously.
const MIN_PROGRAMS: usize = 150;

/// The JIT modes a program is compared in.
fn modes_for(program: &Path) -> Vec<Mode> {
    let mut modes = vec![Mode::JitDefault, Mode::JitThreshold1, Mode::DeoptStress];
    let name = program.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.starts_with("jit_") || name.starts_with("hot_") {
        modes.push(Mode::DeoptGcStress);
    }
    modes
}

/// The path relative to the crate root, as reports show it.
fn shown(program: &Path) -> String {
    program.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(program).display().to_string()
}

fn program_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/programs exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ruff"))
        .collect();
    files.sort();
    files
}

#[test]
fn jit_modes_match_the_interpreter() {
    let files = program_files();
    assert!(files.len() >= MIN_PROGRAMS, "expected at least {} programs, found {}", MIN_PROGRAMS, files.len());
    let started = Instant::now();
    let mismatches = Mutex::new(Vec::new());
    let runs = AtomicUsize::new(0);
    let workers = for_each_in_parallel(&files, |program| {
        let reference = run(program, Mode::Interpreter);
        if reference.timed_out {
            let report = format!("== {} [{}]\n  {}\n", shown(program), Mode::Interpreter.label(), reference.status);
            mismatches.lock().expect("mismatch lock").push(report);
            return;
        }
        let modes = modes_for(program);
        for &mode in &modes {
            if let Some(report) = compare(&shown(program), mode, &reference, &run(program, mode)) {
                mismatches.lock().expect("mismatch lock").push(report);
            }
        }
        runs.fetch_add(1 + modes.len(), Ordering::Relaxed);
    });
    let mut mismatches = mismatches.into_inner().expect("mismatch lock");
    mismatches.sort();
    eprintln!(
        "differential: {} programs, {} runs on {} workers in {:.1} s",
        files.len(),
        runs.into_inner(),
        workers,
        started.elapsed().as_secs_f64()
    );
    assert!(mismatches.is_empty(), "{} JIT runs differ from --no-jit:\n\n{}", mismatches.len(), mismatches.join("\n"));
}
