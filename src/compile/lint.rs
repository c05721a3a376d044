//! Mistakes the compiler can see before a program runs (`ruff check` prints them as
//! warnings; `ruff run` still compiles them to located runtime errors where they are
//! errors): undefined names (with a "did you mean" among the names visible there),
//! wrong argument counts for builtins, assignments to `let`/`const`/imported names, and
//! calls of literal values.
//!
//! Invariant: nothing here changes the code generated, only `Compiler::warnings` and the
//! text of the undefined-name error.

use super::{Compiler, Name, Warning};
use crate::builtins::{self, BUILTINS};
use crate::parse::ast::{Expr, ExprKind, Span};

/// The most edits between a misspelt name and a suggestion, for names of this length:
/// none for names of one or two characters (every short name is close to many others).
fn max_distance(name: &str) -> usize {
    match name.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

impl Compiler<'_> {
    pub(super) fn warn(&mut self, span: Span, message: String) {
        self.warnings.push(Warning { file: self.current_file, span, message });
    }

    /// Every name visible from the function being compiled.
    fn visible_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for f in &self.funcs {
            names.extend(f.scopes.iter().flat_map(|s| s.vars.iter().map(|v| v.name.as_str())));
            names.extend(f.capture_names.iter().map(|(n, _)| n.as_str()));
            names.extend(f.self_name.as_deref());
            names.extend(f.fields.iter().map(String::as_str));
        }
        names.extend(self.toplevel_names.keys().map(String::as_str));
        names.extend(self.imported_names.keys().map(String::as_str));
        names.extend(self.library_names.keys().map(String::as_str));
        names.extend(BUILTINS.iter().map(|b| b.name));
        names.extend(["PI", "E"]);
        names
    }

    /// The visible name closest to `name`, if one is close enough to be a likely typo.
    pub(super) fn did_you_mean(&self, name: &str) -> Option<String> {
        let limit = max_distance(name);
        if limit == 0 {
            return None;
        }
        let length = name.chars().count();
        let mut best: Option<(usize, &str)> = None;
        for candidate in self.visible_names() {
            // Lengths that differ by more than the limit need more edits than it allows;
            // skipping them first keeps thousands of undefined names cheap.
            if candidate == name || candidate.starts_with('<') || candidate.chars().count().abs_diff(length) > limit {
                continue;
            }
            let distance = strsim::damerau_levenshtein(name, candidate);
            if distance <= limit && best.is_none_or(|(d, c)| (distance, candidate) < (d, c)) {
                best = Some((distance, candidate));
            }
        }
        best.map(|(_, c)| c.to_string())
    }

    /// `Undefined variable: NAME`, with a suggestion when one is close: the runtime error
    /// it compiles to, and a warning for `ruff check`.
    pub(super) fn undefined_name(&mut self, name: &str, span: Span) {
        let foreign = crate::parse::FOREIGN_KEYWORDS.iter().find(|(keyword, _)| *keyword == name);
        let message = match (foreign, self.did_you_mean(name)) {
            (Some((_, hint)), _) => format!("Undefined variable: {} ({})", name, hint),
            (None, Some(suggestion)) => format!("Undefined variable: {} (did you mean `{}`?)", name, suggestion),
            (None, None) => format!("Undefined variable: {}", name),
        };
        self.warn(span, message.replacen("Undefined variable: ", "undefined name: ", 1));
        self.emit_raise(message, span);
    }

    /// Warns about a call `base(args...)` that cannot work: a builtin given a wrong number
    /// of arguments, or a literal value called as a function.
    pub(super) fn check_call(&mut self, base: &Expr, argc: usize, span: Span) {
        match &base.kind {
            ExprKind::Name(name) => {
                let Name::Builtin(id) = self.resolve(name) else { return };
                if builtins::callback_form(id, argc).is_some() {
                    return;
                }
                let builtin = &BUILTINS[id as usize];
                if !builtin.accepts(argc) {
                    let expected = match (builtin.min_args, builtin.max_args) {
                        (min, u8::MAX) => format!("at least {}", min),
                        (min, max) if min == max => min.to_string(),
                        (min, max) => format!("{} to {}", min, max),
                    };
                    self.warn(span, format!("`{}` takes {} argument(s), given {}", name, expected, argc));
                }
            }
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Interp(_) => {
                self.warn(span, "calling a number or string, which is not a function".to_string())
            }
            ExprKind::Bool(_) | ExprKind::Null | ExprKind::Array(_) | ExprKind::Dict(_) => {
                self.warn(span, "calling a value that is not a function".to_string())
            }
            _ => {}
        }
    }
}
