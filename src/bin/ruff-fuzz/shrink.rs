//! Shrinking a program that shows a mismatch to a small one that still shows it.
//!
//! Terms: the *test* is the caller's predicate on program text ("still interesting":
//! the reference run finishes and the mismatching mode still disagrees with it); a
//! *candidate* is a program one edit away from the current one. The shrinker only ever
//! moves to a candidate the test accepts, so the result is always interesting.
//!
//! Order: first edits of the tree (whole top-level chunks, then single statements from
//! last to first, unwrapping blocks, lowering loop trip counts, replacing expressions
//! with literals or with one of their operands), repeated while they make progress;
//! then line-based delta debugging on the printed text, which also removes what the
//! tree cannot express (a header line, a closing brace pair). Every candidate text is
//! tested at most once, and the number of tests is capped by the caller's budget.

use std::collections::HashSet;

use crate::ast::{program_text, Expr, Piece, Stmt};

/// Alternative edits tried at each node; each kind of node interprets the number.
const ALTERNATIVES: u8 = 3;

pub struct Shrinker<'a> {
    test: &'a mut dyn FnMut(&str) -> bool,
    tested: HashSet<String>,
    tests_left: usize,
}

impl<'a> Shrinker<'a> {
    pub fn new(test: &'a mut dyn FnMut(&str) -> bool, max_tests: usize) -> Shrinker<'a> {
        Shrinker { test, tested: HashSet::new(), tests_left: max_tests }
    }

    pub fn tests_run(&self) -> usize {
        self.tested.len()
    }

    fn accepts(&mut self, text: &str) -> bool {
        if self.tests_left == 0 || !self.tested.insert(text.to_string()) {
            return false;
        }
        self.tests_left -= 1;
        (self.test)(text)
    }

    /// Shrinks an interesting program; returns the text of the smallest interesting
    /// program found.
    pub fn shrink(&mut self, program: Vec<Stmt>) -> String {
        let mut program = program;
        loop {
            let before = program_text(&program).len();
            program = self.delete_top_level_chunks(program);
            program = self.node_pass(program, Pass::Delete);
            program = self.node_pass(program, Pass::Unwrap);
            program = self.node_pass(program, Pass::Simplify);
            if program_text(&program).len() >= before || self.tests_left == 0 {
                break;
            }
        }
        self.delete_lines(program_text(&program))
    }

    /// Classic delta debugging over the top-level statements: drop halves, quarters, ...
    fn delete_top_level_chunks(&mut self, mut program: Vec<Stmt>) -> Vec<Stmt> {
        let mut chunk = program.len() / 2;
        while chunk >= 1 {
            let mut start = 0;
            while start < program.len() {
                let end = (start + chunk).min(program.len());
                let mut candidate = program.clone();
                candidate.drain(start..end);
                if self.accepts(&program_text(&candidate)) {
                    program = candidate;
                } else {
                    start = end;
                }
            }
            chunk /= 2;
        }
        program
    }

    /// Tries one kind of edit at every node, from the last node to the first (deleting
    /// a later node never renumbers the earlier ones).
    fn node_pass(&mut self, mut program: Vec<Stmt>, pass: Pass) -> Vec<Stmt> {
        let (statements, expressions) = count_nodes(&program);
        let nodes = if pass == Pass::Simplify { expressions } else { statements };
        for node in (0..nodes).rev() {
            for alternative in 0..ALTERNATIVES {
                if pass == Pass::Delete && alternative > 0 {
                    break;
                }
                let target = match pass {
                    Pass::Simplify => Target::Expr(node, alternative),
                    Pass::Delete => Target::Delete(node),
                    Pass::Unwrap => Target::Unwrap(node, alternative),
                };
                if let Some(candidate) = edit(&program, target) {
                    if self.accepts(&program_text(&candidate)) {
                        program = candidate;
                        break;
                    }
                }
            }
            if self.tests_left == 0 {
                break;
            }
        }
        program
    }

    /// Delta debugging over the lines of the text.
    fn delete_lines(&mut self, text: String) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut chunk = (lines.len() / 2).max(1);
        loop {
            let mut start = 0;
            while start < lines.len() && self.tests_left > 0 {
                let end = (start + chunk).min(lines.len());
                let mut candidate = lines.clone();
                candidate.drain(start..end);
                if self.accepts(&join_lines(&candidate)) {
                    lines = candidate;
                } else {
                    start = end;
                }
            }
            if chunk == 1 || self.tests_left == 0 {
                break;
            }
            chunk /= 2;
        }
        join_lines(&lines)
    }
}

fn join_lines(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[derive(Clone, Copy, PartialEq)]
enum Pass {
    Delete,
    Unwrap,
    Simplify,
}

/// One edit: the node is numbered in preorder among statements or among expressions.
#[derive(Clone, Copy)]
enum Target {
    /// Visit everything without editing (to count the nodes).
    Count,
    Delete(usize),
    Unwrap(usize, u8),
    Expr(usize, u8),
}

struct Walk {
    target: Target,
    statements_seen: usize,
    expressions_seen: usize,
    /// `Some(applied)` once the target node was reached.
    result: Option<bool>,
}

fn count_nodes(program: &[Stmt]) -> (usize, usize) {
    let mut copy = program.to_vec();
    let mut walk = Walk { target: Target::Count, statements_seen: 0, expressions_seen: 0, result: None };
    walk_block(&mut copy, &mut walk);
    (walk.statements_seen, walk.expressions_seen)
}

/// The program with one edit applied, or `None` when the edit does not apply there.
fn edit(program: &[Stmt], target: Target) -> Option<Vec<Stmt>> {
    let mut copy = program.to_vec();
    let mut walk = Walk { target, statements_seen: 0, expressions_seen: 0, result: None };
    walk_block(&mut copy, &mut walk);
    (walk.result == Some(true)).then_some(copy)
}

fn walk_block(block: &mut Vec<Stmt>, walk: &mut Walk) {
    let mut k = 0;
    while k < block.len() && walk.result.is_none() {
        let here = walk.statements_seen;
        walk.statements_seen += 1;
        match walk.target {
            Target::Delete(n) if n == here => {
                block.remove(k);
                walk.result = Some(true);
                return;
            }
            Target::Unwrap(n, alternative) if n == here => {
                walk.result = Some(match unwrapped(&block[k], alternative) {
                    Some(replacement) => {
                        block.splice(k..k + 1, replacement);
                        true
                    }
                    None => false,
                });
                return;
            }
            _ => {}
        }
        walk_stmt(&mut block[k], walk);
        k += 1;
    }
}

/// What a compound statement can be replaced with: one of its blocks, or the same loop
/// with fewer iterations.
fn unwrapped(stmt: &Stmt, alternative: u8) -> Option<Vec<Stmt>> {
    match (stmt, alternative) {
        (Stmt::If(_, then, _), 0) => Some(then.clone()),
        (Stmt::If(_, _, otherwise), 1) => Some(otherwise.clone()),
        (Stmt::Counted { var, start, body, .. }, 0) => {
            let mut out = vec![Stmt::Assign(var.clone(), start.clone())];
            out.extend(body.iter().cloned());
            Some(out)
        }
        (Stmt::Counted { kind, var, start: Expr::Int(start), limit: Expr::Int(limit), body }, 1 | 2)
            if limit - start > 1 =>
        {
            let trips = if alternative == 1 { (limit - start) / 2 } else { 1 };
            Some(vec![Stmt::Counted {
                kind: *kind,
                var: var.clone(),
                start: Expr::Int(*start),
                limit: Expr::Int(start + trips),
                body: body.clone(),
            }])
        }
        (Stmt::ForIn(_, _, body), 0) => Some(body.clone()),
        (Stmt::Try(body, _, _), 0) => Some(body.clone()),
        (Stmt::Try(_, _, handler), 1) => Some(handler.clone()),
        (Stmt::Match(_, arms, _), n) if (n as usize) < arms.len() => Some(arms[n as usize].1.clone()),
        (Stmt::Match(_, arms, Some(default)), n) if n as usize == arms.len() => Some(default.clone()),
        _ => None,
    }
}

fn walk_stmt(stmt: &mut Stmt, walk: &mut Walk) {
    match stmt {
        Stmt::Assign(_, e) | Stmt::Update(_, _, e) | Stmt::Declare(_, _, e) | Stmt::Expr(e) | Stmt::Return(e) => {
            walk_expr(e, walk)
        }
        Stmt::If(cond, then, otherwise) => {
            walk_expr(cond, walk);
            walk_block(then, walk);
            walk_block(otherwise, walk);
        }
        Stmt::Counted { start, limit, body, .. } => {
            walk_expr(start, walk);
            walk_expr(limit, walk);
            walk_block(body, walk);
        }
        Stmt::Func(_, _, body) => walk_block(body, walk),
        Stmt::ForIn(_, iterable, body) => {
            walk_expr(iterable, walk);
            walk_block(body, walk);
        }
        Stmt::Try(body, _, handler) => {
            walk_block(body, walk);
            walk_block(handler, walk);
        }
        Stmt::Match(scrutinee, arms, default) => {
            walk_expr(scrutinee, walk);
            for (_, body) in arms.iter_mut() {
                walk_block(body, walk);
            }
            if let Some(body) = default {
                walk_block(body, walk);
            }
        }
        Stmt::Break | Stmt::Continue | Stmt::Verbatim(_) => {}
    }
}

fn walk_expr(e: &mut Expr, walk: &mut Walk) {
    if walk.result.is_some() {
        return;
    }
    let here = walk.expressions_seen;
    walk.expressions_seen += 1;
    if let Target::Expr(n, alternative) = walk.target {
        if n == here {
            walk.result = Some(match simpler(e, alternative) {
                Some(replacement) => {
                    *e = replacement;
                    true
                }
                None => false,
            });
            return;
        }
    }
    match e {
        Expr::Binary(_, left, right) => {
            walk_expr(left, walk);
            walk_expr(right, walk);
        }
        Expr::Unary(_, operand) | Expr::Spread(operand) => walk_expr(operand, walk),
        Expr::Call(_, args) | Expr::Array(args) => args.iter_mut().for_each(|a| walk_expr(a, walk)),
        Expr::CallValue(callee, args) => {
            walk_expr(callee, walk);
            args.iter_mut().for_each(|a| walk_expr(a, walk));
        }
        Expr::Index(base, at) => {
            walk_expr(base, walk);
            walk_expr(at, walk);
        }
        Expr::Field(base, _) => walk_expr(base, walk),
        Expr::Dict(entries) | Expr::Struct(_, entries) => entries.iter_mut().for_each(|(_, v)| walk_expr(v, walk)),
        Expr::Interpolated(pieces) => {
            for piece in pieces.iter_mut() {
                if let Piece::Expr(inner) = piece {
                    walk_expr(inner, walk);
                }
            }
        }
        Expr::Lambda(_, body) => walk_block(body, walk),
        Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Word(_) | Expr::Var(_) => {}
    }
}

/// A simpler expression in place of `e`: a literal (alternative 0) or one of its
/// operands (alternatives 1 and 2).
fn simpler(e: &Expr, alternative: u8) -> Option<Expr> {
    match (e, alternative) {
        (Expr::Int(0) | Expr::Float(_) | Expr::Str(_) | Expr::Word(_), _) => None,
        (Expr::Int(n), 0) if *n != 1 => Some(Expr::Int(if n.unsigned_abs() > 1 { n / 2 } else { 0 })),
        (Expr::Int(_), _) => None,
        (Expr::Var(_), 0) => Some(Expr::Int(0)),
        (Expr::Interpolated(_), 0) => Some(Expr::Str("s".to_string())),
        (Expr::Spread(_), 0) => Some(Expr::Spread(Box::new(Expr::Array(Vec::new())))),
        (_, 0) => Some(Expr::Int(0)),
        (Expr::Binary(_, left, _), 1) => Some((**left).clone()),
        (Expr::Binary(_, _, right), 2) => Some((**right).clone()),
        (Expr::Unary(_, operand), 1) => Some((**operand).clone()),
        (Expr::Call(_, args) | Expr::Array(args), n) => args.get(n as usize - 1).cloned(),
        (Expr::Index(base, _), 1) => Some((**base).clone()),
        (Expr::Index(_, at), 2) => Some((**at).clone()),
        (Expr::Field(base, _), 1) => Some((**base).clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Shrinker;
    use crate::ast::{Expr, LoopKind, Stmt};

    fn call(name: &str, args: Vec<Expr>) -> Expr {
        Expr::Call(name.to_string(), args)
    }

    #[test]
    fn keeps_only_what_the_test_needs() {
        let throw = Stmt::Expr(call("throw", vec![Expr::Str("boom".into())]));
        let noise =
            |k: i64| Stmt::Assign(format!("x{}", k), Expr::Binary("+", Box::new(Expr::Int(k)), Box::new(Expr::Int(1))));
        let program = vec![
            noise(1),
            Stmt::Counted {
                kind: LoopKind::While,
                var: "i".into(),
                start: Expr::Int(0),
                limit: Expr::Int(100),
                body: vec![noise(2), Stmt::If(Expr::Word("true".into()), vec![noise(3), throw], Vec::new()), noise(4)],
            },
            noise(5),
        ];
        let mut still_throws = |text: &str| text.contains("throw(\"boom\")");
        let shrunk = Shrinker::new(&mut still_throws, 1000).shrink(program);
        assert_eq!(shrunk, "throw(\"boom\")\n");
    }

    #[test]
    fn stops_at_the_test_budget() {
        let program: Vec<Stmt> = (0..50).map(|k| Stmt::Assign(format!("x{}", k), Expr::Int(k))).collect();
        let mut never = |_: &str| false;
        let mut shrinker = Shrinker::new(&mut never, 3);
        shrinker.shrink(program);
        assert_eq!(shrinker.tests_run(), 3);
    }
}
