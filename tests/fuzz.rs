//! The differential program fuzzer on a fixed batch: `ruff-fuzz programs` generates
//! programs from fixed seeds and runs each through the built `ruff` binary in every mode
//! (`--no-jit` as the reference; default, `--jit-threshold 1`, deopt stress, GC stress
//! and small `--max-call-depth` modes). Any mode that disagrees with the reference fails
//! the test, which shows the fuzzer's report: the seed, the mode, the difference and
//! the shrunk program (shrunk programs go to a temporary directory, not to
//! tests/programs).

use std::path::PathBuf;
use std::process::Command;

/// Enough programs to cover every generator feature in several combinations, few
/// enough to finish in well under a minute on two cores.
const PROGRAMS: &str = "300";

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
    let passed = output.status.success() && summary.starts_with(&format!("programs: {} generated", PROGRAMS));
    if passed {
        let _ = std::fs::remove_dir_all(&save_dir);
    }
    assert!(
        passed,
        "ruff-fuzz found mismatches ({}; shrunk programs kept in {}):\n{}\n{}",
        output.status,
        save_dir.display(),
        stdout,
        stderr
    );
}
