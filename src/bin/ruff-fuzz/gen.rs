//! The program generator: a seed gives one random, valid Ruff program (a tree of
//! [`Stmt`]s), biased toward what breaks tracing JITs.
//!
//! Terms: a *section* is one generated function (or top-level block) built around a hot
//! counted loop; *main* calls every section from a loop of *reps* inside `try`, so code
//! compiled during the first rep meets changed types and errors in later reps (the
//! section function receives `rep`). A *helper* is a top-level function sections call:
//! plain arithmetic, loops, linear or tree recursion, mutual recursion, Result/Option
//! producers, array-taking functions, deep recursion.
//!
//! Biases: hot loops run 60-300 iterations (the default JIT threshold is lower), their
//! variables change type after some iteration (int -> float -> string -> array),
//! nested loops exit early or run trip counts that change with the enclosing loop's
//! counter (unrolled traces meet other counts), arrays/dicts/structs are copied and written in loops (every
//! copy is printed, so aliasing shows), strings grow, integer overflow, zero divisors,
//! bad indexes, missing keys and bad operand types are raised from hot code with and
//! without `try` around them, and intermediate values are printed often. Most sections
//! are *native*: their hot paths keep to what the JIT compiles today (numbers, arrays,
//! struct fields, math builtins, calls of helpers whose loops are long enough to get
//! traces, closures made in the loop and functions called out of struct fields whose
//! prototype changes), so that they run as machine code and reach the type changes, errors and
//! rare branches through guards and exits; the others mix in strings, dicts, closures,
//! `match`, `try` in the loop and builtins the JIT leaves to the interpreter.
//!
//! Invariants: the program always parses (see the printing invariants in `ast`); with
//! `--no-jit` it runs in well under a second, because every loop's trip count times the
//! trip counts around it, times the estimated cost of the helpers it calls, stays within
//! [`BUDGET`]; names never collide across scopes (top-level sections suffix their
//! globals, loop counters are named by nesting depth), so a function never assigns a
//! global by accident. The same seed always gives the same program.

use crate::ast::{Expr, LoopKind, Piece, Stmt};

mod residual;

/// Rough limit on statement executions per section call.
const BUDGET: u64 = 40_000;

/// The prime that keeps accumulators small (and overflow rare unless intended).
const MODULUS: i64 = 1_000_003;

/// A small deterministic PRNG (splitmix64): enough for a fuzzer, no crate needed.
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed ^ 0x5DEE_CE66_D1CE_4E5B }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..hi` (`lo < hi`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }

    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

/// Whether a helper body calls builtins that traces do not follow (a rough check on the
/// printed text, good enough to steer native sections away from such helpers).
fn uses_non_native_builtin(body: &[Stmt]) -> bool {
    let text = crate::ast::program_text(body);
    ["is_int(", "to_string(", "len(", "Ok(", "Some("].iter().any(|builtin| text.contains(builtin))
}

fn int(n: i64) -> Expr {
    Expr::Int(n)
}

fn var(name: &str) -> Expr {
    Expr::Var(name.to_string())
}

fn text(s: &str) -> Expr {
    Expr::Str(s.to_string())
}

fn bin(op: &'static str, left: Expr, right: Expr) -> Expr {
    Expr::Binary(op, Box::new(left), Box::new(right))
}

fn call(callee: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(callee.to_string(), args)
}

fn index(base: Expr, at: Expr) -> Expr {
    Expr::Index(Box::new(base), Box::new(at))
}

fn field(base: Expr, name: &str) -> Expr {
    Expr::Field(Box::new(base), name.to_string())
}

fn assign(target: &str, value: Expr) -> Stmt {
    Stmt::Assign(target.to_string(), value)
}

fn print(args: Vec<Expr>) -> Stmt {
    Stmt::Expr(call("print", args))
}

fn when(cond: Expr, then: Vec<Stmt>) -> Stmt {
    Stmt::If(cond, then, Vec::new())
}

/// `s := s + piece` while `s` is short: handlers and hot loops run it hundreds of times.
fn grow_string(scope: &Scope, piece: Expr) -> Stmt {
    let s = scope.name("s");
    when(bin("<", call("len", vec![var(&s)]), int(200)), vec![assign(&s, bin("+", var(&s), piece))])
}

/// `(a % m)` kept small: `(a + b) % MODULUS`.
fn modded(e: Expr) -> Expr {
    bin("%", e, int(MODULUS))
}

const FLOATS: &[&str] = &["0.5", "0.25", "1.5", "2.0", "0.1", "3.75", "100.0", "0.0"];
const WORDS: &[&str] = &["a", "b", "ab", "", "x", "é", "日本", "a b", "7", "zz"];
/// Strings `for` loops step through: ASCII and not, shorter and longer than the JIT's
/// unroll bound (16).
const ITERATED_STRINGS: &[&str] = &[
    "abc",
    "é日😀",
    "",
    "héllo wörld",
    "日本語のテキストをここに書いた",
    "a😀b😀c😀d😀e😀f😀g😀h😀i😀",
    "zzzzzzzzzzzzzzzzzzzzzzzz",
];
const DICT_KEYS: &[&str] = &["a", "b", "c", "k1", "k2", "10", "2", ""];

/// The struct `Bag` and `bag_add(b, x)`, which writes through `b`'s array field (a push
/// or an element write) and its count, and returns `b` (see `shared_struct_write`).
fn bag_declarations() -> Vec<Stmt> {
    vec![
        Stmt::Verbatim("struct Bag { items, n }".to_string()),
        Stmt::Verbatim(
            "func bag_add(b, x) {\n  if b.n >= len(b.items) {\n    b.items := push(b.items, x)\n  } else {\n    \
             b.items[b.n] := x\n  }\n  b.n := b.n + 1\n  if b.n >= 12 {\n    b.n := 0\n  }\n  return b\n}"
                .to_string(),
        ),
    ]
}

/// What a helper function computes, which decides how it can be called.
#[derive(Clone, Copy, PartialEq)]
enum HelperShape {
    /// `h(int) -> number` (sometimes a float, at some argument).
    IntToNumber,
    /// `h(n)` recursing with `n - 1` (or through a partner function) down to 0.
    Recursive { max_arg: i64 },
    /// `h(int) -> Ok(..) / Err(..)`.
    ResultOf,
    /// `h(int) -> Some(..) / None`.
    OptionOf,
    /// `h(array) -> int`, writing to its own copy of the array.
    ArrayToInt,
    /// `h(a, lo, hi, d) -> a` sorted between `lo` and `hi` by recursion and loops.
    Sort,
    /// `h(n)` recursing `n` deep: past the call depth limit for large `n`.
    Deep,
    /// `h(pt, k) -> pt` with a field of its own copy of `pt` changed.
    StructStep,
}

#[derive(Clone)]
struct Helper {
    name: String,
    shape: HelperShape,
    /// Estimated statement executions per call.
    cost: u64,
    /// Whether its common path keeps to what traces compile.
    native: bool,
}

/// What the statement generator knows at one point of a section.
#[derive(Clone)]
struct Scope {
    /// Suffix of every variable name of this section (empty inside functions, where
    /// names are local; `_gN` for top-level sections, whose names are globals).
    suffix: String,
    tag: String,
    in_function: bool,
    /// Whether the section has the `rep` parameter.
    has_rep: bool,
    /// Enclosing loop counters, outermost first, with their trip counts.
    counters: Vec<(String, i64)>,
    /// Statement executions per section call at this point.
    weight: u64,
    /// Nesting of `if`/`try`/loops, to bound the tree's depth.
    depth: u32,
    handlers: u32,
    /// Whether the section made the struct `p`.
    has_struct: bool,
    /// Whether the section made `bag` (a `Bag`, which `bag_add` writes through).
    has_bag: bool,
    /// How many `Op` structs (each holding a function of another prototype in field `f`)
    /// the section's array `ops` holds; 0 when it has none.
    poly_targets: i64,
    /// Whether the section's hot paths keep to what traces compile (numbers, arrays,
    /// struct fields, math builtins, `len`/`push`, calls of native helpers), so that
    /// its loops run as native code and leave it only at type changes, errors, prints
    /// and rare branches.
    native: bool,
}

impl Scope {
    fn name(&self, base: &str) -> String {
        format!("{}{}", base, self.suffix)
    }

    fn v(&self, base: &str) -> Expr {
        var(&self.name(base))
    }

    fn counter(&self) -> Option<(String, i64)> {
        self.counters.last().cloned()
    }

    fn in_loop(&self) -> bool {
        !self.counters.is_empty()
    }
}

struct Generator {
    rng: Rng,
    next_id: u32,
    helpers: Vec<Helper>,
    declarations: Vec<Stmt>,
    uses_struct: bool,
    uses_enum: bool,
    uses_bag: bool,
    uses_ops: bool,
}

/// Generates the program for one seed.
pub fn generate(seed: u64) -> Vec<Stmt> {
    let mut generator = Generator {
        rng: Rng::new(seed),
        next_id: 0,
        helpers: Vec::new(),
        declarations: Vec::new(),
        uses_struct: false,
        uses_enum: false,
        uses_bag: false,
        uses_ops: false,
    };
    generator.program()
}

impl Generator {
    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn program(&mut self) -> Vec<Stmt> {
        let helper_count = self.rng.range(1, 6);
        for _ in 0..helper_count {
            self.helper();
        }
        let mut sections = Vec::new();
        let mut top_level = Vec::new();
        for _ in 0..self.rng.range(1, 4) {
            if self.rng.percent(20) {
                top_level.extend(self.top_level_section());
            } else {
                sections.push(self.function_section());
            }
        }
        let mut program = vec![assign("gerr", int(0)), assign("gcnt", int(0))];
        if self.uses_struct {
            program.push(Stmt::Verbatim(
                "struct Pt {\n  x,\n  y\n  func sum(self) { return self.x + self.y }\n  \
                 func with_x(self, nx) { return Pt { x: nx, y: self.y } }\n  func scaled(k) { return x * k + y }\n}"
                    .to_string(),
            ));
        }
        if self.uses_enum {
            program.push(Stmt::Verbatim("enum Shape { Circle, Square, Empty }".to_string()));
        }
        if self.uses_bag {
            program.extend(bag_declarations());
        }
        if self.uses_ops {
            program.push(Stmt::Verbatim("struct Op { f, k }".to_string()));
        }
        program.append(&mut self.declarations);
        let reps = self.rng.range(1, 4);
        let mut rep_body = Vec::new();
        for name in &sections {
            let message = bin("+", text(&format!("{} failed: ", name)), field(var("e"), "message"));
            rep_body.push(Stmt::Try(
                vec![print(vec![text(name), call(name, vec![var("rep")])])],
                "e".to_string(),
                vec![print(vec![message, field(var("e"), "line"), call("len", vec![field(var("e"), "stack")])])],
            ));
        }
        program.extend(top_level);
        if !rep_body.is_empty() {
            program.push(Stmt::Func(
                "main".to_string(),
                Vec::new(),
                vec![Stmt::Counted {
                    kind: LoopKind::ForRange,
                    var: "rep".into(),
                    start: int(0),
                    limit: int(reps),
                    body: rep_body,
                }],
            ));
            program.push(Stmt::Expr(call("main", Vec::new())));
        }
        program.push(print(vec![text("errors caught"), var("gerr"), var("gcnt")]));
        program
    }

    // ----------------------------------------------------------------- helpers --

    fn helper(&mut self) {
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
    fn helper_arithmetic(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
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

    fn helper_linear_recursion(&mut self, name: &str) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
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

    fn helper_tree_recursion(&mut self, name: &str) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
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
    fn helper_mutual_recursion(&mut self, name: &str) {
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

    fn helper_result(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let divisor = self.rng.range(2, 7);
        let error = Expr::Interpolated(vec![Piece::Text("bad ".into()), Piece::Expr(var("x"))]);
        let body = vec![
            when(bin("==", bin("%", var("x"), int(divisor)), int(0)), vec![Stmt::Return(call("Err", vec![error]))]),
            Stmt::Return(call("Ok", vec![bin("*", var("x"), int(self.rng.range(1, 5)))])),
        ];
        (HelperShape::ResultOf, 3, body, vec!["x".into()])
    }

    fn helper_option(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
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
    fn helper_array(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
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
    fn helper_sort(&mut self, name: &str) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
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
    fn helper_struct_step(&mut self) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
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

    fn helper_deep(&mut self, name: &str) -> (HelperShape, u64, Vec<Stmt>, Vec<String>) {
        let body = vec![
            when(bin("<=", var("n"), int(0)), vec![Stmt::Return(int(0))]),
            Stmt::Return(bin("+", call(name, vec![bin("-", var("n"), int(1))]), int(1))),
        ];
        (HelperShape::Deep, 2, body, vec!["n".into()])
    }

    // ---------------------------------------------------------------- sections --

    fn loop_kind(&mut self) -> LoopKind {
        self.rng.pick(&[LoopKind::ForRange, LoopKind::ForRange, LoopKind::While, LoopKind::Loop, LoopKind::LoopWhile])
    }

    /// The variables every section starts with: an int accumulator, a float, a string,
    /// a type-changing value, an array, a dict and (sometimes) a struct.
    fn section_prelude(&mut self, scope: &mut Scope) -> Vec<Stmt> {
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
        if self.rng.percent(30) {
            self.uses_bag = true;
            scope.has_bag = true;
            out.push(assign(
                &scope.name("bag"),
                Expr::Struct("Bag".into(), vec![("items".into(), Expr::Array(Vec::new())), ("n".into(), int(0))]),
            ));
        }
        if self.rng.percent(35) {
            out.push(self.poly_ops(scope));
        }
        out
    }

    /// `ops := [Op { f: ..., k: ... }, ...]`: two to four structs whose field `f` holds
    /// functions of different prototypes (one may be a counter closure that assigns its
    /// captured variable), for calls `ops[i].f(x, k)` whose target changes.
    fn poly_ops(&mut self, scope: &mut Scope) -> Stmt {
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
    fn closure(&mut self, scope: &Scope) -> Stmt {
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

    fn section_summary(&mut self, scope: &Scope, has_struct: bool, has_closure: bool) -> Stmt {
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

    fn function_section(&mut self) -> String {
        let id = self.id();
        let name = format!("sec{}", id);
        let mut scope = Scope {
            suffix: String::new(),
            tag: name.clone(),
            in_function: true,
            has_rep: true,
            counters: Vec::new(),
            weight: 1,
            depth: 0,
            handlers: 0,
            has_struct: false,
            has_bag: false,
            poly_targets: 0,
            native: false,
        };
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
    fn top_level_section(&mut self) -> Vec<Stmt> {
        let id = self.id();
        let mut scope = Scope {
            suffix: format!("_g{}", id),
            tag: format!("top{}", id),
            in_function: false,
            has_rep: false,
            counters: Vec::new(),
            weight: 1,
            depth: 0,
            handlers: 0,
            has_struct: false,
            has_bag: false,
            poly_targets: 0,
            native: false,
        };
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

    fn counter_name(scope: &Scope) -> String {
        let base = ["i", "j", "k", "m"][scope.counters.len().min(3)];
        scope.name(base)
    }

    /// The hot loop of a section: 60-300 iterations (rarely up to 1000 with a light body).
    fn hot_loop(&mut self, scope: &mut Scope) -> Vec<Stmt> {
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

    fn counted_loop(&mut self, scope: &mut Scope, trips: i64, statements: usize) -> Stmt {
        self.counted_loop_to(scope, trips, statements, None)
    }

    /// A loop of `trips` iterations, or of `count` (an expression evaluating to at most
    /// `trips`) when given.
    fn counted_loop_to(&mut self, scope: &mut Scope, trips: i64, statements: usize, count: Option<Expr>) -> Stmt {
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

    fn handler(&mut self, scope: &Scope, name: &str) -> Vec<Stmt> {
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

    // ------------------------------------------------------------ expressions --

    fn counter_or_small(&mut self, scope: &Scope) -> Expr {
        match scope.counter() {
            Some((name, _)) if self.rng.percent(80) => var(&name),
            _ => int(self.rng.range(0, 20)),
        }
    }

    /// A condition true a few dozen times per section call at most, however deep the
    /// loops: every few iterations of the outermost loop, at one iteration of each inner
    /// one.
    fn sometimes(&mut self, scope: &Scope) -> Expr {
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
    fn moment(&mut self, scope: &Scope) -> i64 {
        let trips = scope.counter().map_or(10, |(_, n)| n);
        match self.rng.below(4) {
            0 => self.rng.range(0, trips + 1),
            1 => self.rng.range(trips / 2, trips + 1),
            2 => self.rng.range(1, 12),
            _ => self.rng.range(trips.saturating_sub(10).max(0), trips + 5),
        }
    }

    fn int_expr(&mut self, scope: &Scope, depth: u32) -> Expr {
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

    fn float_expr(&mut self, scope: &Scope) -> Expr {
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

    fn string_piece(&mut self, scope: &Scope) -> Expr {
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

    fn condition(&mut self, scope: &Scope, depth: u32) -> Expr {
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

    // ------------------------------------------------------------- statements --

    /// One statement (or a few that belong together) for the body of a loop.
    fn statement(&mut self, scope: &mut Scope) -> Vec<Stmt> {
        if self.rng.percent(6) {
            return self.residual_statement(scope);
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
                _ => self.rarer_statement(scope),
            };
            if let Some(statements) = produced {
                return statements;
            }
        }
    }

    /// `fl := fl * 0.5 + <float>`: a float accumulator that stays bounded.
    fn float_update(&mut self, scope: &Scope) -> Vec<Stmt> {
        vec![assign(&scope.name("fl"), bin("+", bin("*", scope.v("fl"), Expr::Float("0.5")), self.float_expr(scope)))]
    }

    /// A statement of a native section (the other kinds still appear now and then).
    fn native_statement(&mut self, scope: &mut Scope) -> Vec<Stmt> {
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
    fn shared_struct_write(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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

    /// `for ch in STRING` over a literal (often non-ASCII, sometimes longer than the JIT
    /// unrolls) or the section's string: each step is a new one-character string.
    fn string_iteration(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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
    fn native_rarer_statement(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
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
    fn call_through_value(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn native_poly_use(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn native_array_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn native_struct_statement(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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
    fn native_literal(&mut self, scope: &Scope) -> Vec<Stmt> {
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

    fn accumulate(&mut self, scope: &Scope) -> Vec<Stmt> {
        let acc = scope.name("acc");
        let value = self.int_expr(scope, 0);
        if self.rng.percent(6) {
            // no modulus: overflows after some iterations, from hot code
            let factor = self.rng.range(2, 5);
            return vec![assign(&acc, bin("+", bin("*", var(&acc), int(factor)), value))];
        }
        vec![assign(&acc, modded(bin("+", var(&acc), value)))]
    }

    fn string_building(&mut self, scope: &Scope) -> Vec<Stmt> {
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

    fn type_change(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn poly_use(&mut self, scope: &Scope) -> Vec<Stmt> {
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

    fn nested_loop(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
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
    fn collection_loop(&mut self, scope: &Scope) -> Vec<Stmt> {
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

    fn early_exit(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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

    fn branch(&mut self, scope: &mut Scope) -> Vec<Stmt> {
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

    fn helper_call(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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

    fn array_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
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

    fn dict_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
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

    fn struct_statement(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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
    fn runtime_error(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn guarded(&mut self, scope: &mut Scope) -> Vec<Stmt> {
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

    fn match_statement(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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

    fn enum_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
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

    fn closure_statement(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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
    fn literal_in_loop(&mut self, scope: &Scope) -> Vec<Stmt> {
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

    fn print_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn rarer_statement(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
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

    /// The write idioms whose copies `compile/borrow.rs` avoids, each followed by a
    /// print of both holders at some iteration: an alias or element read into a local and
    /// then the container written, a pool of rows written by index, a struct copied and
    /// then its field written, builtins that return part of a container (`take`,
    /// `get_default`), and `array(n, fill)`. Any copy the compiler or the JIT wrongly left
    /// out shows as a holder that changed with the other.
    fn value_semantics_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
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
        match self.rng.below(6) {
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
    fn builtin_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn compound_update(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn unusual_iteration(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn sort_statement(&mut self, scope: &mut Scope) -> Option<Vec<Stmt>> {
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
    fn matrix_statement(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn dict_iteration(&mut self, scope: &Scope) -> Vec<Stmt> {
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
    fn polymorphic_call(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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
    fn local_function(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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
    fn deep_call(&mut self, scope: &Scope) -> Option<Vec<Stmt>> {
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

#[cfg(test)]
mod tests {
    use super::generate;
    use crate::ast::program_text;

    #[test]
    fn generated_programs_parse() {
        for seed in 0..300 {
            let text = program_text(&generate(seed));
            if let Err(e) = ruff::parse::parse_program(&text) {
                panic!("seed {} does not parse: {}\n{}", seed, e.message, text);
            }
        }
    }

    #[test]
    fn a_seed_always_gives_the_same_program() {
        assert_eq!(program_text(&generate(42)), program_text(&generate(42)));
        assert_ne!(program_text(&generate(42)), program_text(&generate(43)));
    }
}
