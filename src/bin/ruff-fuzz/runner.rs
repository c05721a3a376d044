//! Running the `ruff` binary on a program file in one configuration, with a time limit.
//!
//! Terms: a [`RunSpec`] is the command-line arguments and environment of one run; an
//! [`Outcome`] is what the run produced. Two outcomes *agree* when stdout, stderr and
//! the exit status are byte-for-byte equal; a timed-out outcome agrees with nothing.
//! Invariant: the caller's `RUFF_DEOPT_STRESS` and `RUFF_GC_STRESS` never leak into a
//! run; only the spec turns them on.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSpec {
    /// Arguments between `run` and the file name.
    pub args: Vec<String>,
    pub env: Vec<(&'static str, &'static str)>,
}

impl RunSpec {
    /// How to reproduce the run by hand, e.g. `RUFF_GC_STRESS=1 ruff run --jit-threshold 1`.
    pub fn describe(&self) -> String {
        let mut words: Vec<String> = self.env.iter().map(|(k, v)| format!("{}={}", k, v)).collect();
        words.push("ruff run".to_string());
        words.extend(self.args.iter().cloned());
        words.join(" ")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// The exit code, or `None` when the process died from a signal or timed out.
    pub code: Option<i32>,
    /// `exit status: 4`, `signal: 11 (SIGSEGV)`, or the time-out notice.
    pub status: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn agrees_with(&self, other: &Outcome) -> bool {
        !self.timed_out
            && !other.timed_out
            && self.stdout == other.stdout
            && self.stderr == other.stderr
            && self.status == other.status
    }
}

/// The standard input of every run, for programs that call `input`: lines, two of them no
/// UTF-8 (a read that fails after the prompt was written), then the end of input.
const STDIN: &[u8] = b"alpha\nbeta\r\n\xff bad\n\ngamma delta\n42\n\xc3\x28\n-7.5\nlast\n";

pub fn run(ruff: &Path, program: &Path, spec: &RunSpec, limit: Duration) -> Outcome {
    let mut command = Command::new(ruff);
    command.arg("run").args(&spec.args).arg(program);
    command.env_remove("RUFF_DEOPT_STRESS").env_remove("RUFF_GC_STRESS");
    // A trace the JIT's assembler rejects is a bug to report, not an abort to shrug off.
    command.env("RUFF_JIT_STRICT", "1");
    for (key, value) in &spec.env {
        command.env(key, value);
    }
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {}", ruff.display(), e));
    // Both pipes are drained on threads so that a chatty child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    // A program that never reads closes the pipe: not a failure.
    std::thread::spawn(move || stdin.write_all(STDIN));
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    // A thread waits for the child and reports its status, so a run's end is seen at once
    // (no polling interval added to each of the many short runs); the child is killed if
    // the report does not come within the limit.
    let pid = child.id();
    let (report, exited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = report.send(child.wait());
    });
    let (code, status, timed_out) = match exited.recv_timeout(limit) {
        Ok(status) => {
            let status = status.expect("waitable child");
            (status.code(), status.to_string(), false)
        }
        Err(_) => {
            // Killed by pid (the waiting thread owns the `Child`): the thread has not reported,
            // so it has not reaped the child and the pid still names it, barring the instant
            // between the limit and a reap at that very moment.
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            let _ = exited.recv();
            (None, format!("killed after the time limit of {} s", limit.as_secs_f64()), true)
        }
    };
    Outcome {
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        code,
        status,
        timed_out,
        elapsed: started.elapsed(),
    }
}
