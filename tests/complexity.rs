//! Complexity checks of the value-semantics write idioms (DESIGN.md, "Value semantics"):
//! every `tests/complexity/NAME.ruff` starts with `N := 1000` and prints, as its last
//! line, the milliseconds its measured part took. The test runs it at `N` = n and 4n and
//! requires the time to grow less than 8x (linear work grows 4x; a hidden copy of the
//! whole container per write grows 16x), with the JIT off and on.
//!
//! A check of complexity, not of speed: each size runs five times and the fastest run
//! counts, so a noisy machine slows both sizes alike. A 4n run under `FAST_ENOUGH_MS` passes
//! whatever the ratio: at 4n = 200,000 elements a copy per write would take seconds.

use std::path::{Path, PathBuf};
use std::process::Command;

const SMALL: usize = 50_000;
const RUNS: usize = 5;
const MAX_RATIO: f64 = 8.0;
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

/// The fastest of `RUNS` runs of `source` with its `N` set to `n`, in milliseconds.
fn measured_ms(program: &Path, source: &str, n: usize, jit: bool) -> Result<f64, String> {
    let sized = source.replacen("N := 1000", &format!("N := {}", n), 1);
    let dir = std::env::temp_dir().join(format!("ruff-complexity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(program.file_name().expect("a file name"));
    std::fs::write(&file, sized).map_err(|e| e.to_string())?;
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ruff"));
        command.arg("run");
        if !jit {
            command.arg("--no-jit");
        }
        let output = command.arg(&file).output().map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!("exit {:?}: {}", output.status.code(), String::from_utf8_lossy(&output.stderr)));
        }
        let ms: f64 = stdout
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("the last line is not a time: {:?}", stdout))?;
        best = best.min(ms);
    }
    Ok(best)
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
            let sizes = measured_ms(&program, &source, SMALL, jit)
                .and_then(|small| Ok((small, measured_ms(&program, &source, 4 * SMALL, jit)?)));
            match sizes {
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
