//! Runtime errors: how a raised error becomes the value `except` binds, and the report
//! of an uncaught one.

use crate::parse::ast::Span;

/// One line of the Ruff call stack: a function and the line it was executing.
#[derive(Clone, Debug, PartialEq)]
pub struct StackLine {
    pub function: String,
    pub line: u32,
    /// The function's source file (`Proto::file`).
    pub file: u32,
}

/// An error that no `try` caught: the program stops with exit status 4.
#[derive(Clone, Debug, PartialEq)]
pub struct Uncaught {
    pub message: String,
    /// The file `span` is in (`Proto::file`).
    pub file: u32,
    pub span: Span,
    /// Outermost first, `<main>` included.
    pub stack: Vec<StackLine>,
}
