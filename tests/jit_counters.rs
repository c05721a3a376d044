//! The counters of `--jit-stats` add up, on every program of `tests/programs`,
//! `../shared/bench` and `../shared/bench-awfy` (at small sizes), in every JIT mode.
//! Modes: default, `--jit-threshold 1`, deopt stress; on the `jit_*`/`hot_*` corpus
//! programs also deopt and GC stress together, and on those and the benchmarks a tiny
//! `--jit-code-limit` (every trace flushed and compiled again many times).
//!
//! - loop iterations: native + interpreted = the loop back-edges the interpreter takes
//!   when it runs the whole program (`--no-jit`, counted by the interpreter itself and
//!   printed with the hidden `--interpreter-counts`);
//! - function calls: made by native code + made by the interpreter = the calls of the
//!   `--no-jit` run;
//! - per trace: entries = exits + completions + runs unwound inside native calls, and
//!   exits taken to the interpreter never exceed the exits taken;
//! - deoptimizations = the exits that reached the exit handler, summed over traces.
//!
//! A program whose `--no-jit` output depends on the clock is left out (none is now).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Fewest programs the test must see, so that a wrong directory cannot pass vacuously.
const MIN_PROGRAMS: usize = 150;

/// Benchmarks run at 1/`SHRINK` of their size: every integer literal of 10,000 or more
/// in their code is divided by it, and `INNER := N` becomes `INNER := 1`.
const SHRINK: i64 = 100;

struct Counts {
    back_edges: u64,
    calls: u64,
}

/// Longest one run may take (the slowest takes a few seconds under GC stress); a run over
/// it fails the test instead of hanging it.
const RUN_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Runs `command` to its end, or kills it after `RUN_TIME_LIMIT` (then `None`).
fn output_within_limit(command: &mut Command) -> Option<Output> {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("ruff starts");
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ruff") {
            break Some(status);
        }
        if started.elapsed() > RUN_TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    status.map(|status| Output { status, stdout, stderr })
}

fn ruff() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ruff"));
    command.env_remove("RUFF_DEOPT_STRESS").env_remove("RUFF_GC_STRESS");
    command
}

/// The source of a benchmark at a small size.
fn shrunk(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        if line.trim_start().starts_with("INNER :=") {
            out.push_str("INNER := 1\n");
            continue;
        }
        let (code, comment) = match line.find('#') {
            Some(i) => line.split_at(i),
            None => (line, ""),
        };
        let mut digits = String::new();
        let mut in_string = false;
        for c in code.chars().chain(std::iter::once(' ')) {
            if c == '"' {
                in_string = !in_string;
            }
            let in_name = digits.is_empty() && out.ends_with(|p: char| p.is_alphanumeric() || p == '_');
            if c.is_ascii_digit() && !in_string && !in_name {
                digits.push(c);
                continue;
            }
            if !digits.is_empty() {
                let float_part = out.ends_with('.') || c == '.' || c == 'e';
                let shrunk_number = match digits.parse::<i64>() {
                    Ok(n) if n >= 10_000 && !float_part => (n / SHRINK).to_string(),
                    _ => digits.clone(),
                };
                out.push_str(&shrunk_number);
                digits.clear();
            }
            out.push(c);
        }
        out.pop();
        out.push_str(comment);
        out.push('\n');
    }
    out
}

fn programs() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut list: Vec<(String, PathBuf)> = std::fs::read_dir(root.join("tests/programs"))
        .expect("tests/programs exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ruff"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    let scratch = std::env::temp_dir().join(format!("ruff-jit-counters-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("temp dir");
    for suite in ["bench", "bench-awfy"] {
        let dir = root.join("..").join("shared").join(suite);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.expect("readable entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let program = path.join(format!("{}.ruff", name));
            let Ok(source) = std::fs::read_to_string(&program) else { continue };
            let copy = scratch.join(format!("{}-{}.ruff", suite, name));
            std::fs::write(&copy, shrunk(&source)).expect("temp file");
            list.push((format!("{}/{}", suite, name), copy));
        }
    }
    list.sort();
    list
}

/// The interpreter's own counts of a `--no-jit` run, with its stdout.
fn reference(program: &Path) -> (Counts, Vec<u8>) {
    let output = output_within_limit(ruff().args(["run", "--no-jit", "--interpreter-counts"]).arg(program))
        .unwrap_or_else(|| panic!("{}: the --no-jit run took over {:?}", program.display(), RUN_TIME_LIMIT));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().rev().find(|l| l.starts_with("interpreter: ")).expect("the counts are printed");
    let numbers: Vec<u64> = line.split(' ').filter_map(|w| w.parse().ok()).collect();
    (Counts { back_edges: numbers[0], calls: numbers[1] }, output.stdout)
}

fn number(value: &serde_json::Value, key: &str) -> u64 {
    value[key].as_u64().unwrap_or_else(|| panic!("`{}` is a count in {}", key, value))
}

/// Checks one JIT run's report against the reference; returns the mismatches.
fn check(name: &str, mode: &str, report: &serde_json::Value, counts: &Counts) -> Vec<String> {
    let mut wrong = Vec::new();
    let native = number(report, "native_iterations");
    let interpreted = number(report, "interpreted_iterations");
    if native + interpreted != counts.back_edges {
        wrong.push(format!(
            "{} ({}): iterations {} native + {} interpreted != {} back-edges without the JIT",
            name, mode, native, interpreted, counts.back_edges
        ));
    }
    let native_calls = number(report, "native_calls");
    let interpreted_calls = number(report, "interpreted_calls");
    if native_calls + interpreted_calls != counts.calls {
        wrong.push(format!(
            "{} ({}): calls {} native + {} interpreted != {} calls without the JIT",
            name, mode, native_calls, interpreted_calls, counts.calls
        ));
    }
    let mut to_interpreter = 0;
    for trace in report["traces"].as_array().expect("traces is an array") {
        let id = number(trace, "id");
        let entries = number(trace, "entries");
        let exits = number(trace, "exits_taken");
        let left = exits + number(trace, "completions") + number(trace, "calls_made") - number(trace, "calls_returned");
        if entries != left {
            wrong.push(format!(
                "{} ({}): trace {} entered {} times but left {} times: {}",
                name, mode, id, entries, left, trace
            ));
        }
        for exit in trace["exits"].as_array().expect("exits is an array") {
            let (count, handled) = (number(exit, "count"), number(exit, "to_interpreter"));
            to_interpreter += handled;
            if handled > count {
                wrong.push(format!("{} ({}): trace {} exit {}", name, mode, id, exit));
            }
        }
    }
    let deoptimizations = number(report, "deoptimizations");
    if deoptimizations != to_interpreter {
        wrong.push(format!(
            "{} ({}): {} deoptimizations but {} exits reached the exit handler",
            name, mode, deoptimizations, to_interpreter
        ));
    }
    wrong
}

/// Which programs a mode runs on.
#[derive(Clone, Copy, PartialEq)]
enum Programs {
    All,
    /// The `jit_*` and `hot_*` corpus programs and the benchmarks.
    JitFocused,
    /// The `jit_*` and `hot_*` corpus programs: GC stress collects at every allocation,
    /// which the allocation-heavy benchmarks turn into hours.
    JitCorpus,
}

/// A JIT mode: its label, its arguments, its environment, and the programs it runs on.
type Mode = (&'static str, &'static [&'static str], &'static [(&'static str, &'static str)], Programs);

const MODES: [Mode; 5] = [
    ("default", &[], &[], Programs::All),
    ("--jit-threshold 1", &["--jit-threshold", "1"], &[], Programs::All),
    ("--jit-threshold 1, RUFF_DEOPT_STRESS=1", &["--jit-threshold", "1"], &[("RUFF_DEOPT_STRESS", "1")], Programs::All),
    (
        "--jit-threshold 1, RUFF_DEOPT_STRESS=1, RUFF_GC_STRESS=1",
        &["--jit-threshold", "1"],
        &[("RUFF_DEOPT_STRESS", "1"), ("RUFF_GC_STRESS", "1")],
        Programs::JitCorpus,
    ),
    // Every trace flushed and compiled again many times: counts survive flushes.
    (
        "--jit-code-limit 2 --jit-threshold 3",
        &["--jit-code-limit", "2", "--jit-threshold", "3"],
        &[],
        Programs::JitFocused,
    ),
];

/// Whether a mode runs on program `name`.
fn runs_on(programs: Programs, name: &str) -> bool {
    let jit_corpus = name.starts_with("jit_") || name.starts_with("hot_");
    match programs {
        Programs::All => true,
        Programs::JitFocused => jit_corpus || name.starts_with("bench"),
        Programs::JitCorpus => jit_corpus,
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn jit_counters_add_up_on_every_program_in_every_mode() {
    let programs = programs();
    assert!(programs.len() >= MIN_PROGRAMS, "only {} programs found", programs.len());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((name, path)) = programs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let (counts, stdout) = reference(path);
                    for (mode, args, env, which) in MODES {
                        if !runs_on(which, name) {
                            continue;
                        }
                        let mut command = ruff();
                        command.args(["run", "--jit-stats=json"]).args(args).arg(path).envs(env.iter().copied());
                        let Some(output) = output_within_limit(&mut command) else {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{} ({}): took over {:?}", name, mode, RUN_TIME_LIMIT));
                            continue;
                        };
                        let stderr = String::from_utf8_lossy(&output.stderr);
                        if output.stdout != stdout {
                            failures.lock().unwrap().push(format!("{} ({}): stdout differs from --no-jit", name, mode));
                            continue;
                        }
                        // Syntax errors print no report; runtime errors print it before the error.
                        let Some(document) = stderr.lines().find(|l| l.starts_with("{\"schema_version\"")) else {
                            continue;
                        };
                        let report: serde_json::Value = serde_json::from_str(document).expect("the report is JSON");
                        failures.lock().unwrap().extend(check(name, mode, &report, &counts));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn benchmarks_shrink_to_valid_smaller_programs() {
    assert_eq!(shrunk("INNER := 40\n"), "INNER := 1\n");
    assert_eq!(shrunk("while i < 200000 { # 200000\n"), "while i < 2000 { # 200000\n");
    assert_eq!(shrunk("x := 1.5e3 + 12345.0 + \"100000\" + 99\n"), "x := 1.5e3 + 12345.0 + \"100000\" + 99\n");
    assert_eq!(shrunk("v12345 := f(12345)\n"), "v12345 := f(123)\n");
}

/// An exit inside an inlined callee is linked to its side trace like any other: on
/// `if f(i)` with a small `f`, the exit of `f`'s condition is taken on most of the 3M
/// iterations, and only the first few hundred of them reach the exit handler (before
/// linking, every one did: about 1M deoptimizations).
#[cfg(target_arch = "x86_64")]
#[test]
fn exits_inside_inlined_calls_are_linked() {
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/jit_inlined_exit_linked.ruff");
    let output = ruff().args(["run", "--jit-stats=json"]).arg(&program).output().expect("ruff runs");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "200000\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let document = stderr.lines().find(|l| l.starts_with("{\"schema_version\"")).expect("the report is printed");
    let report: serde_json::Value = serde_json::from_str(document).expect("the report is JSON");
    let inlined_exits: Vec<&serde_json::Value> = report["traces"]
        .as_array()
        .expect("traces is an array")
        .iter()
        .flat_map(|trace| trace["exits"].as_array().expect("exits is an array"))
        .filter(|exit| exit["site"].as_array().is_some_and(|site| site.len() == 2))
        .collect();
    let hot = inlined_exits.iter().find(|exit| number(exit, "count") > 100_000).expect("a hot exit inside `f`");
    assert_eq!(hot["linked"], true, "{}", hot);
    assert!(number(hot, "to_interpreter") <= 300, "{}", hot);
    let deoptimizations = number(&report, "deoptimizations");
    assert!(deoptimizations <= 1_000, "{} deoptimizations", deoptimizations);
}
