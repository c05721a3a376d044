//! A compact line diff for reports of differing outputs. Shared by the fuzzer and the
//! differential test (`tests/differential.rs` includes this file), so both show a
//! mismatch the same way.

/// A compact line diff of two texts: the common leading and trailing lines are dropped and
/// at most `max_lines` of each side are shown, `-` for `expected` and `+` for `actual`.
pub fn short_diff(expected: &str, actual: &str, max_lines: usize) -> String {
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let mut out = format!("    first difference at line {}\n", prefix + 1);
    for (sign, lines) in [('-', &old[prefix..old.len() - suffix]), ('+', &new[prefix..new.len() - suffix])] {
        for line in lines.iter().take(max_lines) {
            out.push_str(&format!("    {} {}\n", sign, line));
        }
        if lines.len() > max_lines {
            out.push_str(&format!("    {} ... ({} more lines)\n", sign, lines.len() - max_lines));
        }
    }
    if old[prefix..old.len() - suffix] == new[prefix..new.len() - suffix] {
        out.push_str("    (the texts differ only in their final newline)\n");
    }
    out
}
