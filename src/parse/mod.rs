//! Parsing: Ruff source text to the [`ast`].
//!
//! This module owns everything between the source string and [`ast::Program`]: the
//! lexical rules, the grammar (`grammar.pest`), the conversion of pest's pairs into the
//! AST and the wording of syntax errors. Nothing here evaluates anything.
//!
//! Pipeline of [`parse_program`]:
//! 1. `lexcheck`: a linear pre-scan that reports lexical errors and rejects bracket
//!    nesting deeper than [`MAX_NESTING`];
//! 2. pest parses the `program` rule of `grammar.pest` under a call budget proportional
//!    to the input length;
//! 3. `parser` converts the pairs to the AST; `errors` turns pest failures into
//!    readable messages.
//!
//! Terms: a *span* is the 1-based line and column (in characters) of a token; the
//! *nesting* of a position is the number of brackets (`(`, `[`, `{`, the `${` of a string
//! interpolation, the `<` of a `Result<..>`/`Option<..>` type) open around it.
//!
//! Invariants:
//! * Errors report the first problem found: lexical errors first (the whole file is
//!   pre-scanned, as the reference lexes before parsing), then the furthest point pest
//!   reached, then the few checks done during conversion (assignment targets, patterns).
//! * Native stack use is proportional to nesting, never to the length of a chain:
//!   operator chains, postfix chains, unary prefixes and `else if` chains are parsed by
//!   repetition and stored flat. Parsing recurses once per nesting level in pest and in
//!   the converter, and dropping the AST does too.
//! * Stack budget, measured with the `stack_per_nesting_level` test (the smallest thread
//!   stack that parses depth 1000, minus that for depth 500): one nesting level costs
//!   2.5 KB (parentheses) to 4 KB (call arguments) of native stack in release builds and
//!   7 to 12.5 KB in debug builds, pest and converter together. The [`MAX_NESTING`]
//!   worst case thus needs about 4 MB (release) or 13 MB (debug) plus pest's 64 KiB
//!   reserve; run [`parse_program`] on a thread with 64 MB of stack, as the main program
//!   does. pest checks the remaining stack before each rule and fails with a "nested too
//!   deeply" error, not a crash, when less than 64 KiB are left (on targets where it can
//!   find the stack bounds, Linux included).
//! * No input makes parsing hang: the pre-scan is linear and pest runs under a call
//!   budget ([`pest::set_call_limit`]); exceeding it is a syntax error.

pub mod ast;

mod errors;
pub(crate) use errors::FOREIGN_KEYWORDS;
mod lexcheck;
mod parser;
mod position;
#[cfg(test)]
mod tests;

use std::num::NonZeroUsize;
use std::sync::Mutex;

use pest::iterators::Pairs;
use pest::Parser as _;

use crate::parse::parser::{RuffGrammar, Rule};

/// Deepest bracket nesting accepted; deeper sources are a syntax error.
pub const MAX_NESTING: usize = 1000;

/// A lexical or syntax error: where it is and what is wrong, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: ast::Span,
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.span.line, self.span.col, self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// pest calls allowed per byte of input, plus a floor for tiny inputs. Measured: ordinary
/// code needs 10 to 70 calls per byte, a file of one-letter statements about 140 (the
/// `call_budget_headroom` test checks a third of the budget suffices). The grammar does
/// not backtrack over nested constructs, so the budget is only a safety net against
/// pathological backtracking; pest runs about 10 to 20 million calls per second.
const CALLS_PER_BYTE: usize = 500;
const MIN_CALLS: usize = 1_000_000;

/// pest's call limit and error detail are process-wide settings read when a parse
/// starts, so parses that set them differently must not overlap.
static PEST_SETTINGS_LOCK: Mutex<()> = Mutex::new(());

/// Parses a whole program.
pub fn parse_program(source: &str) -> Result<ast::Program, SyntaxError> {
    lexcheck::check(source)?;
    let mut pairs = run_pest(source)
        .map_err(|error| errors::syntax_error(source, error))
        .map_err(|error| errors::foreign_keyword(source, &error).unwrap_or(error))?;
    let program = pairs.next().expect("a successful parse yields the program pair");
    parser::program(source, program)
}

fn run_pest(source: &str) -> Result<Pairs<'_, Rule>, pest::error::Error<Rule>> {
    // A poisoned lock only means another parse panicked; the settings it guards are
    // rewritten here anyway.
    let _guard = PEST_SETTINGS_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let budget = source.len().saturating_mul(CALLS_PER_BYTE).max(MIN_CALLS);
    pest::set_call_limit(NonZeroUsize::new(budget));
    pest::set_error_detail(false);
    let first_error = match RuffGrammar::parse(Rule::program, source) {
        Ok(pairs) => return Ok(pairs),
        Err(error) => error,
    };
    // Only error detail records the literal tokens that were expected, which the messages
    // need; it doubles the cost of a parse, so only a failing parse runs it.
    pest::set_error_detail(true);
    let detailed = RuffGrammar::parse(Rule::program, source);
    pest::set_error_detail(false);
    Err(detailed.err().unwrap_or(first_error))
}
