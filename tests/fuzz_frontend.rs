//! A fixed-seed batch of the front-end fuzzer (`ruff-fuzz frontend`): mutated and random
//! sources through in-process parsing and compiling and through the real `ruff check`
//! and `ruff run` binaries must never panic, crash or hang, and must always report
//! located errors with the documented exit statuses. Big batches are run by hand (see
//! README.md); this one keeps the harness itself working and guards against regressions
//! on the inputs it covers.

use std::path::Path;
use std::process::Command;

#[test]
fn frontend_fuzzer_batch_finds_nothing() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let output = Command::new(env!("CARGO_BIN_EXE_ruff-fuzz"))
        .args(["frontend", "--seed", "20261121", "--count", "1000", "--binary-every", "4"])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--ruff")
        .arg(env!("CARGO_BIN_EXE_ruff"))
        .output()
        .expect("ruff-fuzz runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the fuzzer found failures:\n{}{}", stdout, stderr);
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("frontend: 1000 inputs,") && summary.contains(" 0 crashes, 0 panics, 0 hangs,"),
        "unexpected summary: {}",
        summary
    );
}
