//! The Ruff-written builtins (`library.ruff`): which of its functions a program needs, and
//! their syntax trees.
//!
//! Terms: a *definition* is one top-level `func` of `library.ruff`, from the comment block
//! right above its `func` line to the next definition. A program *needs* a definition when its source mentions the function's
//! name as a word, or the name of a builtin whose callback form (`sort(a, less)`) the
//! function implements, or when a needed definition mentions it.
//!
//! Why: parsing and compiling the whole library made up more than half of the start-up
//! time of a small program, and it grows with every builtin written in Ruff. Compiling
//! only what a program mentions keeps start-up independent of the library's size.
//!
//! Invariants: the test over-approximates (a name in a comment or a string counts), so a
//! program never lacks a library function it can reach: Ruff has no way to reach a global
//! other than by writing its name. Each definition is parsed at its own byte offsets in
//! `library.ruff` (the text before it blanked out), so spans, lines and columns are those
//! of the whole file.

use super::BUILTINS;
use crate::parse::{self, ast};

/// The source of the library.
pub const LIBRARY_SOURCE: &str = include_str!("library.ruff");

/// One top-level function of the library: its name and where its text lies.
struct Definition {
    name: &'static str,
    text: std::ops::Range<usize>,
}

/// The library's top-level functions, in source order.
fn definitions() -> Vec<Definition> {
    let mut starts: Vec<(usize, &'static str)> = Vec::new();
    let mut offset = 0;
    // Where the comment block right above the current line starts: it describes the
    // function that follows, so it belongs to that definition.
    let mut comment_start = None;
    for line in LIBRARY_SOURCE.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("func ") {
            let name = rest.split(|c: char| !is_word_char(c)).next().unwrap_or_default();
            starts.push((comment_start.unwrap_or(offset), name));
        }
        comment_start = if line.starts_with('#') { comment_start.or(Some(offset)) } else { None };
        offset += line.len();
    }
    let ends = starts.iter().skip(1).map(|&(start, _)| start).chain([LIBRARY_SOURCE.len()]);
    starts.iter().zip(ends).map(|(&(start, name), end)| Definition { name, text: start..end }).collect()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text` contains `word` delimited by non-word characters on both sides.
fn mentions(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// The library functions a program whose modules have the sources `sources` needs, parsed
/// into one program (in library order).
pub fn needed_by(sources: &[&str]) -> ast::Program {
    let definitions = definitions();
    let mut needed = vec![false; definitions.len()];
    let mut pending: Vec<&str> = sources.to_vec();
    while let Some(text) = pending.pop() {
        for (i, definition) in definitions.iter().enumerate() {
            if !needed[i] && is_reached_from(text, definition.name) {
                needed[i] = true;
                pending.push(&LIBRARY_SOURCE[definition.text.clone()]);
            }
        }
    }
    let chosen = definitions.iter().zip(&needed).filter(|(_, &n)| n).map(|(d, _)| d);
    parse_definitions(chosen)
}

/// The whole library (for the REPL, whose later inputs may use any of it).
pub fn whole() -> ast::Program {
    parse_definitions(definitions().iter())
}

/// Whether `text` reaches library function `name`: by its name, or through a builtin whose
/// callback form is implemented by it.
fn is_reached_from(text: &str, name: &str) -> bool {
    mentions(text, name)
        || BUILTINS.iter().any(|builtin| {
            builtin.callback_form.is_some_and(|(_, library)| library == name) && mentions(text, builtin.name)
        })
}

fn parse_definitions<'a>(definitions: impl Iterator<Item = &'a Definition>) -> ast::Program {
    let mut program = ast::Program { stmts: Vec::new(), exports: Vec::new() };
    for definition in definitions {
        let blanked: String = LIBRARY_SOURCE[..definition.text.start]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .chain(LIBRARY_SOURCE[definition.text.clone()].chars())
            .collect();
        let parsed = parse::parse_program(&blanked).expect("each function of the builtin library parses");
        program.stmts.extend(parsed.stmts);
    }
    program
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_is_found_and_parses_alone() {
        let names: Vec<&str> = definitions().iter().map(|d| d.name).collect();
        assert!(names.contains(&"map") && names.contains(&"sort_with") && names.contains(&"sort_by"));
        assert_eq!(whole().stmts.len(), names.len());
    }

    #[test]
    fn a_program_gets_what_it_names_and_what_that_uses() {
        let names = |p: ast::Program| -> Vec<String> {
            p.stmts
                .iter()
                .map(|s| match &s.kind {
                    ast::StmtKind::Func(decl) => decl.name.clone().unwrap_or_default(),
                    _ => String::new(),
                })
                .collect()
        };
        assert!(needed_by(&["print(0)"]).stmts.is_empty());
        assert_eq!(names(needed_by(&["x := map([1], f)"])), ["map"]);
        // sort_by calls sort_with; `mapping` is not `map`.
        assert_eq!(names(needed_by(&["mapping := sort_by(a, k)"])), ["sort_with", "sort_by"]);
        // sort(a, less) is implemented by sort_with.
        assert_eq!(names(needed_by(&["b := sort(a, less)"])), ["sort_with"]);
    }

    #[test]
    fn spans_are_those_of_the_whole_file() {
        let alone = needed_by(&["sort_by"]);
        let whole = whole();
        let last = |p: &ast::Program| p.stmts.last().map(|s| s.span);
        assert_eq!(last(&alone), last(&whole));
    }
}
