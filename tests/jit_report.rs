//! `--jit-report=FILE.html` in a real browser: headless Chromium (Debian package
//! `chromium`, which `.ci/run` installs) loads the report of `tests/inspect/branchy.ruff`,
//! `fib.ruff` and, when `../shared/bench-awfy` is there, richards at a small size; the
//! rendered DOM (`--dump-dom`) must hold the source lines, a section per trace with its
//! exit counts, the trace tree and the mark the page's script sets when it has run, and
//! the browser must log no console message. A screenshot of each goes to
//! `target/jit-report/NAME.png` for review.
//!
//! Without a chromium binary the test says so and passes (it cannot check anything
//! else); CI installs chromium, so there it runs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn browser() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        let found = Command::new("sh").args(["-c", &format!("command -v {}", name)]).output().ok()?;
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        (found.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
    })
}

/// Runs headless Chromium on `page` with `args`; returns its stdout and stderr.
fn chromium(browser: &Path, profile: &Path, page: &Path, args: &[&str]) -> (String, String) {
    let _ = std::fs::remove_dir_all(profile);
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn report_of(program: &Path, page: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_ruff"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .arg(format!("--jit-report={}", page.display()))
        .arg(program)
        .output()
        .expect("ruff runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn jit_report_renders_in_headless_chromium() {
    let Some(browser) = browser() else {
        println!("SKIPPED: no chromium binary (install the Debian package `chromium`; .ci/run does)");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target").join("jit-report");
    std::fs::create_dir_all(&out).unwrap();
    let mut programs = vec![
        ("branchy", root.join("tests/inspect/branchy.ruff"), "while i &lt; 1000 {"),
        ("fib", root.join("tests/inspect/fib.ruff"), "return fib(n - 1) + fib(n - 2)"),
    ];
    let richards = root.join("../shared/bench-awfy/richards/richards.ruff");
    if let Ok(source) = std::fs::read_to_string(&richards) {
        let small = out.join("richards.ruff");
        let source: String = source
            .lines()
            .map(|l| if l.starts_with("INNER :=") { "INNER := 2\n".to_string() } else { format!("{}\n", l) })
            .collect();
        std::fs::write(&small, source).unwrap();
        programs.push(("richards", small, "func find_task("));
    }
    for (name, program, source_line) in programs {
        let page = out.join(format!("{}.html", name));
        report_of(&program, &page);
        let html = std::fs::read_to_string(&page).unwrap();
        // The only URL is the SVG namespace, which names and fetches nothing.
        let urls = html.matches("http://").count() + html.matches("https://").count();
        assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count(), "{}: the report fetches nothing", name);
        let profile = out.join(format!("{}-profile", name));
        let (dom, log) = chromium(&browser, &profile, &page, &["--dump-dom"]);
        assert!(dom.contains("data-ready=\"yes\""), "{}: the page's script ran\n{}", name, log);
        assert!(dom.contains(source_line), "{}: the source is shown", name);
        assert!(dom.contains("id=\"trace-1\"") && dom.contains("id=\"trace-2\""), "{}: trace sections", name);
        assert!(dom.contains("class=\"exit-count\""), "{}: exit counts", name);
        assert!(dom.contains("<svg") && dom.contains("class=\"node\""), "{}: the trace tree", name);
        let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
        assert!(console.is_empty(), "{}: console messages:\n{}", name, console.join("\n"));
        let shot = out.join(format!("{}.png", name));
        let _ = std::fs::remove_file(&shot);
        let window = ["--hide-scrollbars", "--window-size=1400,1000"];
        let screenshot = format!("--screenshot={}", shot.display());
        chromium(&browser, &profile, &page, &[window[0], window[1], &screenshot]);
        assert!(shot.metadata().is_ok_and(|m| m.len() > 10_000), "{}: a screenshot was taken", name);
        println!("{}: screenshot {}", name, shot.display());
        let _ = std::fs::remove_dir_all(&profile);
    }
    assert!(branchy_exit_count_shown(&std::fs::read_to_string(out.join("branchy.html")).unwrap()));
}

/// The branchy loop's branch exit (taken 316 times) appears with its count.
fn branchy_exit_count_shown(html: &str) -> bool {
    html.contains("class=\"exit-count\">316<")
}
