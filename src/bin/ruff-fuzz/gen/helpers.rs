//! Helper functions sections call: arithmetic with loops that return early or throw, linear,
//! tree and mutual recursion, Result/Option producers, array-taking functions, quicksort,
//! struct steps and deep recursion; each with its estimated cost for the budget.

use super::*;

impl Generator {
    pub(super) fn helper(&mut self) {
        let choice = self.rng.below(12);
        let name = format!("h{}", self.id());
        let (shape, cost, body, params) = match choice {
            0 | 1 => self.helper_arithmetic(),
            9 | 10 => self.helper_sort(&name),
            11 => self.helper_struct_step(),
            2 => self.helper_linear_recursion(&name),
            3 => self.helper_tree_recursion(&name),
            4 => return self.helper_mutual_recursion(&name),
            5 => self.helper_result(),
            6 => self.helper_option(),
            7 => self.helper_array(),
            _ => self.helper_deep(&name),
        };
        let native = matches!(
            shape,
            HelperShape::IntToNumber
                | HelperShape::Recursive { .. }
                | HelperShape::Sort
                | HelperShape::Deep
                | HelperShape::StructStep
        ) && !uses_non_native_builtin(&body);
        self.declarations.push(Stmt::Func(name.clone(), params, body));
        self.helpers.push(Helper { name, shape, cost, native });
    }

    /// `h(x)`: a short loop or straight-line arithmetic, returning a float for some `x`.
    pub(super) fn helper_arithmetic(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        // Loops of a dozen trips or more get loop traces of their own, which the callers'
        // traces then call through the function's trace.
        let trips = self.rng.pick(&[3, 8, 12, 20, 40]);
        let mut body = vec![assign("t", var("x"))];
        let mut loop_body =
            vec![assign("t", modded(bin("+", bin("*", var("t"), int(self.rng.range(2, 7))), var("q"))))];
        if self.rng.percent(40) {
            loop_body.insert(
                0,
                when(bin("==", bin("%", bin("+", var("x"), var("q")), int(7)), int(3)), vec![Stmt::Continue]),
            );
        }
        if self.rng.percent(40) {
            loop_body.push(when(bin(">", var("t"), int(self.rng.range(100, 900_000))), vec![Stmt::Break]));
        }
        if self.rng.percent(30) {
            loop_body.push(when(
                bin("==", var("x"), int(self.rng.range(0, 300))),
                vec![Stmt::Return(bin("*", var("t"), Expr::Float("0.5")))],
            ));
        }
        body.push(Stmt::Counted {
            kind: self.loop_kind(),
            var: "q".into(),
            start: int(0),
            limit: int(trips),
            body: loop_body,
        });
        if self.rng.percent(30) {
            body.push(when(
                bin("==", bin("%", var("x"), int(self.rng.range(5, 60))), int(0)),
                vec![Stmt::Return(bin("+", var("t"), Expr::Float("0.25")))],
            ));
        }
        if self.rng.percent(30) {
            // a global written from a function called in hot loops
            body.insert(0, assign("gcnt", bin("+", var("gcnt"), int(1))));
        }
        if self.rng.percent(35) {
            // an error raised inside the callee at one argument, caught by the caller
            let at = self.rng.range(0, 300);
            let raise = match self.rng.below(3) {
                0 => Stmt::Expr(call(
                    "throw",
                    vec![Expr::Interpolated(vec![Piece::Text("h ".into()), Piece::Expr(var("x"))])],
                )),
                1 => assign("z", bin("/", int(1), bin("-", var("x"), int(at)))),
                _ => assign("z", index(Expr::Array(vec![var("x")]), var("x"))),
            };
            body.insert(0, when(bin("==", var("x"), int(at)), vec![raise]));
        }
        body.push(Stmt::Return(var("t")));
        (HelperShape::IntToNumber, trips as u64 * 3 + 4, body, vec!["x".into()])
    }

    pub(super) fn helper_linear_recursion(&mut self, name: &str) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let max_arg = self.rng.range(5, 30);
        let recurse = call(name, vec![bin("-", var("n"), int(1))]);
        let step = match self.rng.below(4) {
            0 => modded(bin("+", var("n"), recurse)),
            1 => bin("+", recurse, bin("*", var("n"), Expr::Float("0.5"))),
            2 => modded(bin("*", recurse, int(3))),
            _ => modded(bin("+", recurse, call("len", vec![call("to_string", vec![var("n")])]))),
        };
        let mut body = vec![when(bin("<=", var("n"), int(0)), vec![Stmt::Return(int(self.rng.range(0, 5)))])];
        let frame_loop = self.rng.pick(&[2, 4, 12, 16]);
        if self.rng.percent(40) {
            // a loop in every frame, so loop traces meet the recursion
            body.push(assign("t", int(0)));
            body.push(Stmt::Counted {
                kind: self.loop_kind(),
                var: "q".into(),
                start: int(0),
                limit: int(frame_loop),
                body: vec![assign("t", bin("+", var("t"), bin("*", var("q"), var("n"))))],
            });
            body.push(assign("r", step));
            body.push(Stmt::Return(bin("+", var("r"), bin("%", var("t"), int(7)))));
        } else {
            body.push(Stmt::Return(step));
        }
        (HelperShape::Recursive { max_arg }, max_arg as u64 * (6 + frame_loop as u64), body, vec!["n".into()])
    }

    pub(super) fn helper_tree_recursion(&mut self, name: &str) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let max_arg = self.rng.range(4, 10);
        let mut body = vec![when(bin("<", var("n"), int(2)), vec![Stmt::Return(var("n"))])];
        if self.rng.percent(50) {
            // the recursive calls are made from inside a loop
            body.push(assign("t", int(0)));
            body.push(Stmt::Counted {
                kind: self.loop_kind(),
                var: "q".into(),
                start: int(1),
                limit: int(3),
                body: vec![assign("t", bin("+", var("t"), call(name, vec![bin("-", var("n"), var("q"))])))],
            });
            body.push(Stmt::Return(var("t")));
        } else {
            body.push(Stmt::Return(bin(
                "+",
                call(name, vec![bin("-", var("n"), int(1))]),
                call(name, vec![bin("-", var("n"), int(2))]),
            )));
        }
        (HelperShape::Recursive { max_arg }, 1 << (max_arg * 7 / 10 + 2), body, vec!["n".into()])
    }

    /// Two functions calling each other; only the first is registered as a helper.
    pub(super) fn helper_mutual_recursion(&mut self, name: &str) {
        let partner = format!("{}b", name);
        let max_arg = self.rng.range(5, 40);
        let first = vec![
            when(bin("<=", var("n"), int(0)), vec![Stmt::Return(int(1))]),
            Stmt::Return(modded(bin("+", call(&partner, vec![bin("-", var("n"), int(1))]), var("n")))),
        ];
        let mut second = vec![when(bin("<=", var("n"), int(0)), vec![Stmt::Return(int(2))])];
        if self.rng.percent(50) {
            second.push(when(
                bin("==", var("n"), int(self.rng.range(1, 40))),
                vec![Stmt::Return(bin("+", call(name, vec![bin("-", var("n"), int(1))]), Expr::Float("0.5")))],
            ));
        }
        second.push(Stmt::Return(modded(bin("*", call(name, vec![bin("-", var("n"), int(1))]), int(2)))));
        self.declarations.push(Stmt::Func(name.to_string(), vec!["n".into()], first));
        self.declarations.push(Stmt::Func(partner, vec!["n".into()], second));
        self.helpers.push(Helper {
            name: name.to_string(),
            shape: HelperShape::Recursive { max_arg },
            cost: max_arg as u64 * 3,
            native: true,
        });
    }

    pub(super) fn helper_result(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let divisor = self.rng.range(2, 7);
        let error = Expr::Interpolated(vec![Piece::Text("bad ".into()), Piece::Expr(var("x"))]);
        let body = vec![
            when(bin("==", bin("%", var("x"), int(divisor)), int(0)), vec![Stmt::Return(call("Err", vec![error]))]),
            Stmt::Return(call("Ok", vec![bin("*", var("x"), int(self.rng.range(1, 5)))])),
        ];
        (HelperShape::ResultOf, 3, body, vec!["x".into()])
    }

    pub(super) fn helper_option(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let limit = self.rng.range(10, 200);
        let payload =
            self.rng.pick(&[var("x"), bin("+", var("x"), Expr::Float("0.5")), call("to_string", vec![var("x")])]);
        let body = vec![
            when(bin(">", var("x"), int(limit)), vec![Stmt::Return(Expr::Word("None".into()))]),
            Stmt::Return(call("Some", vec![payload])),
        ];
        (HelperShape::OptionOf, 3, body, vec!["x".into()])
    }

    /// Writes into its parameter (a copy: the caller's array must not change) and sums it.
    pub(super) fn helper_array(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let body = vec![
            assign("xs[0]", int(self.rng.range(100, 999))),
            assign("xs", call("push", vec![var("xs"), int(7)])),
            assign("t", int(0)),
            Stmt::ForIn(
                "el".into(),
                var("xs"),
                vec![when(call("is_int", vec![var("el")]), vec![assign("t", modded(bin("+", var("t"), var("el"))))])],
            ),
            Stmt::Return(var("t")),
        ];
        (HelperShape::ArrayToInt, 50, body, vec!["xs".into()])
    }

    /// Quicksort (Lomuto) of `a[lo..=hi]`: the recursion returns the array, the loops
    /// swap elements of a parameter, and an injected statement changes an element's type,
    /// raises an error or returns early at some depth.
    pub(super) fn helper_sort(&mut self, name: &str) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let descending = self.rng.percent(20);
        let less = if descending { ">" } else { "<" };
        let swap = |x: &str, y: &str| {
            vec![
                assign("t", index(var("a"), var(x))),
                assign(&format!("a[{}]", x), index(var("a"), var(y))),
                assign(&format!("a[{}]", y), var("t")),
            ]
        };
        let mut partition_body = Vec::new();
        let depth_at = self.rng.range(0, 6);
        match self.rng.below(6) {
            0 => partition_body.push(when(
                bin("&&", bin("==", var("d"), int(depth_at)), bin("==", var("j"), var("lo"))),
                vec![assign("a[j]", bin("+", index(var("a"), var("j")), Expr::Float("0.5")))],
            )),
            1 => partition_body.push(when(
                bin(
                    "&&",
                    bin("==", var("d"), int(depth_at)),
                    bin(">", var("hi"), bin("+", var("lo"), int(self.rng.range(1, 6)))),
                ),
                vec![Stmt::Return(var("a"))],
            )),
            2 => partition_body.push(when(
                bin("==", index(var("a"), var("j")), int(self.rng.range(0, 50))),
                vec![assign("gcnt", bin("+", var("gcnt"), int(1)))],
            )),
            3 => partition_body.push(when(
                bin("&&", bin("==", var("d"), int(depth_at + 2)), bin("==", var("j"), var("lo"))),
                vec![assign("z", bin("/", var("j"), bin("-", var("d"), int(depth_at + 2))))],
            )),
            _ => {}
        }
        let mut then = swap("i", "j");
        then.push(assign("i", bin("+", var("i"), int(1))));
        partition_body.push(when(bin(less, index(var("a"), var("j")), var("p")), then));
        let mut body = vec![
            when(bin(">=", var("lo"), var("hi")), vec![Stmt::Return(var("a"))]),
            assign("p", index(var("a"), var("hi"))),
            assign("i", var("lo")),
            Stmt::Counted {
                kind: self.loop_kind(),
                var: "j".into(),
                start: var("lo"),
                limit: var("hi"),
                body: partition_body,
            },
        ];
        body.extend(swap("i", "hi"));
        let recurse = |lo: Expr, hi: Expr| assign("a", call(name, vec![var("a"), lo, hi, bin("+", var("d"), int(1))]));
        body.push(recurse(var("lo"), bin("-", var("i"), int(1))));
        body.push(recurse(bin("+", var("i"), int(1)), var("hi")));
        body.push(Stmt::Return(var("a")));
        (HelperShape::Sort, 400, body, vec!["a".into(), "lo".into(), "hi".into(), "d".into()])
    }

    /// Writes a field of its struct parameter (its own copy) in a short loop and returns it.
    pub(super) fn helper_struct_step(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        self.uses_struct = true;
        let trips = self.rng.range(1, 5);
        let mut loop_body = vec![assign("pt.x", modded(bin("+", field(var("pt"), "x"), var("k"))))];
        if self.rng.percent(30) {
            loop_body
                .push(when(bin("==", var("k"), int(self.rng.range(0, 200))), vec![assign("pt.y", Expr::Float("0.5"))]));
        }
        if self.rng.percent(20) {
            loop_body.push(when(
                bin(">", field(var("pt"), "x"), int(self.rng.range(100, 5000))),
                vec![Stmt::Return(var("pt"))],
            ));
        }
        let body = vec![
            Stmt::Counted {
                kind: self.loop_kind(),
                var: "q".into(),
                start: int(0),
                limit: int(trips),
                body: loop_body,
            },
            Stmt::Return(var("pt")),
        ];
        (HelperShape::StructStep, trips as u64 * 3 + 2, body, vec!["pt".into(), "k".into()])
    }

    pub(super) fn helper_deep(&mut self, name: &str) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let body = vec![
            when(bin("<=", var("n"), int(0)), vec![Stmt::Return(int(0))]),
            Stmt::Return(bin("+", call(name, vec![bin("-", var("n"), int(1))]), int(1))),
        ];
        (HelperShape::Deep, 2, body, vec!["n".into()])
    }
}
