//! Scripts as a person runs them (LANGUAGE.md section 18), through the real binary:
//! program from standard input, script arguments (also ones that look like options),
//! `exit` statuses, a closed output pipe, signals after printing, a byte-order mark,
//! `input`, the environment, JSON nesting, `random_seed` across processes.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ruff() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ruff"))
}

/// A fresh directory under the temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(hint: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("ruff_scripts_{}_{}_{}", hint, std::process::id(), nanos));
        std::fs::create_dir_all(&path).expect("can create a temp dir");
        TempDir(path)
    }

    /// Writes `contents` to `name` (creating parent directories) and returns its path.
    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("can create dirs");
        std::fs::write(&path, contents).expect("can write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `command` with `stdin` as its standard input.
fn run_with_input(mut command: Command, stdin: impl AsRef<[u8]>) -> Output {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("ruff starts");
    // A program that exits without reading its input (usage printed, an early error)
    // closes the pipe first: that is a broken pipe here, not a failure.
    match child.stdin.take().expect("piped stdin").write_all(stdin.as_ref()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("cannot write stdin: {}", e),
        _ => {}
    }
    child.wait_with_output().expect("ruff finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn program_from_standard_input() {
    let mut command = ruff();
    command.args(["run", "-", "a", "--b"]);
    let out = run_with_input(command, "print(\"hi\", args())\n");
    assert_eq!(text(&out.stdout), "hi [a, --b]\n");
    assert_eq!(out.status.code(), Some(0));
    // Errors name the program <stdin>.
    let mut command = ruff();
    command.args(["run", "-"]);
    let out = run_with_input(command, "x := 1\nprint(x / 0)\n");
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("--> <stdin>:2:"), "{}", text(&out.stderr));
}

#[test]
fn arguments_after_file_belong_to_the_script() {
    let dir = TempDir::new("args");
    let program = dir.file("args.ruff", "print(args())\n");
    let cases: &[(&[&str], &str)] = &[
        (&["--", "--flag", "x"], "[--flag, x]\n"),
        (&["--flag", "x"], "[--flag, x]\n"),
        (&["--no-jit", "-v", "--", "y"], "[--no-jit, -v, --, y]\n"),
        (&[], "[]\n"),
    ];
    for (args, expected) in cases {
        let out = ruff().arg("run").arg(&program).args(*args).output().expect("runs");
        assert_eq!(text(&out.stdout), *expected, "args {:?}: {}", args, text(&out.stderr));
    }
    // Options of ruff still come before FILE, also ones taking a separate value.
    let out = ruff().args(["run", "--jit-threshold", "1", "--no-jit"]).arg(&program).arg("z").output().expect("runs");
    assert_eq!(text(&out.stdout), "[z]\n");
}

#[test]
fn exit_status_and_flush() {
    let dir = TempDir::new("exit");
    let cases = [
        ("print(\"before\")\nexit(7)\nprint(\"after\")\n", Some(7), "before\n"),
        ("try { exit(2) } except e { print(\"caught\") }\n", Some(2), ""),
        ("print(1)\nexit()\n", Some(0), "1\n"),
        ("try { exit(256) } except e { print(e.message) }\n", Some(0), "exit() status must be 0..255, got 256\n"),
    ];
    for (source, status, stdout) in cases {
        let program = dir.file("exit.ruff", source);
        let out = ruff().arg("run").arg(&program).output().expect("runs");
        assert_eq!(out.status.code(), status, "{}", source);
        assert_eq!(text(&out.stdout), stdout, "{}", source);
    }
}

#[test]
fn closed_pipe_ends_quietly() {
    let dir = TempDir::new("pipe");
    let program = dir.file("many.ruff", "for i in range(0, 2000000) { print(i) }\n");
    let mut child =
        ruff().arg("run").arg(&program).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("ruff starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut first = [0u8; 2];
    stdout.read_exact(&mut first).expect("reads the first line");
    assert_eq!(&first, b"0\n");
    drop(stdout);
    let out = child.wait_with_output().expect("ruff ends");
    assert_eq!(text(&out.stderr), "", "nothing on stderr after the reader went away");
    assert_eq!(out.status.code(), Some(141));
}

/// Sends `signal` to a child that printed a line and then loops: the line is not lost.
fn interrupted_keeps_output(signal: &str, status: i32) {
    use std::os::unix::process::ExitStatusExt;
    let dir = TempDir::new("signal");
    let program = dir.file("spin.ruff", "print(\"start\")\nx := 0\nwhile true { x += 1 }\n");
    let output = dir.0.join("out.txt");
    let mut child = ruff()
        .arg("run")
        .arg(&program)
        .stdout(std::fs::File::create(&output).expect("can create"))
        .spawn()
        .expect("ruff starts");
    // The program prints at once, but to a file stdout is block-buffered: wait until it
    // is surely looping, then interrupt it.
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill").arg(format!("-{}", signal)).arg(child.id().to_string()).status();
    assert!(killed.expect("kill runs").success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("can wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "ruff did not stop on SIG{}", signal);
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.signal().or(exit.code().map(|c| c - 128)), Some(status), "{:?}", exit);
    assert_eq!(std::fs::read_to_string(&output).expect("readable"), "start\n");
}

#[test]
fn sigint_keeps_printed_output() {
    interrupted_keeps_output("INT", 2);
}

#[test]
fn sigterm_keeps_printed_output() {
    interrupted_keeps_output("TERM", 15);
}

#[test]
fn byte_order_mark_is_skipped() {
    let dir = TempDir::new("bom");
    let program = dir.file("bom.ruff", "\u{feff}print(\"ok\")\nx := 1 +\n");
    let out = ruff().arg("run").arg(&program).output().expect("runs");
    // The error column counts from after the mark.
    assert_eq!(out.status.code(), Some(3));
    let program = dir.file("bom.ruff", "\u{feff}print(\"ok\")\n");
    let out = ruff().arg("run").arg(&program).output().expect("runs");
    assert_eq!(text(&out.stdout), "ok\n");
    let mut command = ruff();
    command.args(["run", "-"]);
    assert_eq!(text(&run_with_input(command, "\u{feff}print(2)").stdout), "2\n");
}

#[test]
fn input_reads_lines_and_flushes_the_prompt() {
    let dir = TempDir::new("input");
    let program = dir.file(
        "input.ruff",
        "print(\"first\")\nname := input(\"name? \")\nprint(\"hello\", name)\nprint(input(), input())\n",
    );
    let mut command = ruff();
    command.arg("run").arg(&program);
    let out = run_with_input(command, "Ada\r\nlast\n");
    assert_eq!(text(&out.stdout), "first\nname? hello Ada\nlast null\n");
}

/// `input` on trace (issue 12): a hot loop reads lines with a prompt and prints many
/// values per line; a line that is no UTF-8 fails after the prompt was written and the
/// line consumed, which the trace's exit must not do again (the interpreter raises the
/// error the trace's call met). Every mode prints what `--no-jit` prints.
#[test]
fn input_in_a_hot_loop_prompts_once_per_line_in_every_mode() {
    let dir = TempDir::new("input_hot");
    let program = dir.file(
        "input_hot.ruff",
        "func main() {\n    mut errors := 0\n    for i in range(100) {\n        mut line := \"\"\n        \
         try { line := input(\"p${i}> \") } except e { errors := errors + 1\n line := e.message }\n        \
         if line == null { print(\"end\", i, errors, [i], {\"k\": i})\n break }\n        \
         print(\"got\", line, i, len(line), 1.5, true, null, [line])\n    }\n}\nmain()\n",
    );
    let mut stdin = Vec::new();
    for n in 0..70 {
        match n {
            20 | 21 | 50 => stdin.extend_from_slice(b"bad \xff\xfe\n"),
            _ => stdin.extend_from_slice(format!("line {}\n", n).as_bytes()),
        }
    }
    let mut outputs = Vec::new();
    for (options, stress) in [
        (&["--no-jit"][..], ""),
        (&[], ""),
        (&["--jit-threshold", "1"], ""),
        (&["--jit-threshold", "1"], "RUFF_DEOPT_STRESS"),
    ] {
        let mut command = ruff();
        command.arg("run").args(options).arg(&program);
        if !stress.is_empty() {
            command.env(stress, "1");
        }
        let out = run_with_input(command, &stdin);
        outputs.push((text(&out.stdout), text(&out.stderr), out.status.code()));
    }
    let expected = &outputs[0];
    assert!(expected.0.contains("p20> got input() could not read"), "{}", expected.0);
    assert!(expected.0.ends_with("p70> end 70 3 [70] {\"k\": 70}\n"), "{}", expected.0);
    for output in &outputs[1..] {
        assert_eq!(output, expected);
    }
}

#[test]
fn environment_and_standard_error() {
    let dir = TempDir::new("env");
    let program = dir.file(
        "env.ruff",
        "print(env(\"RUFF_TEST_VAR\"), env(\"RUFF_TEST_UNSET\"), env_or(\"RUFF_TEST_UNSET\", 5))\neprint(\"warn\", [1])\n",
    );
    let out = ruff()
        .arg("run")
        .arg(&program)
        .env("RUFF_TEST_VAR", "v a l")
        .env_remove("RUFF_TEST_UNSET")
        .output()
        .expect("runs");
    assert_eq!(text(&out.stdout), "v a l null 5\n");
    assert_eq!(text(&out.stderr), "warn [1]\n");
}

#[test]
fn deep_json_is_an_error_not_a_crash() {
    let dir = TempDir::new("json");
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    dir.file("deep.json", &deep);
    let program = dir.file(
        "deep.ruff",
        "try { parse_json(read_file(args()[0])) } except e { print(e.message) }\nprint(\"alive\")\n",
    );
    let out = ruff().arg("run").arg(&program).arg(dir.0.join("deep.json")).output().expect("runs");
    assert_eq!(
        text(&out.stdout),
        "Invalid JSON at line 1, column 1001: nesting deeper than 1000 levels\nalive\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn random_seed_reproduces_across_processes() {
    let dir = TempDir::new("random");
    let program =
        dir.file("seeded.ruff", "random_seed(2024)\nprint(random(), random_int(0, 1000000), random_int(-5, 5))\n");
    let first = ruff().arg("run").arg(&program).output().expect("runs");
    let second = ruff().args(["run", "--jit-threshold", "1"]).arg(&program).output().expect("runs");
    assert_eq!(first.stdout, second.stdout);
    // The generator is PCG64 seeded with seed_from_u64: these numbers never change.
    assert_eq!(text(&first.stdout), "0.27219516218860784 528021 1\n");
    let unseeded = dir.file("unseeded.ruff", "print(random(), random())\n");
    let a = ruff().arg("run").arg(&unseeded).output().expect("runs");
    let b = ruff().arg("run").arg(&unseeded).output().expect("runs");
    assert_ne!(a.stdout, b.stdout, "without a seed each run differs");
}

fn acceptance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/acceptance")
}

/// The acceptance program of issue 14: three modules (main, package `lib` with `text`
/// and `util`) read the JSON file named on the command line and write a transformed
/// JSON file equal to the golden one, with and without the JIT (threshold 1 too).
#[test]
fn three_module_json_program_matches_golden() {
    let dir = TempDir::new("acceptance");
    let expected = std::fs::read_to_string(acceptance_dir().join("expected.json")).expect("golden file");
    for options in [&["--no-jit"][..], &[], &["--jit-threshold", "1"]] {
        let output = dir.0.join("out.json");
        let out = ruff()
            .arg("run")
            .args(options)
            .arg(acceptance_dir().join("main.ruff"))
            .arg(acceptance_dir().join("input.json"))
            .arg(&output)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{:?}: {}", options, text(&out.stderr));
        assert_eq!(text(&out.stdout), "TEAM ROSTER: 4 people, 3 engineers\n");
        assert_eq!(std::fs::read_to_string(&output).expect("output written"), expected, "{:?}", options);
    }
    let out = ruff().arg("run").arg(acceptance_dir().join("main.ruff")).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "usage: main.ruff INPUT.json OUTPUT.json\n");
}

/// Runs `main.ruff` of `dir` and returns (status, stdout, stderr).
fn run_main(dir: &TempDir, ruff_path: Option<&std::path::Path>) -> (Option<i32>, String, String) {
    let mut command = ruff();
    command.arg("run").arg(dir.0.join("main.ruff")).env_remove("RUFF_PATH");
    if let Some(path) = ruff_path {
        command.env("RUFF_PATH", path);
    }
    let out = command.output().expect("runs");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn import_problems_are_found_before_anything_runs() {
    let dir = TempDir::new("imports");
    dir.file("pkg/a.ruff", "import pkg.b\nexport func fa() { return 1 }\n");
    dir.file("pkg/b.ruff", "print(\"b runs\")\nfrom pkg.a import fa\n");
    dir.file("main.ruff", "print(\"main runs\")\nimport pkg.a\n");
    let (status, stdout, stderr) = run_main(&dir, None);
    assert_eq!((status, stdout.as_str()), (Some(3), ""));
    assert!(stderr.starts_with("Syntax Error: Circular import: main -> pkg.a -> pkg.b -> pkg.a\n"), "{}", stderr);
    assert!(stderr.contains("pkg/b.ruff:2:1"), "{}", stderr);

    dir.file("pkg/b.ruff", "export func fb() { return 2 }\nfunc private() { return 3 }\n");
    dir.file("main.ruff", "print(\"main runs\")\nfrom pkg.b import fb, private\n");
    let (status, stdout, stderr) = run_main(&dir, None);
    assert_eq!((status, stdout.as_str()), (Some(3), ""));
    assert!(stderr.starts_with("Syntax Error: Module pkg.b does not export private\n"), "{}", stderr);
    assert!(stderr.contains("main.ruff:2:23"), "{}", stderr);

    dir.file("main.ruff", "import pkg.missing\n");
    let (status, _, stderr) = run_main(&dir, None);
    assert_eq!(status, Some(3));
    assert!(stderr.starts_with("Syntax Error: Module not found: pkg.missing (looked in: "), "{}", stderr);

    dir.file("main.ruff", "import pkg.b\nprint(b)\n");
    let (status, _, stderr) = run_main(&dir, None);
    assert_eq!(status, Some(3));
    assert!(stderr.starts_with("Syntax Error: Module b is not a value\n"), "{}", stderr);

    dir.file("main.ruff", "if true { import pkg.b }\n");
    assert_eq!(run_main(&dir, None).0, Some(3));

    // A module's own syntax error names the module's file.
    dir.file("pkg/broken.ruff", "export func f( {\n");
    dir.file("main.ruff", "import pkg.broken\n");
    let (status, _, stderr) = run_main(&dir, None);
    assert_eq!(status, Some(3));
    assert!(stderr.contains("pkg/broken.ruff:1:"), "{}", stderr);
}

#[test]
fn modules_resolve_against_root_then_ruff_path() {
    let dir = TempDir::new("ruffpath");
    let library = TempDir::new("ruffpath_lib");
    library.file("shared/greet.ruff", "export func hello(n) { return \"hello \" + n }\n");
    dir.file("main.ruff", "from shared.greet import hello\nprint(hello(\"path\"))\n");
    let (status, stdout, stderr) = run_main(&dir, Some(&library.0));
    assert_eq!((status, stdout.as_str()), (Some(0), "hello path\n"), "{}", stderr);
    // The program's root comes first.
    dir.file("shared/greet.ruff", "export func hello(n) { return \"local \" + n }\n");
    let (_, stdout, _) = run_main(&dir, Some(&library.0));
    assert_eq!(stdout, "local path\n");
    // A module runs once however many files import it.
    dir.file("shared/once.ruff", "print(\"once\")\nexport let X := 1\n");
    dir.file("shared/other.ruff", "from shared.once import X\nexport let Y := X + 1\n");
    dir.file("main.ruff", "import shared.once\nfrom shared.other import Y\nimport shared.once\nprint(Y, once.X)\n");
    let (_, stdout, stderr) = run_main(&dir, None);
    assert_eq!(stdout, "once\n2 1\n", "{}", stderr);
}

#[test]
fn repl_through_a_pipe() {
    let mut command = ruff();
    command.arg("repl");
    let out = run_with_input(command, "x := 2\nprint(x * 21)\n");
    assert_eq!((text(&out.stdout).as_str(), text(&out.stderr).as_str()), ("42\n", ""));
    assert_eq!(out.status.code(), Some(0));

    // Multi-line inputs, values of bare expressions (not null), errors that do not end
    // the session, functions and globals kept between inputs, the JIT on hot code.
    let session = "func fib(n) {\n  if n < 2 { return n }\n  return fib(n - 1) + fib(n - 2)\n}\nfib(20)\n\
                   xs := [1,\n  2]\nxs\nnull\nprint(nope)\n1 / 0\nxs := push(xs, 3)\nlen(xs)\n\
                   s := \"${len(xs)} items\"\ns\ntotal := 0\nfor i in range(0, 500) { total += i }\ntotal\n";
    for options in [&["--no-jit"][..], &[]] {
        let mut command = ruff();
        command.arg("repl").args(options);
        let out = run_with_input(command, session);
        assert_eq!(text(&out.stdout), "6765\n[1, 2]\n3\n3 items\n124750\n", "{:?}", options);
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("Runtime Error: Undefined variable: nope\n  --> <repl>:1:7\n"), "{}", stderr);
        assert!(stderr.contains("Runtime Error: Division by zero\n"), "{}", stderr);
        assert_eq!(out.status.code(), Some(0));
    }

    // exit() leaves; a syntax error is reported and the session goes on.
    let mut command = ruff();
    command.arg("repl");
    let out = run_with_input(command, "x := (1 +\n 2)\nprint(x)\nx := := 1\nprint(x)\nexit(5)\nprint(0)\n");
    assert_eq!(text(&out.stdout), "3\n3\n");
    assert!(text(&out.stderr).starts_with("Syntax Error:"), "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn ruff_alone_without_a_terminal_prints_usage() {
    let out = run_with_input(ruff(), "print(1)\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("repl"), "{}", text(&out.stdout));
}

#[test]
fn diagnostics_a_newcomer_needs() {
    let dir = TempDir::new("diagnostics");
    let cases = [
        (
            "func f() {\n  if x {\n  }\nprint(2)\n",
            "Syntax Error: Unclosed '{': no matching '}' before the end of the file",
            "1:10",
        ),
        ("x := 1\npritn(x)\n", "Runtime Error: Undefined variable: pritn (did you mean `print`?)", "2:1"),
        ("total := 1\nprint(totl)\n", "Runtime Error: Undefined variable: totl (did you mean `total`?)", "2:7"),
        // `} elif x > 0 {}` happens to parse (a name, then a comparison and a block):
        // the hint then comes with the undefined name.
        (
            "x := 1\nif x > 1 {\n} elif x > 0 {\n}\n",
            "Runtime Error: Undefined variable: elif (`elif` is not Ruff: write `else if`)",
            "3:3",
        ),
        ("x := 1\nif x > 1 {\n} elif x {\n  print(x)\n}\n", "Syntax Error: `elif` is not Ruff: write `else if`", "3:3"),
        ("def add(a, b):\n  return a + b\n", "Syntax Error: `def` is not Ruff", "1:1"),
        ("function add(a, b) {\n  return a + b\n}\n", "Syntax Error: `function` is not Ruff", "1:1"),
    ];
    for (source, first_line, location) in cases {
        let program = dir.file("d.ruff", source);
        let out = ruff().arg("run").arg(&program).output().expect("runs");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with(first_line), "{:?}: {}", source, stderr);
        assert!(stderr.contains(&format!("d.ruff:{}", location)), "{:?}: {}", source, stderr);
    }
}

#[test]
fn check_reports_mistakes_in_several_files_and_directories() {
    let dir = TempDir::new("check");
    let first = dir
        .file("a.ruff", "x := 5\npritn(x)\nlen(1, 2)\n5(3)\nlet k := 1\nk := 2\nfunc f() { return undefined_name }\n");
    dir.file("sub/b.ruff", "print(1)\n");
    dir.file("sub/deeper/c.ruff", "const c := 1\nc := 2\n");
    let out = ruff().arg("check").arg(&first).arg(dir.0.join("sub")).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(stdout.lines().count(), 3, "{}", stdout);
    assert!(stdout.contains("a.ruff: ok, 5 warning(s)"), "{}", stdout);
    assert!(stdout.contains("b.ruff: ok, 0 warning(s)"), "{}", stdout);
    assert!(stdout.contains("c.ruff: ok, 1 warning(s)"), "{}", stdout);
    for expected in [
        "Warning: undefined name: pritn (did you mean `print`?)",
        "Warning: `len` takes 1 argument(s), given 2",
        "Warning: calling a number or string, which is not a function",
        "Warning: Cannot reassign immutable let binding: k",
        "Warning: undefined name: undefined_name",
        "Warning: Cannot reassign const binding: c",
    ] {
        assert!(stderr.contains(expected), "missing {:?} in\n{}", expected, stderr);
    }
    // A syntax error in one file makes the status 3; the others are still checked.
    dir.file("sub/broken.ruff", "x := (1\n");
    let out = ruff().arg("check").arg(dir.0.join("sub")).output().expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout).lines().count(), 2, "{}", text(&out.stdout));
}
