//! The front-end fuzzer: mutated and random sources through `ruff check` and `ruff run`.
//!
//! Owns the driver (parent) and the worker protocol. Every input is parsed and compiled
//! in-process, in a worker child process that is this executable re-run with the hidden
//! `--worker` flag: a panic is caught there and reported, while a native stack overflow,
//! a signal or a hang takes down or stalls only the worker, which the parent notices,
//! blames on the exact input in flight, and replaces. A sample of the inputs also goes
//! through the real `ruff` binary: `check`, and when that succeeds `run --no-jit`, `run`
//! and `run --jit-threshold 1` (every loop and function compiled) under a time limit (an endless loop is a legal program, so a `run` timeout is
//! counted, not a failure).
//!
//! Invariants:
//! * What passes: no panic, crash or hang; every syntax error, runtime error and warning
//!   starts with its kind (`Syntax Error: `, ...) and is followed by a
//!   `  --> FILE:LINE:COLUMN` line that points into the file; exit statuses are the
//!   documented ones (0 ok, 1 unreadable, 3 syntax error, 4 runtime error) and agree
//!   with the in-process verdict.
//! * Input `I` of seed `S` is the same on every run (`mutate`), so a reported failure is
//!   reproduced by `--seed S --first I --count 1`; `--save DIR` also keeps the input.
//! * Worker protocol, over the worker's stdin and stdout: the parent sends a
//!   little-endian `u32` length and the input bytes; the worker answers each input with
//!   one verdict byte, a `u32` length and a UTF-8 message, before reading the next.

mod mutate;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mutate::{Generator, Rng};

#[derive(clap::Args)]
pub struct Args {
    /// Seed of the run: input I of seed S is the same on every run
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of inputs to try
    #[arg(long, default_value_t = 10_000)]
    count: u64,
    /// Index of the first input (with --count 1, reproduces one reported input)
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// Directory of seed programs (every *.ruff file in it)
    #[arg(long, value_name = "DIR", default_value = "tests/programs")]
    corpus: PathBuf,
    /// The `ruff` binary for the sampled real runs [default: `ruff` next to this executable]
    #[arg(long, value_name = "PATH")]
    ruff: Option<PathBuf>,
    /// Time one parse and compile, in-process or by `ruff check`, may take before it
    /// counts as a hang (generous: a loaded machine must not produce false hangs)
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    time_limit_ms: u64,
    /// Time one `ruff run` may take; past it the run counts as a timeout, not a failure
    #[arg(long, value_name = "MS", default_value_t = 2_000)]
    run_time_limit_ms: u64,
    /// One input in N that compiles (on average), and one in 10·N of the others, also
    /// goes through the real binary
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    binary_every: u64,
    /// Save every failing input, and a description of the failure, into DIR
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
    /// Worker processes (and driver threads) running in parallel
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    jobs: u64,
    /// Run as a worker: read inputs on stdin, answer verdicts on stdout
    #[arg(long, hide = true)]
    worker: bool,
}

/// The file name in-process diagnostics are rendered with.
const IN_PROCESS_FILE: &str = "fuzz.ruff";

/// Native stack of the worker's checking thread. Less than the `ruff` binary's 1 GB, so
/// that a construct hungry for stack shows up here long before it could crash `ruff`,
/// but above the 64 MB the parser documents as what its deepest accepted input needs.
const WORKER_STACK_BYTES: usize = 64 << 20;

/// Inputs between two progress lines on stderr.
const PROGRESS_EVERY: u64 = 10_000;

/// Bytes of a subprocess's stdout or stderr kept for checking; the rest is read and
/// dropped, so a program printing in an endless loop cannot fill memory.
const OUTPUT_KEPT_BYTES: usize = 64 << 10;

pub fn run(args: Args) -> ExitCode {
    if args.worker {
        return worker_main();
    }
    match Driver::new(args) {
        Ok(driver) => driver.run(),
        Err(message) => {
            eprintln!("ruff-fuzz frontend: {}", message);
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Worker side

/// Verdict bytes of the worker protocol.
const VERDICT_OK: u8 = 0;
const VERDICT_SYNTAX_ERROR: u8 = 1;
const VERDICT_NOT_UTF8: u8 = 2;
const VERDICT_PANIC: u8 = 3;
const VERDICT_WRONG_FAILURE_KIND: u8 = 4;

/// The message of the last panic, recorded by the hook so the worker can report it
/// instead of printing it.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn worker_main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(info.to_string());
    }));
    let checker = std::thread::Builder::new().stack_size(WORKER_STACK_BYTES).spawn(worker_loop);
    match checker.map(|thread| thread.join()) {
        Ok(Ok(Ok(()))) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

fn worker_loop() -> io::Result<()> {
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    loop {
        let mut length = [0u8; 4];
        match stdin.read_exact(&mut length) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        }
        let mut input = vec![0; u32::from_le_bytes(length) as usize];
        stdin.read_exact(&mut input)?;
        let (verdict, message) = check_in_process(&input);
        stdout.write_all(&[verdict])?;
        stdout.write_all(&(message.len() as u32).to_le_bytes())?;
        stdout.write_all(message.as_bytes())?;
        stdout.flush()?;
    }
}

/// What `ruff check` does with a file, minus the file system: UTF-8 validation, then
/// `ruff::compile_source`. Warnings come back joined, each still starting with
/// `Warning: `.
fn check_in_process(input: &[u8]) -> (u8, String) {
    let Ok(source) = std::str::from_utf8(input) else {
        return (VERDICT_NOT_UTF8, String::new());
    };
    let compiled = std::panic::catch_unwind(|| {
        let mut heap = ruff::runtime::heap::Heap::default();
        ruff::compile_source(IN_PROCESS_FILE, source, &mut heap).map(|(_program, warnings)| warnings)
    });
    match compiled {
        Ok(Ok(warnings)) => (VERDICT_OK, warnings.concat()),
        Ok(Err(ruff::Failure::Syntax(message))) => (VERDICT_SYNTAX_ERROR, message),
        Ok(Err(ruff::Failure::Runtime(message))) => (VERDICT_WRONG_FAILURE_KIND, message),
        Err(_) => {
            let message = LAST_PANIC.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            (VERDICT_PANIC, message.unwrap_or_else(|| "panic without a message".to_owned()))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Driver side

#[derive(Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    Crash,
    Panic,
    Hang,
    BadDiagnostic,
}

impl FailureKind {
    fn name(self) -> &'static str {
        match self {
            FailureKind::Crash => "crash",
            FailureKind::Panic => "panic",
            FailureKind::Hang => "hang",
            FailureKind::BadDiagnostic => "bad diagnostic",
        }
    }
}

#[derive(Default)]
struct Counters {
    inputs: AtomicU64,
    /// Inputs that parse and compile.
    compiled: AtomicU64,
    check_runs: AtomicU64,
    run_runs: AtomicU64,
    run_timeouts: AtomicU64,
    crashes: AtomicU64,
    panics: AtomicU64,
    hangs: AtomicU64,
    bad_diagnostics: AtomicU64,
}

impl Counters {
    fn of(&self, kind: FailureKind) -> &AtomicU64 {
        match kind {
            FailureKind::Crash => &self.crashes,
            FailureKind::Panic => &self.panics,
            FailureKind::Hang => &self.hangs,
            FailureKind::BadDiagnostic => &self.bad_diagnostics,
        }
    }

    fn failures(&self) -> u64 {
        [&self.crashes, &self.panics, &self.hangs, &self.bad_diagnostics]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

struct Driver {
    args: Args,
    generator: Generator,
    worker_exe: PathBuf,
    ruff: PathBuf,
    next_index: AtomicU64,
    counters: Counters,
    started: Instant,
}

impl Driver {
    fn new(args: Args) -> Result<Driver, String> {
        let corpus = read_corpus(&args.corpus)?;
        let worker_exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {}", e))?;
        let ruff = match &args.ruff {
            Some(path) => path.clone(),
            None => worker_exe.with_file_name("ruff"),
        };
        if !ruff.is_file() {
            return Err(format!("no ruff binary at '{}' (give one with --ruff)", ruff.display()));
        }
        if let Some(dir) = &args.save {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create '{}': {}", dir.display(), e))?;
        }
        let next_index = AtomicU64::new(args.first);
        Ok(Driver {
            args,
            generator: Generator::new(corpus),
            worker_exe,
            ruff,
            next_index,
            counters: Counters::default(),
            started: Instant::now(),
        })
    }

    fn run(&self) -> ExitCode {
        let outcomes: Vec<Result<(), String>> = std::thread::scope(|scope| {
            let jobs: Vec<_> = (0..self.args.jobs).map(|job| scope.spawn(move || self.job(job))).collect();
            jobs.into_iter()
                .map(|job| job.join().unwrap_or_else(|_| Err("a driver thread panicked".to_owned())))
                .collect()
        });
        let c = &self.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        println!(
            "frontend: {} inputs, {} check runs, {} run runs, {} crashes, {} panics, {} hangs, {} bad diagnostics, \
             {} timeouts (run), seed {}",
            load(&c.inputs),
            load(&c.check_runs),
            load(&c.run_runs),
            load(&c.crashes),
            load(&c.panics),
            load(&c.hangs),
            load(&c.bad_diagnostics),
            load(&c.run_timeouts),
            self.args.seed
        );
        let mut broken = false;
        for error in outcomes.iter().filter_map(|outcome| outcome.as_ref().err()) {
            eprintln!("ruff-fuzz frontend: {}", error);
            broken = true;
        }
        if broken {
            ExitCode::from(2)
        } else if c.failures() > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }

    /// One driver thread: its own worker and scratch file, inputs taken as they come.
    fn job(&self, job: u64) -> Result<(), String> {
        let scratch = std::env::temp_dir().join(format!("ruff-fuzz-frontend-{}-{}", std::process::id(), job));
        std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create '{}': {}", scratch.display(), e))?;
        let scratch_file = scratch.join("input.ruff");
        let mut worker = None;
        let end = self.args.first.saturating_add(self.args.count);
        let outcome = loop {
            let index = self.next_index.fetch_add(1, Ordering::Relaxed);
            if index >= end {
                break Ok(());
            }
            let input = self.generator.input(self.args.seed, index);
            if let Err(e) = self.try_input(&mut worker, index, &input, &scratch_file) {
                break Err(e);
            }
            let done = self.counters.inputs.fetch_add(1, Ordering::Relaxed) + 1;
            if done.is_multiple_of(PROGRESS_EVERY) {
                self.progress(done);
            }
        };
        if let Some(worker) = worker {
            worker.stop();
        }
        let _ = std::fs::remove_dir_all(&scratch);
        outcome
    }

    fn worker_command(&self) -> Command {
        let mut command = Command::new(&self.worker_exe);
        command.args(["frontend", "--worker"]);
        command
    }

    fn progress(&self, done: u64) {
        let c = &self.counters;
        eprintln!(
            "frontend: {}/{} inputs in {:.0} s, {} compile, {} run runs, {} failures, {} timeouts (run)",
            done,
            self.args.count,
            self.started.elapsed().as_secs_f64(),
            c.compiled.load(Ordering::Relaxed),
            c.run_runs.load(Ordering::Relaxed),
            c.failures(),
            c.run_timeouts.load(Ordering::Relaxed)
        );
    }

    /// Checks one input in the worker and, if sampled, through the binary. Errors are
    /// the fuzzer's own trouble (no worker can start), not findings.
    fn try_input(
        &self,
        worker: &mut Option<Worker>,
        index: u64,
        input: &[u8],
        scratch_file: &Path,
    ) -> Result<(), String> {
        let live = match worker {
            Some(live) => live,
            None => worker
                .insert(Worker::start(self.worker_command()).map_err(|e| format!("cannot start a worker: {}", e))?),
        };
        self.counters.check_runs.fetch_add(1, Ordering::Relaxed);
        let verdict = match live.check(input, Duration::from_millis(self.args.time_limit_ms)) {
            Ok(verdict) => verdict,
            Err(lost) => {
                let description = worker.take().map(|w| w.collect(lost)).unwrap_or_default();
                let kind = if lost == Lost::Hang { FailureKind::Hang } else { FailureKind::Crash };
                self.fail(kind, index, input, &format!("in-process check: {}", description));
                return Ok(());
            }
        };
        if let Err((kind, description)) = judge_in_process(&verdict, input) {
            self.fail(kind, index, input, &format!("in-process check: {}", description));
            return Ok(());
        }
        if verdict.code == VERDICT_OK {
            self.counters.compiled.fetch_add(1, Ordering::Relaxed);
        }
        let mut sampling = if verdict.code == VERDICT_OK { 1 } else { 10 };
        sampling *= self.args.binary_every as usize;
        if Rng::for_input(!self.args.seed, index).one_in(sampling) {
            std::fs::write(scratch_file, input)
                .map_err(|e| format!("cannot write '{}': {}", scratch_file.display(), e))?;
            self.through_binary(index, input, &verdict, scratch_file);
        }
        Ok(())
    }

    /// `ruff check`, then for programs that check, `ruff run` without the JIT, with it, and
    /// with it at threshold 1.
    fn through_binary(&self, index: u64, input: &[u8], verdict: &Verdict, file: &Path) {
        self.counters.check_runs.fetch_add(1, Ordering::Relaxed);
        let check_limit = Duration::from_millis(self.args.time_limit_ms);
        let check = match run_with_limit(Command::new(&self.ruff).arg("check").arg(file), check_limit) {
            Ok(Some(finished)) => finished,
            Ok(None) => return self.fail(FailureKind::Hang, index, input, "`ruff check` exceeded the time limit"),
            Err(e) => {
                return self.fail(FailureKind::Crash, index, input, &format!("`ruff check` did not start: {}", e))
            }
        };
        if let Err((kind, description)) = judge_check(&check, verdict, file, input) {
            return self.fail(kind, index, input, &format!("`ruff check`: {}", description));
        }
        if verdict.code != VERDICT_OK {
            return;
        }
        let run_limit = Duration::from_millis(self.args.run_time_limit_ms);
        for mode in [&["run", "--no-jit"][..], &["run"][..], &["run", "--jit-threshold", "1"][..]] {
            self.counters.run_runs.fetch_add(1, Ordering::Relaxed);
            let command = format!("`ruff {}`", mode.join(" "));
            match run_with_limit(Command::new(&self.ruff).args(mode).arg(file), run_limit) {
                Ok(Some(finished)) => {
                    if let Err((kind, description)) = judge_run(&finished, file, input) {
                        self.fail(kind, index, input, &format!("{}: {}", command, description));
                    }
                }
                Ok(None) => {
                    self.counters.run_timeouts.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => self.fail(FailureKind::Crash, index, input, &format!("{} did not start: {}", command, e)),
            }
        }
    }

    fn fail(&self, kind: FailureKind, index: u64, input: &[u8], description: &str) {
        self.counters.of(kind).fetch_add(1, Ordering::Relaxed);
        let seed = self.args.seed;
        eprintln!(
            "frontend: {} at input {} of seed {} ({} bytes; reproduce with --seed {} --first {} --count 1): {}",
            kind.name(),
            index,
            seed,
            input.len(),
            seed,
            index,
            description
        );
        if let Some(dir) = &self.args.save {
            let stem = dir.join(format!("frontend-seed{}-input{}", seed, index));
            let saved = std::fs::write(stem.with_extension("ruff"), input).and_then(|()| {
                std::fs::write(stem.with_extension("txt"), format!("{}: {}\n", kind.name(), description))
            });
            if let Err(e) = saved {
                eprintln!("frontend: cannot save into '{}': {}", dir.display(), e);
            }
        }
    }
}

fn read_corpus(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read corpus '{}': {}", dir.display(), e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ruff"))
        .collect();
    if paths.is_empty() {
        return Err(format!("no *.ruff programs in corpus '{}'", dir.display()));
    }
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).map_err(|e| format!("cannot read '{}': {}", p.display(), e))).collect()
}

// ---------------------------------------------------------------------------------------
// Judging outcomes

/// A worker's answer for one input.
struct Verdict {
    code: u8,
    message: String,
}

type Judgement = Result<(), (FailureKind, String)>;

fn bad(description: String) -> Judgement {
    Err((FailureKind::BadDiagnostic, description))
}

fn judge_in_process(verdict: &Verdict, input: &[u8]) -> Judgement {
    let source = String::from_utf8_lossy(input);
    match verdict.code {
        VERDICT_OK => each_located(&verdict.message, "Warning: ", IN_PROCESS_FILE, &source),
        VERDICT_SYNTAX_ERROR => located(&verdict.message, "Syntax Error: ", IN_PROCESS_FILE, &source),
        VERDICT_NOT_UTF8 => Ok(()),
        VERDICT_PANIC => Err((FailureKind::Panic, verdict.message.clone())),
        _ => bad(format!("compiling returned a runtime failure: {}", verdict.message)),
    }
}

/// `ruff check` must agree with the in-process verdict, in exit status and messages.
fn judge_check(check: &Finished, verdict: &Verdict, file: &Path, input: &[u8]) -> Judgement {
    judge_process(check)?;
    let source = String::from_utf8_lossy(input);
    let shown = file.display().to_string();
    let (stdout, stderr) = (String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
    let status = check.status.code();
    match verdict.code {
        VERDICT_OK if status == Some(0) => {
            let expected_stdout =
                format!("{}: ok, {} warning(s)\n", shown, verdict.message.matches("Warning: ").count());
            if stdout != expected_stdout {
                return bad(format!("stdout {:?}, expected {:?}", stdout, expected_stdout));
            }
            // Only the first OUTPUT_KEPT_BYTES are kept: a cut last warning is not judged.
            let complete = if check.stderr.len() >= OUTPUT_KEPT_BYTES {
                &stderr[..stderr.rfind("\nWarning: ").map_or(0, |at| at + 1)]
            } else {
                &stderr[..]
            };
            each_located(complete, "Warning: ", &shown, &source)
        }
        VERDICT_SYNTAX_ERROR if status == Some(3) => located(&stderr, "Syntax Error: ", &shown, &source),
        VERDICT_NOT_UTF8 if status == Some(1) => {
            let expected = format!("ruff: cannot read '{}': not valid UTF-8", shown);
            if stderr.starts_with(&expected) {
                Ok(())
            } else {
                bad(format!("stderr {:?}, expected it to start with {:?}", stderr, expected))
            }
        }
        _ => bad(format!("exit status {:?} where the in-process verdict was {}", status, verdict.code)),
    }
}

/// `ruff run` of a program that checks: success with silent stderr, or a located runtime
/// error with status 4.
fn judge_run(run: &Finished, file: &Path, input: &[u8]) -> Judgement {
    judge_process(run)?;
    let stderr = String::from_utf8_lossy(&run.stderr);
    match run.status.code() {
        Some(0) if stderr.is_empty() => Ok(()),
        Some(0) => bad(format!("exit status 0 with stderr {:?}", stderr)),
        Some(4) => located(&stderr, "Runtime Error: ", &file.display().to_string(), &String::from_utf8_lossy(input)),
        other => bad(format!("exit status {:?} for a program that checks; stderr {:?}", other, stderr)),
    }
}

/// Failures any subprocess can show: death by signal and panics.
fn judge_process(finished: &Finished) -> Judgement {
    let stderr = String::from_utf8_lossy(&finished.stderr);
    if finished.status.code().is_none() {
        return Err((FailureKind::Crash, format!("{}; stderr {:?}", describe_status(finished.status), stderr)));
    }
    if stderr.contains("panicked at") || stderr.contains("ruff: internal error") {
        return Err((FailureKind::Panic, format!("{}; stderr {:?}", describe_status(finished.status), stderr)));
    }
    Ok(())
}

/// Every message in `messages` (concatenated; may be none) is located.
fn each_located(messages: &str, kind: &str, file: &str, source: &str) -> Judgement {
    let starts: Vec<usize> = messages
        .match_indices(kind)
        .map(|(at, _)| at)
        .filter(|&at| at == 0 || messages.as_bytes()[at - 1] == b'\n')
        .collect();
    if messages.is_empty() {
        return Ok(());
    }
    if starts.first() != Some(&0) {
        return bad(format!("expected messages starting with {:?}, got {:?}", kind, messages));
    }
    let ends = starts.iter().skip(1).copied().chain(std::iter::once(messages.len()));
    starts.iter().zip(ends).try_for_each(|(&start, end)| located(&messages[start..end], kind, file, source))
}

/// `message` is `KIND...` followed by `  --> FILE:LINE:COLUMN` with the line inside the
/// source (or just past its end, for an error at end of input) and a positive column.
/// The location is the first line starting with `  --> `, not always the second line: a
/// thrown string or a missing key may put newlines into the message itself.
fn located(message: &str, kind: &str, file: &str, source: &str) -> Judgement {
    if !message.starts_with(kind) {
        return bad(format!("expected a message starting with {:?}, got {:?}", kind, message));
    }
    let location_line = message.lines().skip(1).find(|line| line.starts_with("  --> "));
    let location = location_line.and_then(|line| line.strip_prefix(&format!("  --> {}:", file)));
    let position = location.and_then(|at| {
        let (line, column) = at.split_once(':')?;
        Some((line.parse::<usize>().ok()?, column.parse::<usize>().ok()?))
    });
    let last_line = source.lines().count() + 1;
    match position {
        Some((line, column)) if (1..=last_line).contains(&line) && column >= 1 => Ok(()),
        _ => bad(format!("message without a valid {}:LINE:COLUMN location: {:?}", file, message)),
    }
}

fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {}", signal);
        }
    }
    format!("{}", status)
}

// ---------------------------------------------------------------------------------------
// Processes

/// Why a worker gave no verdict.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lost {
    Hang,
    Died,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    verdicts: Receiver<Verdict>,
    stderr: OutputReader,
}

impl Worker {
    /// Starts `command` (this executable with `frontend --worker`, or a stand-in in
    /// tests) with its standard streams piped.
    fn start(mut command: Command) -> io::Result<Worker> {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let stderr = OutputReader::start(child.stderr.take().expect("stderr is piped"));
        let (sender, verdicts) = mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(verdict) = read_verdict(&mut stdout) {
                if sender.send(verdict).is_err() {
                    break;
                }
            }
        });
        Ok(Worker { child, stdin, verdicts, stderr })
    }

    fn check(&mut self, input: &[u8], limit: Duration) -> Result<Verdict, Lost> {
        let sent = self
            .stdin
            .write_all(&(input.len() as u32).to_le_bytes())
            .and_then(|()| self.stdin.write_all(input))
            .and_then(|()| self.stdin.flush());
        if sent.is_err() {
            return Err(Lost::Died);
        }
        match self.verdicts.recv_timeout(limit) {
            Ok(verdict) => Ok(verdict),
            Err(RecvTimeoutError::Timeout) => Err(Lost::Hang),
            Err(RecvTimeoutError::Disconnected) => Err(Lost::Died),
        }
    }

    /// Ends a worker that gave no verdict and describes how it ended.
    fn collect(mut self, lost: Lost) -> String {
        if lost == Lost::Hang {
            let _ = self.child.kill();
        }
        drop(self.stdin);
        let status = self.child.wait().map(describe_status).unwrap_or_else(|e| format!("wait failed: {}", e));
        let stderr = self.stderr.finish();
        match lost {
            Lost::Hang => format!("no verdict within the time limit; worker {}", status),
            Lost::Died => format!("worker {}; stderr {:?}", status, String::from_utf8_lossy(&stderr)),
        }
    }

    /// Ends a healthy worker: closing its stdin ends its loop.
    fn stop(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

fn read_verdict(stdout: &mut impl Read) -> io::Result<Verdict> {
    let mut header = [0u8; 5];
    stdout.read_exact(&mut header)?;
    let length = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let mut message = vec![0; length];
    stdout.read_exact(&mut message)?;
    Ok(Verdict { code: header[0], message: String::from_utf8_lossy(&message).into_owned() })
}

/// Reads a pipe to its end on a thread, keeping the first [`OUTPUT_KEPT_BYTES`].
struct OutputReader(std::thread::JoinHandle<Vec<u8>>);

impl OutputReader {
    fn start(mut pipe: impl Read + Send + 'static) -> OutputReader {
        OutputReader(std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buffer = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                let room = OUTPUT_KEPT_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
            kept
        }))
    }

    fn finish(self) -> Vec<u8> {
        self.0.join().unwrap_or_default()
    }
}

/// A subprocess that ended by itself.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs `command` with no stdin; `None` when it ran past `limit` and was killed.
fn run_with_limit(command: &mut Command, limit: Duration) -> io::Result<Option<Finished>> {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let stdout = OutputReader::start(child.stdout.take().expect("stdout is piped"));
    let stderr = OutputReader::start(child.stderr.take().expect("stderr is piped"));
    let started = Instant::now();
    let mut pause = Duration::from_micros(200);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let (stdout, stderr) = (stdout.finish(), stderr.finish());
    Ok(status.map(|status| Finished { status, stdout, stderr }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_messages_pass_and_unlocated_ones_fail() {
        let source = "x := 1\ny := (\n";
        assert!(located("Syntax Error: oops\n  --> f.ruff:2:6\n   |\n", "Syntax Error: ", "f.ruff", source).is_ok());
        assert!(located("Syntax Error: at end\n  --> f.ruff:3:1\n", "Syntax Error: ", "f.ruff", source).is_ok());
        assert!(located("Syntax Error: oops\n", "Syntax Error: ", "f.ruff", source).is_err());
        assert!(located("Syntax Error: oops\n  --> f.ruff:0:1\n", "Syntax Error: ", "f.ruff", source).is_err());
        assert!(located("Syntax Error: oops\n  --> f.ruff:9:1\n", "Syntax Error: ", "f.ruff", source).is_err());
        assert!(located("Runtime Error: x\n  --> f.ruff:1:1\n", "Syntax Error: ", "f.ruff", source).is_err());
        assert!(located("Runtime Error: a\nb\n  --> f.ruff:1:1\n", "Runtime Error: ", "f.ruff", source).is_ok());
        assert!(located("Runtime Error: a\nb\n  --> g.ruff:1:1\n", "Runtime Error: ", "f.ruff", source).is_err());
    }

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn a_worker_that_dies_or_stalls_is_noticed() {
        let mut dying = Worker::start(shell("head -c 1 >/dev/null; kill -SEGV $$")).expect("sh starts");
        let lost = dying.check(b"x", Duration::from_secs(30)).err().expect("no verdict");
        assert_eq!(lost, Lost::Died);
        assert!(dying.collect(lost).contains("signal 11"));
        let mut stalled = Worker::start(shell("exec sleep 30")).expect("sh starts");
        let lost = stalled.check(b"x", Duration::from_millis(100)).err().expect("no verdict");
        assert_eq!(lost, Lost::Hang);
        assert!(stalled.collect(lost).contains("signal 9"));
    }

    #[test]
    fn subprocess_crashes_panics_and_timeouts_are_told_apart() {
        let limit = Duration::from_secs(30);
        let crashed = run_with_limit(&mut shell("kill -SEGV $$"), limit).unwrap().expect("ends");
        assert!(matches!(judge_process(&crashed), Err((FailureKind::Crash, _))));
        let panicked = run_with_limit(&mut shell("echo 'panicked at src/x.rs' >&2; exit 101"), limit).unwrap();
        assert!(matches!(judge_process(&panicked.expect("ends")), Err((FailureKind::Panic, _))));
        assert!(run_with_limit(&mut shell("exec sleep 30"), Duration::from_millis(100)).unwrap().is_none());
        let unlocated = run_with_limit(&mut shell("echo 'Runtime Error: x' >&2; exit 4"), limit).unwrap();
        let judged = judge_run(&unlocated.expect("ends"), Path::new("f.ruff"), b"x");
        assert!(matches!(judged, Err((FailureKind::BadDiagnostic, _))));
    }

    #[test]
    fn every_warning_must_be_located() {
        let one = "Warning: a\n  --> f.ruff:1:1\n   |\n";
        let unlocated = "Warning: b\n";
        assert!(each_located("", "Warning: ", "f.ruff", "x").is_ok());
        assert!(each_located(&format!("{one}{one}"), "Warning: ", "f.ruff", "x").is_ok());
        assert!(each_located(&format!("{one}{unlocated}"), "Warning: ", "f.ruff", "x").is_err());
    }
}
