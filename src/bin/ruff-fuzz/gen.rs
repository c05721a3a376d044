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

mod effects;
mod expressions;
mod helpers;
mod library;
mod native;
mod residual;
mod sections;
mod statements;
mod values;

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
/// `Bag`'s methods return the receiver changed, as a new instance built from its fields
/// (methods cannot assign the receiver's fields): `put` reads the array field into a
/// local and writes or pushes it, `grown` pushes onto the field directly; `first` reads
/// the field as a bare name (see `method_receiver_write`). Arrays stay at most 12 long.
fn bag_declarations() -> Vec<Stmt> {
    vec![
        Stmt::Verbatim(
            "struct Bag {\n  items,\n  n\n  func put(self, x) {\n    it := self.items\n    if len(it) < 12 {\n      \
             it := push(it, x)\n    } else {\n      it[self.n % 12] := x\n    }\n    \
             return Bag { items: it, n: (self.n + 1) % 12 }\n  }\n  func grown(self, x) {\n    \
             if len(self.items) >= 12 {\n      return Bag { items: [x], n: 1 }\n    }\n    \
             return Bag { items: push(self.items, x), n: self.n + 1 }\n  }\n  func first() {\n    \
             if len(items) > 0 {\n      return items[0]\n    }\n    return -1\n  }\n}"
                .to_string(),
        ),
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
    /// Whether the section made `bag` (a `Bag`, which `bag_add` writes through) and
    /// `bags`, a pool of three `Bag`s that starts as three holders of `bag`'s value.
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
    /// The scope at the start of a section: in a function (which has the `rep`
    /// parameter) or at top level, outside any loop, with none of the optional variables.
    fn new(suffix: String, tag: String, in_function: bool) -> Scope {
        Scope {
            suffix,
            tag,
            in_function,
            has_rep: in_function,
            counters: Vec::new(),
            weight: 1,
            depth: 0,
            handlers: 0,
            has_struct: false,
            has_bag: false,
            poly_targets: 0,
            native: false,
        }
    }

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

    /// `value_semantics_statement`'s push whose pushed value a function reaching the
    /// pushed variable computes (a loan, DESIGN.md value semantics item 13).
    #[test]
    fn methods_returning_the_receiver_are_assigned_back_to_pool_elements() {
        let found = (0..300).map(|seed| program_text(&generate(seed))).find(|text| {
            text.lines().any(|line| {
                let line = line.trim();
                line.starts_with("bags") && line.contains("] := bags") && line.contains("].put(")
            })
        });
        assert!(found.is_some(), "no program of seeds 0..300 writes `bags[k] := bags[k].put(..)`");
    }

    #[test]
    fn pushes_with_a_reaching_call_are_generated() {
        let found = (0..300)
            .map(|seed| program_text(&generate(seed)))
            .find(|text| text.lines().any(|line| line.contains(":= push(") && line.contains(", reach")));
        assert!(found.is_some(), "no program of seeds 0..300 pushes a value computed by a `reach` function");
    }

    #[test]
    fn a_seed_always_gives_the_same_program() {
        assert_eq!(program_text(&generate(42)), program_text(&generate(42)));
        assert_ne!(program_text(&generate(42)), program_text(&generate(43)));
    }
}
