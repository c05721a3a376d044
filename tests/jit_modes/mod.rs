//! The differential run shared by `tests/differential.rs` (the golden programs) and
//! `tests/corpus.rs` (the shared corpus at reduced sizes): the JIT modes a program is
//! compared in, one run of the built `ruff` binary in a mode, and the comparison of a JIT
//! run with the `--no-jit` reference.
//!
//! Terms: the *reference* is the `--no-jit` run; a *mismatch* is a JIT run whose
//! stdout, stderr or exit status differs from it byte for byte. Every run has a time
//! limit so that a JIT that loops forever fails the test instead of hanging it.

#[path = "../../src/bin/ruff-fuzz/diff.rs"]
mod diff;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a single run may take (the slowest program takes a few seconds in a release
/// build under GC stress; debug builds are several times slower).
const RUN_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Lines of each side shown in a diff before it is cut short.
const DIFF_LINES: usize = 8;

/// How a program is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
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
    pub fn label(self) -> &'static str {
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
        // A trace the assembler rejects is a JIT bug, never an abort to shrug off.
        command.env("RUFF_JIT_STRICT", "1");
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

/// What one run produced.
#[derive(PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// `exit status: 4`, `signal: 11 (SIGSEGV)`, or a time-out notice.
    pub status: String,
    pub timed_out: bool,
}

pub fn run(program: &Path, mode: Mode) -> Outcome {
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

/// Describes how `actual` differs from the reference, or `None` when it does not;
/// `shown` names the program in the report.
pub fn compare(shown: &str, mode: Mode, reference: &Outcome, actual: &Outcome) -> Option<String> {
    if actual == reference {
        return None;
    }
    let mut report = format!("== {} [{}]\n", shown, mode.label());
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
