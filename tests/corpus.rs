//! The shared corpus (`../shared/bench-awfy`: ports of Are-We-Fast-Yet and Benchmarks Game
//! programs, see its README.md) in the differential suite, at reduced sizes: each program
//! is copied into a temporary folder with its amount of work cut down as its row of
//! [`SIZES`] says, run with `--no-jit` and then in every JIT mode of `tests/jit_modes`
//! (default, `--jit-threshold 1`, deopt stress, deopt and GC stress); stdout, stderr and
//! the exit status of every JIT run must equal the `--no-jit` run's.
//!
//! The reduced `--no-jit` run must itself print the right answer: an Are-We-Fast-Yet
//! program checks its result on every run of its benchmark and prints `NAME.out` at any
//! `INNER`; a Benchmarks Game program's output depends on its size, so its row carries the
//! line the corpus's own Python version prints at the same size.
//!
//! A JIT mismatch the JIT cannot fix yet is listed in [`KNOWN_MISMATCHES`] with its
//! reason; the test fails on any other mismatch and on a listed one that agrees again
//! (remove it then). The corpus must be in `shared/bench-awfy` beside the repository
//! (`tests/shared_corpus`); the test fails when it is not.

mod jit_modes;
mod parallel;
mod shared_corpus;

use jit_modes::{compare, run, Mode};
use parallel::for_each_in_parallel;
use shared_corpus::{corpus_dir, corpus_programs};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// How a corpus program is cut down to test size, and what it must print then.
enum Size {
    /// An Are-We-Fast-Yet program: its one line `INNER := N` (how many times the benchmark
    /// runs; each run checks its result) becomes `INNER := n`, and it prints `NAME.out`.
    Inner(u32),
    /// A Benchmarks Game program: `from`, found exactly once in its source, becomes `to`,
    /// and it prints `expected` (what the corpus's `NAME.py` prints at the same size).
    Replace { from: &'static str, to: &'static str, expected: &'static str },
}

/// One row per corpus program, in name order. The sizes keep the whole test near 30 s on
/// two cores in a release build; GC stress (a collection at every safe point after an
/// allocation) is what costs: `json` builds a large document, so it runs its benchmark once.
const SIZES: &[(&str, Size)] = &[
    ("binary_trees", Size::Replace { from: "    n := 15\n", to: "    n := 8\n", expected: "1023 7936 8128 8176 511" }),
    ("bounce", Size::Inner(10)),
    ("fannkuch_redux", Size::Replace { from: "fannkuch(10)", to: "fannkuch(7)", expected: "228 16" }),
    (
        "fasta",
        Size::Replace {
            from: "    n := 250000\n",
            to: "    n := 2000\n",
            expected: "20000 334 A:903 B:104 C:1143 D:108 G:1341 H:126 K:126 M:108 N:105 R:143 S:145 T:613 \
                       V:135 W:126 Y:129 a:4569 c:2657 g:2763 t:4656",
        },
    ),
    ("json", Size::Inner(1)),
    ("list", Size::Inner(20)),
    ("permute", Size::Inner(20)),
    ("queens", Size::Inner(20)),
    ("richards", Size::Inner(1)),
    ("spectral_norm", Size::Replace { from: "    n := 1500\n", to: "    n := 50\n", expected: "1274193836" }),
    ("storage", Size::Inner(2)),
    ("towers", Size::Inner(10)),
];

/// JIT runs known to differ from `--no-jit`: (program, mode, why). Empty: every corpus
/// program agrees in every mode.
const KNOWN_MISMATCHES: &[(&str, Mode, &str)] = &[];

/// The JIT modes every corpus program is compared in.
const JIT_MODES: [Mode; 4] = [Mode::JitDefault, Mode::JitThreshold1, Mode::DeoptStress, Mode::DeoptGcStress];

/// The program's source cut down to its test size, and the line it must print.
fn reduce(name: &str, size: &Size, source: &str) -> (String, String) {
    match size {
        Size::Inner(inner) => {
            let assignments: Vec<&str> = source.lines().filter(|l| l.starts_with("INNER := ")).collect();
            assert_eq!(assignments.len(), 1, "{}: expected one line `INNER := N`, found {:?}", name, assignments);
            let reduced = source.replacen(assignments[0], &format!("INNER := {}", inner), 1);
            let expected = std::fs::read_to_string(corpus_dir().join(name).join(format!("{}.out", name)))
                .unwrap_or_else(|e| panic!("{}: no NAME.out: {}", name, e));
            (reduced, expected.trim_end().to_string())
        }
        Size::Replace { from, to, expected } => {
            assert_eq!(
                source.matches(from).count(),
                1,
                "{}: the size text {:?} is not in the program exactly once; update its row of SIZES",
                name,
                from
            );
            (source.replacen(from, to, 1), expected.to_string())
        }
    }
}

/// A temporary folder for the reduced copies, removed when dropped.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_corpus_program_has_a_size() {
    let rows: Vec<&str> = SIZES.iter().map(|(name, _)| *name).collect();
    assert_eq!(corpus_programs(), rows, "SIZES has one row per corpus program, in name order");
    for (program, mode, _) in KNOWN_MISMATCHES {
        assert!(rows.contains(program), "KNOWN_MISMATCHES names {} ({:?}), not a corpus program", program, mode);
    }
}

#[test]
fn corpus_at_reduced_sizes_agrees_in_every_jit_mode() {
    let started = Instant::now();
    let scratch = ScratchDir(std::env::temp_dir().join(format!("ruff_corpus_{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).expect("a writable temporary folder");
    let mut programs = Vec::new();
    for (name, size) in SIZES {
        let path = corpus_dir().join(name).join(format!("{}.ruff", name));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
        let (reduced, expected) = reduce(name, size, &source);
        let copy = scratch.0.join(format!("{}.ruff", name));
        std::fs::write(&copy, reduced).expect("writable temporary file");
        programs.push((*name, copy, expected));
    }

    let failures = Mutex::new(Vec::new());
    // (program, mode) of every JIT run that differed, with its report.
    let mismatches = Mutex::new(Vec::new());
    for_each_in_parallel(&programs, |(name, copy, expected): &(&str, PathBuf, String)| {
        let shown = format!("{} (reduced copy {})", name, copy.display());
        let reference = run(copy, Mode::Interpreter);
        if reference.status != "exit status: 0"
            || reference.stdout.trim_end() != expected
            || !reference.stderr.is_empty()
        {
            failures.lock().expect("failure lock").push(format!(
                "== {} [--no-jit] does not print the expected line at its reduced size\n  status: {}\n  \
                 expected: {}\n  stdout: {}\n  stderr: {}",
                shown, reference.status, expected, reference.stdout, reference.stderr
            ));
            return;
        }
        for mode in JIT_MODES {
            if let Some(report) = compare(&shown, mode, &reference, &run(Path::new(copy), mode)) {
                mismatches.lock().expect("mismatch lock").push((*name, mode, report));
            }
        }
    });

    let mut failures = failures.into_inner().expect("failure lock");
    let mismatches = mismatches.into_inner().expect("mismatch lock");
    for (name, mode, report) in &mismatches {
        match KNOWN_MISMATCHES.iter().find(|(n, m, _)| n == name && m == mode) {
            Some((_, _, why)) => eprintln!("known mismatch ({}):\n{}", why, report),
            None => failures.push(report.clone()),
        }
    }
    for (name, mode, why) in KNOWN_MISMATCHES {
        if !mismatches.iter().any(|(n, m, _)| n == name && m == mode) {
            failures.push(format!(
                "== {} [{}] agrees with --no-jit now: remove it from KNOWN_MISMATCHES (listed because: {})",
                name,
                mode.label(),
                why
            ));
        }
    }
    failures.sort();
    eprintln!(
        "corpus: {} programs in {} modes in {:.1} s",
        programs.len(),
        1 + JIT_MODES.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{} corpus failures:\n\n{}", failures.len(), failures.join("\n"));
}
