//! JIT coverage of the benchmark programs: every `bench/programs/NAME.ruff` and every
//! program of the shared corpus (`../shared/bench-awfy/NAME/NAME.ruff`, at full size, see
//! `tests/shared_corpus`) runs with `ruff run --jit-stats=json`, and its report must match
//! its row of [`EXPECTED`] or [`CORPUS_EXPECTED`]:
//!
//! - the root-trace aborts that mean "the JIT does not support this yet" (reasons starting
//!   with `NYI:`) are exactly the row's `unsupported` list, so a new gap fails the test
//!   and so does a closed one (remove it from the row when it closes);
//! - the share of loop iterations run in native code is at least `min_native_percent`;
//! - and every adversarial program of `bench/cliffs/` prints what the interpreter prints,
//!   with a report that explains where the JIT gave up.
//!
//! The rows are the honest state of the JIT, not its goal: issues 4 and 13 ask for no
//! unsupported aborts and at least 95% native iterations everywhere. Each row below 95
//! says what keeps it there. Output correctness is checked elsewhere (bench/expected.txt
//! and the differential suites, tests/corpus.rs for the corpus); this test only reads the
//! statistics.

// The JIT (and so its statistics) exists only on x86-64.
#![cfg(target_arch = "x86_64")]

mod parallel;
mod shared_corpus;

use parallel::for_each_in_parallel;
use shared_corpus::{corpus_dir, corpus_programs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The share of loop iterations issue 4 asks to run natively.
const NATIVE_TARGET: f64 = 95.0;

struct Expectation {
    program: &'static str,
    unsupported: &'static [&'static str],
    min_native_percent: f64,
}

const fn expect(program: &'static str, unsupported: &'static [&'static str], min: f64) -> Expectation {
    Expectation { program, unsupported, min_native_percent: min }
}

const EXPECTED: &[Expectation] = &[
    expect("array_sum", &[], NATIVE_TARGET),
    // The outer loop calls `fib` through its function trace (which jumps into the inner
    // loop's trace), so both loops are native.
    expect("fib_iter", &[], NATIVE_TARGET),
    // No loop: `fib` runs as a function trace, which the loop-iteration share does not count.
    expect("fib_rec", &[], 0.0),
    expect("hash_map", &[], NATIVE_TARGET),
    expect("loop_sum", &[], NATIVE_TARGET),
    expect("mandelbrot", &[], NATIVE_TARGET),
    expect("nested_loops", &[], NATIVE_TARGET),
    expect("object_alloc", &[], NATIVE_TARGET),
    expect("poly_sum", &[], NATIVE_TARGET),
    expect("quicksort", &[], NATIVE_TARGET),
    expect("sieve", &[], NATIVE_TARGET),
    expect("startup", &[], 0.0),
    expect("string_builder", &[], NATIVE_TARGET),
    expect("string_concat", &[], NATIVE_TARGET),
];

/// The corpus programs at full size (issue 13). Measured on main at 37e4f72, then after the
/// value-semantics work of issue 11 (loans, on-trace copies of shared arrays); each floor is
/// just under that day's share so that a regression fails, and is to be raised as the JIT
/// improves (95% is the goal everywhere). The share counts loop iterations only, so a
/// program whose work is recursion shows what its loops do. Each comment gives the
/// measured share and what `--jit-stats` blames.
const CORPUS_EXPECTED: &[Expectation] = &[
    // 99.7% (was 0.0%): `--jit-stats` shows 43,563 native and 123 interpreted
    // iterations; the loop at line 35 calls the function traces of `bottom_up` (whose
    // struct literals hold structs) and `check` natively.
    expect("binary_trees", &[], NATIVE_TARGET),
    // 99.9% (was 1.9%): the balls are no longer shared by their reads, and a ball shared
    // by the pushes that built the pool is copied on trace (ALOADU).
    expect("bounce", &[], NATIVE_TARGET),
    expect("fannkuch_redux", &[], NATIVE_TARGET),
    // 100.0% (was 72.6%): 9,273,619 native, 2,485 interpreted; `for c in line` (line 24)
    // steps through the string on trace (SBYTES, SNEXTCH), and the outer loop of
    // make_repeat_fasta jumps into its inner loop's trace.
    expect("fasta", &[], NATIVE_TARGET),
    // 97.6% (was 84.2%): 2,123,655 native, 52,836 interpreted; `hash_index_table_add` and
    // `vector_append` write through a field of a shared struct (a parameter that is also
    // returned; lines 35 and 180), which the trace copies (SUNIQUE, FLOADU). Left: side
    // traces that meet `read_value`'s recursion, and the inner loop of
    // `new_hash_index_table` (line 170), inlined, is too long to unroll.
    expect("json", &[], NATIVE_TARGET),
    // 99.7%; `make_list` and `length` are recursive calls from loops (their recursion,
    // found while inlining, is a learning abort: their function traces come first).
    expect("list", &[], NATIVE_TARGET),
    // 100.0% (was 0.0%): 25,189,239 native, 10,761 interpreted; the loop at line 26 calls
    // `permute`'s function trace, whose side trace jumps into that loop's trace, and the
    // loop in `main` calls `benchmark`'s trace. The first recording of `main`'s loop finds
    // `permute` recursive (inlined in `benchmark`): a learning abort, no longer NYI.
    expect("permute", &[], NATIVE_TARGET),
    // 99.9% (was 70.0%): exits inside inlined callees are linked and the short inner loops
    // are unrolled (or jumped into); the loops of `benchmark` and `main` meet
    // `place_queen`'s recursion when they inline `queens`.
    expect("queens", &[], NATIVE_TARGET),
    // 100.0% (was 6.0%): 4,649,520 native, 840 interpreted; the scheduler loop (line 388)
    // calls the task functions stored in struct fields (4 prototypes, a side trace each).
    expect("richards", &[], NATIVE_TARGET),
    expect("spectral_norm", &[], NATIVE_TARGET),
    // 99.6% (was 67.2%): 19,933,650 native, 70,950 interpreted; the loop at line 48 calls
    // `build_tree_depth`'s function trace, which jumps into the loops of line 48 and of
    // `new_array` (line 25); `main`'s loop meets the recursion when it inlines `benchmark`.
    expect("storage", &[], NATIVE_TARGET),
    // 97.9% (was 84.2%): the short loops building the piles are unrolled; most of the work
    // is the recursion of move_disks, which the share does not count and which `main`'s
    // loop meets when it inlines `benchmark`.
    expect("towers", &[], NATIVE_TARGET),
];

/// What the test reads from one `--jit-stats=json` report.
struct Report {
    root_aborts: Vec<String>,
    native_percent: f64,
}

/// The reasons of the root-trace aborts and the native share, read from the report's
/// `"aborts"` objects (`"reason":"...","side_trace":BOOL`) and `"native_share_percent"`.
fn parse_report(json: &str) -> Report {
    const REASON: &str = "\"reason\":\"";
    const SIDE: &str = "\",\"side_trace\":";
    let mut root_aborts = Vec::new();
    // Only the `"aborts"` array: retirements have reasons too.
    let aborts_start = json.find("\"aborts\":[").unwrap_or_else(|| panic!("the report lists its aborts: {}", json));
    let aborts = &json[aborts_start..];
    let mut rest = &aborts[..aborts.find("],\"retirements\"").unwrap_or(aborts.len())];
    while let Some(start) = rest.find(REASON) {
        let after = &rest[start + REASON.len()..];
        let end = after.find(SIDE).unwrap_or_else(|| panic!("an abort reason ends with side_trace: {}", json));
        let reason = after[..end].to_string();
        let flag = &after[end + SIDE.len()..];
        if flag.starts_with("false") {
            root_aborts.push(reason);
        } else {
            assert!(flag.starts_with("true"), "side_trace is a bool: {}", json);
        }
        rest = flag;
    }
    const SHARE: &str = "\"native_share_percent\":";
    let share = json.find(SHARE).unwrap_or_else(|| panic!("the report has {}: {}", SHARE, json));
    let digits: String = json[share + SHARE.len()..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let native_percent = digits.parse().unwrap_or_else(|_| panic!("native_share_percent is a number: {}", json));
    Report { root_aborts, native_percent }
}

fn report_of(program: &Path) -> Report {
    let output = Command::new(env!("CARGO_BIN_EXE_ruff"))
        .args(["run", "--jit-stats=json"])
        .arg(program)
        .output()
        .expect("ruff runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{} failed: {}", program.display(), stderr);
    parse_report(&stderr)
}

#[test]
fn every_benchmark_has_a_row() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench").join("programs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("bench/programs exists")
        .filter_map(|entry| {
            let path = entry.expect("readable entry").path();
            (path.extension()? == "ruff").then(|| path.file_stem())??.to_str().map(String::from)
        })
        .collect();
    names.sort();
    let rows: Vec<&str> = EXPECTED.iter().map(|e| e.program).collect();
    assert_eq!(names, rows, "EXPECTED lists every benchmark program, in name order");
}

/// Runs every row's program (`path_of` its name), in parallel, and describes every way a
/// report misses its row.
fn shortfalls(rows: &[Expectation], path_of: impl Fn(&str) -> PathBuf + Sync) -> Vec<String> {
    let failures = Mutex::new(Vec::new());
    for_each_in_parallel(rows, |expected| {
        let found = shortfalls_of(expected, &report_of(&path_of(expected.program)));
        failures.lock().expect("failure lock").extend(found);
    });
    let mut failures = failures.into_inner().expect("failure lock");
    failures.sort();
    failures
}

fn shortfalls_of(expected: &Expectation, report: &Report) -> Vec<String> {
    let mut failures = Vec::new();
    let mut unsupported: Vec<&str> =
        report.root_aborts.iter().map(String::as_str).filter(|r| r.starts_with("NYI:")).collect();
    unsupported.sort();
    unsupported.dedup();
    let mut wanted = expected.unsupported.to_vec();
    wanted.sort();
    if unsupported != wanted {
        failures.push(format!("{}: unsupported aborts {:?}, expected {:?}", expected.program, unsupported, wanted));
    }
    if report.native_percent < expected.min_native_percent {
        failures.push(format!(
            "{}: {:.1}% of loop iterations native, expected at least {:.1}%",
            expected.program, report.native_percent, expected.min_native_percent
        ));
    }
    failures
}

#[test]
fn benchmarks_reach_their_native_share_with_only_the_known_unsupported_aborts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench").join("programs");
    let failures = shortfalls(EXPECTED, |name| dir.join(format!("{}.ruff", name)));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_corpus_program_has_a_row() {
    let rows: Vec<&str> = CORPUS_EXPECTED.iter().map(|e| e.program).collect();
    assert_eq!(corpus_programs(), rows, "CORPUS_EXPECTED lists every corpus program, in name order");
}

#[test]
fn corpus_programs_reach_their_native_share_with_only_the_known_unsupported_aborts() {
    let dir = corpus_dir();
    let failures = shortfalls(CORPUS_EXPECTED, |name| dir.join(name).join(format!("{}.ruff", name)));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_report_parser_reads_root_aborts_and_the_native_share() {
    let json = r#"{"aborts":[{"reason":"NYI: call to `f`","side_trace":false,"line":3},{"reason":"loop exited while recording","side_trace":true}],"native_share_percent":98.5}"#;
    let report = parse_report(json);
    assert_eq!(report.root_aborts, vec!["NYI: call to `f`".to_string()]);
    assert_eq!(report.native_percent, 98.5);
}

/// The adversarial programs of `bench/cliffs/` print the same with the JIT as without,
/// and the report explains where the JIT gave up; the loop with 4096 paths is retired as
/// too branchy for one trace tree (its cost is measured by `bench/cliffs.py`).
#[test]
fn cliff_programs_agree_with_the_interpreter_and_explain_themselves() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/cliffs");
    let mut programs: Vec<_> = std::fs::read_dir(&dir)
        .expect("bench/cliffs exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ruff"))
        .collect();
    programs.sort();
    assert!(programs.len() >= 5, "{:?}", programs);
    for program in &programs {
        let run = |args: &[&str]| {
            let output = Command::new(env!("CARGO_BIN_EXE_ruff")).arg("run").args(args).arg(program).output();
            let output = output.expect("ruff runs");
            assert!(output.status.success(), "{}: {}", program.display(), String::from_utf8_lossy(&output.stderr));
            output
        };
        let interpreted = run(&["--no-jit"]);
        let jitted = run(&["--jit-stats=json"]);
        assert_eq!(jitted.stdout, interpreted.stdout, "{}", program.display());
        let report = String::from_utf8_lossy(&jitted.stderr);
        assert!(!report.contains("\"explanations\":[]"), "{}: nothing explained\n{}", program.display(), report);
        if program.ends_with("many_paths.ruff") {
            assert!(report.contains("too many paths for one trace tree"), "{}", report);
        }
    }
}
