//! `ruff-fuzz programs`: the differential program fuzzer's driver.
//!
//! Terms: program `k` of a run with `--seed S` is generated from seed `S + k`, so one
//! seed always names one program (`--seed X --count 1` reproduces it, `--print` shows
//! it). The *reference* is `ruff run --no-jit`; a *mode* is one JIT configuration
//! ([`Mode`]); a program *agrees* when every mode's stdout, stderr and exit status equal
//! the reference's. The depth modes pass a small `--max-call-depth` picked from the
//! seed, and their reference is `--no-jit` with the same depth. The flush modes pass a
//! `--jit-code-limit` of a few KiB picked from the seed, so traces are dropped and
//! compiled again over and over; they run only when `ruff run --help` lists that option.
//!
//! A mismatch is confirmed by running the mode again (a second run that agrees makes it
//! *flaky*, still reported), shrunk while it still disagrees in the same mode, and saved
//! as `fuzz_<seed>.ruff` with the golden files of `tests/programs/README.md` (`.out` =
//! the reference stdout, `.err` = first stderr line and `exit: N` when the reference
//! fails). A run over the time limit is a *timeout*: counted and reported, never a
//! mismatch. Invariant: the process exits non-zero if and only if there was a mismatch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ast::{program_text, Stmt};
use crate::diff::short_diff;
use crate::gen::{generate, Rng};
use crate::runner::{run, Outcome, RunSpec};
use crate::shrink::Shrinker;

#[derive(clap::Args)]
pub struct Args {
    /// Seed of the first program; the others follow it
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of programs
    #[arg(long, default_value_t = 100)]
    count: u64,
    /// The ruff binary (default: `ruff` next to this executable)
    #[arg(long)]
    ruff: Option<PathBuf>,
    /// Programs checked in parallel (each runs its modes one after the other)
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Directory for shrunk mismatches (default: the crate's tests/programs)
    #[arg(long)]
    save: Option<PathBuf>,
    /// Modes to compare with --no-jit, comma-separated (default: all)
    #[arg(long, value_enum, value_delimiter = ',')]
    modes: Vec<Mode>,
    /// Run the GC-stress modes on every Nth program only (they are the slow ones)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    gc_every: u64,
    /// Time limit of one run, in seconds
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Report mismatches without shrinking or saving them
    #[arg(long)]
    no_shrink: bool,
    /// Print the program of --seed and exit
    #[arg(long)]
    print: bool,
}

/// A JIT configuration compared with the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The default JIT threshold
    Default,
    /// --jit-threshold 1: every loop and function is compiled at once
    T1,
    /// --jit-threshold 1 with RUFF_DEOPT_STRESS=1 (every guard fails once)
    DsT1,
    /// --jit-threshold 3 with RUFF_DEOPT_STRESS=1
    DsT3,
    /// The default threshold with RUFF_GC_STRESS=1
    GcDefault,
    /// --jit-threshold 1 with RUFF_GC_STRESS=1
    GcT1,
    /// --jit-threshold 1 with RUFF_DEOPT_STRESS=1 and RUFF_GC_STRESS=1
    GcDsT1,
    /// --jit-threshold 3 with RUFF_DEOPT_STRESS=1 and RUFF_GC_STRESS=1
    GcDsT3,
    /// --jit-threshold 1 with a small --max-call-depth picked from the seed
    DepthT1,
    /// --jit-threshold 3, RUFF_DEOPT_STRESS=1 and the small --max-call-depth
    DepthDsT3,
    /// --jit-threshold 1 with a --jit-code-limit of a few KiB picked from the seed, so
    /// that every trace is flushed and compiled again many times (only when the ruff
    /// binary has that option)
    FlushT1,
    /// --jit-threshold 3, RUFF_DEOPT_STRESS=1 and the small --jit-code-limit
    FlushDsT3,
}

const ALL_MODES: [Mode; 12] = [
    Mode::Default,
    Mode::T1,
    Mode::DsT1,
    Mode::DsT3,
    Mode::DepthT1,
    Mode::DepthDsT3,
    Mode::GcDefault,
    Mode::GcT1,
    Mode::GcDsT1,
    Mode::GcDsT3,
    Mode::FlushT1,
    Mode::FlushDsT3,
];

/// The option the flush modes need; older ruff binaries lack it.
const CODE_LIMIT_OPTION: &str = "--jit-code-limit";

/// Machine code limits (KiB) the flush modes pick from: a few traces' worth at most.
const SMALL_CODE_LIMITS: [u32; 4] = [1, 2, 4, 8];

/// The call depths the depth modes pick from: some below the generated recursion depths,
/// some above most of them.
const SMALL_DEPTHS: [u32; 8] = [3, 5, 8, 13, 20, 40, 100, 250];

/// Shrinking stops after this many tests or this much time, keeping the smallest
/// program found so far.
const MAX_SHRINK_TESTS: usize = 3000;
const MAX_SHRINK_TIME: Duration = Duration::from_secs(600);

/// Lines of each side shown in a mismatch's diff.
const DIFF_LINES: usize = 6;

/// Shrunk programs up to this many lines are shown in the report.
const SHOWN_PROGRAM_LINES: usize = 80;

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Default => "default",
            Mode::T1 => "t1",
            Mode::DsT1 => "ds-t1",
            Mode::DsT3 => "ds-t3",
            Mode::GcDefault => "gc-default",
            Mode::GcT1 => "gc-t1",
            Mode::GcDsT1 => "gc-ds-t1",
            Mode::GcDsT3 => "gc-ds-t3",
            Mode::DepthT1 => "depth-t1",
            Mode::DepthDsT3 => "depth-ds-t3",
            Mode::FlushT1 => "flush-t1",
            Mode::FlushDsT3 => "flush-ds-t3",
        }
    }

    fn flushes(self) -> bool {
        matches!(self, Mode::FlushT1 | Mode::FlushDsT3)
    }

    fn gc_stress(self) -> bool {
        matches!(self, Mode::GcDefault | Mode::GcT1 | Mode::GcDsT1 | Mode::GcDsT3)
    }

    fn uses_depth(self) -> bool {
        matches!(self, Mode::DepthT1 | Mode::DepthDsT3)
    }

    fn spec(self, limits: Limits) -> RunSpec {
        let (threshold, deopt) = match self {
            Mode::Default | Mode::GcDefault => (None, false),
            Mode::T1 | Mode::GcT1 | Mode::DepthT1 | Mode::FlushT1 => (Some(1), false),
            Mode::DsT1 | Mode::GcDsT1 => (Some(1), true),
            Mode::DsT3 | Mode::GcDsT3 | Mode::DepthDsT3 | Mode::FlushDsT3 => (Some(3), true),
        };
        let mut spec = RunSpec::default();
        if let Some(threshold) = threshold {
            spec.args.extend(["--jit-threshold".to_string(), threshold.to_string()]);
        }
        if self.uses_depth() {
            spec.args.extend(["--max-call-depth".to_string(), limits.call_depth.to_string()]);
        }
        if self.flushes() {
            spec.args.extend([CODE_LIMIT_OPTION.to_string(), limits.code_kib.to_string()]);
        }
        if deopt {
            spec.env.push(("RUFF_DEOPT_STRESS", "1"));
        }
        if self.gc_stress() {
            spec.env.push(("RUFF_GC_STRESS", "1"));
        }
        spec
    }

    fn reference_spec(self, limits: Limits) -> RunSpec {
        let mut spec = RunSpec { args: vec!["--no-jit".to_string()], env: Vec::new() };
        if self.uses_depth() {
            spec.args.extend(["--max-call-depth".to_string(), limits.call_depth.to_string()]);
        }
        spec
    }
}

/// The per-program limits of the depth and flush modes, picked from the seed.
#[derive(Clone, Copy)]
struct Limits {
    call_depth: u32,
    code_kib: u32,
}

impl Limits {
    fn for_seed(seed: u64) -> Limits {
        let mut rng = Rng::new(seed ^ 0xDEE9);
        Limits { call_depth: rng.pick(&SMALL_DEPTHS), code_kib: rng.pick(&SMALL_CODE_LIMITS) }
    }
}

/// Whether `ruff run --help` lists an option.
fn supports_option(ruff: &Path, option: &str) -> bool {
    std::process::Command::new(ruff)
        .args(["run", "--help"])
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(option))
}

/// Everything a worker needs, shared by all workers.
struct Config {
    ruff: PathBuf,
    work_dir: PathBuf,
    save_dir: Option<PathBuf>,
    modes: Vec<Mode>,
    gc_every: u64,
    limit: Duration,
}

#[derive(Default)]
struct Totals {
    generated: u64,
    agreed: u64,
    mismatches: u64,
    timeouts: u64,
    runs: u64,
}

/// What checking one program found.
#[derive(Default)]
struct Verdict {
    runs: u64,
    mismatches: Vec<String>,
    timeouts: Vec<String>,
}

pub fn main(args: Args) -> ExitCode {
    if args.print {
        print!("{}", program_text(&generate(args.seed)));
        return ExitCode::SUCCESS;
    }
    let ruff = args.ruff.clone().unwrap_or_else(default_ruff);
    if !ruff.is_file() {
        eprintln!("ruff-fuzz: no ruff binary at {} (build it, or pass --ruff)", ruff.display());
        return ExitCode::from(2);
    }
    let work_dir = std::env::temp_dir().join(format!("ruff-fuzz-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work_dir) {
        eprintln!("ruff-fuzz: cannot create {}: {}", work_dir.display(), e);
        return ExitCode::from(2);
    }
    let save_dir = if args.no_shrink {
        None
    } else {
        Some(args.save.clone().unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs")))
    };
    let flush_supported = supports_option(&ruff, CODE_LIMIT_OPTION);
    let modes = if args.modes.is_empty() {
        ALL_MODES.iter().copied().filter(|mode| flush_supported || !mode.flushes()).collect()
    } else {
        args.modes.clone()
    };
    if !flush_supported && modes.iter().any(|mode| mode.flushes()) {
        eprintln!("ruff-fuzz: {} has no {} option, which the flush modes need", ruff.display(), CODE_LIMIT_OPTION);
        return ExitCode::from(2);
    }
    let config =
        Config { ruff, work_dir, save_dir, modes, gc_every: args.gc_every, limit: Duration::from_secs(args.timeout) };
    let next = AtomicU64::new(0);
    let totals = Mutex::new(Totals::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.max(1) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= args.count {
                    break;
                }
                let seed = args.seed.wrapping_add(k);
                let verdict = check_program(seed, &config);
                let mut totals = totals.lock().expect("totals lock");
                totals.generated += 1;
                totals.runs += verdict.runs;
                totals.mismatches += u64::from(!verdict.mismatches.is_empty());
                totals.timeouts += u64::from(!verdict.timeouts.is_empty());
                totals.agreed += u64::from(verdict.mismatches.is_empty() && verdict.timeouts.is_empty());
                for report in &verdict.mismatches {
                    println!("{}", report);
                }
                if !verdict.timeouts.is_empty() {
                    println!("timeout: seed {} in {}", seed, verdict.timeouts.join(", "));
                }
                if totals.generated.is_multiple_of(100) {
                    eprintln!(
                        "ruff-fuzz: {} programs, {} mismatches, {} timeouts, {} runs, {:.0} s",
                        totals.generated,
                        totals.mismatches,
                        totals.timeouts,
                        totals.runs,
                        started.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&config.work_dir);
    let totals = totals.into_inner().expect("totals lock");
    let gc_note = if args.gc_every > 1 && config.modes.iter().any(|m| m.gc_stress()) {
        format!(" (GC-stress modes on every {}th program)", args.gc_every)
    } else {
        String::new()
    };
    println!(
        "programs: {} generated, {} agreed in all {} modes, {} mismatches, {} timeouts, seed {}{}",
        totals.generated,
        totals.agreed,
        config.modes.len(),
        totals.mismatches,
        totals.timeouts,
        args.seed,
        gc_note
    );
    if totals.mismatches > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn default_ruff() -> PathBuf {
    let exe = std::env::current_exe().expect("the fuzzer knows its own path");
    exe.with_file_name(format!("ruff{}", std::env::consts::EXE_SUFFIX))
}

fn check_program(seed: u64, config: &Config) -> Verdict {
    let program = generate(seed);
    let path = config.work_dir.join(format!("p{}.ruff", seed));
    std::fs::write(&path, program_text(&program)).expect("writable work directory");
    let limits = Limits::for_seed(seed);
    let mut verdict = Verdict::default();
    let mut references: Vec<(RunSpec, Outcome)> = Vec::new();
    for &mode in &config.modes {
        if mode.gc_stress() && !seed.is_multiple_of(config.gc_every) {
            continue;
        }
        let reference_spec = mode.reference_spec(limits);
        if !references.iter().any(|(spec, _)| *spec == reference_spec) {
            verdict.runs += 1;
            let outcome = run(&config.ruff, &path, &reference_spec, config.limit);
            references.push((reference_spec.clone(), outcome));
        }
        let reference = &references.iter().find(|(spec, _)| *spec == reference_spec).expect("reference ran").1;
        if reference.timed_out {
            let label = format!("reference ({})", reference_spec.describe());
            if !verdict.timeouts.contains(&label) {
                verdict.timeouts.push(label);
            }
            continue;
        }
        verdict.runs += 1;
        let actual = run(&config.ruff, &path, &mode.spec(limits), config.limit);
        if actual.timed_out {
            verdict.timeouts.push(mode.name().to_string());
        } else if !actual.agrees_with(reference) {
            // One shrunk program per seed: the other modes are only listed.
            let report = if verdict.mismatches.is_empty() {
                investigate(seed, &program, mode, limits, reference, &actual, config)
            } else {
                format!(
                    "MISMATCH: seed {} also in mode {} ({})\n{}",
                    seed,
                    mode.name(),
                    mode.spec(limits).describe(),
                    describe_difference(reference, &actual)
                )
            };
            verdict.mismatches.push(report);
        }
    }
    let _ = std::fs::remove_file(&path);
    verdict
}

/// Confirms, shrinks and saves one mismatch; returns its report.
fn investigate(
    seed: u64,
    program: &[Stmt],
    mode: Mode,
    limits: Limits,
    reference: &Outcome,
    actual: &Outcome,
    config: &Config,
) -> String {
    let spec = mode.spec(limits);
    let reference_spec = mode.reference_spec(limits);
    let mut report = format!("MISMATCH: seed {} in mode {} ({})\n", seed, mode.name(), spec.describe());
    report.push_str(&describe_difference(reference, actual));
    let path = config.work_dir.join(format!("shrink{}.ruff", seed));
    std::fs::write(&path, program_text(program)).expect("writable work directory");
    let again = run(&config.ruff, &path, &spec, config.limit);
    if again.agrees_with(reference) {
        report.push_str("  flaky: a second run agreed with the reference\n");
    }
    let Some(save_dir) = &config.save_dir else {
        let _ = std::fs::remove_file(&path);
        return report;
    };
    let started = Instant::now();
    // A candidate whose reference runs long is not worth the wait: the original ran in
    // well under a second.
    let reference_limit = config.limit.min(Duration::from_secs(5));
    // Shrinking keeps the same streams differing, so that it does not drift from, say, a
    // wrong value printed to an unrelated error that ends the program early.
    let original_parts = differing_parts(reference, actual);
    let mut still_mismatches = |text: &str| -> bool {
        if started.elapsed() > MAX_SHRINK_TIME {
            return false;
        }
        std::fs::write(&path, text).expect("writable work directory");
        let expected = run(&config.ruff, &path, &reference_spec, reference_limit);
        if expected.timed_out {
            return false;
        }
        let got = run(&config.ruff, &path, &spec, config.limit);
        !got.timed_out && !got.agrees_with(&expected) && differing_parts(&expected, &got) == original_parts
    };
    let shrunk = if again.agrees_with(reference) {
        program_text(program)
    } else {
        let mut shrinker = Shrinker::new(&mut still_mismatches, MAX_SHRINK_TESTS);
        let text = shrinker.shrink(program.to_vec());
        report.push_str(&format!(
            "  shrunk from {} to {} lines in {} tests, {:.0} s\n",
            program_text(program).lines().count(),
            text.lines().count(),
            shrinker.tests_run(),
            started.elapsed().as_secs_f64()
        ));
        text
    };
    let header = format!(
        "# Found by `ruff-fuzz programs --seed {}`: `{}` differs from `ruff run {}`.\n",
        seed,
        spec.describe(),
        reference_spec.args.join(" ")
    );
    let saved_text = format!("{}{}", header, shrunk);
    report.push_str(&save_regression(seed, &saved_text, mode, limits, save_dir, config));
    let _ = std::fs::remove_file(&path);
    report
}

/// Which of stdout, stderr and the exit status differ between two outcomes.
fn differing_parts(reference: &Outcome, actual: &Outcome) -> [bool; 3] {
    [reference.stdout != actual.stdout, reference.stderr != actual.stderr, reference.status != actual.status]
}

fn describe_difference(reference: &Outcome, actual: &Outcome) -> String {
    let mut out = String::new();
    if actual.status != reference.status {
        out.push_str(&format!("  status: {} (--no-jit: {})\n", actual.status, reference.status));
    }
    for (stream, want, got) in
        [("stdout", &reference.stdout, &actual.stdout), ("stderr", &reference.stderr, &actual.stderr)]
    {
        if want != got {
            out.push_str(&format!(
                "  {} differs (- --no-jit, + this mode):\n{}",
                stream,
                short_diff(want, got, DIFF_LINES)
            ));
        }
    }
    out
}

/// Writes `fuzz_<seed>.ruff` and its golden files; returns the report lines about it.
fn save_regression(seed: u64, text: &str, mode: Mode, limits: Limits, save_dir: &Path, config: &Config) -> String {
    let mut report = String::new();
    if let Err(e) = std::fs::create_dir_all(save_dir) {
        return format!("  cannot create {}: {}\n", save_dir.display(), e);
    }
    let program = save_dir.join(format!("fuzz_{}.ruff", seed));
    std::fs::write(&program, text).expect("writable save directory");
    // The golden files hold what a plain `ruff run` must print: the default reference.
    let golden = run(&config.ruff, &program, &Mode::Default.reference_spec(limits), config.limit);
    std::fs::write(program.with_extension("out"), &golden.stdout).expect("writable save directory");
    let err_file = program.with_extension("err");
    if golden.code == Some(0) {
        let _ = std::fs::remove_file(&err_file);
    } else {
        let first = golden.stderr.lines().next().unwrap_or_default();
        let code = golden.code.map_or_else(|| golden.status.clone(), |c| c.to_string());
        std::fs::write(&err_file, format!("{}\nexit: {}\n", first, code)).expect("writable save directory");
    }
    let expected = run(&config.ruff, &program, &mode.reference_spec(limits), config.limit);
    let actual = run(&config.ruff, &program, &mode.spec(limits), config.limit);
    report.push_str(&format!("  saved {}\n", program.display()));
    if actual.agrees_with(&expected) {
        report.push_str("  (the saved program no longer shows the mismatch)\n");
    } else {
        report.push_str(&describe_difference(&expected, &actual));
    }
    if text.lines().count() <= SHOWN_PROGRAM_LINES {
        report.push_str("  program:\n");
        for line in text.lines() {
            report.push_str(&format!("    {}\n", line));
        }
    }
    report
}
