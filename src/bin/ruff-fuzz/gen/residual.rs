//! Statements whose operations traces run as residual calls (the interpreter's own
//! implementation called from native code, `jit/residual.rs`): truthiness of strings,
//! dicts, arrays, structs and the value that changes type; `==`/`!=` of arrays, dicts,
//! structs and mixed types; orderings of strings (raising when the value that changes
//! type is not one); interpolation of containers; enum values holding arrays, stored in
//! arrays and matched.

use super::{bin, call, index, int, modded, text, var, when, Generator, Scope};
use crate::ast::{Expr, Piece, Stmt};

impl Generator {
    pub(super) fn residual_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        let acc = scope.name("acc");
        let bump = |k: i64| vec![Stmt::Assign(acc.clone(), modded(bin("+", var(&acc), int(k))))];
        let c = self.counter_or_small(scope);
        let mut subjects = vec![scope.v("s"), scope.v("d"), scope.v("a"), scope.v("v"), scope.v("mat")];
        if scope.has_struct {
            subjects.push(scope.v("p"));
        }
        match self.rng.below(5) {
            0 => {
                let subject = self.rng.pick(&subjects);
                vec![when(subject, bump(self.rng.range(1, 9)))]
            }
            1 => {
                let left = self.rng.pick(&subjects);
                let right = match self.rng.below(3) {
                    0 => self.rng.pick(&subjects),
                    1 => index(scope.v("mat"), bin("%", c, int(3))),
                    _ => Expr::Array(vec![int(1), int(4), int(7)]),
                };
                let op = self.rng.pick(&["==", "!="]);
                vec![when(bin(op, left, right), bump(self.rng.range(1, 9)))]
            }
            2 => {
                // `v` changes type: ordering it with a string raises from hot code.
                let left = self.rng.pick(&[scope.v("s"), scope.v("s"), scope.v("v")]);
                let op = self.rng.pick(&["<", "<=", ">", ">="]);
                vec![when(bin(op, left, text("b")), bump(self.rng.range(1, 9)))]
            }
            3 => {
                let shown = self.rng.pick(&subjects);
                let interpolated = Expr::Interpolated(vec![
                    Piece::Text("<".into()),
                    Piece::Expr(shown),
                    Piece::Text("|".into()),
                    Piece::Expr(c),
                ]);
                vec![Stmt::Assign(acc.clone(), modded(bin("+", var(&acc), call("len", vec![interpolated]))))]
            }
            _ => {
                let id = self.id();
                let name = scope.name(&format!("opt{}", id));
                let (some, err) = (scope.name(&format!("inside{}", id)), scope.name(&format!("error{}", id)));
                let payload = Expr::Array(vec![c.clone(), var(&acc)]);
                let built = if self.rng.percent(50) {
                    call("Some", vec![payload])
                } else {
                    call("Err", vec![Expr::Array(vec![payload])])
                };
                let matched = Stmt::Match(
                    index(Expr::Array(vec![var(&name), int(0)]), int(0)),
                    vec![
                        (format!("Some({})", some), bump_by_len(&acc, &some)),
                        (format!("Err({})", err), bump_by_len(&acc, &err)),
                    ],
                    None,
                );
                vec![Stmt::Assign(name, built), matched]
            }
        }
    }
}

/// `acc := (acc + len(x)) % M`.
fn bump_by_len(acc: &str, x: &str) -> Vec<Stmt> {
    vec![Stmt::Assign(acc.to_string(), modded(bin("+", var(acc), call("len", vec![var(x)]))))]
}
