//! Statements exercising the library and value semantics: copies written after the copy,
//! builtins, compound updates, unusual iteration, sorting, matrices, dict iteration,
//! polymorphic calls, local and deep recursive functions.

use super::*;

impl Generator {
    /// The write idioms whose copies `compile/borrow.rs` avoids, each followed by a
    /// print of both holders at some iteration: an alias or element read into a local and
    /// then the container written, a pool of rows written by index, a struct copied and
    /// then its field written, builtins that return part of a container (`take`,
    /// `get_default`), `array(n, fill)`, and a push whose pushed value a function computes
    /// that reaches the variable pushed onto (keeps it, writes it, replaces it or pushes onto
    /// it: the variable is on loan meanwhile). Any copy the compiler or the JIT wrongly left
    /// out shows as a holder that changed with the other.
    pub(super) fn value_semantics_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        let a = scope.name("a");
        let local = scope.name(&format!("cow{}", self.id()));
        let value = modded(self.int_expr(scope, 1));
        let nonempty = bin(">", call("len", vec![var(&a)]), int(0));
        let moment = self.moment(scope);
        let at_moment = |holders: Vec<Expr>| {
            let counter = scope.counter().map_or(int(0), |(name, _)| var(&name));
            when(
                bin("==", counter, int(moment)),
                vec![print([vec![text(&format!("{} cow", scope.tag))], holders].concat())],
            )
        };
        match self.rng.below(7) {
            6 => {
                let reach = scope.name(&format!("reach{}", self.id()));
                let kept = scope.name(&format!("kept{}", self.id()));
                let effect = match self.rng.below(5) {
                    0 => assign(&kept, var(&a)),
                    1 => when(nonempty, vec![assign(&format!("{}[0]", a), var("x"))]),
                    2 => assign(&a, Expr::Array(vec![var("x")])),
                    3 => assign(&a, call("push", vec![var(&a), var("x")])),
                    _ => assign(&kept, int(0)),
                };
                vec![
                    assign(&kept, Expr::Array(vec![])),
                    assign(&reach, Expr::Lambda(vec!["x".into()], vec![effect, Stmt::Return(var("x"))])),
                    assign(&a, call("push", vec![var(&a), call(&reach, vec![value])])),
                    at_moment(vec![var(&kept), var(&a)]),
                ]
            }
            0 => vec![
                assign(&local, var(&a)),
                when(nonempty, vec![assign(&format!("{}[0]", a), value)]),
                at_moment(vec![var(&local), var(&a)]),
            ],
            1 => {
                let rows = scope.name(&format!("rows{}", self.id()));
                vec![
                    assign(&rows, Expr::Array(vec![var(&a), Expr::Array(vec![int(1), int(2)])])),
                    assign(&local, index(var(&rows), int(1))),
                    assign(&format!("{}[1][0]", rows), value),
                    assign(&format!("{}[0]", rows), call("push", vec![index(var(&rows), int(0)), int(7)])),
                    at_moment(vec![var(&local), var(&rows), var(&a)]),
                ]
            }
            2 if scope.has_struct => {
                let p = scope.name("p");
                vec![
                    assign(&local, var(&p)),
                    assign(&format!("{}.x", p), modded(bin("+", field(var(&p), "x"), int(1)))),
                    at_moment(vec![field(var(&local), "x"), field(var(&p), "x")]),
                ]
            }
            3 => vec![
                assign(&local, call("take", vec![var(&a), int(2)])),
                when(nonempty, vec![assign(&format!("{}[0]", a), value)]),
                at_moment(vec![var(&local), var(&a)]),
            ],
            4 => {
                let d = scope.name(&format!("groups{}", self.id()));
                vec![
                    assign(&d, Expr::Dict(vec![])),
                    assign(
                        &format!("{}[\"k\"]", d),
                        call("push", vec![call("get_default", vec![var(&d), text("k"), Expr::Array(vec![])]), value]),
                    ),
                    assign(&local, call("get_default", vec![var(&d), text("k"), var(&a)])),
                    assign(&format!("{}[\"k\"]", d), call("push", vec![index(var(&d), text("k")), int(3)])),
                    at_moment(vec![var(&local), var(&d)]),
                ]
            }
            _ => {
                let grid = scope.name(&format!("grid{}", self.id()));
                vec![
                    assign(&grid, call("array", vec![int(3), Expr::Array(vec![int(0)])])),
                    assign(&format!("{}[1][0]", grid), value),
                    assign(&local, index(var(&grid), int(1))),
                    assign(&format!("{}[1]", grid), call("push", vec![index(var(&grid), int(1)), int(5)])),
                    at_moment(vec![var(&local), var(&grid)]),
                ]
            }
        }
    }

    /// Everyday builtins on the section's values (some fail for some types).
    pub(super) fn builtin_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        let (acc, s, v, a, d) = (scope.v("acc"), scope.v("s"), scope.v("v"), scope.v("a"), scope.v("d"));
        let c = self.counter_or_small(scope);
        let value = match self.rng.below(18) {
            0 => call("to_int", vec![call("floor", vec![bin("/", c, Expr::Float("3.0"))])]),
            1 => call("to_int", vec![call("max", vec![c, call("min", vec![acc, int(50)])])]),
            2 => call("len", vec![call("upper", vec![call("replace", vec![s, text("a"), text("xy")])])]),
            3 => call("index_of", vec![a, c]),
            4 => call("len", vec![call("split", vec![s, text("b")])]),
            5 => call("bit_xor", vec![c, call("bit_shl", vec![int(1), bin("%", acc, int(63))])]),
            6 => call("to_int", vec![call("round", vec![bin("*", c, Expr::Float("2.5"))])]),
            7 => call("len", vec![call("join", vec![call("slice", vec![a, int(0), int(2)]), text("-")])]),
            8 => call("to_int", vec![call("abs", vec![v])]),
            9 => call("len", vec![call("pad_left", vec![call("to_string", vec![c]), int(6), text("0")])]),
            10 => call("to_int", vec![call("to_string", vec![bin("%", c, int(100))])]),
            // Results whose type follows `v`'s, and calls that fail for some of its types.
            12 => call("len", vec![call("type", vec![v])]),
            13 => call("get_default", vec![d, text("a"), v]),
            14 => call("parse_int", vec![call("trim", vec![call("to_string", vec![v])])]),
            15 => call("len", vec![call("keys", vec![d])]),
            16 => call("sum", vec![call("range", vec![bin("%", c, int(9))])]),
            17 => call("count_chars", vec![call("format", vec![text("%s:%s"), v, c])]),
            _ => index(call("pop", vec![a]), int(1)),
        };
        let mut out = vec![assign(&scope.name("z"), value)];
        out.push(Stmt::If(
            call("is_int", vec![scope.v("z")]),
            vec![assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), scope.v("z"))))],
            vec![assign(&scope.name("v"), scope.v("z"))],
        ));
        out
    }

    /// `+=` and friends on variables, elements, fields and dict entries.
    pub(super) fn compound_update(&mut self, scope: &Scope) -> Vec<Stmt> {
        let op = self.rng.pick(&["+", "-", "*", "%", "/"]);
        let operand = match op {
            "%" | "/" => int(self.rng.pick(&[2, 3, 7, -3])),
            "*" => int(self.rng.range(2, 4)),
            _ => self.int_expr(scope, 1),
        };
        let target = match self.rng.below(5) {
            3 if scope.native => scope.name("acc"),
            0 => scope.name("acc"),
            1 => format!("{}[0]", scope.name("a")),
            2 => format!("{}[\"a\"]", scope.name("d")),
            3 => format!("{}[1][0]", scope.name("mat")),
            _ => scope.name("fl"),
        };
        let mut out = vec![Stmt::Update(target.clone(), op, operand)];
        if op == "*" {
            // keep products from overflowing at once
            out.push(Stmt::Update(target, "%", int(MODULUS)));
        }
        out
    }

    /// `for` over a string, an int, a float, a range with a step and an array of closures.
    pub(super) fn unusual_iteration(&mut self, scope: &Scope) -> Vec<Stmt> {
        let item = scope.name("it");
        let acc = scope.name("acc");
        let fold =
            vec![assign(&acc, modded(bin("+", var(&acc), call("len", vec![call("to_string", vec![var(&item)])]))))];
        match self.rng.below(5) {
            0 => vec![Stmt::ForIn(item, scope.v("s"), fold)],
            1 => vec![Stmt::ForIn(item, bin("%", self.counter_or_small(scope), int(5)), fold)],
            2 => vec![Stmt::ForIn(item, Expr::Float("2.5"), fold)],
            3 => {
                let step = self.rng.pick(&[-3, -1, 2]);
                let (from, to) = if step < 0 { (int(6), int(0)) } else { (int(0), int(7)) };
                vec![Stmt::ForIn(item, call("range", vec![from, to, int(step)]), fold)]
            }
            _ => {
                // closures made in a loop capture each iteration's value
                let fns = scope.name("fns");
                let maker = Expr::Lambda(vec!["y".into()], vec![Stmt::Return(bin("+", var("y"), var(&item)))]);
                vec![
                    assign(&fns, Expr::Array(Vec::new())),
                    Stmt::ForIn(
                        item.clone(),
                        call("range", vec![int(0), int(3)]),
                        vec![assign(&fns, call("push", vec![var(&fns), maker]))],
                    ),
                    Stmt::ForIn(
                        scope.name("fnv"),
                        var(&fns),
                        vec![assign(
                            &acc,
                            modded(bin("+", var(&acc), Expr::CallValue(Box::new(scope.v("fnv")), vec![int(10)]))),
                        )],
                    ),
                ]
            }
        }
    }

    /// Builds a pseudo-random array in an inner loop, sorts it with a quicksort helper and
    /// folds the result in; the unsorted copy must stay as it was.
    pub(super) fn sort_statement(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
        let sorts: Vec<Helper> = self.helpers.iter().filter(|h| h.shape == HelperShape::Sort).cloned().collect();
        if sorts.is_empty() || scope.counters.len() >= 3 {
            return None;
        }
        let length = self.rng.range(2, 25);
        if scope.weight.saturating_mul(length as u64 * 12) > BUDGET * 3 {
            return None;
        }
        let helper = self.rng.pick(&sorts);
        let (srt, x, keep) = (scope.name("srt"), scope.name("x"), scope.name("keep"));
        let builder = Self::counter_name(scope);
        let modulus = self.rng.pick(&[10, 50, 1000, 100_000]);
        let mut element = bin("%", var(&x), int(modulus));
        if self.rng.percent(20) {
            element = bin("*", element, Expr::Float("0.5"));
        }
        let mut build_body = vec![
            assign(&x, bin("%", bin("+", bin("*", var(&x), int(1_103_515_245)), int(12345)), int(2_147_483_648))),
            assign(&srt, call("push", vec![var(&srt), element])),
        ];
        if self.rng.percent(15) {
            let at = self.rng.range(0, length);
            build_body.push(when(
                bin("==", var(&builder), int(at)),
                vec![assign(&srt, call("push", vec![var(&srt), text("s")]))],
            ));
        }
        let seed_value = bin("+", bin("*", self.counter_or_small(scope), int(7919)), int(self.rng.range(1, 1000)));
        let last = bin("-", call("len", vec![var(&srt)]), int(1));
        Some(vec![
            assign(&srt, Expr::Array(Vec::new())),
            assign(&x, seed_value),
            Stmt::Counted { kind: self.loop_kind(), var: builder, start: int(0), limit: int(length), body: build_body },
            assign(&keep, var(&srt)),
            assign(&srt, call(&helper.name, vec![var(&srt), int(0), last.clone(), int(0)])),
            assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), bin("*", index(var(&srt), int(0)), int(3))))),
            when(
                bin("!=", call("len", vec![var(&keep)]), call("len", vec![var(&srt)])),
                vec![print(vec![text(&format!("{} sort length", scope.tag)), var(&keep), var(&srt)])],
            ),
            when(
                self.sometimes(scope),
                vec![print(vec![text(&format!("{} sorted", scope.tag)), var(&srt), index(var(&keep), int(0))])],
            ),
        ])
    }

    /// Nested index reads and writes (`mat[i][j] := ...`) on a small matrix.
    pub(super) fn matrix_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
        let mat = scope.name("mat");
        let row = bin("%", self.counter_or_small(scope), int(3));
        let column = bin("%", self.counter_or_small(scope), int(2));
        let target = format!("{}[{}][{}]", mat, crate::ast::expr_text(&row), crate::ast::expr_text(&column));
        let value = modded(bin("+", index(index(var(&mat), row), column), self.int_expr(scope, 1)));
        let mut out = vec![assign(&target, value)];
        if self.rng.percent(40) {
            let copy = scope.name("mc");
            out.push(assign(&copy, var(&mat)));
            out.push(assign(&format!("{}[0][0]", copy), text("c")));
            out.push(when(
                bin("==", index(index(var(&mat), int(0)), int(0)), text("c")),
                vec![print(vec![text(&format!("{} matrix alias", scope.tag)), var(&mat)])],
            ));
        }
        if self.rng.percent(30) {
            let when_to_print = self.sometimes(scope);
            out.push(when(when_to_print, vec![print(vec![text(&format!("{} mat", scope.tag)), var(&mat)])]));
        }
        out
    }

    /// Iterates over the dict's keys (a snapshot) while writing to it.
    pub(super) fn dict_iteration(&mut self, scope: &Scope) -> Vec<Stmt> {
        let d = scope.name("d");
        let key = scope.name("key");
        let body = vec![Stmt::If(
            call("is_int", vec![index(var(&d), var(&key))]),
            vec![assign(&format!("{}[{}]", d, key), modded(bin("+", index(var(&d), var(&key)), int(1))))],
            vec![assign(&format!("{}[\"n\"]", d), call("len", vec![var(&key)]))],
        )];
        vec![Stmt::ForIn(key, var(&d), body)]
    }

    /// A call whose argument is the type-changing value: the callee's traces meet ints,
    /// floats, strings, arrays and null at the same call site.
    pub(super) fn polymorphic_call(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        let arithmetic: Vec<Helper> =
            self.helpers.iter().filter(|h| h.shape == HelperShape::IntToNumber).cloned().collect();
        if arithmetic.is_empty() || scope.weight.saturating_mul(30) > BUDGET * 2 {
            return None;
        }
        let helper = self.rng.pick(&arithmetic);
        let result = call(&helper.name, vec![scope.v("v")]);
        Some(vec![Stmt::If(
            bin("||", call("is_int", vec![scope.v("v")]), call("is_float", vec![scope.v("v")])),
            vec![assign(&scope.name("fl"), bin("+", bin("*", scope.v("fl"), Expr::Float("0.5")), result.clone()))],
            vec![assign(&scope.name("z"), result)],
        )])
    }

    /// A function declared inside the loop body (a local bound when the declaration runs)
    /// that recurses and loops, called right away.
    pub(super) fn local_function(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        if !scope.in_function || scope.weight > BUDGET / 40 {
            return None;
        }
        let name = format!("lf{}", self.id());
        let body = vec![
            when(bin("<=", var("n"), int(0)), vec![Stmt::Return(var("t"))]),
            Stmt::Return(call(
                &name,
                vec![bin("-", var("n"), int(1)), modded(bin("+", bin("*", var("t"), int(3)), var("n")))],
            )),
        ];
        let argument = bin("%", self.counter_or_small(scope), int(self.rng.range(3, 15)));
        Some(vec![
            Stmt::Func(name.clone(), vec!["n".into(), "t".into()], body),
            assign(&scope.name("acc"), modded(bin("+", scope.v("acc"), call(&name, vec![argument, int(1)])))),
        ])
    }

    /// Recursion as deep as the counter times a factor: past `--max-call-depth` (and
    /// for large factors the default limit) after some iterations.
    pub(super) fn deep_call(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
        let deep: Vec<Helper> = self.helpers.iter().filter(|h| h.shape == HelperShape::Deep).cloned().collect();
        if deep.is_empty() {
            return None;
        }
        let helper = self.rng.pick(&deep);
        let (counter, trips) = scope.counter()?;
        let factor = self.rng.pick(&[1, 3, 10, 50]);
        let average_depth = (trips as u64 * factor as u64 / 2).min(10_000);
        let every = (scope.weight * average_depth / BUDGET).max(1) as i64 * 2;
        let depth = bin("*", var(&counter), int(factor));
        let result = assign(&scope.name("v"), call(&helper.name, vec![depth]));
        Some(vec![when(bin("==", bin("%", var(&counter), int(every)), int(0)), vec![result])])
    }
}
