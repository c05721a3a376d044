//! Statements whose hot loops used to leave traces or once miscompiled: closures created
//! and called in the loop (some assigning what they captured), functions kept in struct
//! fields, enum values with payloads of every kind matched in the loop, `throw` from hot
//! code, array and dict spreads, `print` of three to eight values on every iteration,
//! builtins with an effect (output, standard input, the environment, the clock, arrays
//! and dicts updated in place) called from
//! the loop, and a string grown in place (`s := s + piece`) that is also a dict key.

use super::*;

impl Generator {
    pub(super) fn effect_statement(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
        match self.rng.below(10) {
            0 => Some(self.closure_in_loop(scope)),
            1 => Some(self.function_in_field(scope)),
            2 => Some(self.enum_payloads(scope)),
            3 => self.hot_throw(scope),
            4 => Some(self.spreads(scope)),
            5 => self.print_every_iteration(scope),
            6 | 7 => Some(self.effect_builtins(scope)),
            _ => self.appended_dict_key(scope),
        }
    }

    /// A closure made in the iteration (capturing the counter) and called at once, or a
    /// counter closure whose calls assign the variable it captured.
    fn closure_in_loop(&mut self, scope: &Scope) -> Vec<Stmt> {
        let acc = scope.name("acc");
        let c = self.counter_or_small(scope);
        let f = format!("cl{}", self.id());
        if self.rng.percent(50) {
            let k = self.rng.range(1, 9);
            let body = vec![Stmt::Return(modded(bin("+", bin("*", var("x"), int(k)), c.clone())))];
            return vec![
                assign(&f, Expr::Lambda(vec!["x".into()], body)),
                assign(&acc, modded(bin("+", var(&acc), Expr::CallValue(Box::new(var(&f)), vec![c])))),
            ];
        }
        let count = format!("cc{}", self.id());
        let step = self.rng.range(1, 5);
        let counter =
            Expr::Lambda(Vec::new(), vec![assign(&count, bin("+", var(&count), int(step))), Stmt::Return(var(&count))]);
        vec![
            assign(&count, bin("%", c, int(7))),
            assign(&f, counter),
            assign(&acc, modded(bin("+", var(&acc), Expr::CallValue(Box::new(var(&f)), Vec::new())))),
            assign(&acc, modded(bin("+", var(&acc), bin("*", var(&count), int(3))))),
        ]
    }

    /// `o := Op { f: func (x, k) {...}, k: c }` made in the iteration and `o.f(c, o.k)`.
    fn function_in_field(&mut self, scope: &Scope) -> Vec<Stmt> {
        self.uses_ops = true;
        let acc = scope.name("acc");
        let c = self.counter_or_small(scope);
        let o = format!("fo{}", self.id());
        let m = self.rng.range(2, 9);
        let f = match self.rng.below(3) {
            0 => Expr::Lambda(vec!["x".into(), "k".into()], vec![Stmt::Return(modded(bin("*", var("x"), var("k"))))]),
            1 => Expr::Lambda(
                vec!["x".into(), "k".into()],
                vec![Stmt::Return(modded(bin("+", bin("+", var("x"), var("k")), c.clone())))],
            ),
            _ => Expr::Lambda(
                vec!["x".into(), "k".into()],
                vec![Stmt::Return(bin("+", bin("%", var("x"), int(m)), int(1)))],
            ),
        };
        vec![
            assign(&o, Expr::Struct("Op".into(), vec![("f".into(), f), ("k".into(), bin("%", c.clone(), int(m)))])),
            assign(&acc, modded(bin("+", var(&acc), call(&format!("{}.f", o), vec![c, field(var(&o), "k")])))),
        ]
    }

    /// An enum value whose payload is, by iteration, an int, a float, a string, an array,
    /// a dict, a struct, a function, another enum value, null or a bool; matched at once.
    fn enum_payloads(&mut self, scope: &Scope) -> Vec<Stmt> {
        self.uses_enum = true;
        let acc = scope.name("acc");
        let c = self.counter_or_small(scope);
        let e = format!("ep{}", self.id());
        let bound = format!("pv{}", self.id());
        let mut kinds = vec![
            c.clone(),
            bin("*", c.clone(), Expr::Float("0.5")),
            Expr::Interpolated(vec![Piece::Text("p".into()), Piece::Expr(c.clone())]),
            Expr::Array(vec![c.clone(), int(2)]),
            Expr::Dict(vec![("k".into(), c.clone())]),
            Expr::Lambda(vec!["y".into()], vec![Stmt::Return(bin("+", var("y"), int(1)))]),
            call("Shape::Circle", vec![c.clone()]),
            Expr::Word("null".into()),
            bin("<", c.clone(), int(5)),
        ];
        if scope.has_struct {
            kinds.push(scope.v("p"));
        }
        let first = self.rng.below(kinds.len() as u64) as usize;
        let second = self.rng.below(kinds.len() as u64) as usize;
        let switch = self.moment(scope);
        let make = Stmt::If(
            bin("<", c.clone(), int(switch)),
            vec![assign(&e, call("Shape::Circle", vec![kinds[first].clone()]))],
            vec![assign(&e, call("Shape::Circle", vec![kinds[second].clone()]))],
        );
        // assigned before the branches: a name first made inside a block ends with it
        let declared = assign(&e, Expr::Word("null".into()));
        let use_payload = match (first, second) {
            (0, 0) => assign(&acc, modded(bin("+", var(&acc), var(&bound)))),
            _ => when(self.sometimes(scope), vec![print(vec![text(&format!("{} payload", scope.tag)), var(&bound)])]),
        };
        let arms = vec![(format!("Shape::Circle({})", bound), vec![use_payload])];
        vec![declared, make, Stmt::Match(var(&e), arms, Some(vec![assign(&acc, bin("+", var(&acc), int(1)))]))]
    }

    /// `throw` at one iteration of hot code, caught around it (or by the section's caller).
    fn hot_throw(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
        let (counter, _) = scope.counter()?;
        let at = self.moment(scope);
        let thrown = match self.rng.below(2) {
            0 => Expr::Interpolated(vec![Piece::Text("thrown at ".into()), Piece::Expr(var(&counter))]),
            _ => text("thrown"),
        };
        let throw = when(bin("==", var(&counter), int(at)), vec![Stmt::Expr(call("throw", vec![thrown]))]);
        let acc = scope.name("acc");
        let body = vec![assign(&acc, modded(bin("+", var(&acc), int(3)))), throw];
        if self.rng.percent(25) || scope.handlers >= 3 {
            return Some(body);
        }
        let name = format!("te{}", self.id());
        let handler = self.handler(scope, &name);
        Some(vec![Stmt::Try(body, name, handler)])
    }

    /// Array and dict literals with spreads of the section's values, sometimes of the value
    /// that changes type (which raises once it is no array).
    fn spreads(&mut self, scope: &Scope) -> Vec<Stmt> {
        let c = self.counter_or_small(scope);
        let acc = scope.name("acc");
        let id = self.id();
        let (sa, sd) = (format!("sa{}", id), format!("sd{}", id));
        let spread = |e: Expr| Expr::Spread(Box::new(e));
        let array = Expr::Array(vec![
            c.clone(),
            spread(scope.v("a")),
            Expr::Interpolated(vec![Piece::Text("e".into()), Piece::Expr(c.clone())]),
            spread(Expr::Array(vec![int(1), c.clone()])),
        ]);
        let dict = Expr::Dict(vec![
            (String::new(), spread(scope.v("d"))),
            ("n".into(), c.clone()),
            ("s".into(), scope.v("s")),
            ("arr".into(), Expr::Array(vec![c.clone()])),
        ]);
        let mut out = vec![
            assign(&sa, array),
            assign(&sd, dict),
            assign(&acc, modded(bin("+", var(&acc), call("len", vec![var(&sa)])))),
            when(self.sometimes(scope), vec![print(vec![text(&format!("{} spread", scope.tag)), var(&sa), var(&sd)])]),
        ];
        if self.rng.percent(25) {
            let e = format!("se{}", self.id());
            let risky = vec![assign(&sa, Expr::Array(vec![spread(scope.v("v")), int(0)]))];
            out.push(Stmt::Try(risky, e, vec![assign("gerr", bin("+", var("gerr"), int(1)))]));
        }
        out
    }

    /// `print` on every iteration of a loop that runs few times in all.
    fn print_every_iteration(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        let (counter, _) = scope.counter()?;
        if scope.weight > 600 {
            return None;
        }
        let values = [scope.v("acc"), scope.v("v"), scope.v("s"), scope.v("fl"), scope.v("a")];
        let mut args = vec![text(&format!("{} it", scope.tag)), var(&counter)];
        // Sometimes more values than registers pass (a spread call on trace).
        let count = if self.rng.percent(50) { 1 } else { self.rng.range(2, 7) };
        for _ in 0..count {
            args.push(self.rng.pick(&values));
        }
        Some(vec![print(args)])
    }

    /// Builtins with an effect in the loop: arrays and dicts updated in place, the
    /// environment read with a default of changing type, the clock, the random generator
    /// (seeded, so deterministic), standard error.
    fn effect_builtins(&mut self, scope: &Scope) -> Vec<Stmt> {
        let c = self.counter_or_small(scope);
        let acc = scope.name("acc");
        let bump = |e: Expr| assign(&acc, modded(bin("+", var(&acc), e)));
        let id = self.id();
        let (ea, er) = (format!("ea{}", id), format!("er{}", id));
        match self.rng.below(8) {
            0 => vec![
                assign(&ea, Expr::Array(vec![c.clone(), int(2), int(3)])),
                assign(&ea, call("reverse", vec![var(&ea)])),
                assign(&ea, call("insert", vec![var(&ea), int(1), c.clone()])),
                assign(&er, call("remove_at", vec![var(&ea), int(0)])),
                bump(call("len", vec![index(var(&er), int(0))])),
            ],
            1 => vec![
                assign(&er, call("pop", vec![Expr::Array(vec![c.clone(), bin("*", c.clone(), int(2))])])),
                bump(index(var(&er), int(1))),
            ],
            2 => vec![
                assign(&er, call("env_or", vec![text("RUFF_FUZZ_UNSET"), scope.v("v")])),
                when(self.sometimes(scope), vec![print(vec![text(&format!("{} env", scope.tag)), var(&er)])]),
            ],
            3 => vec![
                assign(&er, call("time_ns", Vec::new())),
                when(bin("<", var(&er), int(0)), vec![print(vec![text("time went back")])]),
            ],
            4 => vec![Stmt::Expr(call("random_seed", vec![c.clone()])), bump(call("random_int", vec![int(1), int(6)]))],
            5 => vec![
                assign(&ea, call("concat", vec![Expr::Array(vec![c.clone()]), scope.v("a")])),
                assign(&er, call("merge", vec![scope.v("d"), Expr::Dict(vec![("z".into(), c)])])),
                bump(call("len", vec![var(&ea)])),
                bump(call("len", vec![var(&er)])),
            ],
            6 => vec![when(self.sometimes(scope), vec![Stmt::Expr(call("eprint", vec![text(&scope.tag), c]))])],
            _ => {
                // A line of the runner's standard input (some are no UTF-8: the read fails
                // after the prompt was written), or "null" at its end.
                let prompt = Expr::Interpolated(vec![Piece::Text(format!("{}> ", scope.tag)), Piece::Expr(c)]);
                let read = vec![assign(&er, call("to_string", vec![call("input", vec![prompt])]))];
                let e = format!("ie{}", id);
                vec![
                    Stmt::Try(read, e.clone(), vec![assign(&er, Expr::Field(Box::new(var(&e)), "message".into()))]),
                    bump(call("len", vec![var(&er)])),
                ]
            }
        }
    }

    /// A string grown in place (`k := k + "z"`, unshared after its first copy) that keys a
    /// dict read before and after each append.
    fn appended_dict_key(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        if scope.depth >= 4 || scope.weight > BUDGET / 8 {
            return None;
        }
        let acc = scope.name("acc");
        let id = self.id();
        let (key, dict, var_j) = (format!("ak{}", id), format!("ad{}", id), format!("aj{}", id));
        let dict_literal = Expr::Dict(vec![
            ("q".into(), int(1)),
            ("qz".into(), int(2)),
            ("qzz".into(), int(3)),
            ("qzzz".into(), int(4)),
        ]);
        let read = |k: &str| call("get_default", vec![var(&dict), var(k), int(0)]);
        let trips = self.rng.range(2, 6);
        let body = vec![
            assign(&acc, modded(bin("+", var(&acc), read(&key)))),
            assign(&key, bin("+", var(&key), text("z"))),
            assign(&acc, modded(bin("+", bin("*", var(&acc), int(3)), read(&key)))),
        ];
        Some(vec![
            assign(&dict, dict_literal),
            assign(&key, text("q")),
            Stmt::Counted { kind: LoopKind::ForRange, var: var_j, start: int(0), limit: int(trips), body },
        ])
    }
}
