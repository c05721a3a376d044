//! Golden programs: every `tests/programs/NAME.ruff` runs through the built `ruff` binary
//! and must print exactly `NAME.out`; when `NAME.err` exists its first line is the
//! expected first stderr line (a trailing `*` means "starts with") and its second line
//! `exit: N` the exit status, otherwise the run must succeed with empty stderr.
//!
//! Each program runs normally and again with `RUFF_GC_STRESS=1`. `RUFF_BLESS=1`
//! rewrites the `.out` files from the normal run (review the diff by hand).

mod parallel;

use parallel::for_each_in_parallel;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

struct Expectation {
    stdout: String,
    first_stderr_line: Option<String>,
    exit_status: i32,
}

fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs")
}

fn program_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(programs_dir())
        .expect("tests/programs exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ruff"))
        .collect();
    files.sort();
    files
}

fn expectation(program: &Path) -> Expectation {
    let stdout = std::fs::read_to_string(program.with_extension("out"))
        .unwrap_or_else(|_| panic!("{} has no .out file", program.display()));
    match std::fs::read_to_string(program.with_extension("err")) {
        Ok(err) => {
            let mut lines = err.lines();
            let first = lines.next().unwrap_or_default().to_string();
            let status = lines
                .next()
                .and_then(|l| l.strip_prefix("exit: "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{}.err needs a second line `exit: N`", program.display()));
            Expectation { stdout, first_stderr_line: Some(first), exit_status: status }
        }
        Err(_) => Expectation { stdout, first_stderr_line: None, exit_status: 0 },
    }
}

/// Runs one program; returns a description of every mismatch.
fn check(program: &Path, gc_stress: bool, bless: bool) -> Option<String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ruff"));
    command.arg("run").arg(program);
    if gc_stress {
        command.env("RUFF_GC_STRESS", "1");
    }
    let output = command.output().expect("the ruff binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let status = output.status.code().unwrap_or(-1);
    if bless && !gc_stress {
        std::fs::write(program.with_extension("out"), &stdout).expect("writable .out");
    }
    let expected = expectation(program);
    let mut problems = Vec::new();
    if stdout != expected.stdout {
        problems.push(format!("stdout differs\n--- expected\n{}--- actual\n{}", expected.stdout, stdout));
    }
    if status != expected.exit_status {
        problems.push(format!("exit status {} (expected {})", status, expected.exit_status));
    }
    let first_line = stderr.lines().next().unwrap_or_default();
    match &expected.first_stderr_line {
        None if !stderr.is_empty() => problems.push(format!("unexpected stderr:\n{}", stderr)),
        Some(want) => {
            let matches = match want.strip_suffix('*') {
                Some(prefix) => first_line.starts_with(prefix),
                None => first_line == want,
            };
            if !matches {
                problems.push(format!(
                    "first stderr line {:?} (expected {:?})\nfull stderr:\n{}",
                    first_line, want, stderr
                ));
            }
        }
        None => {}
    }
    if problems.is_empty() {
        None
    } else {
        let mode = if gc_stress { " [RUFF_GC_STRESS=1]" } else { "" };
        Some(format!("== {}{}\n{}", program.display(), mode, problems.join("\n")))
    }
}

fn run_corpus(gc_stress: bool) {
    let bless = std::env::var("RUFF_BLESS").is_ok_and(|v| v == "1");
    let files = program_files();
    assert!(files.len() >= 150, "the corpus should hold at least 150 programs, found {}", files.len());
    let failures = Mutex::new(Vec::new());
    for_each_in_parallel(&files, |program| {
        if let Some(failure) = check(program, gc_stress, bless) {
            failures.lock().expect("failure lock").push(failure);
        }
    });
    let mut failures = failures.into_inner().expect("failure lock");
    failures.sort();
    assert!(failures.is_empty(), "{} of {} programs failed:\n\n{}", failures.len(), files.len(), failures.join("\n\n"));
}

#[test]
fn corpus() {
    run_corpus(false);
}

#[test]
fn corpus_under_gc_stress() {
    run_corpus(true);
}
