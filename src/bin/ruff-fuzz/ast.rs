//! The program tree the generator builds and the shrinker edits, and its printing as
//! Ruff source text.
//!
//! Terms: a *block* is a list of statements; a *counted loop* is a loop over an integer
//! counter from `start` (inclusive) to `limit` (exclusive) whose header and increment are
//! one node, so that deleting statements of its body can never make it endless.
//!
//! Invariants of the printed text (LANGUAGE.md sections 1, 3 and 4):
//! * every statement starts on its own line with a name, a keyword or `;`, never with
//!   `(`, `[` or `-`, so no line continues the previous one;
//! * every binary and unary expression is parenthesized, so precedence and the
//!   reduced-precedence positions (array elements, dict entries, struct fields) never
//!   matter;
//! * `return` always carries a value on its own line;
//! * an empty block prints as `{ ; }`, because `NAME { }` would read as a struct literal.

use std::fmt::Write;

/// An expression. Negative integers are printed as a parenthesized subtraction so that
/// `i64::MIN` needs no literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(i64),
    /// Float literal text in `digits.digits` form.
    Float(&'static str),
    /// String literal contents, printed with escapes.
    Str(String),
    /// Literal words: `true`, `false`, `null`, `None`, `Shape::Empty`, ...
    Word(String),
    Var(String),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    /// `-e` or `!e`.
    Unary(&'static str, Box<Expr>),
    /// A call of a named function, builtin, method (`p.sum`) or constructor (`Ok`,
    /// `Shape::Circle`).
    Call(String, Vec<Expr>),
    /// A call of a computed function value: `(callee)(args)`.
    CallValue(Box<Expr>, Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
    Field(Box<Expr>, String),
    Array(Vec<Expr>),
    Dict(Vec<(String, Expr)>),
    Struct(String, Vec<(String, Expr)>),
    /// An interpolated string: literal text pieces alternating with `${expr}` parts.
    Interpolated(Vec<Piece>),
    Lambda(Vec<String>, Vec<Stmt>),
    /// `...e`: an element of an array literal, or an entry of a dict literal (whose key is
    /// then not printed).
    Spread(Box<Expr>),
}

/// A part of an interpolated string.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(String),
    Expr(Expr),
}

/// The spelling of a counted loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LoopKind {
    /// `for i in range(start, limit) { ... }`
    ForRange,
    /// `i := start - 1` / `while i < limit - 1 { i := i + 1 ... }`
    While,
    /// `i := start - 1` / `loop { i := i + 1 / if i >= limit { break } ... }`
    Loop,
    /// `i := start - 1` / `loop while i < limit - 1 { i := i + 1 ... }`
    LoopWhile,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `target := value`; the target is a name possibly followed by `[e]` and `.f`
    /// parts, kept as text because the shrinker never edits inside it.
    Assign(String, Expr),
    /// `target op= value` with `op` one of `+ - * / %`.
    Update(String, &'static str, Expr),
    /// `let name := value`, `mut`, `const`.
    Declare(&'static str, String, Expr),
    /// An expression statement (always a call).
    Expr(Expr),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    Counted {
        kind: LoopKind,
        var: String,
        start: Expr,
        limit: Expr,
        body: Vec<Stmt>,
    },
    /// `for var in iterable { ... }` over a value that is not a range.
    ForIn(String, Expr, Vec<Stmt>),
    Break,
    Continue,
    Return(Expr),
    Try(Vec<Stmt>, String, Vec<Stmt>),
    /// `match e { case PATTERN: { ... } ... default: { ... } }`; the patterns are text.
    Match(Expr, Vec<(String, Vec<Stmt>)>, Option<Vec<Stmt>>),
    Func(String, Vec<String>, Vec<Stmt>),
    /// Declarations printed verbatim (struct and enum declarations).
    Verbatim(String),
}

/// Prints a whole program.
pub fn program_text(program: &[Stmt]) -> String {
    let mut out = String::new();
    for stmt in program {
        write_stmt(&mut out, stmt, 0);
    }
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_block(out: &mut String, body: &[Stmt], depth: usize) {
    if body.is_empty() {
        out.push_str("{ ; }\n");
        return;
    }
    out.push_str("{\n");
    for stmt in body {
        write_stmt(out, stmt, depth + 1);
    }
    indent(out, depth);
    out.push_str("}\n");
}

fn write_stmt(out: &mut String, stmt: &Stmt, depth: usize) {
    indent(out, depth);
    match stmt {
        Stmt::Assign(target, value) => {
            let _ = writeln!(out, "{} := {}", target, expr_text(value));
        }
        Stmt::Update(target, op, value) => {
            let _ = writeln!(out, "{} {}= {}", target, op, expr_text(value));
        }
        Stmt::Declare(keyword, name, value) => {
            let _ = writeln!(out, "{} {} := {}", keyword, name, expr_text(value));
        }
        Stmt::Expr(e) => {
            // An expression statement that starts with `(`, `[` or `-` (only the shrinker
            // makes those) would continue the previous line: `;` ends that line first.
            let text = expr_text(e);
            let separator = if text.starts_with(['(', '[', '-']) { "; " } else { "" };
            let _ = writeln!(out, "{}{}", separator, text);
        }
        Stmt::If(cond, then, otherwise) => {
            let _ = write!(out, "if {} ", expr_text(cond));
            if otherwise.is_empty() {
                write_block(out, then, depth);
            } else {
                write_block(out, then, depth);
                indent(out, depth);
                out.push_str("else ");
                write_block(out, otherwise, depth);
            }
        }
        Stmt::Counted { kind, var, start, limit, body } => write_counted(out, *kind, var, start, limit, body, depth),
        Stmt::ForIn(var, iterable, body) => {
            let _ = write!(out, "for {} in {} ", var, postfix_text(iterable));
            write_block(out, body, depth);
        }
        Stmt::Break => out.push_str("break\n"),
        Stmt::Continue => out.push_str("continue\n"),
        Stmt::Return(value) => {
            let _ = writeln!(out, "return {}", expr_text(value));
        }
        Stmt::Try(body, name, handler) => {
            out.push_str("try ");
            write_block(out, body, depth);
            indent(out, depth);
            let _ = write!(out, "except {} ", name);
            write_block(out, handler, depth);
        }
        Stmt::Match(scrutinee, arms, default) => {
            let _ = writeln!(out, "match {} {{", expr_text(scrutinee));
            for (pattern, body) in arms {
                indent(out, depth + 1);
                let _ = write!(out, "case {}: ", pattern);
                write_block(out, body, depth + 1);
            }
            if let Some(body) = default {
                indent(out, depth + 1);
                out.push_str("default: ");
                write_block(out, body, depth + 1);
            }
            indent(out, depth);
            out.push_str("}\n");
        }
        Stmt::Func(name, params, body) => {
            let _ = write!(out, "func {}({}) ", name, params.join(", "));
            write_block(out, body, depth);
        }
        Stmt::Verbatim(text) => {
            out.push_str(text);
            out.push('\n');
        }
    }
}

/// `e - 1`, folded for literals.
fn minus_one(e: &Expr) -> Expr {
    match e {
        Expr::Int(n) if *n > i64::MIN => Expr::Int(n - 1),
        _ => Expr::Binary("-", Box::new(e.clone()), Box::new(Expr::Int(1))),
    }
}

fn write_counted(out: &mut String, kind: LoopKind, var: &str, start: &Expr, limit: &Expr, body: &[Stmt], depth: usize) {
    let step =
        Stmt::Assign(var.to_string(), Expr::Binary("+", Box::new(Expr::Var(var.into())), Box::new(Expr::Int(1))));
    let before = minus_one(start);
    let last = minus_one(limit);
    let mut full_body = vec![step];
    match kind {
        LoopKind::ForRange => {
            let _ = write!(out, "for {} in range({}, {}) ", var, expr_text(start), expr_text(limit));
            write_block(out, body, depth);
            return;
        }
        LoopKind::While => {
            let _ = writeln!(out, "{} := {}", var, expr_text(&before));
            indent(out, depth);
            let _ = write!(out, "while {} < {} ", var, expr_text(&last));
        }
        LoopKind::LoopWhile => {
            let _ = writeln!(out, "{} := {}", var, expr_text(&before));
            indent(out, depth);
            let _ = write!(out, "loop while {} < {} ", var, expr_text(&last));
        }
        LoopKind::Loop => {
            let _ = writeln!(out, "{} := {}", var, expr_text(&before));
            indent(out, depth);
            out.push_str("loop ");
            let past_end = Expr::Binary(">=", Box::new(Expr::Var(var.into())), Box::new(limit.clone()));
            full_body.push(Stmt::If(past_end, vec![Stmt::Break], Vec::new()));
        }
    }
    full_body.extend(body.iter().cloned());
    write_block(out, &full_body, depth);
}

/// The text of an expression in a `for ... in` header, which must be a postfix
/// expression: anything else is parenthesized.
fn postfix_text(e: &Expr) -> String {
    match e {
        Expr::Var(_) | Expr::Call(..) | Expr::Index(..) | Expr::Field(..) | Expr::Array(_) | Expr::Str(_) => {
            expr_text(e)
        }
        _ => format!("({})", expr_text(e)),
    }
}

pub fn expr_text(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

fn write_list(out: &mut String, items: &[Expr]) {
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        write_expr(out, item);
    }
}

fn write_fields(out: &mut String, fields: &[(String, Expr)], quoted: bool) {
    for (k, (name, value)) in fields.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        if let Expr::Spread(_) = value {
            // A spread entry has no key.
        } else if quoted {
            let _ = write!(out, "\"{}\": ", escape(name));
        } else {
            let _ = write!(out, "{}: ", name);
        }
        write_expr(out, value);
    }
}

fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Int(n) if *n == i64::MIN => out.push_str("(0 - 9223372036854775807 - 1)"),
        Expr::Int(n) if *n < 0 => {
            let _ = write!(out, "(0 - {})", -n);
        }
        Expr::Int(n) => {
            let _ = write!(out, "{}", n);
        }
        Expr::Float(text) => out.push_str(text),
        Expr::Str(text) => {
            let _ = write!(out, "\"{}\"", escape(text));
        }
        Expr::Word(word) | Expr::Var(word) => out.push_str(word),
        Expr::Binary(op, left, right) => {
            out.push('(');
            write_expr(out, left);
            let _ = write!(out, " {} ", op);
            write_expr(out, right);
            out.push(')');
        }
        Expr::Unary(op, operand) => {
            let _ = write!(out, "({}", op);
            write_expr(out, operand);
            out.push(')');
        }
        Expr::Call(callee, args) => {
            out.push_str(callee);
            out.push('(');
            write_list(out, args);
            out.push(')');
        }
        Expr::CallValue(callee, args) => {
            out.push('(');
            write_expr(out, callee);
            out.push_str(")(");
            write_list(out, args);
            out.push(')');
        }
        Expr::Index(base, index) => {
            write_postfix_base(out, base);
            out.push('[');
            write_expr(out, index);
            out.push(']');
        }
        Expr::Field(base, name) => {
            write_postfix_base(out, base);
            let _ = write!(out, ".{}", name);
        }
        Expr::Array(items) => {
            out.push('[');
            write_list(out, items);
            out.push(']');
        }
        Expr::Dict(entries) => {
            out.push('{');
            write_fields(out, entries, true);
            out.push('}');
        }
        Expr::Struct(name, fields) => {
            let _ = write!(out, "{} {{ ", name);
            write_fields(out, fields, false);
            out.push_str(" }");
        }
        Expr::Interpolated(pieces) => {
            out.push('"');
            for piece in pieces {
                match piece {
                    Piece::Text(text) => out.push_str(&escape(text)),
                    Piece::Expr(e) => {
                        out.push_str("${");
                        write_expr(out, e);
                        out.push('}');
                    }
                }
            }
            out.push('"');
        }
        Expr::Spread(spread) => {
            out.push_str("...");
            write_expr(out, spread);
        }
        Expr::Lambda(params, body) => {
            // Newlines carry no meaning, so the body keeps one statement per line; it is
            // indented one level because lambdas only appear in statements at that level.
            let _ = write!(out, "func ({}) ", params.join(", "));
            let mut block = String::new();
            write_block(&mut block, body, 1);
            out.push_str(block.trim_end());
        }
    }
}

/// Index and field bases other than names and calls are parenthesized (a struct literal
/// or a lambda cannot be indexed directly).
fn write_postfix_base(out: &mut String, base: &Expr) {
    match base {
        Expr::Var(_) | Expr::Call(..) | Expr::Index(..) | Expr::Field(..) => write_expr(out, base),
        _ => {
            out.push('(');
            write_expr(out, base);
            out.push(')');
        }
    }
}
