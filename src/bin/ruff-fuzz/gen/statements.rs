//! The statements of loop bodies: the mix `statement` draws from, accumulators, string
//! building, values that change type, nested and collection loops, early exits, branches,
//! helper calls, array, dict and struct updates, runtime errors and guarded blocks.

use super::*;

impl Generator {
    /// One statement (or a few that belong together) for the body of a loop.
    pub(super) fn statement(&mut self, scope: &mut Scope) -> Vec<Stmt> {
        if self.rng.percent(6) {
            return self.residual_statement(scope);
        }
        if self.rng.percent(6) {
            if let Some(statements) = self.effect_statement(scope) {
                return statements;
            }
        }
        if scope.native && self.rng.percent(92) {
            return self.native_statement(scope);
        }
        let deep = scope.depth >= 4;
        loop {
            let choice = self.rng.below(108);
            let produced = match choice {
                0..=9 => Some(self.accumulate(scope)),
                10..=13 => Some(self.float_update(scope)),
                14..=19 => Some(self.string_building(scope)),
                20..=27 => Some(self.type_change(scope)),
                28..=32 => Some(self.poly_use(scope)),
                33..=38 if !deep => self.nested_loop(scope),
                39..=43 => self.early_exit(scope),
                44..=47 if !deep => Some(self.branch(scope)),
                48..=55 => self.helper_call(scope),
                56..=61 => Some(self.array_statement(scope)),
                62..=66 => Some(self.dict_statement(scope)),
                67..=70 => self.struct_statement(scope),
                71..=77 => Some(self.runtime_error(scope)),
                78..=81 if !deep && scope.handlers < 3 => Some(self.guarded(scope)),
                82..=85 => self.match_statement(scope),
                86..=88 => self.closure_statement(scope),
                89..=92 => Some(self.literal_in_loop(scope)),
                93..=95 => Some(self.print_statement(scope)),
                96..=97 => self.deep_call(scope),
                98 => Some(self.enum_statement(scope)),
                99 => self.shared_struct_write(scope),
                100 => self.string_iteration(scope),
                101..=102 => self.method_receiver_write(scope),
                _ => self.rarer_statement(scope),
            };
            if let Some(statements) = produced {
                return statements;
            }
        }
    }

    /// `fl := fl * 0.5 + <float>`: a float accumulator that stays bounded.
    pub(super) fn float_update(&mut self, scope: &Scope) -> Vec<Stmt> {
        vec![assign(&scope.name("fl"), bin("+", bin("*", scope.v("fl"), Expr::Float("0.5")), self.float_expr(scope)))]
    }

    pub(super) fn accumulate(&mut self, scope: &Scope) -> Vec<Stmt> {
        let acc = scope.name("acc");
        let value = self.int_expr(scope, 0);
        if self.rng.percent(6) {
            // no modulus: overflows after some iterations, from hot code
            let factor = self.rng.range(2, 5);
            return vec![assign(&acc, bin("+", bin("*", var(&acc), int(factor)), value))];
        }
        vec![assign(&acc, modded(bin("+", var(&acc), value)))]
    }

    pub(super) fn string_building(&mut self, scope: &Scope) -> Vec<Stmt> {
        let s = scope.name("s");
        let piece = self.string_piece(scope);
        let mut out = vec![assign(&s, bin("+", var(&s), piece))];
        let keep = self.rng.range(10, 40);
        let cut = match self.rng.below(3) {
            0 => call("substring", vec![var(&s), int(keep / 2), call("len", vec![var(&s)])]),
            1 => {
                let characters = call("slice", vec![call("split", vec![var(&s), text("")]), int(0), int(keep / 2)]);
                call("join", vec![characters, text("")])
            }
            _ => text(self.rng.pick(WORDS)),
        };
        out.push(when(bin(">", call("len", vec![var(&s)]), int(keep)), vec![assign(&s, cut)]));
        if self.rng.percent(30) {
            // a copy that grows separately: the original must not see its appends
            out.push(assign(&scope.name("u"), var(&s)));
            out.push(assign(&scope.name("u"), bin("+", scope.v("u"), text("!"))));
            out.push(when(
                bin("==", call("len", vec![scope.v("u")]), call("len", vec![var(&s)])),
                vec![print(vec![text("string alias"), var(&s)])],
            ));
        }
        if self.rng.percent(20) {
            let at = bin("%", self.counter_or_small(scope), call("len", vec![var(&s)]));
            out.push(assign(
                &scope.name("acc"),
                modded(bin("+", scope.v("acc"), call("len", vec![index(var(&s), at)]))),
            ));
        }
        out
    }

    pub(super) fn type_change(&mut self, scope: &Scope) -> Vec<Stmt> {
        let v = scope.name("v");
        let new_value = match self.rng.below(11) {
            9 => self.rng.pick(&[
                bin("-", call("exp", vec![int(1000)]), call("exp", vec![int(1000)])),
                call("exp", vec![int(1000)]),
                Expr::Unary("-", Box::new(Expr::Float("0.0"))),
            ]),
            10 => bin("+", var(&v), int(self.rng.range(1, 4))),
            0 => bin("+", var(&v), Expr::Float("0.5")),
            1 => bin("*", var(&v), Expr::Float("1.0")),
            2 => call("to_string", vec![var(&v)]),
            3 => Expr::Array(vec![var(&v)]),
            4 => Expr::Word("null".into()),
            5 => Expr::Word(self.rng.pick(&["true", "false"]).into()),
            6 => self.counter_or_small(scope),
            7 => int(i64::MAX - self.rng.range(0, 3)),
            _ => Expr::Float(self.rng.pick(FLOATS)),
        };
        let cond = match scope.counter() {
            Some((c, _)) => match self.rng.below(4) {
                0 => bin(">=", var(&c), int(self.moment(scope))),
                1 if scope.has_rep => {
                    bin("&&", bin(">", var("rep"), int(0)), bin("==", var(&c), int(self.moment(scope))))
                }
                _ => bin("==", var(&c), int(self.moment(scope))),
            },
            None => self.condition(scope, 0),
        };
        vec![when(cond, vec![assign(&v, new_value)])]
    }

    /// Uses of the type-changing value: some fine for every type, some guarded by type
    /// tests, some that fail once the type is wrong.
    pub(super) fn poly_use(&mut self, scope: &Scope) -> Vec<Stmt> {
        let v = scope.v("v");
        let acc = scope.name("acc");
        match self.rng.below(7) {
            0 => vec![grow_string(scope, call("to_string", vec![v]))],
            1 => vec![Stmt::If(
                call("is_int", vec![v.clone()]),
                vec![assign(&acc, modded(bin("+", var(&acc), v.clone())))],
                vec![Stmt::If(
                    call("is_float", vec![v.clone()]),
                    vec![assign(&scope.name("fl"), bin("+", scope.v("fl"), v))],
                    vec![assign(&acc, bin("+", var(&acc), int(1)))],
                )],
            )],
            2 => vec![assign(&scope.name("v"), bin("+", v, int(1)))],
            3 => vec![when(bin("==", v, int(self.rng.range(0, 10))), vec![assign(&acc, bin("+", var(&acc), int(3)))])],
            4 => vec![assign(&scope.name("z"), bin("+", v.clone(), v))],
            5 => vec![assign(&acc, modded(bin("+", var(&acc), call("len", vec![call("to_string", vec![v])]))))],
            _ => vec![assign(&scope.name("fl"), bin("+", scope.v("fl"), bin("??", v, Expr::Float("0.5"))))],
        }
    }

    pub(super) fn nested_loop(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
        if scope.counters.len() >= 3 {
            return None;
        }
        if self.rng.percent(20) {
            return Some(self.collection_loop(scope));
        }
        let hot_inner = self.rng.percent(25);
        let wanted = if hot_inner { self.rng.range(60, 200) } else { self.rng.range(0, 30) };
        let allowed = (BUDGET / scope.weight.max(1)) as i64;
        let trips = wanted.min(allowed);
        if trips < 1 {
            return None;
        }
        let statements = self.rng.range(1, 5) as usize;
        // A short inner loop whose trip count changes with the enclosing loop's counter
        // (0 up to `trips`, around the JIT's unroll bound), so that unrolled traces meet
        // other trip counts.
        let varying = match scope.counter() {
            Some((outer, _)) if !hot_inner && self.rng.percent(50) => {
                let trips = trips.min(self.rng.pick(&[2, 3, 4, 8, 17, 20]));
                let spread = bin("*", var(&outer), int(self.rng.range(1, 6)));
                Some((trips, bin("%", bin("+", spread, int(self.rng.range(0, 7))), int(trips + 1))))
            }
            _ => None,
        };
        Some(vec![match varying {
            Some((trips, count)) => self.counted_loop_to(scope, trips, statements, Some(count)),
            None => self.counted_loop(scope, trips, statements),
        }])
    }

    /// `for` over the section's array, dict keys or string characters.
    pub(super) fn collection_loop(&mut self, scope: &Scope) -> Vec<Stmt> {
        let (acc, fl, s) = (scope.name("acc"), scope.name("fl"), scope.name("s"));
        let choice = if scope.native { 0 } else { self.rng.below(3) };
        let (item, iterable, body) = match choice {
            0 => {
                let item = scope.name("el");
                let body = if scope.native {
                    vec![assign(&fl, bin("+", bin("*", var(&fl), Expr::Float("0.5")), var(&item)))]
                } else {
                    let mut body = vec![Stmt::If(
                        call("is_int", vec![var(&item)]),
                        vec![assign(&acc, modded(bin("+", var(&acc), var(&item))))],
                        vec![assign(&scope.name("v"), var(&item))],
                    )];
                    if self.rng.percent(40) {
                        // the loop iterates over a snapshot while the array changes
                        let a = scope.name("a");
                        body.push(assign(&format!("{}[0]", a), var(&item)));
                        body.push(when(
                            bin("<", call("len", vec![var(&a)]), int(40)),
                            vec![assign(&a, call("push", vec![var(&a), int(self.rng.range(0, 9))]))],
                        ));
                    }
                    body
                };
                (item, scope.v("a"), body)
            }
            1 => {
                let item = scope.name("key");
                let body = vec![Stmt::If(
                    bin("<", call("len", vec![var(&s)]), int(60)),
                    vec![assign(&s, bin("+", var(&s), var(&item)))],
                    vec![assign(&s, text(""))],
                )];
                (item, scope.v("d"), body)
            }
            _ => {
                let item = scope.name("ch");
                let body =
                    vec![when(bin("==", var(&item), text("a")), vec![assign(&acc, bin("+", var(&acc), int(1)))])];
                (item, scope.v("s"), body)
            }
        };
        vec![Stmt::ForIn(item, iterable, body)]
    }

    pub(super) fn early_exit(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        if !scope.in_loop() {
            return None;
        }
        let exit = match self.rng.below(5) {
            0 | 1 => Stmt::Break,
            2 | 3 => Stmt::Continue,
            _ if scope.in_function => Stmt::Return(self.rng.pick(&[scope.v("acc"), scope.v("v"), scope.v("fl")])),
            _ => Stmt::Break,
        };
        let cond = self.condition(scope, 0);
        Some(vec![when(cond, vec![exit])])
    }

    pub(super) fn branch(&mut self, scope: &mut Scope) -> Vec<Stmt> {
        let cond = self.condition(scope, 0);
        scope.depth += 1;
        let then: Vec<Stmt> = (0..self.rng.range(1, 3)).flat_map(|_| self.statement(scope)).collect();
        let otherwise: Vec<Stmt> = if self.rng.percent(50) {
            (0..self.rng.range(1, 3)).flat_map(|_| self.statement(scope)).collect()
        } else {
            Vec::new()
        };
        scope.depth -= 1;
        vec![Stmt::If(cond, then, otherwise)]
    }

    pub(super) fn helper_call(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        let candidates: Vec<Helper> = self
            .helpers
            .iter()
            .filter(|h| {
                !matches!(
                    h.shape,
                    HelperShape::ResultOf
                        | HelperShape::OptionOf
                        | HelperShape::Deep
                        | HelperShape::Sort
                        | HelperShape::StructStep
                ) && scope.weight.saturating_mul(h.cost) <= BUDGET * 2
                    && (h.native || !scope.native)
            })
            .cloned()
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let helper = self.rng.pick(&candidates);
        let acc = scope.name("acc");
        let result = match helper.shape {
            HelperShape::Recursive { max_arg } => {
                let arg = bin("%", self.counter_or_small(scope), int(max_arg + 1));
                call(&helper.name, vec![arg])
            }
            HelperShape::ArrayToInt => {
                let a = scope.v("a");
                let sum = call(&helper.name, vec![a.clone()]);
                return Some(vec![
                    assign(&acc, modded(bin("+", var(&acc), sum))),
                    when(
                        bin("!=", index(a.clone(), int(0)), int(1)),
                        vec![print(vec![text(&format!("{} array changed", scope.tag)), a])],
                    ),
                ]);
            }
            _ => call(&helper.name, vec![self.int_expr(scope, 1)]),
        };
        if self.rng.percent(50) {
            Some(vec![assign(&acc, modded(bin("+", var(&acc), result)))])
        } else {
            Some(vec![assign(&scope.name("v"), result)])
        }
    }

    pub(super) fn array_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        let a = scope.name("a");
        let len_a = call("len", vec![var(&a)]);
        match self.rng.below(7) {
            0 => {
                let choices = [self.int_expr(scope, 1), self.float_expr(scope), scope.v("v")];
                let element = self.rng.pick(&choices);
                vec![
                    assign(&a, call("push", vec![var(&a), element])),
                    when(
                        bin(">", len_a, int(self.rng.range(10, 40))),
                        vec![assign(&a, call("slice", vec![var(&a), int(3), int(1000)]))],
                    ),
                ]
            }
            1 => {
                let at = bin("%", self.counter_or_small(scope), len_a);
                vec![assign(&format!("{}[{}]", a, crate::ast::expr_text(&at)), self.int_expr(scope, 1))]
            }
            2 => {
                // a copy written in the loop: the original keeps its value
                let b = scope.name("b");
                vec![
                    assign(&b, var(&a)),
                    assign(&format!("{}[0]", b), bin("+", index(var(&b), int(0)), int(1))),
                    assign(&b, call("push", vec![var(&b), int(99)])),
                    when(
                        bin("==", call("len", vec![var(&b)]), len_a),
                        vec![print(vec![text(&format!("{} array alias", scope.tag)), var(&a), var(&b)])],
                    ),
                ]
            }
            3 => {
                let at = self.counter_or_small(scope);
                vec![assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), index(var(&a), at))))]
            }
            4 => vec![assign(&format!("{}[0]", a), self.rng.pick(&[Expr::Float("0.5"), text("z"), int(1)]))],
            5 => vec![assign(
                &scope.name("acc"),
                modded(bin("+", scope.v("acc"), call("sum", vec![call("slice", vec![var(&a), int(0), int(3)])]))),
            )],
            _ => vec![assign(&scope.name("v"), call("contains", vec![var(&a), self.int_expr(scope, 1)]))],
        }
    }

    pub(super) fn dict_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        let d = scope.name("d");
        let key = if self.rng.percent(70) {
            text(self.rng.pick(DICT_KEYS))
        } else {
            let modulus = self.rng.range(2, 6);
            Expr::Interpolated(vec![
                Piece::Text("k".into()),
                Piece::Expr(bin("%", self.counter_or_small(scope), int(modulus))),
            ])
        };
        let key_text = crate::ast::expr_text(&key);
        match self.rng.below(6) {
            0 | 1 => vec![assign(&format!("{}[{}]", d, key_text), self.int_expr(scope, 1))],
            2 => vec![assign(
                &scope.name("acc"),
                modded(bin("+", scope.v("acc"), bin("??", call("get", vec![var(&d), key]), int(0)))),
            )],
            3 => {
                let e = scope.name("dc");
                vec![
                    assign(&e, var(&d)),
                    assign(&format!("{}[\"z\"]", e), self.counter_or_small(scope)),
                    when(
                        call("has_key", vec![var(&d), text("z")]),
                        vec![print(vec![text(&format!("{} dict alias", scope.tag)), var(&d)])],
                    ),
                ]
            }
            4 => vec![when(
                call("has_key", vec![var(&d), key.clone()]),
                vec![assign(&scope.name("v"), index(var(&d), key))],
            )],
            _ => vec![assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), call("len", vec![var(&d)]))))],
        }
    }

    pub(super) fn struct_statement(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        if !scope.has_struct {
            return None;
        }
        let p = scope.name("p");
        let statements = match self.rng.below(5) {
            0 => vec![assign(&format!("{}.x", p), modded(bin("+", field(var(&p), "x"), self.counter_or_small(scope))))],
            1 => {
                let q = scope.name("q");
                vec![
                    assign(&q, var(&p)),
                    assign(&format!("{}.y", q), self.int_expr(scope, 1)),
                    when(
                        bin("==", field(var(&p), "y"), field(var(&q), "y")),
                        vec![assign(&scope.name("acc"), bin("+", scope.v("acc"), int(1)))],
                    ),
                ]
            }
            2 => {
                vec![assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), call(&format!("{}.sum", p), vec![]))))]
            }
            3 => vec![assign(&p, call(&format!("{}.with_x", p), vec![self.int_expr(scope, 1)]))],
            _ => vec![assign(&scope.name("v"), call(&format!("{}.scaled", p), vec![self.counter_or_small(scope)]))],
        };
        Some(statements)
    }

    /// A runtime error raised from hot code, at some iteration or always.
    pub(super) fn runtime_error(&mut self, scope: &Scope) -> Vec<Stmt> {
        let counter = scope.counter().map(|(c, _)| c);
        let c = counter.clone().map_or(int(3), |c| var(&c));
        let k = self.moment(scope);
        let z = scope.name("z");
        let (value, conditional) = match self.rng.below(14) {
            0 => (bin("/", int(self.rng.range(1, 100)), bin("-", c.clone(), int(k))), false),
            1 => (bin("%", c.clone(), bin("-", int(k), c.clone())), false),
            2 => (bin("+", int(i64::MAX - k), c.clone()), false),
            3 => (bin("*", c.clone(), int(i64::MAX / k.max(2) + 1)), false),
            4 => (bin("/", int(i64::MIN), bin("-", bin("*", bin("-", c.clone(), int(k)), int(2)), int(1))), false),
            5 => (index(scope.v("a"), c.clone()), false),
            6 => (bin("+", text("s"), c.clone()), true),
            7 => (bin("<", c.clone(), text("s")), true),
            8 => (index(scope.v("d"), text("missing")), true),
            9 => (Expr::Unary("-", Box::new(scope.v("s"))), true),
            10 => (call("sqrt", vec![bin("-", int(k), c.clone())]), false),
            11 if !self.helpers.is_empty() => {
                let helper = self.rng.pick(&self.helpers).name;
                (call(&helper, vec![c.clone(), c.clone(), c.clone(), c.clone(), c.clone()]), true)
            }
            12 => (Expr::CallValue(Box::new(scope.v("acc")), vec![c.clone()]), true),
            _ => (call("to_int", vec![bin("+", text("n"), call("to_string", vec![c.clone()]))]), true),
        };
        let raise = if self.rng.percent(15) {
            Stmt::Expr(call(
                "throw",
                vec![Expr::Interpolated(vec![Piece::Text("boom ".into()), Piece::Expr(c.clone())])],
            ))
        } else {
            assign(&z, value)
        };
        let is_throw = matches!(raise, Stmt::Expr(_));
        if (conditional || is_throw) && counter.is_some() {
            vec![when(bin("==", c, int(k)), vec![raise])]
        } else {
            vec![raise]
        }
    }

    /// `try` around part of the loop body: the loop goes on after the error.
    pub(super) fn guarded(&mut self, scope: &mut Scope) -> Vec<Stmt> {
        scope.depth += 1;
        scope.handlers += 1;
        let mut body = Vec::new();
        if self.rng.percent(50) {
            body.extend(self.runtime_error(scope));
        }
        for _ in 0..self.rng.range(1, 3) {
            body.extend(self.statement(scope));
        }
        if body.is_empty() || self.rng.percent(50) {
            body.extend(self.runtime_error(scope));
        }
        if self.rng.percent(30) {
            // leaving the loop from inside the protected block
            let at = self.rng.below(body.len() as u64 + 1) as usize;
            let exit = self.early_exit(scope).unwrap_or_default();
            body.splice(at..at, exit);
        }
        let name = format!("err{}", scope.handlers);
        let handler = self.handler(scope, &name);
        scope.handlers -= 1;
        scope.depth -= 1;
        vec![Stmt::Try(body, name, handler)]
    }
}
