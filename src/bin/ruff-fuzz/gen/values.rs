//! Statements about values that hold other values or code: `match` on Result/Option and
//! user enums, closures, literals built in the loop, printing.

use super::*;

impl Generator {
    pub(super) fn match_statement(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        let producers: Vec<Helper> = self
            .helpers
            .iter()
            .filter(|h| matches!(h.shape, HelperShape::ResultOf | HelperShape::OptionOf))
            .cloned()
            .collect();
        if producers.is_empty() {
            return None;
        }
        let producer = self.rng.pick(&producers);
        let bound = format!("mv{}", self.id());
        let acc = scope.name("acc");
        let scrutinee = call(&producer.name, vec![self.counter_or_small(scope)]);
        let use_bound = if self.rng.percent(70) {
            assign(&scope.name("v"), var(&bound))
        } else {
            grow_string(scope, call("to_string", vec![var(&bound)]))
        };
        let arms = if producer.shape == HelperShape::ResultOf {
            vec![
                (format!("Ok({})", bound), vec![use_bound]),
                (format!("Err({})", bound), vec![assign(&acc, bin("+", var(&acc), call("len", vec![var(&bound)])))]),
            ]
        } else {
            vec![
                (format!("Some({})", bound), vec![use_bound]),
                ("None".to_string(), vec![assign(&acc, bin("+", var(&acc), int(2)))]),
            ]
        };
        let (arms, default) = if self.rng.percent(30) {
            (arms[..1].to_vec(), Some(vec![assign(&acc, bin("+", var(&acc), int(5)))]))
        } else {
            (arms, None)
        };
        Some(vec![Stmt::Match(scrutinee, arms, default)])
    }

    pub(super) fn enum_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        self.uses_enum = true;
        let shape = scope.name("sh");
        let bound = format!("mv{}", self.id());
        let payload = self.counter_or_small(scope);
        let make = Stmt::If(
            bin("==", bin("%", payload.clone(), int(3)), int(0)),
            vec![assign(&shape, call("Shape::Circle", vec![payload.clone()]))],
            vec![Stmt::If(
                bin("==", bin("%", payload.clone(), int(3)), int(1)),
                vec![assign(&shape, call("Shape::Square", vec![payload, Expr::Float("0.5")]))],
                vec![assign(&shape, Expr::Word("Shape::Empty".into()))],
            )],
        );
        let acc = scope.name("acc");
        let arms = vec![
            (format!("Shape::Circle({})", bound), vec![assign(&acc, modded(bin("+", var(&acc), var(&bound))))]),
            (format!("Shape::Square({})", bound), vec![assign(&scope.name("v"), var(&bound))]),
        ];
        let default = Some(vec![assign(&acc, bin("+", var(&acc), int(1)))]);
        // assigned before the branches: a name first made inside a block ends with it
        let mut out = vec![assign(&shape, Expr::Word("null".into())), make, Stmt::Match(var(&shape), arms, default)];
        if self.rng.percent(20) {
            let when_to_print = self.sometimes(scope);
            out.push(when(when_to_print, vec![print(vec![var(&shape)])]));
        }
        out
    }

    pub(super) fn closure_statement(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        let acc = scope.name("acc");
        let at = self.counter_or_small(scope);
        match self.rng.below(3) {
            0 => {
                // a closure made in the loop capturing this iteration's values
                let f = scope.name("fn");
                let lambda = Expr::Lambda(
                    vec!["y".into()],
                    vec![Stmt::Return(modded(bin("+", bin("*", var("y"), int(2)), at.clone())))],
                );
                Some(vec![
                    assign(&f, lambda),
                    assign(&acc, modded(bin("+", var(&acc), Expr::CallValue(Box::new(var(&f)), vec![at])))),
                ])
            }
            1 => Some(vec![assign(
                &acc,
                modded(bin(
                    "+",
                    var(&acc),
                    call(
                        "reduce",
                        vec![
                            call("slice", vec![scope.v("a"), int(0), int(3)]),
                            int(0),
                            Expr::Lambda(
                                vec!["t".into(), "el".into()],
                                vec![Stmt::Return(bin("+", var("t"), bin("??", var("el"), int(0))))],
                            ),
                        ],
                    ),
                )),
            )]),
            _ => Some(vec![assign(
                &scope.name("v"),
                call(
                    "map",
                    vec![
                        Expr::Array(vec![at, int(1)]),
                        Expr::Lambda(
                            vec!["y".into()],
                            vec![Stmt::Return(bin("*", var("y"), int(self.rng.range(2, 5))))],
                        ),
                    ],
                ),
            )]),
        }
    }

    /// A literal built in every iteration and read back (allocation sinking), sometimes
    /// escaping into a variable that lives on.
    pub(super) fn literal_in_loop(&mut self, scope: &Scope) -> Vec<Stmt> {
        let lit = scope.name(&format!("lit{}", self.id()));
        let c = self.counter_or_small(scope);
        let (value, read) = match self.rng.below(3) {
            0 => (
                Expr::Dict(vec![
                    ("n".into(), c.clone()),
                    ("h".into(), bin("*", c.clone(), Expr::Float("0.5"))),
                    ("t".into(), text("q")),
                ]),
                index(var(&lit), text("n")),
            ),
            1 => (Expr::Array(vec![c.clone(), bin("+", c.clone(), int(1)), scope.v("v")]), index(var(&lit), int(1))),
            _ => {
                self.uses_struct = true;
                (Expr::Struct("Pt".into(), vec![("x".into(), c.clone()), ("y".into(), int(3))]), field(var(&lit), "x"))
            }
        };
        let keyword = self.rng.pick(&["let", "mut", "const"]);
        let mut out = vec![
            Stmt::Declare(keyword, lit.clone(), value),
            assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), read))),
        ];
        if matches!(out[0], Stmt::Declare(_, _, Expr::Struct(..))) && (keyword == "mut" || self.rng.percent(10)) {
            // a field write to the fresh instance (an error through `let` and `const`)
            out.push(assign(&format!("{}.y", lit), bin("+", field(var(&lit), "x"), int(1))));
            out.push(assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), field(var(&lit), "y")))));
        }
        if self.rng.percent(30) {
            let cond = self.condition(scope, 1);
            out.push(when(cond, vec![assign(&scope.name("w"), var(&lit))]));
        }
        if self.rng.percent(15) {
            out.push(when(self.sometimes(scope), vec![print(vec![text(&format!("{} lit", scope.tag)), var(&lit)])]));
        }
        out
    }

    pub(super) fn print_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        let cond = self.sometimes(scope);
        let mut args = vec![text(&format!("{} at", scope.tag))];
        for _ in 0..self.rng.range(1, 4) {
            args.push(self.rng.pick(&[
                scope.v("a"),
                scope.v("d"),
                scope.v("s"),
                scope.v("v"),
                scope.v("acc"),
                scope.v("fl"),
            ]));
        }
        vec![when(cond, vec![print(args)])]
    }

    /// The statements that need room in the tree or the budget: sorting an array built in
    /// the loop, nested arrays, dict iteration with writes, calls with changing argument
    /// types, local recursive functions.
    pub(super) fn rarer_statement(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
        match self.rng.below(11) {
            9 | 10 => Some(self.value_semantics_statement(scope)),
            5 | 6 => Some(self.builtin_statement(scope)),
            7 => Some(self.compound_update(scope)),
            8 => Some(self.unusual_iteration(scope)),
            0 => self.sort_statement(scope),
            1 => Some(self.matrix_statement(scope)),
            2 => Some(self.dict_iteration(scope)),
            3 => self.polymorphic_call(scope),
            _ => self.local_function(scope),
        }
    }
}
