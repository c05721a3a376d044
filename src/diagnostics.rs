//! Rendering errors and warnings for people: `file:line:col`, the source line and a caret,
//! and for runtime errors the Ruff call stack.

use std::fmt::Write;

use crate::interpret::error::Uncaught;
use crate::modules::SourceFile;
use crate::parse::ast::Span;

/// `  --> file:line:col`, the source line and a caret under the column.
fn location_block(out: &mut String, file: &str, source: &str, span: Span) {
    let _ = writeln!(out, "  --> {}:{}:{}", file, span.line, span.col);
    // A position just past the last line (an error at end of input) shows an empty line.
    let text = source.lines().nth(span.line.saturating_sub(1) as usize).unwrap_or("");
    // Very long lines (a 1 MB expression) are cut around the column.
    let chars: Vec<char> = text.chars().collect();
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

pub fn warning(file: &str, source: &str, span: Span, message: &str) -> String {
    let mut out = format!("Warning: {}\n", message);
    location_block(&mut out, file, source, span);
    out
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
