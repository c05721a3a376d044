//! Turning pest's failures into messages for people.
//!
//! pest reports the furthest position it reached with two kinds of evidence: the named
//! rules it attempted there (`positives`) and, with error detail enabled, the literal
//! tokens it tried (`expected_tokens`, which also lists whitespace and comment starts).
//! From those this module decides what was expected (an expression, a name, a type,
//! a keyword or some punctuation) and names the token actually found, which it lexes
//! from the source itself so the wording never shows grammar rule names.

use pest::error::{Error, ErrorVariant, InputLocation};

use crate::parse::parser::Rule;
use crate::parse::position::Positions;
use crate::parse::SyntaxError;

pub(crate) fn syntax_error(source: &str, error: Error<Rule>) -> SyntaxError {
    let rule_offset = match error.location {
        InputLocation::Pos(offset) => offset,
        InputLocation::Span((start, _)) => start,
    };
    let message_at =
        |offset: usize, message: String| SyntaxError { span: Positions::new(source).span(offset), message };
    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        ErrorVariant::CustomError { message } if message.contains("stack") => {
            return message_at(rule_offset, "Program is nested too deeply to parse".to_owned());
        }
        ErrorVariant::CustomError { .. } => {
            return message_at(rule_offset, "Program is too complex to parse (parser step limit reached)".to_owned());
        }
    };
    // Failed literal tokens only show up in the parse attempts, and they may lie beyond
    // the furthest failed rule (`struct X y` fails at the `{` literal after `X`); the
    // rules attempted at an earlier position say nothing about that later one. But
    // lookaheads leave traces too: a keyword's word-boundary check records "expected an
    // identifier character" right after `let` in `return let`. Such a position, with no
    // token worth naming, is ignored in favour of the furthest failed rule.
    let attempts = error.parse_attempts().filter(|attempts| attempts.max_position >= rule_offset);
    let (offset, literals, positives) = match attempts {
        Some(attempts) => {
            let literals: Vec<String> = attempts
                .expected_tokens()
                .iter()
                .map(ToString::to_string)
                .filter(|token| !is_noise_token(token))
                .collect();
            if attempts.max_position == rule_offset {
                (rule_offset, literals, positives.as_slice())
            } else if literals.is_empty() {
                (rule_offset, Vec::new(), positives.as_slice())
            } else {
                (attempts.max_position, literals, &[][..])
            }
        }
        None => (rule_offset, Vec::new(), positives.as_slice()),
    };
    let found = describe_token_at(source, offset);
    message_at(offset, parsing_message(positives, &literals, &found))
}

/// Tokens tried between all tokens (whitespace and comment starts) or inside names
/// (character classes, which pest prints as `a..z` or `BUILTIN_RULE`).
fn is_noise_token(token: &str) -> bool {
    let is_range = token.len() == 4 && token.get(1..3) == Some("..");
    is_range || matches!(token, " " | "\t" | "\r" | "\n" | "#" | "//" | "/*" | "_" | "BUILTIN_RULE")
}

/// Rules that are tried at the start of every statement.
const STATEMENT_STARTS: &[Rule] = &[Rule::decl_kind, Rule::expr_stmt];

/// Rules that are tried where an expression must begin.
const EXPRESSION_STARTS: &[Rule] =
    &[Rule::expr, Rule::eq_expr, Rule::postfix_expr, Rule::prefix_op, Rule::string, Rule::array, Rule::dict];

/// Rules that may continue a complete expression; never worth listing as "expected".
const CONTINUATIONS: &[Rule] =
    &[Rule::binary_op, Rule::equality_op, Rule::call_args, Rule::index, Rule::member, Rule::assign_op];

/// Literal tokens that only continue an expression (operators, calls, indexes, fields)
/// or an assignment.
const CONTINUATION_TOKENS: &[&str] = &[
    "(", "[", ".", "+", "-", "*", "/", "%", "<", "<=", ">", ">=", "==", "!=", "&&", "||", "??", "|>", ":=", "=", "+=",
    "-=", "*=", "/=", "%=",
];

/// Tokens that may follow a bare name (`Name { f: e }`, `Enum::Variant`). Mentioned only
/// when nothing else could follow: `match x y` wants the `{` of the match, `f(a b)` does
/// not want `::`.
const NAME_CONTINUATION_TOKENS: &[&str] = &["{", "::"];

/// Punctuation worth naming when expected, in the order messages list them.
const STRUCTURAL_TOKENS: &[&str] = &["(", "{", "[", ":", "::", ":=", "=", "->", "<", ",", ">", ";", ")", "]", "}"];

fn parsing_message(positives: &[Rule], literals: &[String], found: &str) -> String {
    let expects = |rules: &[Rule]| positives.iter().any(|rule| rules.contains(rule));
    let expects_literal = |token: &str| literals.iter().any(|literal| literal == token);

    if expects(STATEMENT_STARTS) || positives.contains(&Rule::program) {
        if found == END_OF_INPUT && expects_literal("}") {
            return format!("Expected '}}', found {found}");
        }
        return unexpected(found);
    }
    if expects(EXPRESSION_STARTS) {
        return format!("Expected expression, found {found}");
    }

    let mut expected: Vec<String> = Vec::new();
    for description in positives.iter().filter_map(|rule| describe_rule(*rule)) {
        if !expected.iter().any(|known| known == description) {
            expected.push(description.to_owned());
        }
    }
    let after_expression = expects(CONTINUATIONS);
    let is_continuation = |token: &&str| after_expression && CONTINUATION_TOKENS.contains(token);
    let others_expected = STRUCTURAL_TOKENS
        .iter()
        .filter(|token| !NAME_CONTINUATION_TOKENS.contains(token) && !is_continuation(token))
        .any(|token| expects_literal(token));
    for token in STRUCTURAL_TOKENS {
        // After a name, `::` (of `Enum::Variant`) is only worth naming when `{` is not.
        let not_worth_naming = is_continuation(token)
            || others_expected && NAME_CONTINUATION_TOKENS.contains(token)
            || *token == "::" && expects_literal("{");
        let quoted = format!("'{token}'");
        if expects_literal(token) && !not_worth_naming && !expected.contains(&quoted) {
            expected.push(quoted);
        }
    }
    match expected.as_slice() {
        [] => unexpected(found),
        [only] => format!("Expected {only}, found {found}"),
        [init @ .., last] => format!("Expected {} or {last}, found {found}", init.join(", ")),
    }
}

fn unexpected(found: &str) -> String {
    if found == "'?'" || found == "'?.'" {
        return format!("Unexpected {found}: the '?' and '?.' operators are not supported");
    }
    format!("Unexpected {found}")
}

/// What a rule stands for in a message, or `None` if it should not be named. Keywords
/// that only start statements are missing: where a statement may start, the message is
/// "Unexpected ..." instead of a list of every statement.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    let text = match rule {
        Rule::ident | Rule::pattern_binding => "name",
        Rule::type_ann => "type (int, float, string, bool, Result<..> or Option<..>)",
        Rule::block => "'{'",
        Rule::params => "'('",
        Rule::kw_if => "'if'",
        Rule::kw_while => "'while'",
        Rule::kw_in => "'in'",
        Rule::kw_case => "'case'",
        Rule::kw_default => "'default'",
        Rule::kw_except => "'except'",
        _ => return None,
    };
    Some(text)
}

const END_OF_INPUT: &str = "end of input";

/// Multi-character punctuation, longest first.
const PUNCTUATION: &[&str] =
    &["...", "::", ":=", "->", "+=", "-=", "*=", "/=", "%=", "==", "!=", "<=", ">=", "&&", "||", "??", "|>", "?."];

/// Names the token at `offset` for a message: `'word'`, `'123'`, `'::'`,
/// `string literal` or `end of input`.
fn describe_token_at(source: &str, offset: usize) -> String {
    let rest = &source[offset..];
    let Some(first) = rest.chars().next() else {
        return END_OF_INPUT.to_owned();
    };
    if first == '"' {
        return "string literal".to_owned();
    }
    let token = if first.is_alphanumeric() || first == '_' {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' && first.is_ascii_digit()))
            .unwrap_or(rest.len());
        &rest[..end]
    } else {
        let punctuation = PUNCTUATION.iter().find(|token| rest.starts_with(**token));
        punctuation.copied().unwrap_or(&rest[..first.len_utf8()])
    };
    format!("'{token}'")
}

/// Words other languages use where Ruff has another, with the hint for each.
pub(crate) const FOREIGN_KEYWORDS: &[(&str, &str)] = &[
    ("elif", "`elif` is not Ruff: write `else if`"),
    ("def", "`def` is not Ruff: declare functions with `func name(params) { ... }`"),
    ("function", "`function` is not Ruff: declare functions with `func name(params) { ... }`"),
    ("fn", "`fn` is not Ruff: declare functions with `func name(params) { ... }`"),
];

/// When a parse failed and a line before the failure (or on its line) starts with a word
/// from another language (`elif`, `def`, `function`), the error is about that word: the
/// parser's own message would be about whatever token came next.
pub(crate) fn foreign_keyword(source: &str, error: &SyntaxError) -> Option<SyntaxError> {
    for (index, line) in source.lines().enumerate().take(error.span.line as usize) {
        // The word starts the line or follows the `}` of a block (`} elif x {`).
        let code = line.trim_start();
        let code = code.strip_prefix('}').map_or(code, str::trim_start);
        let word: String = code.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let followed_by = code[word.len()..].chars().next();
        let Some((_, hint)) = FOREIGN_KEYWORDS.iter().find(|(keyword, _)| *keyword == word) else { continue };
        // `def := 1` or `function(x)` use the word as a name; a name or block follows a
        // keyword.
        if !matches!(followed_by, Some(' ' | '\t')) || code[word.len()..].trim_start().starts_with([':', '=', '(']) {
            continue;
        }
        let col = (line.len() - code.len()) as u32 + 1;
        let span = crate::parse::ast::Span { line: index as u32 + 1, col };
        return Some(SyntaxError { span, message: (*hint).to_string() });
    }
    None
}
