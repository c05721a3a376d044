//! Rendering errors and warnings for people: `file:line:col`, the source line and a caret,
//! and for runtime errors the Ruff call stack.

use std::collections::HashMap;
use std::fmt::Write;

use crate::compile::Warning;

use crate::interpret::error::Uncaught;
use crate::modules::SourceFile;
use crate::parse::ast::Span;

/// `  --> file:line:col`, the source line and a caret under the column.
fn location_block(out: &mut String, file: &str, source: &str, span: Span) {
    // A position just past the last line (an error at end of input) shows an empty line.
    let text = source.lines().nth(span.line.saturating_sub(1) as usize).unwrap_or("");
    let chars: Vec<char> = text.chars().collect();
    location_block_of_line(out, file, &chars, span);
}

/// [`location_block`] for a source line already split into characters.
fn location_block_of_line(out: &mut String, file: &str, chars: &[char], span: Span) {
    let _ = writeln!(out, "  --> {}:{}:{}", file, span.line, span.col);
    // Very long lines (a 1 MB expression) are cut around the column.
    let col = (span.col.max(1) - 1) as usize;
    let start = col.saturating_sub(60);
    let end = (col + 60).min(chars.len());
    let shown: String = chars[start.min(end)..end].iter().map(|&c| if c == '\t' { ' ' } else { c }).collect();
    let number = span.line.to_string();
    let pad = " ".repeat(number.len() + 1);
    let _ = writeln!(out, "{} |", pad);
    let _ = writeln!(out, " {} | {}", number, shown);
    let _ = writeln!(out, "{} | {}^", pad, " ".repeat(col - start));
}

pub fn syntax_error(file: &str, source: &str, span: Span, message: &str) -> String {
    let mut out = format!("Syntax Error: {}\n", message);
    location_block(&mut out, file, source, span);
    out
}

/// Renders compiler warnings, each as `Warning: message` and its location block. Each
/// source line is split into characters once, however many warnings point into it, so
/// thousands of warnings on one very long line cost time linear in the output.
pub fn warnings(files: &[SourceFile], warnings: &[Warning]) -> Vec<String> {
    let mut lines: HashMap<(u32, u32), Vec<char>> = HashMap::new();
    let mut line_starts: HashMap<u32, Vec<usize>> = HashMap::new();
    warnings
        .iter()
        .map(|w| {
            let file = &files[w.file as usize];
            let chars = lines.entry((w.file, w.span.line)).or_insert_with(|| {
                let starts = line_starts.entry(w.file).or_insert_with(|| line_start_offsets(&file.source));
                line_text(&file.source, starts, w.span.line).chars().collect()
            });
            let mut out = format!("Warning: {}\n", w.message);
            location_block_of_line(&mut out, &file.name, chars, w.span);
            out
        })
        .collect()
}

/// The byte offset where each line of `source` starts.
fn line_start_offsets(source: &str) -> Vec<usize> {
    std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// Line `line` (1-based) of `source` without its line ending, as `str::lines` gives it;
/// empty past the last line.
fn line_text<'s>(source: &'s str, starts: &[usize], line: u32) -> &'s str {
    let Some(&start) = starts.get(line.saturating_sub(1) as usize) else {
        return "";
    };
    let rest = &source[start..];
    let text = rest.split('\n').next().unwrap_or("");
    text.strip_suffix('\r').unwrap_or(text)
}

/// Frames shown at each end of a long call stack (deep recursion); the middle is elided.
const STACK_ENDS_SHOWN: usize = 10;

/// An uncaught runtime error; `files` are the program's source files (index 0 the main
/// program), which the error's location and each stack line name by index.
pub fn runtime_error(files: &[SourceFile], error: &Uncaught) -> String {
    let mut out = format!("Runtime Error: {}\n", error.message);
    let file_name = |index: u32| files.get(index as usize).map_or("?", |f| f.name.as_str());
    if let (true, Some(file)) = (error.span.line > 0, files.get(error.file as usize)) {
        location_block(&mut out, &file.name, &file.source, error.span);
    }
    if !error.stack.is_empty() {
        out.push_str("Call stack (innermost last):\n");
        let frames = &error.stack;
        let elided = frames.len().saturating_sub(2 * STACK_ENDS_SHOWN);
        for (i, line) in frames.iter().enumerate() {
            if elided > 0 && i == STACK_ENDS_SHOWN {
                let _ = writeln!(out, "  ... {} more calls ...", elided);
            }
            if elided == 0 || i < STACK_ENDS_SHOWN || i >= frames.len() - STACK_ENDS_SHOWN {
                let _ = writeln!(out, "  {} at {}:{}", line.function, file_name(line.file), line.line);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning_at(line: u32, col: u32) -> Warning {
        Warning { file: 0, span: Span { line, col }, message: "m".to_string() }
    }

    #[test]
    fn warnings_show_the_line_of_each_span_as_a_single_error_would() {
        let source = "a := 1\r\nprint(b)\r\nprint(c)".to_string();
        let files = [SourceFile { name: "f.ruff".to_string(), source: source.clone() }];
        let spans = [warning_at(2, 7), warning_at(3, 7), warning_at(2, 1), warning_at(4, 1)];
        let rendered = warnings(&files, &spans);
        for (w, text) in spans.iter().zip(&rendered) {
            let mut expected = "Warning: m\n".to_string();
            location_block(&mut expected, "f.ruff", &source, w.span);
            assert_eq!(text, &expected);
        }
        assert!(rendered[0].contains(" 2 | print(b)\n"), "{}", rendered[0]);
        assert!(rendered[3].contains(" 4 | \n"), "{}", rendered[3]);
    }
}
