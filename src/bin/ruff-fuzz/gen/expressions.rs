//! Expressions: ints, floats, string pieces and conditions over the section's variables,
//! most depending on the loop counter.

use super::*;

impl Generator {
    pub(super) fn counter_or_small(&mut self, scope: &Scope) -> Expr {
        match scope.counter() {
            Some((name, _)) if self.rng.percent(80) => var(&name),
            _ => int(self.rng.range(0, 20)),
        }
    }

    /// A condition true a few dozen times per section call at most, however deep the
    /// loops: every few iterations of the outermost loop, at one iteration of each inner
    /// one.
    pub(super) fn sometimes(&mut self, scope: &Scope) -> Expr {
        let mut cond: Option<Expr> = None;
        for (depth, (counter, trips)) in scope.counters.iter().enumerate() {
            let test = if depth == 0 {
                let every = (trips / self.rng.range(3, 12)).max(2);
                bin("==", bin("%", var(counter), int(every)), int(self.rng.range(0, every)))
            } else {
                bin("==", var(counter), int(self.rng.range(0, (*trips).max(1))))
            };
            cond = Some(match cond {
                None => test,
                Some(outer) => bin("&&", outer, test),
            });
        }
        cond.unwrap_or(Expr::Word("true".into()))
    }

    /// An iteration number of the innermost loop at which something happens.
    pub(super) fn moment(&mut self, scope: &Scope) -> i64 {
        let trips = scope.counter().map_or(10, |(_, n)| n);
        match self.rng.below(4) {
            0 => self.rng.range(0, trips + 1),
            1 => self.rng.range(trips / 2, trips + 1),
            2 => self.rng.range(1, 12),
            _ => self.rng.range(trips.saturating_sub(10).max(0), trips + 5),
        }
    }

    pub(super) fn int_expr(&mut self, scope: &Scope, depth: u32) -> Expr {
        let choice = if depth >= 2 { self.rng.below(4) } else { self.rng.below(13) };
        match choice {
            0 | 1 => self.counter_or_small(scope),
            2 => scope.v("acc"),
            3 => int(self.rng.pick(&[0, 1, 2, 3, 7, 10, 100, -1, -5, 1000])),
            4 => bin("+", self.int_expr(scope, depth + 1), self.int_expr(scope, depth + 1)),
            5 => bin("-", self.int_expr(scope, depth + 1), self.int_expr(scope, depth + 1)),
            6 => bin("*", self.int_expr(scope, depth + 1), int(self.rng.range(2, 13))),
            7 => bin("%", self.int_expr(scope, depth + 1), int(self.rng.range(2, 98))),
            8 => bin("/", self.int_expr(scope, depth + 1), int(self.rng.pick(&[2, 3, 7, -2, 10]))),
            9 if scope.native => call("len", vec![scope.v("a")]),
            9 => call("len", vec![self.rng.pick(&[scope.v("a"), scope.v("s"), scope.v("d")])]),
            10 => {
                let at = bin("%", self.counter_or_small(scope), call("len", vec![scope.v("a")]));
                index(scope.v("a"), at)
            }
            11 | 12 if scope.native => call("len", vec![scope.v("a")]),
            11 => call("bit_and", vec![self.int_expr(scope, depth + 1), int(255)]),
            _ => index(scope.v("d"), text(self.rng.pick(&["a", "b"]))),
        }
    }

    pub(super) fn float_expr(&mut self, scope: &Scope) -> Expr {
        match self.rng.below(6) {
            0 => Expr::Float(self.rng.pick(FLOATS)),
            1 => bin("*", self.int_expr(scope, 1), Expr::Float("0.5")),
            2 => bin("+", scope.v("fl"), Expr::Float(self.rng.pick(FLOATS))),
            3 => call("sqrt", vec![call("abs", vec![self.int_expr(scope, 1)])]),
            4 => bin("/", self.int_expr(scope, 1), Expr::Float("4.0")),
            _ if scope.native => call(
                self.rng.pick(&["floor", "sin", "exp"]),
                vec![bin("/", self.int_expr(scope, 1), Expr::Float("100.0"))],
            ),
            _ => call("to_float", vec![self.int_expr(scope, 1)]),
        }
    }

    pub(super) fn string_piece(&mut self, scope: &Scope) -> Expr {
        match self.rng.below(5) {
            0 | 1 => text(self.rng.pick(WORDS)),
            2 => call("to_string", vec![self.int_expr(scope, 1)]),
            3 => Expr::Interpolated(vec![
                Piece::Text("<".into()),
                Piece::Expr(self.counter_or_small(scope)),
                Piece::Text(":".into()),
                Piece::Expr(scope.v("v")),
                Piece::Text(">".into()),
            ]),
            _ => call("to_string", vec![scope.v("v")]),
        }
    }

    pub(super) fn condition(&mut self, scope: &Scope, depth: u32) -> Expr {
        let counter = scope.counter();
        let choice = if depth >= 1 { self.rng.below(6) } else { self.rng.below(10) };
        match (choice, counter) {
            (0, Some((c, _))) => {
                let modulus = self.rng.range(2, 9);
                bin("==", bin("%", var(&c), int(modulus)), int(self.rng.range(0, modulus)))
            }
            (1, Some((c, _))) => bin("==", var(&c), int(self.moment(scope))),
            (2, Some((c, _))) => bin(">", var(&c), int(self.moment(scope))),
            (3, _) => bin("<", self.int_expr(scope, 1), self.int_expr(scope, 1)),
            (4, _) => bin(self.rng.pick(&["==", "!="]), scope.v("v"), int(self.rng.range(0, 5))),
            (5, _) if scope.native => bin("<", scope.v("fl"), Expr::Float("3.75")),
            (5, _) => call("is_int", vec![scope.v("v")]),
            (6, Some((c, _))) if scope.has_rep => {
                bin("&&", bin("==", var("rep"), int(self.rng.range(1, 3))), bin("==", var(&c), int(self.moment(scope))))
            }
            (7, _) => {
                bin(self.rng.pick(&["&&", "||"]), self.condition(scope, depth + 1), self.condition(scope, depth + 1))
            }
            (8, _) => Expr::Unary("!", Box::new(self.condition(scope, depth + 1))),
            (9, _) if scope.native => bin(">=", scope.v("v"), int(self.rng.range(0, 100))),
            (9, _) => scope.v("v"),
            _ => bin(">", scope.v("acc"), int(self.rng.range(0, 1000))),
        }
    }
}
