//! Sections: the functions (or top-level blocks) built around a hot loop, their prelude of
//! variables, the loops themselves and the `try` handlers that print what failed code wrote.

use super::*;

impl Generator {
    pub(super) fn loop_kind(&mut self) -> LoopKind {
        self.rng.pick(&[LoopKind::ForRange, LoopKind::ForRange, LoopKind::While, LoopKind::Loop, LoopKind::LoopWhile])
    }

    /// The variables every section starts with: an int accumulator, a float, a string,
    /// a type-changing value, an array, a dict and (sometimes) a struct.
    pub(super) fn section_prelude(&mut self, scope: &mut Scope) -> Vec<Stmt> {
        let mut out = vec![
            assign(&scope.name("acc"), int(self.rng.range(0, 10))),
            assign(&scope.name("fl"), Expr::Float(self.rng.pick(FLOATS))),
            assign(&scope.name("s"), text(self.rng.pick(&["ab", "x", "é日"]))),
            assign(&scope.name("v"), int(self.rng.range(0, 5))),
            assign(&scope.name("a"), Expr::Array((0..self.rng.range(3, 8)).map(|k| int(k * 3 + 1)).collect())),
            assign(
                &scope.name("d"),
                Expr::Dict(vec![("a".into(), int(1)), ("b".into(), int(2)), ("c".into(), Expr::Float("0.5"))]),
            ),
            assign(
                &scope.name("mat"),
                Expr::Array(vec![
                    Expr::Array(vec![int(1), int(2)]),
                    Expr::Array(vec![int(3), int(4)]),
                    Expr::Array(vec![int(5), int(6)]),
                ]),
            ),
        ];
        if self.rng.percent(50) {
            self.uses_struct = true;
            scope.has_struct = true;
            out.push(assign(
                &scope.name("p"),
                Expr::Struct("Pt".into(), vec![("x".into(), int(1)), ("y".into(), int(2))]),
            ));
        }
        if self.rng.percent(40) {
            out.push(self.closure(scope));
        }
        if self.rng.percent(40) {
            self.uses_bag = true;
            scope.has_bag = true;
            out.push(assign(
                &scope.name("bag"),
                Expr::Struct("Bag".into(), vec![("items".into(), Expr::Array(Vec::new())), ("n".into(), int(0))]),
            ));
            out.push(assign(&scope.name("bags"), Expr::Array(vec![scope.v("bag"), scope.v("bag"), scope.v("bag")])));
        }
        if self.rng.percent(35) {
            out.push(self.poly_ops(scope));
        }
        out
    }

    /// `ops := [Op { f: ..., k: ... }, ...]`: two to four structs whose field `f` holds
    /// functions of different prototypes (one may be a counter closure that assigns its
    /// captured variable), for calls `ops[i].f(x, k)` whose target changes.
    pub(super) fn poly_ops(&mut self, scope: &mut Scope) -> Stmt {
        self.uses_ops = true;
        let count = self.rng.range(2, 5);
        scope.poly_targets = count;
        let params = || vec!["x".to_string(), "k".to_string()];
        let ops = (0..count)
            .map(|n| {
                let m = self.rng.range(2, 9);
                let f = match (n + self.rng.range(0, 4)) % 4 {
                    0 => Expr::Lambda(
                        params(),
                        vec![Stmt::Return(modded(bin("+", bin("*", var("x"), int(m)), var("k"))))],
                    ),
                    1 => Expr::Lambda(
                        params(),
                        vec![Stmt::Return(modded(bin("-", var("x"), bin("*", var("k"), int(m)))))],
                    ),
                    2 => {
                        // a closure that assigns its own copy of the maker's `cnt`
                        let counter = Expr::Lambda(
                            params(),
                            vec![
                                assign("cnt", bin("+", var("cnt"), int(1))),
                                Stmt::Return(modded(bin("+", bin("+", var("x"), var("k")), var("cnt")))),
                            ],
                        );
                        let maker = Expr::Lambda(vec![], vec![assign("cnt", int(m)), Stmt::Return(counter)]);
                        Expr::CallValue(Box::new(maker), Vec::new())
                    }
                    _ => Expr::Lambda(
                        params(),
                        vec![Stmt::Return(modded(bin("+", bin("*", var("x"), var("x")), var("k"))))],
                    ),
                };
                Expr::Struct("Op".into(), vec![("f".into(), f), ("k".into(), int(self.rng.range(-5, 20)))])
            })
            .collect();
        assign(&scope.name("ops"), Expr::Array(ops))
    }

    /// A closure over the section's state: a counter, or a function of a captured value.
    pub(super) fn closure(&mut self, scope: &Scope) -> Stmt {
        let body = if self.rng.percent(50) {
            vec![assign("cnt", bin("+", var("cnt"), var("x"))), Stmt::Return(var("cnt"))]
        } else {
            vec![Stmt::Return(modded(bin("+", bin("*", var("x"), int(self.rng.range(2, 9))), scope.v("acc"))))]
        };
        let uses_counter = matches!(&body[0], Stmt::Assign(target, _) if target == "cnt");
        let lambda = Expr::Lambda(vec!["x".into()], body);
        if uses_counter {
            // the counter idiom: the closure owns its copy of the maker's `cnt`
            let maker = Expr::Lambda(vec![], vec![assign("cnt", int(0)), Stmt::Return(lambda)]);
            assign(&scope.name("clo"), Expr::CallValue(Box::new(maker), Vec::new()))
        } else {
            assign(&scope.name("clo"), lambda)
        }
    }

    pub(super) fn section_summary(&mut self, scope: &Scope, has_struct: bool, has_closure: bool) -> Stmt {
        let mut args = vec![
            text(&format!("{} end", scope.tag)),
            scope.v("acc"),
            scope.v("fl"),
            scope.v("s"),
            scope.v("v"),
            scope.v("a"),
            scope.v("d"),
            scope.v("mat"),
        ];
        if has_struct {
            args.push(scope.v("p"));
        }
        if has_closure {
            args.push(Expr::CallValue(Box::new(scope.v("clo")), vec![int(1)]));
        }
        print(args)
    }

    pub(super) fn function_section(&mut self) -> String {
        let id = self.id();
        let name = format!("sec{}", id);
        let mut scope = Scope::new(String::new(), name.clone(), true);
        scope.native = self.rng.percent(60);
        let mut body = self.section_prelude(&mut scope);
        let has_struct = scope.has_struct;
        let has_closure = body.iter().any(|s| matches!(s, Stmt::Assign(t, _) if t == "clo"));
        let hot = self.hot_loop(&mut scope);
        if self.rng.percent(30) {
            body.push(Stmt::Try(hot, "e".into(), self.handler(&scope, "e")));
        } else {
            body.extend(hot);
        }
        if self.rng.percent(30) {
            // a second hot loop after the first, over the state the first one left
            body.extend(self.hot_loop(&mut scope));
        }
        body.push(self.section_summary(&scope, has_struct, has_closure));
        body.push(Stmt::Return(scope.v("acc")));
        self.declarations.push(Stmt::Func(name.clone(), vec!["rep".into()], body));
        name
    }

    /// A section at top level: its variables are globals (named with a suffix), its loops
    /// run in the main script, and it is wrapped in `try`.
    pub(super) fn top_level_section(&mut self) -> Vec<Stmt> {
        let id = self.id();
        let mut scope = Scope::new(format!("_g{}", id), format!("top{}", id), false);
        scope.native = self.rng.percent(60);
        let mut out = self.section_prelude(&mut scope);
        let has_struct = scope.has_struct;
        let has_closure = out.iter().any(|s| matches!(s, Stmt::Assign(t, _) if t == &scope.name("clo")));
        let hot = self.hot_loop(&mut scope);
        if self.rng.percent(75) {
            out.push(Stmt::Try(hot, "e".into(), self.handler(&scope, "e")));
        } else {
            // an error here ends the program: stderr and the exit status are compared too
            out.extend(hot);
        }
        out.push(self.section_summary(&scope, has_struct, has_closure));
        out
    }

    pub(super) fn counter_name(scope: &Scope) -> String {
        let base = ["i", "j", "k", "m"][scope.counters.len().min(3)];
        scope.name(base)
    }

    /// The hot loop of a section: 60-300 iterations (rarely up to 1000 with a light body).
    pub(super) fn hot_loop(&mut self, scope: &mut Scope) -> Vec<Stmt> {
        let trips = if self.rng.percent(10) { self.rng.range(300, 1000) } else { self.rng.range(60, 300) };
        let statements = if trips > 300 { self.rng.range(2, 5) } else { self.rng.range(3, 9) };
        let mut out = Vec::new();
        if self.rng.percent(20) {
            // values built before the loop and read inside it
            out.push(assign(&scope.name("w"), Expr::Array(vec![int(1), Expr::Float("2.5"), text("three")])));
        }
        out.push(self.counted_loop(scope, trips, statements as usize));
        out
    }

    pub(super) fn counted_loop(&mut self, scope: &mut Scope, trips: i64, statements: usize) -> Stmt {
        self.counted_loop_to(scope, trips, statements, None)
    }

    /// A loop of `trips` iterations, or of `count` (an expression evaluating to at most
    /// `trips`) when given.
    pub(super) fn counted_loop_to(
        &mut self,
        scope: &mut Scope,
        trips: i64,
        statements: usize,
        count: Option<Expr>,
    ) -> Stmt {
        let counter = Self::counter_name(scope);
        let start = if self.rng.percent(85) { 0 } else { self.rng.range(-5, 5) };
        let saved_weight = scope.weight;
        scope.weight = scope.weight.saturating_mul(trips.max(1) as u64);
        scope.counters.push((counter.clone(), trips));
        scope.depth += 1;
        let mut body = Vec::new();
        if trips >= 30 && scope.counters.len() == 1 && self.rng.percent(80) {
            // print intermediate values every few iterations so divergences show
            let every = (trips / self.rng.range(4, 12)).max(2);
            body.push(when(
                bin("==", bin("%", var(&counter), int(every)), int(0)),
                vec![print(vec![text(&scope.tag), var(&counter), scope.v("acc"), scope.v("v"), scope.v("fl")])],
            ));
        }
        for _ in 0..statements {
            body.extend(self.statement(scope));
        }
        scope.depth -= 1;
        scope.counters.pop();
        scope.weight = saved_weight;
        let limit = match count {
            Some(count) => bin("+", int(start), count),
            None => int(start + trips),
        };
        Stmt::Counted { kind: self.loop_kind(), var: counter, start: int(start), limit, body }
    }

    pub(super) fn handler(&mut self, scope: &Scope, name: &str) -> Vec<Stmt> {
        let e = var(name);
        let mut out = vec![assign("gerr", bin("+", var("gerr"), int(1)))];
        let report = match self.rng.below(4) {
            0 => vec![text(&format!("{} caught", scope.tag)), field(e.clone(), "message"), field(e.clone(), "line")],
            1 => vec![text(&format!("{} caught", scope.tag)), e.clone()],
            2 => vec![
                text(&format!("{} caught", scope.tag)),
                field(e.clone(), "message"),
                call("len", vec![field(e.clone(), "stack")]),
            ],
            _ => vec![text(&format!("{} caught", scope.tag)), field(e.clone(), "message")],
        };
        let limit = self.rng.pick(&[3, 10, 40, 1000]);
        let mut prints = vec![print(report)];
        if self.rng.percent(40) {
            // the values the protected code had written when it failed (exits must have
            // stored every one of them)
            prints.push(print(vec![
                text(&format!("{} state", scope.tag)),
                scope.v("acc"),
                scope.v("v"),
                scope.v("fl"),
            ]));
        }
        out.push(when(bin("<", var("gerr"), int(limit)), prints));
        if self.rng.percent(15) {
            out.push(grow_string(scope, field(e.clone(), "message")));
        }
        if self.rng.percent(8) {
            // the handler fails too: the error goes to the next enclosing `try`
            out.push(Stmt::Expr(call("throw", vec![bin("+", text("again: "), field(e, "message"))])));
        }
        out
    }
}
