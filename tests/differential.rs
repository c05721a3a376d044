//! Differential test of the tracing JIT against the interpreter: every
//! `tests/programs/*.ruff` runs through the built `ruff` binary with `--no-jit` (the
//! reference) and then in each JIT mode; stdout, stderr and the exit status of every JIT
//! run must equal the reference byte for byte.
//!
//! Modes (see [`Mode`]): the default threshold; `--jit-threshold 1` (every loop is
//! recorded at its first back-edge, so even short loops run on traces); the same with
//! `RUFF_DEOPT_STRESS=1` (every guard fails once, so every snapshot is restored at least
//! once); and, for the `jit_*` and `hot_*` programs only (to bound the running time), the
//! deopt-stress mode again under `RUFF_GC_STRESS=1`.
//!
//! Programs run in parallel on `available_parallelism()` workers; each run has a time
//! limit so that a JIT that loops forever fails the test instead of hanging it (a
//! `--no-jit` run over the limit is a failure too). Every mismatch is collected and
//! reported (program, mode, short diff) before failing.

#[path = "../src/bin/ruff-fuzz/diff.rs"]
mod diff;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest a single run may take (the slowest corpus program takes well under a second
/// in a release build; debug builds and GC stress are several times slower).
const RUN_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Fewest programs the corpus must hold, so that a wrong directory cannot pass vacuously.
const MIN_PROGRAMS: usize = 150;

/// Lines of each side shown in a diff before it is cut short.
const DIFF_LINES: usize = 8;

/// How a program is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `--no-jit`: the reference every other mode is compared with.
    Interpreter,
    /// The JIT with its default threshold.
    JitDefault,
    /// `--jit-threshold 1`.
    JitThreshold1,
    /// `--jit-threshold 1` with `RUFF_DEOPT_STRESS=1`.
    DeoptStress,
    /// `--jit-threshold 1` with `RUFF_DEOPT_STRESS=1` and `RUFF_GC_STRESS=1`.
    DeoptGcStress,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Interpreter => "--no-jit",
            Mode::JitDefault => "default",
            Mode::JitThreshold1 => "--jit-threshold 1",
            Mode::DeoptStress => "--jit-threshold 1, RUFF_DEOPT_STRESS=1",
            Mode::DeoptGcStress => "--jit-threshold 1, RUFF_DEOPT_STRESS=1, RUFF_GC_STRESS=1",
        }
    }

    fn command(self, program: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ruff"));
        command.arg("run");
        // The caller's environment must not turn a stress mode on for every run.
        command.env_remove("RUFF_DEOPT_STRESS").env_remove("RUFF_GC_STRESS");
        match self {
            Mode::Interpreter => {
                command.arg("--no-jit");
            }
            Mode::JitDefault => {}
            Mode::JitThreshold1 => {
                command.args(["--jit-threshold", "1"]);
            }
            Mode::DeoptStress => {
                command.args(["--jit-threshold", "1"]).env("RUFF_DEOPT_STRESS", "1");
            }
            Mode::DeoptGcStress => {
                command.args(["--jit-threshold", "1"]).env("RUFF_DEOPT_STRESS", "1").env("RUFF_GC_STRESS", "1");
            }
        }
        command.arg(program);
        command
    }
}

/// The JIT modes a program is compared in.
fn modes_for(program: &Path) -> Vec<Mode> {
    let mut modes = vec![Mode::JitDefault, Mode::JitThreshold1, Mode::DeoptStress];
    let name = program.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.starts_with("jit_") || name.starts_with("hot_") {
        modes.push(Mode::DeoptGcStress);
    }
    modes
}

/// What one run produced.
#[derive(PartialEq, Eq)]
struct Outcome {
    stdout: String,
    stderr: String,
    /// `exit status: 4`, `signal: 11 (SIGSEGV)`, or a time-out notice.
    status: String,
    timed_out: bool,
}

fn run(program: &Path, mode: Mode) -> Outcome {
    let mut child = mode
        .command(program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ruff binary starts");
    // Drain both pipes on threads so that a chatty child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("readable child pipe");
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let mut poll = Duration::from_millis(1);
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("waitable child") {
            break (status.to_string(), false);
        }
        if started.elapsed() > RUN_TIME_LIMIT {
            child.kill().expect("killable child");
            child.wait().expect("waitable child");
            break (format!("killed after the time limit of {} s", RUN_TIME_LIMIT.as_secs()), true);
        }
        std::thread::sleep(poll);
        poll = (poll * 2).min(Duration::from_millis(20));
    };
    Outcome {
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        status,
        timed_out,
    }
}

/// Describes how `actual` differs from the reference, or `None` when it does not.
fn compare(program: &Path, mode: Mode, reference: &Outcome, actual: &Outcome) -> Option<String> {
    if actual == reference {
        return None;
    }
    let mut report = format!("== {} [{}]\n", shown(program), mode.label());
    if actual.status != reference.status {
        report.push_str(&format!("  status: {} (--no-jit: {})\n", actual.status, reference.status));
    }
    for (stream, want, got) in
        [("stdout", &reference.stdout, &actual.stdout), ("stderr", &reference.stderr, &actual.stderr)]
    {
        if want != got {
            report.push_str(&format!(
                "  {} differs (- --no-jit, + this mode):\n{}",
                stream,
                diff::short_diff(want, got, DIFF_LINES)
            ));
        }
    }
    Some(report)
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
    let queue = Mutex::new(files.iter());
    let mismatches = Mutex::new(Vec::new());
    let runs = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue.lock().expect("queue lock").next();
                let Some(program) = next else { break };
                let reference = run(program, Mode::Interpreter);
                if reference.timed_out {
                    let report =
                        format!("== {} [{}]\n  {}\n", shown(program), Mode::Interpreter.label(), reference.status);
                    mismatches.lock().expect("mismatch lock").push(report);
                    continue;
                }
                let modes = modes_for(program);
                for &mode in &modes {
                    if let Some(report) = compare(program, mode, &reference, &run(program, mode)) {
                        mismatches.lock().expect("mismatch lock").push(report);
                    }
                }
                runs.fetch_add(1 + modes.len(), Ordering::Relaxed);
            });
        }
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
