//! The pass-test helper [`check`]: IR text in, the pass, IR text out, compared line by line.

use crate::jit::ir::text::parse;
use crate::jit::ir::verify::verify;
use crate::jit::ir::Trace;

/// Parses `input`, runs `pass`, verifies both sides and compares the printed output with
/// `expected`. Lines are compared with whitespace runs collapsed and blank lines dropped, so
/// expectations need not reproduce Display's column padding. Panics with a diff.
pub(crate) fn check(pass: fn(&Trace) -> Trace, input: &str, expected: &str) {
    let trace = parse(input).unwrap_or_else(|e| panic!("input does not parse: {}", e));
    if let Err(e) = verify(&trace) {
        panic!("input is not valid IR: {}\n{}", e, trace);
    }
    let output = pass(&trace);
    if let Err(e) = verify(&output) {
        panic!("the pass produced invalid IR: {}\n{}", e, output);
    }
    let (expected, actual) = (normalize(expected), normalize(&output.to_string()));
    if expected != actual {
        panic!("output differs (- expected, + actual):\n{}", line_diff(&expected, &actual));
    }
}

fn normalize(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect()
}

/// A longest-common-subsequence line diff; traces in tests are short.
fn line_diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if expected[i] == actual[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            out += &format!("  {}\n", expected[i]);
            (i, j) = (i + 1, j + 1);
        } else if j < m && (i == n || common[i][j + 1] > common[i + 1][j]) {
            out += &format!("+ {}\n", actual[j]);
            j += 1;
        } else {
            out += &format!("- {}\n", expected[i]);
            i += 1;
        }
    }
    out
}
