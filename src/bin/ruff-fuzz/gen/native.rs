//! Statements of native sections: what traces compile today (numbers, arrays, struct
//! fields, math builtins, helper calls, closures and functions out of struct fields), so
//! that the hot paths run as machine code and meet type changes, errors and rare branches
//! at guards.

use super::*;

impl Generator {
    /// A statement of a native section (the other kinds still appear now and then).
    pub(super) fn native_statement(&mut self, scope: &mut Scope) -> Vec<Stmt> {
        let deep = scope.depth >= 4;
        loop {
            let produced = match self.rng.below(112) {
                0..=14 => Some(self.accumulate(scope)),
                15..=21 => Some(self.float_update(scope)),
                22..=31 => Some(self.type_change(scope)),
                32..=37 => Some(self.native_poly_use(scope)),
                38..=45 if !deep => self.nested_loop(scope),
                46..=52 => self.early_exit(scope),
                53..=58 if !deep => Some(self.branch(scope)),
                59..=68 => self.helper_call(scope),
                69..=76 => Some(self.native_array_statement(scope)),
                77..=80 => self.native_struct_statement(scope),
                81..=88 => Some(self.runtime_error(scope)),
                89..=92 => Some(self.native_literal(scope)),
                93..=94 => Some(self.print_statement(scope)),
                95..=96 => self.deep_call(scope),
                97 => self.sort_statement(scope),
                98 => Some(self.compound_update(scope)),
                99..=100 => self.shared_struct_write(scope),
                101..=102 => self.string_iteration(scope),
                103..=106 => self.method_receiver_write(scope),
                108..=111 => Some(self.call_through_value(scope)),
                _ => self.native_rarer_statement(scope),
            };
            if let Some(statements) = produced {
                return statements;
            }
        }
    }

    /// `bag := bag_add(bag, c)`, a helper that writes through its struct parameter's array
    /// field and returns the struct, often with the old struct kept in another variable
    /// (so the struct and its array are shared when the helper writes) and printed with
    /// the new one at some iteration: an old holder that changed with the new one shows.
    pub(super) fn shared_struct_write(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        if !scope.has_bag {
            return None;
        }
        let bag = scope.name("bag");
        let c = self.counter_or_small(scope);
        let add = assign(&bag, call("bag_add", vec![var(&bag), c.clone()]));
        if self.rng.percent(30) {
            return Some(vec![add]);
        }
        let old = scope.name(&format!("oldbag{}", self.id()));
        let every = self.rng.range(3, 40);
        Some(vec![
            assign(&old, var(&bag)),
            add,
            when(
                bin("==", bin("%", c, int(every)), int(self.rng.range(0, every))),
                vec![print(vec![text(&scope.tag), var(&old), var(&bag)])],
            ),
        ])
    }

    /// A method of `Bag` that returns its receiver changed, assigned back to where the
    /// receiver came from: a variable (`bag := bag.put(c)`), a pool element
    /// (`bags[k] := bags[k].grown(c)`), or a pool element read into a local first; or a
    /// field of a pool element written (`bags[k].items := push(..)`) or read through a
    /// method. An old holder is often kept and printed with the new one at some
    /// iteration: a write done in place although another holder could see it shows there.
    pub(super) fn method_receiver_write(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        if !scope.has_bag {
            return None;
        }
        let (bag, bags) = (scope.name("bag"), scope.name("bags"));
        let c = self.counter_or_small(scope);
        let method = self.rng.pick(&["put", "grown"]);
        let k = scope.name(&format!("k{}", self.id()));
        let pick_slot = assign(&k, bin("%", c.clone(), int(3)));
        let slot = format!("{}[{}]", bags, k);
        let (mut out, old_holder, new_holder) = match self.rng.below(5) {
            0 => (vec![assign(&bag, call(&format!("{}.{}", bag, method), vec![c.clone()]))], var(&bag), var(&bag)),
            1 => (
                vec![pick_slot, assign(&slot, call(&format!("{}.{}", slot, method), vec![c.clone()]))],
                index(var(&bags), var(&k)),
                var(&bags),
            ),
            2 => {
                let local = scope.name(&format!("held{}", self.id()));
                (
                    vec![
                        pick_slot,
                        assign(&local, index(var(&bags), var(&k))),
                        assign(&slot, call(&format!("{}.{}", local, method), vec![c.clone()])),
                    ],
                    var(&local),
                    var(&bags),
                )
            }
            3 => {
                let items = field(index(var(&bags), var(&k)), "items");
                let kept = call("take", vec![items, int(self.rng.range(0, 6))]);
                (
                    vec![pick_slot, assign(&format!("{}.items", slot), call("push", vec![kept, c.clone()]))],
                    index(var(&bags), var(&k)),
                    var(&bags),
                )
            }
            _ => (
                vec![
                    pick_slot,
                    assign(&format!("{}.n", slot), modded(bin("+", call(&format!("{}.first", slot), vec![]), int(1)))),
                ],
                index(var(&bags), var(&k)),
                var(&bags),
            ),
        };
        if self.rng.percent(60) {
            let old = scope.name(&format!("oldbag{}", self.id()));
            let every = self.rng.range(3, 40);
            let position = out.len() - 1;
            out.insert(position, assign(&old, old_holder));
            out.push(when(
                bin("==", bin("%", c, int(every)), int(self.rng.range(0, every))),
                vec![print(vec![text(&scope.tag), var(&old), new_holder])],
            ));
        }
        Some(out)
    }

    /// `for ch in STRING` over a literal (often non-ASCII, sometimes longer than the JIT
    /// unrolls) or the section's string: each step is a new one-character string.
    pub(super) fn string_iteration(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        if scope.weight.saturating_mul(30) > BUDGET * 2 {
            return None;
        }
        let (ch, acc) = (scope.name(&format!("ch{}", self.id())), scope.name("acc"));
        let iterable = if self.rng.percent(70) { text(self.rng.pick(ITERATED_STRINGS)) } else { scope.v("s") };
        let wanted = self.rng.pick(&["é", "a", "日", "😀", " "]);
        let body = vec![Stmt::If(
            bin("==", var(&ch), text(wanted)),
            vec![assign(&acc, modded(bin("+", var(&acc), int(self.rng.range(1, 9)))))],
            vec![assign(&acc, modded(bin("+", bin("*", var(&acc), int(3)), call("len", vec![var(&ch)]))))],
        )];
        Some(vec![Stmt::ForIn(ch, iterable, body)])
    }

    /// Native statements that stress exits: branch ladders (many side traces), many live
    /// values (register pressure across guards), bools and nulls held in variables,
    /// negative operands, calls whose argument type changes.
    pub(super) fn native_rarer_statement(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
        let c = self.counter_or_small(scope);
        let acc = scope.name("acc");
        match self.rng.below(6) {
            5 => {
                // a store that the next statement overwrites with a call's result: if the
                // call raises, the handler must see the first store
                let callees: Vec<Helper> = self
                    .helpers
                    .iter()
                    .filter(|h| {
                        matches!(h.shape, HelperShape::IntToNumber | HelperShape::Recursive { .. })
                            && scope.weight.saturating_mul(h.cost) <= BUDGET * 2
                    })
                    .cloned()
                    .collect();
                if callees.is_empty() {
                    return None;
                }
                let helper = self.rng.pick(&callees);
                let target = self.rng.pick(&[scope.name("v"), scope.name("acc"), scope.name("fl")]);
                let argument = match helper.shape {
                    HelperShape::Recursive { max_arg } => bin("%", c.clone(), int(max_arg + 1)),
                    _ => c.clone(),
                };
                Some(vec![
                    assign(&target, self.int_expr(scope, 1)),
                    assign(&target, call(&helper.name, vec![argument])),
                ])
            }
            0 => {
                let modulus = self.rng.range(3, 9);
                let mut ladder: Vec<Stmt> = vec![assign(&acc, modded(bin("+", var(&acc), int(modulus))))];
                for rest in (0..modulus - 1).rev() {
                    let then = vec![assign(&acc, modded(bin("+", bin("*", var(&acc), int(rest + 2)), c.clone())))];
                    ladder = vec![Stmt::If(bin("==", bin("%", c.clone(), int(modulus)), int(rest)), then, ladder)];
                }
                Some(ladder)
            }
            1 => {
                let names: Vec<String> = (1..=self.rng.range(4, 10)).map(|k| scope.name(&format!("r{}", k))).collect();
                let mut out =
                    vec![assign(&names[0], bin("+", bin("*", c.clone(), int(3)), bin("%", var(&acc), int(7))))];
                for k in 1..names.len() {
                    let previous = var(&names[k - 1]);
                    let value = match self.rng.below(4) {
                        0 => bin("-", previous, int(self.rng.range(1, 50))),
                        1 => bin("+", previous, scope.v("fl")),
                        2 => bin("*", previous, int(2)),
                        _ => bin("+", previous, var(&names[self.rng.below(k as u64) as usize])),
                    };
                    out.push(assign(&names[k], value));
                }
                let sum = names.iter().fold(int(0), |total, name| bin("+", total, var(name)));
                out.push(assign(
                    &scope.name("fl"),
                    bin("+", bin("*", scope.v("fl"), Expr::Float("0.5")), bin("/", sum, Expr::Float("1000.0"))),
                ));
                Some(out)
            }
            2 => {
                let flag = scope.name("flag");
                let nothing = scope.name("nothing");
                let limit = self.rng.range(0, 200);
                Some(vec![
                    assign(
                        &flag,
                        bin("&&", bin("==", bin("%", c.clone(), int(3)), int(0)), bin(">", var(&acc), int(limit))),
                    ),
                    assign(&nothing, Expr::Word("null".into())),
                    when(bin("==", bin("%", c.clone(), int(5)), int(1)), vec![assign(&nothing, c.clone())]),
                    Stmt::If(
                        var(&flag),
                        vec![assign(&acc, modded(bin("+", var(&acc), bin("??", var(&nothing), int(2)))))],
                        vec![assign(&flag, Expr::Unary("!", Box::new(var(&flag))))],
                    ),
                ])
            }
            3 => {
                let shift = int(self.moment(scope));
                let negative = bin("-", c, shift);
                Some(vec![assign(
                    &acc,
                    modded(bin(
                        "+",
                        var(&acc),
                        bin(
                            "+",
                            bin("/", negative.clone(), int(self.rng.pick(&[3, -4, 7]))),
                            bin("%", negative, int(self.rng.pick(&[5, -6, 9]))),
                        ),
                    )),
                )])
            }
            _ => {
                let arithmetic: Vec<Helper> =
                    self.helpers.iter().filter(|h| h.shape == HelperShape::IntToNumber).cloned().collect();
                if arithmetic.is_empty() || scope.weight.saturating_mul(30) > BUDGET * 2 {
                    return None;
                }
                let helper = self.rng.pick(&arithmetic);
                Some(vec![assign(
                    &scope.name("fl"),
                    bin("+", bin("*", scope.v("fl"), Expr::Float("0.5")), call(&helper.name, vec![scope.v("v")])),
                )])
            }
        }
    }

    /// A call through a value whose target changes: `ops[c % n].f(c, k)` (polymorphic:
    /// two to four prototypes), or a closure made in this iteration, capturing the
    /// counter, sometimes of another prototype, called through its variable.
    pub(super) fn call_through_value(&mut self, scope: &Scope) -> Vec<Stmt> {
        let c = self.counter_or_small(scope);
        let acc = scope.name("acc");
        if scope.poly_targets > 0 && self.rng.percent(50) {
            let op = scope.name("opv");
            let target = index(scope.v("ops"), bin("%", c.clone(), int(scope.poly_targets)));
            let result = call(&format!("{}.f", op), vec![c, field(var(&op), "k")]);
            return vec![assign(&op, target), assign(&acc, modded(bin("+", var(&acc), result)))];
        }
        let fresh = scope.name("fresh");
        let m = self.rng.range(2, 9);
        let lambda = |body: Expr| Expr::Lambda(vec!["y".into()], vec![Stmt::Return(modded(body))]);
        let mut out = vec![assign(&fresh, lambda(bin("+", bin("*", var("y"), int(m)), c.clone())))];
        if self.rng.percent(60) {
            let other = lambda(bin("-", var("y"), bin("*", c.clone(), int(m))));
            out.push(when(
                bin("==", bin("%", c.clone(), int(self.rng.range(2, 5))), int(0)),
                vec![assign(&fresh, other)],
            ));
        }
        out.push(assign(&acc, modded(bin("+", var(&acc), Expr::CallValue(Box::new(var(&fresh)), vec![c])))));
        out
    }

    /// Uses of the type-changing value that traces compile while it is a number.
    pub(super) fn native_poly_use(&mut self, scope: &Scope) -> Vec<Stmt> {
        let v = scope.v("v");
        match self.rng.below(4) {
            0 => vec![assign(&scope.name("v"), bin("+", v, int(1)))],
            1 => vec![assign(&scope.name("fl"), bin("+", bin("*", scope.v("fl"), Expr::Float("0.5")), v))],
            2 => vec![when(
                bin("<", v, int(self.rng.range(0, 300))),
                vec![assign(&scope.name("acc"), bin("+", scope.v("acc"), int(1)))],
            )],
            _ => vec![assign(&scope.name("z"), bin("*", v, int(2)))],
        }
    }

    /// Array reads, writes and appends on the section's own (unshared) array.
    pub(super) fn native_array_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        let a = scope.name("a");
        let len_a = call("len", vec![var(&a)]);
        match self.rng.below(6) {
            0 => {
                let element = if self.rng.percent(80) { self.int_expr(scope, 1) } else { self.float_expr(scope) };
                // bounded, so that nested loops cannot grow it to thousands of elements
                let limit = self.rng.range(8, 64);
                vec![when(bin("<", len_a, int(limit)), vec![assign(&a, call("push", vec![var(&a), element]))])]
            }
            1 | 2 => {
                let at = bin("%", self.counter_or_small(scope), len_a);
                vec![assign(&format!("{}[{}]", a, crate::ast::expr_text(&at)), modded(self.int_expr(scope, 1)))]
            }
            3 => {
                let at = bin("%", self.counter_or_small(scope), len_a);
                vec![assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), index(var(&a), at))))]
            }
            4 => {
                let at = self.counter_or_small(scope);
                vec![assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), index(var(&a), at))))]
            }
            _ => vec![assign(
                &format!("{}[0]", a),
                self.rng.pick(&[Expr::Float("0.5"), int(1), bin("+", index(var(&a), int(0)), int(1))]),
            )],
        }
    }

    /// Field reads and writes on the section's struct.
    pub(super) fn native_struct_statement(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        if !scope.has_struct {
            return None;
        }
        let p = scope.name("p");
        let steps: Vec<Helper> = self.helpers.iter().filter(|h| h.shape == HelperShape::StructStep).cloned().collect();
        if !steps.is_empty() && self.rng.percent(40) {
            let helper = self.rng.pick(&steps);
            let moved = call(&helper.name, vec![var(&p), self.counter_or_small(scope)]);
            if self.rng.percent(50) {
                return Some(vec![assign(&p, moved)]);
            }
            // the callee changes its own copy: `p` must stay as it was
            let q = scope.name("q");
            return Some(vec![
                assign(&q, moved),
                assign(
                    &scope.name("acc"),
                    modded(bin("+", scope.v("acc"), bin("-", field(var(&q), "x"), field(var(&p), "x")))),
                ),
            ]);
        }
        Some(match self.rng.below(4) {
            3 => {
                let at = bin("%", self.counter_or_small(scope), call("len", vec![scope.v("s")]));
                vec![when(
                    bin("==", index(scope.v("s"), at), text("a")),
                    vec![assign(&scope.name("acc"), bin("+", scope.v("acc"), int(1)))],
                )]
            }
            0 => vec![assign(&format!("{}.x", p), modded(bin("+", field(var(&p), "x"), self.counter_or_small(scope))))],
            1 => vec![assign(&format!("{}.y", p), bin("+", field(var(&p), "y"), Expr::Float("0.5")))],
            _ => vec![assign(
                &scope.name("acc"),
                modded(bin("+", scope.v("acc"), bin("*", field(var(&p), "x"), int(2)))),
            )],
        })
    }

    /// An array or struct literal built in every iteration and only read (allocation
    /// sinking).
    pub(super) fn native_literal(&mut self, scope: &Scope) -> Vec<Stmt> {
        let lit = scope.name(&format!("lit{}", self.id()));
        let c = self.counter_or_small(scope);
        let (value, read) = if self.rng.percent(50) {
            (
                Expr::Array(vec![c.clone(), bin("*", c.clone(), Expr::Float("0.5")), scope.v("acc")]),
                index(var(&lit), int(self.rng.range(0, 3))),
            )
        } else {
            self.uses_struct = true;
            (
                Expr::Struct("Pt".into(), vec![("x".into(), c), ("y".into(), scope.v("fl"))]),
                field(var(&lit), self.rng.pick(&["x", "y"])),
            )
        };
        vec![
            assign(&lit, value),
            assign(&scope.name("fl"), bin("+", bin("*", scope.v("fl"), Expr::Float("0.5")), read)),
        ]
    }
}
