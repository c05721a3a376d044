//! Command-line behaviour of the `ruff` binary: subcommands, exit statuses (LANGUAGE.md
//! decision 4: 0 ok, 1 unreadable file, 2 usage, 3 syntax, 4 runtime), error locations
//! (decision 3), the recursion limit (decision 5), `ruff check` warnings (decision 9) and
//! robustness against pathological inputs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn ruff() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ruff"))
}

/// A file under the temp dir that is removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name_hint: &str, contents: &[u8]) -> TempFile {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "ruff_cli_{}_{}_{}_{}.ruff",
            std::process::id(),
            n,
            name_hint,
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        ));
        std::fs::write(&path, contents).expect("can write a temp file");
        TempFile(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The file name as it appears in error locations when run by absolute path.
    fn display(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

fn finish(output: Output) -> Run {
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run_args(args: &[&str]) -> Run {
    finish(ruff().args(args).output().expect("the ruff binary runs"))
}

fn run_file(extra: &[&str], file: &TempFile) -> Run {
    finish(ruff().arg("run").args(extra).arg(file.path()).output().expect("the ruff binary runs"))
}

fn check_file(file: &TempFile) -> Run {
    finish(ruff().arg("check").arg(file.path()).output().expect("the ruff binary runs"))
}

fn run_source(source: &str) -> Run {
    let file = TempFile::new("src", source.as_bytes());
    run_file(&[], &file)
}

/// Runs with a wall-clock limit; the child is killed when it is exceeded.
fn run_with_timeout(file: &TempFile, limit: Duration) -> (Run, Duration, bool) {
    let mut child = ruff()
        .arg("run")
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ruff binary runs");
    let mut stdout_pipe = child.stdout.take().expect("stdout piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait on child") {
            break status;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait on killed child");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    (Run { status: status.code(), stdout, stderr }, elapsed, timed_out)
}

fn describe(run: &Run) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr (first 2000 bytes)\n{}",
        run.status,
        run.stdout,
        run.stderr.chars().take(2000).collect::<String>()
    )
}

// ---------------------------------------------------------------------------------------
// --version, --help, usage errors

#[test]
fn version_succeeds() {
    let r = run_args(&["--version"]);
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert!(r.stdout.contains("ruff"), "{}", describe(&r));
    assert!(r.stdout.chars().any(|c| c.is_ascii_digit()), "version has a number: {}", describe(&r));
}

#[test]
fn help_succeeds_and_mentions_run_and_check() {
    let r = run_args(&["--help"]);
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert!(r.stdout.contains("run"), "{}", describe(&r));
    assert!(r.stdout.contains("check"), "{}", describe(&r));
}

#[test]
fn unknown_flag_is_usage_error() {
    let r = run_args(&["--definitely-not-a-flag"]);
    assert_eq!(r.status, Some(2), "{}", describe(&r));
    let file = TempFile::new("unknown_flag", b"print(1)\n");
    let r = run_file(&["--definitely-not-a-flag"], &file);
    assert_eq!(r.status, Some(2), "{}", describe(&r));
    assert_eq!(r.stdout, "", "nothing runs on a usage error: {}", describe(&r));
}

#[test]
fn unknown_subcommand_and_missing_file_argument_are_usage_errors() {
    let r = run_args(&["frobnicate", "x.ruff"]);
    assert_eq!(r.status, Some(2), "{}", describe(&r));
    let r = run_args(&["run"]);
    assert_eq!(r.status, Some(2), "{}", describe(&r));
}

#[test]
fn jit_stats_with_bogus_value_is_usage_error() {
    let file = TempFile::new("jit_stats", b"print(\"ran\")\n");
    let r = run_file(&["--jit-stats=bogus"], &file);
    assert_eq!(r.status, Some(2), "{}", describe(&r));
    assert_eq!(r.stdout, "", "nothing runs on a usage error: {}", describe(&r));
    // The valid forms are accepted.
    let r = run_file(&["--jit-stats=json"], &file);
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert!(r.stdout.starts_with("ran\n"), "{}", describe(&r));
    let r = run_file(&["--jit-stats"], &file);
    assert_eq!(r.status, Some(0), "{}", describe(&r));
}

#[test]
fn max_call_depth_needs_a_number() {
    let file = TempFile::new("depth_nan", b"print(1)\n");
    let r = run_file(&["--max-call-depth", "lots"], &file);
    assert_eq!(r.status, Some(2), "{}", describe(&r));
}

// ---------------------------------------------------------------------------------------
// Unreadable files: exit 1

#[test]
fn missing_file_exits_1_with_one_line_naming_it() {
    let name = std::env::temp_dir().join(format!("ruff_cli_missing_{}_nope.ruff", std::process::id()));
    let _ = std::fs::remove_file(&name);
    let r = finish(ruff().arg("run").arg(&name).output().expect("runs"));
    assert_eq!(r.status, Some(1), "{}", describe(&r));
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "one-line message: {}", describe(&r));
    assert!(r.stderr.contains("ruff_cli_missing_"), "message names the file: {}", describe(&r));
}

#[test]
fn missing_file_for_check_exits_1() {
    let name = std::env::temp_dir().join(format!("ruff_cli_missing_check_{}.ruff", std::process::id()));
    let _ = std::fs::remove_file(&name);
    let r = finish(ruff().arg("check").arg(&name).output().expect("runs"));
    assert_eq!(r.status, Some(1), "{}", describe(&r));
}

#[test]
fn directory_exits_1() {
    let dir = std::env::temp_dir().join(format!("ruff_cli_dir_{}.ruff", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dir");
    let r = finish(ruff().arg("run").arg(&dir).output().expect("runs"));
    let _ = std::fs::remove_dir(&dir);
    assert_eq!(r.status, Some(1), "{}", describe(&r));
    assert!(!r.stderr.is_empty(), "a message is printed: {}", describe(&r));
}

#[test]
fn non_utf8_file_exits_1() {
    let file = TempFile::new("latin1", b"print(\"caf\xe9\")\n\xff\xfe\n");
    let r = run_file(&[], &file);
    assert_eq!(r.status, Some(1), "{}", describe(&r));
    assert_eq!(r.stdout, "", "nothing runs: {}", describe(&r));
    assert!(!r.stderr.is_empty(), "a message is printed: {}", describe(&r));
}

#[test]
fn empty_file_succeeds_silently() {
    let file = TempFile::new("empty", b"");
    let r = run_file(&[], &file);
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "");
}

// ---------------------------------------------------------------------------------------
// ruff check

#[test]
fn check_warns_about_bare_push() {
    let file = TempFile::new("bare_push", b"a := [1, 2]\npush(a, 1)\nprint(a)\n");
    let r = check_file(&file);
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert!(r.stderr.contains("push"), "warning mentions push: {}", describe(&r));
    assert!(r.stderr.contains(":2:"), "warning is located at line 2: {}", describe(&r));
    assert!(!r.stdout.contains("[1, 2]"), "check does not run the program: {}", describe(&r));
}

/// `g := push(g, len(w))` and `s := s + to_string(i)` on globals hand the global's value
/// to the statement (`TakeGlobal`, so it is not marked shared and is updated in place):
/// a builtin call among the other operands runs no Ruff code that could reach `g`. A call
/// of a Ruff function there could, so that read also puts `g` on loan (`Lend`) until just
/// before the push (`EndLoan`), instead of copying it (DESIGN.md value semantics item 13).
#[test]
fn globals_updated_by_their_own_statement_are_taken_even_around_builtin_calls() {
    let source = "g := []\ns := \"\"\nfunc f(x) { return x }\nfor w in [\"ab\"] {\n    g := push(g, len(w))\n    s := s + to_string(len(w))\n    g := push(g, f(w))\n}\n";
    let file = TempFile::new("take_global", source.as_bytes());
    let r = finish(ruff().args(["check", "--bytecode"]).arg(file.path()).output().expect("the ruff binary runs"));
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    let reads = |line: &str, instr: &str| r.stdout.lines().filter(|l| l.contains(line) && l.contains(instr)).count();
    assert_eq!(reads("L5 ", "TakeGlobal { dst: "), 2, "g and w taken at line 5: {}", r.stdout);
    assert_eq!(reads("L6 ", "TakeGlobal"), 2, "s and w taken at line 6: {}", r.stdout);
    assert_eq!(reads("L7 ", "TakeGlobal"), 1, "g taken at line 7: {}", r.stdout);
    assert_eq!(reads("L7 ", "Lend {"), 1, "g lent while f runs at line 7: {}", r.stdout);
    assert_eq!(reads("L7 ", "EndLoan {"), 1, "the loan ended before the push at line 7: {}", r.stdout);
    assert_eq!(reads("L7 ", "GetGlobal"), 2, "f and w read as copies at line 7: {}", r.stdout);
    let lines: Vec<&str> = r.stdout.lines().filter(|l| l.contains("L7 ")).collect();
    let position = |instr: &str| lines.iter().position(|l| l.contains(instr));
    assert!(position("EndLoan").zip(position("Call { base: 3")).is_some_and(|(end, push)| end < push), "{}", r.stdout);
}

/// `v[i] := push(v[i], x)` takes the element for the write (`GetIndexForWrite`) instead
/// of reading it (`GetIndex`, which shares it and makes the push copy it every time).
#[test]
fn pushing_onto_an_element_takes_it_for_the_write() {
    let source = "func f(a, i, x) {\n    a[i] := push(a[i], x)\n    return a\n}\nprint(f([[1]], 0, 2))\n";
    let file = TempFile::new("push_element", source.as_bytes());
    let r = finish(ruff().args(["check", "--bytecode"]).arg(file.path()).output().expect("the ruff binary runs"));
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    let line2: Vec<&str> = r.stdout.lines().filter(|l| l.contains(" L2 ")).collect();
    assert!(line2.iter().any(|l| l.contains("GetIndexForWrite")), "{}", r.stdout);
    assert!(!line2.iter().any(|l| l.contains("GetIndex {")), "{}", r.stdout);
    assert_eq!(run_source(source).stdout, "[[1, 2]]\n");
}

#[test]
fn check_does_not_warn_about_used_push() {
    let file = TempFile::new("used_push", b"a := [1, 2]\na := push(a, 1)\nprint(a)\n");
    let r = check_file(&file);
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert!(!r.stderr.to_lowercase().contains("warning"), "no warning: {}", describe(&r));
}

#[test]
fn check_syntax_error_exits_3_and_runs_nothing() {
    let file = TempFile::new("check_syntax", b"print(\"should not print\")\nx := (1 +\n");
    let r = check_file(&file);
    assert_eq!(r.status, Some(3), "{}", describe(&r));
    assert!(!r.stdout.contains("should not print"), "{}", describe(&r));
    assert!(r.stderr.starts_with("Syntax Error: "), "{}", describe(&r));
}

#[test]
fn check_does_not_run_runtime_errors() {
    let file = TempFile::new("check_runtime", b"print(\"no\")\nx := 1 / 0\n");
    let r = check_file(&file);
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert!(!r.stdout.contains("no\n"), "{}", describe(&r));
}

// ---------------------------------------------------------------------------------------
// Syntax errors: exit 3, nothing runs, located

#[test]
fn syntax_error_runs_nothing() {
    let file = TempFile::new("syntax", b"print(\"before\")\nx := 1 +* 2\nprint(\"after\")\n");
    let r = run_file(&[], &file);
    assert_eq!(r.status, Some(3), "{}", describe(&r));
    assert_eq!(r.stdout, "", "nothing runs: {}", describe(&r));
    assert!(r.stderr.starts_with("Syntax Error: "), "{}", describe(&r));
    assert!(r.stderr.contains(&format!("{}:2:", file.display())), "file:line:col: {}", describe(&r));
    assert!(r.stderr.contains("x := 1 +* 2"), "source line shown: {}", describe(&r));
    assert!(r.stderr.lines().any(|l| l.trim_end().ends_with('^')), "caret line: {}", describe(&r));
}

/// Decision 3: the first stderr line is `Syntax Error: MESSAGE` and the second is the
/// `  --> file:line:col` location; a message must not be split by a raw newline.
#[test]
fn syntax_error_message_is_one_line_then_location() {
    for source in ["m := match\n", "x := 1\nprint(x) else\n", "while\n"] {
        let file = TempFile::new("syntax_nl", source.as_bytes());
        let r = run_file(&[], &file);
        assert_eq!(r.status, Some(3), "{:?}: {}", source, describe(&r));
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert!(lines.len() >= 2, "{:?}: {}", source, describe(&r));
        assert!(lines[0].starts_with("Syntax Error: "), "{:?}: {}", source, describe(&r));
        assert!(
            lines[1].starts_with(&format!("  --> {}:", file.display())),
            "second line is the location for {:?}: {}",
            source,
            describe(&r)
        );
    }
}

/// A reserved word used as a variable name should be reported as such, with the caret
/// on the word, not as an "Unexpected ' '" pointing at the following blank.
#[test]
fn syntax_error_for_reserved_word_names_the_word() {
    let file = TempFile::new("reserved", b"x := 1\nint := 2\n");
    let r = run_file(&[], &file);
    assert_eq!(r.status, Some(3), "{}", describe(&r));
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("int"), "message names the reserved word: {}", describe(&r));
    assert!(r.stderr.contains(&format!("{}:2:1", file.display())), "located at the word: {}", describe(&r));
}

/// Decision 3: syntax errors show the source line with a caret, also at end of input.
#[test]
fn syntax_error_at_end_of_input_shows_a_caret() {
    let file = TempFile::new("eof", b"print(1)\nx := (1 +\n");
    let r = run_file(&[], &file);
    assert_eq!(r.status, Some(3), "{}", describe(&r));
    assert!(r.stderr.starts_with("Syntax Error: "), "{}", describe(&r));
    assert!(r.stderr.lines().any(|l| l.trim_end().ends_with('^')), "caret line: {}", describe(&r));
}

// ---------------------------------------------------------------------------------------
// Runtime errors: exit 4, located, stdout kept

#[test]
fn runtime_error_is_located_with_caret_and_stack() {
    let source = "print(\"before\")\nfunc f(x) {\n  return x / 0\n}\nprint(f(1))\nprint(\"after\")\n";
    let file = TempFile::new("runtime", source.as_bytes());
    let r = run_file(&[], &file);
    assert_eq!(r.status, Some(4), "{}", describe(&r));
    assert_eq!(r.stdout, "before\n", "output before the error stays on stdout: {}", describe(&r));
    assert!(r.stderr.starts_with("Runtime Error: Division by zero\n"), "{}", describe(&r));
    assert!(r.stderr.contains(&format!("{}:3:12", file.display())), "file:line:col: {}", describe(&r));
    assert!(r.stderr.contains("  return x / 0"), "source line: {}", describe(&r));
    let caret =
        r.stderr.lines().find(|l| l.trim_end().ends_with('^')).unwrap_or_else(|| panic!("caret: {}", describe(&r)));
    let source_line = r.stderr.lines().find(|l| l.contains("return x / 0")).expect("source line");
    // The caret sits under the `/`.
    assert_eq!(
        caret.trim_end().len() - 1,
        source_line.find('/').expect("slash"),
        "caret under the operator:\n{}\n{}",
        source_line,
        caret
    );
    assert!(r.stderr.contains("Call stack"), "call stack: {}", describe(&r));
    assert!(r.stderr.contains("f at "), "stack names f: {}", describe(&r));
    assert!(r.stderr.contains("<main>"), "{}", describe(&r));
}

#[test]
fn uncaught_throw_exits_4() {
    let r = run_source("print(1)\nthrow(\"boom\")\nprint(2)\n");
    assert_eq!(r.status, Some(4), "{}", describe(&r));
    assert_eq!(r.stdout, "1\n");
    assert!(r.stderr.starts_with("Runtime Error: boom\n"), "{}", describe(&r));
}

#[test]
fn large_output_before_runtime_error_is_flushed() {
    let r = run_source("for i in range(5000) { print(i) }\nx := [][0]\n");
    assert_eq!(r.status, Some(4), "{}", describe(&r));
    assert_eq!(r.stdout.lines().count(), 5000, "all output kept");
    assert!(r.stdout.ends_with("4999\n"));
    assert!(r.stderr.starts_with("Runtime Error: Index out of bounds: 0"), "{}", describe(&r));
}

// ---------------------------------------------------------------------------------------
// Recursion limit (decision 5)

const RUNAWAY: &str = "func f(n) { return f(n + 1) }\n";

#[test]
fn runaway_recursion_uncaught() {
    let r = run_source(&format!("{}print(\"start\")\nf(0)\n", RUNAWAY));
    assert_eq!(r.status, Some(4), "{}", describe(&r));
    assert_eq!(r.stdout, "start\n");
    assert!(
        r.stderr.starts_with("Runtime Error: Maximum call stack depth of 10000 exceeded while calling f\n"),
        "{}",
        describe(&r)
    );
}

#[test]
fn runaway_recursion_caught() {
    let r = run_source(&format!("{}try {{ f(0) }} except e {{ print(e.message) }}\nprint(\"after\")\n", RUNAWAY));
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert_eq!(r.stdout, "Maximum call stack depth of 10000 exceeded while calling f\nafter\n");
    assert_eq!(r.stderr, "");
}

#[test]
fn depth_10000_is_allowed_by_default() {
    let r = run_source("func d(n) { if n == 0 { return 0 } return 1 + d(n - 1) }\nprint(d(9990))\n");
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert_eq!(r.stdout, "9990\n");
}

#[test]
fn max_call_depth_option_changes_the_limit() {
    let source = format!(
        "{}func d(n) {{ if n == 0 {{ return 0 }} return 1 + d(n - 1) }}\nprint(d(40))\ntry {{ f(0) }} except e {{ print(e.message) }}\nf(0)\n",
        RUNAWAY
    );
    let file = TempFile::new("depth50", source.as_bytes());
    let r = run_file(&["--max-call-depth", "50"], &file);
    assert_eq!(r.status, Some(4), "{}", describe(&r));
    assert_eq!(r.stdout, "40\nMaximum call stack depth of 50 exceeded while calling f\n", "{}", describe(&r));
    assert!(
        r.stderr.starts_with("Runtime Error: Maximum call stack depth of 50 exceeded while calling f\n"),
        "{}",
        describe(&r)
    );
    // And the same program with the default limit does not stop at 50.
    let r = run_file(&[], &file);
    assert!(r.stdout.starts_with("40\nMaximum call stack depth of 10000 exceeded"), "{}", describe(&r));
}

// ---------------------------------------------------------------------------------------
// Pathological inputs: a syntax error or a normal run, never a crash

fn assert_no_crash(r: &Run, what: &str) {
    match r.status {
        Some(0) | Some(3) => {}
        other => panic!("{}: expected exit 0 or 3, got {:?} (None = killed by a signal)\n{}", what, other, describe(r)),
    }
    if r.status == Some(3) {
        assert!(r.stderr.starts_with("Syntax Error: "), "{}: {}", what, describe(r));
    }
}

#[test]
fn ten_thousand_nested_parentheses() {
    let source = format!("x := {}1{}\nprint(x)\n", "(".repeat(10_000), ")".repeat(10_000));
    let r = run_source(&source);
    assert_no_crash(&r, "10,000 nested parentheses");
    if r.status == Some(0) {
        assert_eq!(r.stdout, "1\n");
    }
}

#[test]
fn ten_thousand_nested_brackets_and_unary_minus() {
    let r = run_source(&format!("x := {}{}\n", "[".repeat(10_000), "]".repeat(10_000)));
    assert_no_crash(&r, "10,000 nested brackets");
    let r = run_source(&format!("x := {}1\nprint(x)\n", "-".repeat(10_000)));
    assert_no_crash(&r, "10,000 unary minus");
    if r.status == Some(0) {
        assert_eq!(r.stdout, "1\n");
    }
    let r = run_source(&format!("{}print(1){}\n", "if true { ".repeat(5_000), " }".repeat(5_000)));
    assert_no_crash(&r, "5,000 nested blocks");
}

#[test]
fn one_megabyte_single_line_expression() {
    // "1+1+...+1": 1 MB on one line.
    let terms = 500_000;
    let mut source = String::with_capacity(terms * 2 + 16);
    source.push_str("x := 1");
    for _ in 1..terms {
        source.push_str("+1");
    }
    source.push_str("\nprint(x)\n");
    let file = TempFile::new("onemeg", source.as_bytes());
    let (r, _elapsed, timed_out) = run_with_timeout(&file, Duration::from_secs(120));
    assert!(!timed_out, "the 1 MB expression did not finish within 120 s");
    assert_no_crash(&r, "1 MB expression");
    if r.status == Some(0) {
        assert_eq!(r.stdout, format!("{}\n", terms));
    }
}

// ---------------------------------------------------------------------------------------
// Decision 10: `s := s + piece` in a loop is amortized O(len(piece)).

#[test]
fn string_building_by_concatenation_is_linear() {
    // 200,000 appends of one character: a linear implementation takes well under a
    // second even in a debug build; copying the whole string each time takes minutes.
    let file = TempFile::new("strcat", b"s := \"\"\nfor i in range(200000) { s := s + \"x\" }\nprint(len(s))\n");
    let (r, elapsed, timed_out) = run_with_timeout(&file, Duration::from_secs(15));
    assert!(!timed_out, "s := s + \"x\" x 200,000 did not finish in 15 s (quadratic?)");
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert_eq!(r.stdout, "200000\n");
    assert!(elapsed < Duration::from_secs(15));
}

/// Decision 9: `a := push(a, x)` in a loop is amortized O(1).
#[test]
fn array_building_by_push_is_linear() {
    let file = TempFile::new(
        "pushloop",
        b"a := []\nfor i in range(200000) { a := push(a, i) }\nfor i in range(200000) { a[i] := i * 2 }\nprint(len(a), a[199999])\n",
    );
    let (r, _elapsed, timed_out) = run_with_timeout(&file, Duration::from_secs(15));
    assert!(!timed_out, "push/index loops of 200,000 did not finish in 15 s (quadratic?)");
    assert_eq!(r.status, Some(0), "{}", describe(&r));
    assert_eq!(r.stdout, "200000 399998\n");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn jit_stats_explain_exits_and_aborts_in_the_programs_terms() {
    let program = TempFile::new(
        "jit_explain",
        b"func drift(n) {\n    x := 0\n    for i in range(n) {\n        if i == 60 { x := x + 0.5 }\n        x := x + 2\n    }\n    return x\n}\nprint(drift(200))\nfunc f(k) {\n    if k < 1 { return 0 }\n    return f(k - 1) + 1\n}\nfunc calls() {\n    t := 0\n    for i in range(100) { t := t + f(i % 3) }\n    return t\n}\nprint(calls())\nfunc closures() {\n    k := 3\n    g := func() {\n        s := 0\n        for i in range(100) { s := s + k }\n        return s\n    }\n    return g()\n}\nprint(closures())\n",
    );
    let output =
        ruff().args(["run", "--jit-stats", "--jit-threshold", "20"]).arg(program.path()).output().expect("runs");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "400.5\n99\n300\n");
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(
        report.contains("`x` held a float at ")
            && report.contains(":5:16 in drift where the loop at line 3 was compiled for an int"),
        "{}",
        report
    );
    assert!(report.contains(":16 in calls, IR"), "{}", report);
    assert!(report.contains("recording the loop at line 24 in <lambda> was given up"), "{}", report);
    assert!(
        report
            .contains("it uses closures' captured variables in a loop's own function, which traces do not support yet"),
        "{}",
        report
    );
    let json =
        ruff().args(["run", "--jit-stats=json", "--jit-threshold", "20"]).arg(program.path()).output().expect("runs");
    let document = String::from_utf8_lossy(&json.stderr);
    assert!(document.trim_start().starts_with('{') && document.trim_end().ends_with('}'), "{}", document);
    assert!(document.contains("\"explanations\":[\"recording the loop at line"), "{}", document);
}

/// Growing a string or an array until memory runs out (under `ulimit -v`) ends in a
/// catchable runtime error, with the JIT on and off, not in an abort. Ignored by default:
/// each run takes seconds and over a GiB of memory (`cargo test -- --ignored` runs it).
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs about 1.5 GiB of memory and several seconds per run"]
fn running_out_of_memory_is_a_catchable_error() {
    let string = TempFile::new(
        "oom_string",
        b"piece := \"0123456789012345678901234567890123456789012345678901234567890123456789\"\nt := \"\"\ntry {\n    while true { t := t + piece }\n} except e { print(e.message) }\n",
    );
    let array = TempFile::new(
        "oom_array",
        b"a := []\ntry {\n    while true { a := push(a, 1) }\n} except e { print(e.message) }\n",
    );
    for file in [&string, &array] {
        for jit in ["--no-jit", "--jit-threshold=50"] {
            let script = format!("ulimit -v 3000000; exec \"$0\" run {} \"$1\"", jit);
            let output = Command::new("sh")
                .args(["-c", &script, env!("CARGO_BIN_EXE_ruff")])
                .arg(file.path())
                .output()
                .expect("sh runs");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{} {}: {}",
                jit,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(stdout.starts_with("Out of memory: "), "{}: {}", jit, stdout);
        }
    }
}

/// A full machine-code budget flushes every trace; the program goes on with the same
/// output, and the report counts the flushes.
#[cfg(target_arch = "x86_64")]
#[test]
fn machine_code_limit_flushes_traces_and_keeps_running() {
    let program = TempFile::new(
        "code_limit",
        b"func f(n) {\n    s := 0\n    for i in range(n) { s := s + i * 2 }\n    return s\n}\nt := 0\nfor k in range(400) {\n    t := t + f(k % 50)\n    x := 0.5\n    for j in range(30) { x := x * 1.01 + j }\n    t := t + floor(x)\n}\nprint(t)\n",
    );
    let reference = ruff().args(["run", "--no-jit"]).arg(program.path()).output().expect("runs");
    assert!(reference.status.success());
    let limited = ruff()
        .args(["run", "--jit-code-limit", "1", "--jit-threshold", "5", "--jit-stats=json"])
        .arg(program.path())
        .output()
        .expect("runs");
    assert!(limited.status.success(), "{}", String::from_utf8_lossy(&limited.stderr));
    assert_eq!(limited.stdout, reference.stdout);
    let report = String::from_utf8_lossy(&limited.stderr);
    assert!(report.contains("\"flushes\":") && !report.contains("\"flushes\":0,"), "{}", report);
    let rejected = ruff().args(["run", "--jit-code-limit", "0"]).arg(program.path()).output().expect("runs");
    assert_eq!(rejected.status.code(), Some(2));
}

/// Short inner loops inside a hot loop, directly or in a called function
/// (`../shared/repros/jit_short_inner_loop.ruff`), run natively: they are unrolled into the
/// traces, or jumped into where they have traces of their own. Before, the outer loops
/// aborted ("inner loop in root trace") and stayed interpreted.
#[cfg(target_arch = "x86_64")]
#[test]
fn short_inner_loops_run_natively() {
    let program = TempFile::new(
        "short_inner_loops",
        b"func step(xs, n) {
    i := 0
    s := 0.0
    while i < n {
        j := i + 1
        while j < n {
            s := s + xs[i] * xs[j]
            j := j + 1
        }
        i := i + 1
    }
    return s
}
xs := [1.5, 2.5, 3.5, 4.5]
total := 0.0
k := 0
while k < 100000 {
    total := total + step(xs, 4)
    for j in range(k % 4) { total := total + j }
    k := k + 1
}
print(total)
",
    );
    let number = |document: &str, key: &str| -> f64 {
        let at = document.find(&format!("\"{}\":", key)).unwrap_or_else(|| panic!("{} in {}", key, document));
        let digits: String =
            document[at + key.len() + 3..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        digits.parse().unwrap_or_else(|_| panic!("{} is a number in {}", key, document))
    };
    let interpreted = run_file(&["--no-jit"], &program);
    let output = ruff().args(["run", "--jit-stats=json"]).arg(program.path()).output().expect("runs");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), interpreted.stdout);
    let document = String::from_utf8_lossy(&output.stderr);
    assert!(number(&document, "native_share_percent") >= 99.0, "{}", document);
    let native_calls = number(&document, "native_calls");
    let calls = native_calls + number(&document, "interpreted_calls");
    assert!(native_calls >= 0.99 * calls, "{}", document);
    assert!(!document.contains("inner loop"), "{}", document);
}

/// `--jit-perf-map` names every compiled trace's code in /tmp/perf-PID.map, one
/// `START SIZE NAME` line each, as `perf report` reads it.
#[test]
fn jit_perf_map_names_each_trace() {
    let file = TempFile::new("perf_map.ruff", b"t := 0\nfor i in range(5000) { t := t + i }\nprint(t)\n");
    let child = ruff()
        .args(["run", "--jit-perf-map"])
        .arg(&file.0)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ruff starts");
    let map = std::env::temp_dir().join(format!("perf-{}.map", child.id()));
    let output = child.wait_with_output().expect("ruff runs");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "12497500\n");
    let text = std::fs::read_to_string(&map).expect("the map was written");
    let _ = std::fs::remove_file(&map);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one trace: {}", text);
    let fields: Vec<&str> = lines[0].splitn(3, ' ').collect();
    assert!(usize::from_str_radix(fields[0], 16).is_ok_and(|start| start > 0), "{}", text);
    assert!(usize::from_str_radix(fields[1], 16).is_ok_and(|size| size > 0), "{}", text);
    assert!(fields[2].starts_with("ruff trace 1: loop at ") && fields[2].ends_with(":2 in <main>"), "{}", text);
}
