//! The differential program fuzzer on a fixed batch: `ruff-fuzz programs` generates
//! programs from fixed seeds and runs each through the built `ruff` binary in every mode
//! (`--no-jit` as the reference; default, `--jit-threshold 1`, deopt stress, GC stress,
//! small `--max-call-depth` modes, and tiny `--jit-code-limit` modes when the binary has
//! that option). Any mode that disagrees with the reference fails
//! the test, which shows the fuzzer's report: the seed, the mode, the difference and
//! the shrunk program (shrunk programs go to a temporary directory, not to
//! tests/programs).
//!
//! [`KNOWN_JIT_BUGS`] lists the seeds of the batch that show a JIT bug not fixed yet,
//! each with the regression program that reproduces it. The test fails when any other
//! seed disagrees, and also when a listed seed agrees again: then the bug is fixed and
//! its entry must go.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// Enough programs to cover every generator feature in several combinations, few
/// enough to finish in well under a minute on two cores.
const PROGRAMS: &str = "300";

/// Seeds of the batch that disagree because of a known, unfixed JIT bug, and the
/// regression program in tests/programs that shows the bug without flags. A change to
/// the generator changes every seed's program, so this list is rebuilt with it.
const KNOWN_JIT_BUGS: &[(u64, &str)] = &[];

#[test]
fn fixed_seed_batch_agrees_in_every_mode() {
    let save_dir: PathBuf = std::env::temp_dir().join(format!("ruff-fuzz-test-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_ruff-fuzz"))
        .args(["programs", "--seed", "1", "--count", PROGRAMS, "--jobs", "2"])
        .arg("--ruff")
        .arg(env!("CARGO_BIN_EXE_ruff"))
        .arg("--save")
        .arg(&save_dir)
        .output()
        .expect("the ruff-fuzz binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout.lines().last().unwrap_or_default();
    let mismatching: BTreeSet<u64> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("MISMATCH: seed "))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .collect();
    let known: BTreeSet<u64> = KNOWN_JIT_BUGS.iter().map(|(seed, _)| *seed).collect();
    let completed = summary.starts_with(&format!("programs: {} generated", PROGRAMS));
    let passed = completed && mismatching == known;
    if passed {
        let _ = std::fs::remove_dir_all(&save_dir);
    }
    let fixed: Vec<String> = KNOWN_JIT_BUGS
        .iter()
        .filter(|(seed, _)| !mismatching.contains(seed))
        .map(|(seed, program)| format!("seed {} ({})", seed, program))
        .collect();
    assert!(
        passed,
        "ruff-fuzz: mismatching seeds {:?}, known JIT bugs {:?}{} ({}; shrunk programs kept in {}):\n{}\n{}",
        mismatching,
        known,
        if fixed.is_empty() {
            String::new()
        } else {
            format!("; these agree now, remove them from KNOWN_JIT_BUGS: {}", fixed.join(", "))
        },
        output.status,
        save_dir.display(),
        stdout,
        stderr
    );
}

/// A run over the time limit is killed at the limit and counted as a timeout, never waited
/// for: a stand-in `ruff` that hangs on every program (it answers `run --help` so the
/// fuzzer's option probe finishes).
#[test]
fn a_run_over_the_time_limit_is_killed_and_counted() {
    let dir = std::env::temp_dir().join(format!("ruff-fuzz-hang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let hanging_ruff = dir.join("ruff");
    std::fs::write(
        &hanging_ruff,
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = --help ] && exit 0; done\nexec sleep 600\n",
    )
    .expect("the stand-in is written");
    let made_executable = Command::new("chmod").arg("+x").arg(&hanging_ruff).status();
    assert!(made_executable.is_ok_and(|status| status.success()));
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_ruff-fuzz"))
        .args(["programs", "--seed", "1", "--count", "1", "--jobs", "1", "--modes", "default", "--timeout", "1"])
        .args(["--no-shrink", "--ruff"])
        .arg(&hanging_ruff)
        .arg("--save")
        .arg(&dir)
        .output()
        .expect("the ruff-fuzz binary runs");
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("0 mismatches, 1 timeouts"), "{}", stdout);
    assert!(elapsed.as_secs() < 60, "the hanging runs were waited for: {:?}", elapsed);
}
