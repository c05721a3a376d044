//! The JIT's inspection outputs, on the small programs of `tests/inspect/`:
//!
//! - golden text of `--jit-log` (`NAME.log`), with times masked as `T ms` and sizes (IR
//!   instructions, machine code bytes) as `N`, so that the events are what is compared;
//! - golden text of `--profile` (`NAME.profile`): the header with its numbers masked and
//!   the rows of lines with exits or aborts (ordered by line, sample columns masked): which
//!   other lines get samples, and how many, varies from run to run;
//! - `--jit-stats=json:FILE`, `--dump-traces=DIR` (old dumps cleared, unwritable
//!   directories a usage error) and `--dump-traces DIR` taken for a program.
//!
//! `RUFF_BLESS=1 cargo test --test inspect` rewrites the golden files; check them by hand.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ruff() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ruff"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("RUFF_DEOPT_STRESS").env_remove("RUFF_GC_STRESS");
    command
}

/// `text` with every duration in milliseconds replaced by `T ms`, and the sizes of traces
/// (`N bytes`, `IR N instructions (recorded N)`) by `N`.
fn mask_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let masked: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, word)| {
                let next = words.get(i + 1).copied().unwrap_or("");
                let number = word.trim_start_matches('(').trim_end_matches([')', ',']);
                let is_number = !number.is_empty() && number.parse::<f64>().is_ok();
                let mask = if number.contains('.') && next.starts_with("ms") {
                    "T"
                } else if next.starts_with("bytes")
                    || next.starts_with("instructions")
                    || (i > 0 && words[i - 1] == "(recorded")
                {
                    "N"
                } else {
                    ""
                };
                if is_number && !mask.is_empty() {
                    word.replace(number, mask)
                } else {
                    word.to_string()
                }
            })
            .collect();
        out.push_str(&masked.join(" "));
        out.push('\n');
    }
    out
}

fn programs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inspect");
    let mut list: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/inspect exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ruff"))
        .collect();
    list.sort();
    list
}

/// Compares `actual` with the golden file `path` (or writes it under `RUFF_BLESS=1`).
fn golden(path: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("RUFF_BLESS").is_some() {
        std::fs::write(path, actual).expect("golden file written");
        return None;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then(|| format!("{}:\n--- expected\n{}--- actual\n{}", path.display(), expected, actual))
}

fn relative(program: &Path) -> String {
    format!("tests/inspect/{}", program.file_name().unwrap().to_string_lossy())
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[cfg(target_arch = "x86_64")]
#[test]
fn jit_log_matches_its_golden_text() {
    let mut failures = Vec::new();
    for program in programs() {
        let output = ruff().args(["run", "--jit-log"]).arg(relative(&program)).output().expect("ruff runs");
        assert!(output.status.success(), "{}: {}", program.display(), stderr_of(&output));
        failures.extend(golden(&program.with_extension("log"), &mask_times(&stderr_of(&output))));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The deterministic part of a `--profile` report (see the module header).
fn mask_profile(text: &str) -> String {
    let mut lines = text.lines();
    // The time per sample is only printed when there are samples.
    let header = lines.next().unwrap_or("");
    let header = match (header.find(" (one per "), header.find(" ms),")) {
        (Some(start), Some(end)) if start < end => format!("{}{}", &header[..start], &header[end + 4..]),
        _ => header.to_string(),
    };
    let header: String = header
        .split(' ')
        .map(|w| if w.trim_start_matches('(').chars().next().is_some_and(|c| c.is_ascii_digit()) { "N" } else { w })
        .collect::<Vec<_>>()
        .join(" ");
    let columns = lines.next().unwrap_or("").to_string();
    let mut rows: Vec<(u32, String)> = lines
        .filter_map(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let (line, exits, aborts) = (fields.first()?.parse::<u32>().ok()?, fields.get(4)?, fields.get(5)?);
            if *exits == "0" && *aborts == "0" {
                return None;
            }
            Some((
                line,
                format!(
                    "{:>6} {:>8} {:>6} {:>7} {:>7} {:>6}  {}",
                    line,
                    "S",
                    "S",
                    "S",
                    exits,
                    aborts,
                    fields[6..].join(" ")
                ),
            ))
        })
        .collect();
    rows.sort();
    let mut out = format!("{}\n{}\n", header, columns);
    for (_, row) in rows {
        out.push_str(&row);
        out.push('\n');
    }
    out
}

#[test]
fn profile_matches_its_golden_text() {
    let mut failures = Vec::new();
    for program in programs() {
        let output = ruff().args(["run", "--profile"]).arg(relative(&program)).output().expect("ruff runs");
        assert!(output.status.success(), "{}: {}", program.display(), stderr_of(&output));
        let report = stderr_of(&output);
        assert!(report.starts_with("Profile of tests/inspect/"), "{}", report);
        if cfg!(target_arch = "x86_64") {
            failures.extend(golden(&program.with_extension("profile"), &mask_profile(&report)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The acceptance check of issue 15: the abort at line 7 (a call of a builtin held in a
/// struct field, which traces do not record yet) is logged at line 7 and its column.
#[cfg(target_arch = "x86_64")]
#[test]
fn jit_log_names_the_line_and_column_of_an_abort() {
    let output = ruff().args(["run", "--jit-log", "tests/inspect/builtin_field.ruff"]).output().expect("ruff runs");
    let log = stderr_of(&output);
    assert!(
        log.lines().any(|l| l.starts_with("[jit] abort ")
            && l.contains(
                "at tests/inspect/builtin_field.ruff:7:24 in <main>: NYI: call to a builtin stored in a struct field"
            )),
        "{}",
        log
    );
}

#[test]
fn jit_log_and_stats_go_to_files_when_asked() {
    let dir = std::env::temp_dir().join(format!("ruff-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (log, stats) = (dir.join("jit.log"), dir.join("stats.json"));
    let output = ruff()
        .args(["run", "--jit-threshold", "5"])
        .arg(format!("--jit-log={}", log.display()))
        .arg(format!("--jit-stats=json:{}", stats.display()))
        .arg("tests/inspect/branchy.ruff")
        .output()
        .expect("ruff runs");
    assert!(output.status.success());
    assert_eq!(stderr_of(&output), "", "stderr stays the program's");
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).expect("the statistics are JSON");
    assert_eq!(document["schema_version"], 2);
    if cfg!(target_arch = "x86_64") {
        assert!(std::fs::read_to_string(&log).unwrap().contains("[jit] trace 1 compiled: loop at"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dump_traces_clears_its_directory_and_refuses_what_it_cannot_write() {
    let dir = std::env::temp_dir().join(format!("ruff-dumps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("trace-9999.txt"), "an old run's dump").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a dump").unwrap();
    let output = ruff()
        .arg("run")
        .arg(format!("--dump-traces={}", dir.display()))
        .arg("tests/inspect/branchy.ruff")
        .output()
        .expect("ruff runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(!dir.join("trace-9999.txt").exists(), "old dumps are removed");
    assert!(dir.join("notes.txt").exists(), "other files stay");
    if cfg!(target_arch = "x86_64") {
        assert!(dir.join("trace-0001.txt").exists());
    }
    let unwritable = dir.join("notes.txt").join("sub");
    let output = ruff()
        .arg("run")
        .arg(format!("--dump-traces={}", unwritable.display()))
        .arg("tests/inspect/branchy.ruff")
        .output()
        .expect("ruff runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).starts_with("ruff: --dump-traces: cannot write trace dumps into"));
    assert!(output.stdout.is_empty(), "nothing runs");
    let spaced = ruff().arg("run").arg("--dump-traces").arg(&dir).output().expect("ruff runs");
    assert_eq!(spaced.status.code(), Some(2), "{}", stderr_of(&spaced));
    assert!(stderr_of(&spaced).contains("--dump-traces takes its directory after '='"), "{}", stderr_of(&spaced));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn times_are_masked() {
    assert_eq!(mask_times("a 0.123 ms, (1.5 ms) 3 ms\n"), "a T ms, (T ms) 3 ms\n");
    assert_eq!(
        mask_times("IR 27 instructions (recorded 18), 1393 bytes\n"),
        "IR N instructions (recorded N), N bytes\n"
    );
}

/// Exits and aborts inside a library function's own trace (`map`'s loop) are marked as the
/// library's: their lines are not the program's.
#[cfg(target_arch = "x86_64")]
#[test]
fn sites_inside_library_functions_are_marked() {
    let dir = std::env::temp_dir().join(format!("ruff-library-sites-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("map.ruff");
    std::fs::write(
        &program,
        "func double(x) { return x * 2 }\nt := 0\nfor k in range(200) {\n    v := map([1, 2, 3, k], double)\n    t := t + v[3]\n}\nprint(t)\n",
    )
    .unwrap();
    let output = ruff().args(["run", "--jit-stats=json"]).arg(&program).output().expect("ruff runs");
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_str(stderr_of(&output).trim()).expect("JSON");
    let mut library_exits = 0;
    for trace in report["traces"].as_array().unwrap() {
        for exit in trace["exits"].as_array().unwrap() {
            let innermost = exit["site"].as_array().unwrap().last().unwrap();
            if innermost["library"] == true {
                library_exits += 1;
                assert_eq!((exit["line"].as_u64(), exit["col"].as_u64()), (Some(0), Some(0)), "{}", exit);
            }
        }
    }
    assert!(library_exits > 0, "map's loop has a trace with exits: {}", report);
    let text = ruff().args(["run", "--jit-stats"]).arg(&program).output().expect("ruff runs");
    assert!(stderr_of(&text).contains("at <library>:"), "{}", stderr_of(&text));
    let _ = std::fs::remove_dir_all(&dir);
}
