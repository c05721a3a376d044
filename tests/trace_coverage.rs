//! Trace coverage: one small hot-loop program per bytecode instruction (`Instr` in
//! src/compile/bytecode.rs) and per builtin (`builtins::BUILTINS`), run with the JIT at
//! threshold 1 (every loop recorded at once) and with `--no-jit`. Every program must print
//! the same with both, and its recordings may give up only for structural reasons (trace
//! too long, inlining too deep, too many side traces, the machine code budget, and the
//! learning aborts that make the JIT record another trace first); an abort the JIT reports
//! as "NYI" is a gap in the recorder.
//!
//! Terms: a *case* is a loop body (it sets `r`, whose last value is printed after the loop) with
//! an optional prelude of top-level declarations. The instruction cases are checked to
//! contain their instruction (`ruff check --bytecode`), and the test checks that every
//! `Instr` variant and every builtin has a case, so a new instruction or builtin needs one.
//! [`SHAPES`] adds cases for operand types and places a first case does not reach.
//! [`KNOWN_GAPS`] lists the cases still allowed to abort with an NYI reason, each with
//! the reason; a listed case that no longer aborts fails the test, so the list only
//! shrinks.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

mod parallel;

const RUFF: &str = env!("CARGO_BIN_EXE_ruff");

/// A loop body and what it needs around it.
struct Case {
    /// The instruction or builtin the case covers.
    name: &'static str,
    /// Top-level declarations before `main`.
    prelude: &'static str,
    /// The loop body: it runs with `i` from 0 to 59 and sets `r`.
    body: &'static str,
}

const fn case(name: &'static str, body: &'static str) -> Case {
    Case { name, prelude: "", body }
}

const fn with(name: &'static str, prelude: &'static str, body: &'static str) -> Case {
    Case { name, prelude, body }
}

const POINT: &str = "struct P { x, y\n func sum(self) { return self.x + self.y } }";
const SHAPE: &str = "enum Shape { Circle, Dot }";

/// One case per `Instr` variant.
const INSTRUCTIONS: &[Case] = &[
    case("Move", "mut a := [i]\n mut b := a\n b[0] := 1\n r := a[0] + b[0]"),
    case("MoveOwned", "a := [i]\n b := a\n r := b"),
    case("Borrow", "a := [i, 2]\n r := len(a) + a[0]"),
    case("LoadConst", "r := 2.5 * i"),
    case("LoadInt", "r := 7 + i"),
    case("LoadNull", "r := null"),
    case("LoadBool", "r := true"),
    case("LoadSelfFunc", "func down(n) { if n <= 0 { return 0 }\n return down(n - 1) + 1 }\n r := down(2)"),
    with("GetGlobal", "mut g := 1", "g := g + i\n r := g"),
    with("TakeGlobal", "mut gs := []", "gs := push(gs, i)\n r := len(gs)"),
    with("SetGlobal", "mut g := 1", "g := i\n r := g"),
    with("Lend", "mut gs := []\nfunc twice(v) { return v * 2 }", "gs := push(gs, twice(i))\n r := len(gs)"),
    with("EndLoan", "mut s := \"\"\nfunc piece(v) { return \"ab\" }", "s := s + piece(i)\n r := len(s)"),
    case("GetCapture", "xs := [i]\n f := func () { a := xs\n return push(a, 1) }\n r := f()"),
    case("TakeCapture", "mut xs := [i]\n f := func () { xs := push(xs, 1)\n return len(xs) }\n r := f()"),
    case("SetCapture", "mut c := i\n f := func () { c := c + 1\n return c }\n r := f()"),
    case("Add", "x := i * 2\n r := x + i"),
    case("Sub", "x := i * 2\n r := x - i"),
    case("Mul", "x := i + 2\n r := x * i"),
    case("Div", "x := i + 2\n r := i / x"),
    case("Mod", "x := i + 2\n r := i % x"),
    case("AddK", "r := i + 3"),
    case("SubK", "r := i - 3"),
    case("MulK", "r := i * 3"),
    case("DivK", "r := i / 3"),
    case("ModK", "r := i % 3"),
    case("Neg", "r := -i"),
    case("Not", "b := i > 3\n r := !b"),
    case("Eq", "r := i == 3"),
    case("Ne", "r := i != 3"),
    case("Lt", "x := i + 1\n r := i < x"),
    case("Le", "x := i + 1\n r := i <= x"),
    case("Gt", "x := i + 1\n r := i > x"),
    case("Ge", "x := i + 1\n r := i >= x"),
    case("ToBool", "r := i > 3 && i < 50"),
    case("TestLt", "x := 30\n r := 0\n if i < x { r := 1 }"),
    case("TestLe", "x := 30\n r := 0\n if i <= x { r := 1 }"),
    case("TestGt", "x := 30\n r := 0\n if i > x { r := 1 }"),
    case("TestGe", "x := 30\n r := 0\n if i >= x { r := 1 }"),
    case("TestEq", "x := 30\n r := 0\n if i == x { r := 1 }"),
    case("TestNe", "x := 30\n r := 0\n if i != x { r := 1 }"),
    case("TestLtK", "r := 0\n if i < 30 { r := 1 }"),
    case("TestLeK", "r := 0\n if i <= 30 { r := 1 }"),
    case("TestGtK", "r := 0\n if i > 30 { r := 1 }"),
    case("TestGeK", "r := 0\n if i >= 30 { r := 1 }"),
    case("TestEqK", "r := 0\n if i == 30 { r := 1 }"),
    case("TestNeK", "r := 0\n if i != 30 { r := 1 }"),
    case("TestNull", "r := 0\n x := null\n if i % 2 == 0 { x := i }\n if x == null { r := r + 1 }"),
    case("TestNotNull", "r := 0\n x := null\n if i % 3 == 0 { x := [i] }\n if x != null { r := r + 1 }"),
    with(
        "TestTag",
        SHAPE,
        "s := Shape::Circle(i)\n r := 0\n match s { case Shape::Circle(c): { r := c }\n default: { r := -1 } }",
    ),
    case("Jump", "mut r := 0\n if i > 100 { r := 1 } else { r := 2 }"),
    case("LoopEntry", "mut r := 0\n mut k := 0\n while k < 2 { k := k + 1\n r := r + k }"),
    case("JumpIfFalse", "x := i % 2\n r := x && i"),
    case("JumpIfTrue", "x := i % 2\n r := x || i"),
    case("JumpIfNotNull", "x := i\n r := x ?? 5"),
    with("Call", "func twice(x) { return x * 2 }", "r := twice(i)"),
    with("CallMethod", POINT, "mut p := P { x: i, y: 2 }\n q := p\n r := p.sum()"),
    with("CallMethodLent", POINT, "ps := [P { x: i, y: 2 }]\n r := ps[0].sum()"),
    with("Return", "func inc(x) { return x + 1 }", "r := inc(i)"),
    with("ReturnNull", "func nothing(x) { x + 1 }", "r := nothing(i)"),
    case("Closure", "f := func (x) { return x + i }\n r := f(1)"),
    case("NewArray", "a := [i, i + 1]\n r := a[1]"),
    case("ArrayAppend", "a := [i, ...[1, 2], 3]\n r := a[3]"),
    case("ArraySpread", "b := [i, 1]\n a := [...b, 2]\n r := len(a)"),
    case("NewDict", "d := {\"k\": i}\n r := d[\"k\"]"),
    case("DictInsert", "d := {\"k\": i, \"j\": 2}\n r := d[\"j\"]"),
    case("DictSpread", "e := {\"k\": i}\n d := {...e, \"j\": 2}\n r := d[\"k\"]"),
    with("NewStruct", POINT, "p := P { x: i, y: 1 }\n r := p.x"),
    with("NewTagged", SHAPE, "s := Shape::Circle(i)\n r := 0\n match s { case Shape::Circle(c): { r := c } }"),
    case("GetPayload", "s := Some(i)\n r := 0\n match s { case Some(v): { r := v } }"),
    case("GetIndex", "a := [[i], [2]]\n mut b := a[0]\n b := push(b, 1)\n r := len(b) + len(a[0])"),
    case("PeekIndex", "a := [[i, 2], [3]]\n r := a[0][1]"),
    case("GetIndexForWrite", "mut a := [[i, 2], [3]]\n a[0][1] := 5\n r := a[0][1]"),
    case("SetIndex", "mut a := [i, 2]\n a[1] := i\n r := a[1]"),
    with("GetField", POINT, "p := P { x: i, y: [1] }\n ys := p.y\n r := len(ys) + p.x"),
    with("TakeField", POINT, "mut p := P { x: i, y: [1] }\n p := P { x: 1, y: push(p.y, 2) }\n r := len(p.y)"),
    with("PeekField", POINT, "p := P { x: i, y: 2 }\n r := p.x"),
    with("GetFieldForWrite", POINT, "mut p := P { x: [i], y: 2 }\n p.x[0] := 3\n r := p.x[0]"),
    with("SetField", POINT, "mut p := P { x: i, y: 2 }\n p.x := 5\n r := p.x"),
    case("ToStr", "r := \"n=${i}\""),
    case("Concat", "s := \"a\"\n r := \"${s}-${s}\""),
    case("ForPrep", "mut r := 0\n for x in [1, 2] { r := r + x }"),
    case("ForNext", "mut r := 0\n for x in [i, 2] { r := r + x }"),
    case("ForRangePrep", "mut r := 0\n for x in range(2) { r := r + x }"),
    case("ForRangeNext", "mut r := 0\n for x in range(i % 3) { r := r + x }"),
    case("Throw", "mut r := 0\n try { if i == 40 { throw(\"boom\") }\n r := i } except e { r := e.message }"),
    case("TryBegin", "mut r := 0\n try { r := 10 / (i % 7) } except e { r := e.message }"),
    case("TryEnd", "mut r := 0\n try { r := i } except e { r := 0 }"),
    case("Raise", "let c := 1\n mut r := 0\n try { if i == 40 { c := 2 }\n r := i } except e { r := e.message }"),
];

/// Instructions the compiler never emits, with why: no program can reach them.
const NEVER_EMITTED: &[(&str, &str)] =
    &[("Test", "conditions compile to JumpIfFalse/JumpIfTrue; nothing in src/compile emits Test")];

/// One case per builtin: `r` is a call of it.
const BUILTIN_CASES: &[Case] = &[
    case("print", "r := print()"),
    case("to_string", "r := to_string([i])"),
    case("str", "r := str(i)"),
    case("to_int", "r := to_int(\"${i}\")"),
    case("to_float", "r := to_float(i)"),
    case("to_bool", "r := to_bool(i)"),
    case("parse_int", "r := parse_int(\"${i}\")"),
    case("parse_float", "r := parse_float(\"1.5\")"),
    case("type", "r := type(i)"),
    case("type_of", "r := type_of([i])"),
    case("is_int", "r := is_int(i)"),
    case("is_float", "r := is_float(i)"),
    case("is_string", "r := is_string(i)"),
    case("is_bool", "r := is_bool(i)"),
    case("is_array", "r := is_array([i])"),
    case("is_dict", "r := is_dict({\"a\": i})"),
    case("is_null", "r := is_null(i)"),
    case("is_function", "r := is_function(len)"),
    case("error", "r := error(\"e${i}\")"),
    case("assert", "r := assert(i >= 0)"),
    case("assert_true", "r := assert_true(i >= 0)"),
    case("assert_false", "r := assert_false(i < 0)"),
    case("assert_equal", "r := assert_equal(i, i)"),
    case("assert_contains", "r := assert_contains([i], i)"),
    case("abs", "r := abs(i - 30)"),
    case("sqrt", "r := sqrt(i)"),
    case("floor", "r := floor(i / 2.0)"),
    case("ceil", "r := ceil(i / 2.0)"),
    case("round", "r := round(i / 2.0)"),
    case("sin", "r := sin(i)"),
    case("cos", "r := cos(i)"),
    case("tan", "r := tan(i)"),
    case("exp", "r := exp(i / 10)"),
    case("log", "r := log(i + 1)"),
    case("pow", "r := pow(i, 2)"),
    case("min", "r := min(i, 30)"),
    case("max", "r := max(i, 30)"),
    case("bit_and", "r := bit_and(i, 6)"),
    case("bit_or", "r := bit_or(i, 6)"),
    case("bit_xor", "r := bit_xor(i, 6)"),
    case("bit_not", "r := bit_not(i)"),
    case("bit_shl", "r := bit_shl(i, 2)"),
    case("bit_shr", "r := bit_shr(i, 1)"),
    case("len", "r := len([i])"),
    case("range", "r := range(i % 4)"),
    case("push", "mut a := [i]\n a := push(a, 2)\n r := a"),
    case("append", "mut a := [i]\n a := append(a, 2)\n r := a"),
    case("pop", "r := pop([i, 2])"),
    case("insert", "r := insert([i, 2], 1, 5)"),
    case("remove", "r := remove([i, 2], 2)"),
    case("remove_at", "r := remove_at([i, 2], 0)"),
    case("slice", "r := slice([i, 2, 3], 1, 2)"),
    case("concat", "r := concat([i], [2])"),
    case("reverse", "r := reverse([i, 2])"),
    case("sort", "r := sort([i, 2])"),
    case("contains", "r := contains([i, 2], 2)"),
    case("index_of", "r := index_of([i, 2], 2)"),
    case("sum", "r := sum([i, 2])"),
    case("join", "r := join([i, 2], \",\")"),
    case("unique", "r := unique([i, 2, 2])"),
    case("flatten", "r := flatten([[i], [2]])"),
    case("zip", "r := zip([i], [2])"),
    case("enumerate", "r := enumerate([i])"),
    case("take", "r := take([i, 2], 1)"),
    case("skip", "r := skip([i, 2], 1)"),
    case("chunk", "r := chunk([i, 2, 3], 2)"),
    case("keys", "r := keys({\"a\": i})"),
    case("values", "r := values({\"a\": i})"),
    case("items", "r := items({\"a\": i})"),
    case("has_key", "r := has_key({\"a\": i}, \"a\")"),
    case("get", "r := get({\"a\": i}, \"a\")"),
    case("get_default", "r := get_default({\"a\": i}, \"b\", 0)"),
    case("merge", "r := merge({\"a\": i}, {\"b\": 2})"),
    case("upper", "r := upper(\"a${i}\")"),
    case("to_upper", "r := to_upper(\"a${i}\")"),
    case("lower", "r := lower(\"A${i}\")"),
    case("to_lower", "r := to_lower(\"A${i}\")"),
    case("capitalize", "r := capitalize(\"a${i}\")"),
    case("trim", "r := trim(\" ${i} \")"),
    case("trim_start", "r := trim_start(\" ${i} \")"),
    case("trim_end", "r := trim_end(\" ${i} \")"),
    case("split", "r := split(\"a,${i}\", \",\")"),
    case("replace", "r := replace(\"a${i}\", \"a\", \"b\")"),
    case("replace_str", "r := replace_str(\"a${i}\", \"a\", \"b\")"),
    case("starts_with", "r := starts_with(\"a${i}\", \"a\")"),
    case("ends_with", "r := ends_with(\"a${i}\", \"a\")"),
    case("substring", "r := substring(\"abc${i}\", 1, 2)"),
    case("substr", "r := substr(\"abc${i}\", 1, 2)"),
    case("char_at", "r := char_at(\"abc${i}\", 1)"),
    case("repeat", "r := repeat(\"a\", i % 3)"),
    case("str_reverse", "r := str_reverse(\"ab${i}\")"),
    case("pad_left", "r := pad_left(\"${i}\", 4, \"0\")"),
    case("pad_right", "r := pad_right(\"${i}\", 4, \"0\")"),
    case("lines", "r := lines(\"a\\n${i}\")"),
    case("words", "r := words(\"a ${i}\")"),
    case("is_empty", "r := is_empty(\"${i}\")"),
    case("count_chars", "r := count_chars(\"${i}\")"),
    case("format", "r := format(\"%s-%s\", i, 2)"),
    case("ord", "r := ord(\"a\")"),
    case("chr", "r := chr(65 + i % 20)"),
    case("args", "r := args()"),
    case("eprint", "r := eprint()"),
    case("input", "r := input()"),
    case("env", "r := env(\"RUFF_COVERAGE_UNSET\")"),
    case("env_or", "r := env_or(\"RUFF_COVERAGE_UNSET\", \"d\")"),
    case("exit", "r := 0\n if i == 59 { exit(0) }"),
    case("read_file", "write_file(\"cov.txt\", \"x\")\n r := read_file(\"cov.txt\")"),
    case("read_lines", "write_file(\"cov.txt\", \"x\")\n r := read_lines(\"cov.txt\")"),
    case("write_file", "r := write_file(\"cov.txt\", \"${i}\")"),
    case("append_file", "r := append_file(\"cov.txt\", \"${i}\")"),
    case("file_exists", "r := file_exists(\"cov.txt\")"),
    case("list_dir", "r := len(list_dir(\".\"))"),
    case("delete_file", "write_file(\"cov.txt\", \"x\")\n r := delete_file(\"cov.txt\")"),
    case("parse_json", "r := parse_json(\"[${i}]\")"),
    case("to_json", "r := to_json([i])"),
    case("random", "random_seed(i)\n r := random()"),
    case("random_int", "random_seed(i)\n r := random_int(1, 6)"),
    case("random_seed", "r := random_seed(i)"),
    case("array", "r := array(2, i)"),
    case("performance_now", "t := performance_now()\n r := t >= 0"),
    case("time_us", "t := time_us()\n r := t >= 0"),
    case("time_ns", "t := time_ns()\n r := t >= 0"),
    case("now", "t := now()\n r := t >= 0"),
];

/// Shapes of instructions and builtins whose first case does not reach a rule of the
/// recorder: operand types, values and places that once aborted.
const SHAPES: &[Case] = &[
    case("dict_literal_holding_objects", "d := {\"s\": \"v${i}\", \"a\": [i], \"n\": i}\n r := d"),
    case("dict_literal_computed_key", "k := \"k${i % 3}\"\n d := {k: i, \"z\": 1}\n r := d"),
    case("dict_literal_after_spread", "e := {\"k\": i}\n d := {...e, \"j\": [i]}\n r := d"),
    case("array_literal_after_spread", "b := [\"s${i}\"]\n a := [...b, [i], \"t\"]\n r := a"),
    case("print_in_hot_loop", "print(\"i=${i}\", i)\n r := i"),
    case("print_many_arguments", "print(\"i\", i, 2.5, [i], {\"k\": i}, null, true, \"s${i}\")\n r := i"),
    case("format_many_arguments", "r := format(\"%s %d %s %s %s\", [i], i, 1.5, \"s\", null)"),
    case("input_fails_after_prompt", "mut r := 0\n try { r := input(\"p${i}> \") } except e { r := e.message }"),
    case(
        "effect_result_changes_type",
        "mut v := i\n if i % 3 == 0 { v := \"s\" }\n r := env_or(\"RUFF_COVERAGE_UNSET\", v)",
    ),
    case(
        "effect_updates_argument",
        "mut a := [i, 2, 3]\n a := reverse(a)\n a := insert(a, 1, i)\n r := remove_at(a, 0)",
    ),
    case("effect_fails", "mut r := 0\n try { r := insert([i], i / 45 * 5, 0) } except e { r := e.message }"),
    case("method_of_non_struct", "mut r := 0\n x := [i]\n try { r := x.size() } except e { r := e.message }"),
    case("throw_recorded", "mut r := 0\n try { throw(\"t${i}\") } except e { r := e.message }"),
    case("clock_in_hot_loop", "t := time_ns()\n u := now()\n r := t > 0 && u > 0"),
    with(
        "dict_entry_holding_objects",
        "struct S { a }\nenum E { Some, Empty }",
        "d := {0: S { a: i }, 1: [i], 2: \"s${i}\", 3: E::Some(i), \"k\": {\"j\": i}}\n x := d[i % 5]\n r := d[0].a + len(d[1])",
    ),
    with(
        "dict_store_of_objects",
        "struct S { a }",
        "mut d := {}\n d[i % 3] := S { a: i }\n d[\"a\"] := [i]\n d[\"s\"] := \"v${i}\"\n r := d",
    ),
    with("global_enum_value", "enum E { Some, Empty }\nmut g := E::Some(1)", "g := E::Some(i)\n h := g\n r := h"),
    case("push_of_builtin", "mut a := [i]\n a := push(a, len)\n r := len(a)"),
    case("push_onto_non_array", "mut r := 0\n try { r := push(i, 1) } except e { r := e.message }"),
    case("shared_dict_write", "mut d := {\"k\": i}\n e := d\n d[i % 3] := i\n r := len(d) + len(e)"),
    with(
        "builtin_of_call_with_loop",
        "func step(k) { mut p := []\n for v in range(0, k) { p := push(p, v) }\n return p }",
        "mut a := []\n a := push(a, len(step(i % 4)))\n r := len(step(3)) + len(a)",
    ),
    case("builtin_among_many_arguments", "f := len\n r := format(\"%s %s %d %s\", f, abs, i, [i])"),
    with(
        "enum_several_payloads",
        "enum E { Two, One }",
        "v := E::Two(i, [i], \"s\")\n mut r := 0\n match v { case E::Two(a): { r := a }\n default: { r := -1 } }",
    ),
    with(
        "dict_entry_nested_write",
        "struct S { a }",
        "mut d := {\"s\": S { a: 0 }, \"t\": [0]}\n d[\"s\"].a := i\n held := d[\"t\"]\n d[\"t\"][0] := i\n r := d[\"s\"].a + held[0]",
    ),
    case(
        "try_left_by_side_trace",
        "mut r := 0\n try { for k in range(30) { r := r + k }\n if i == 50 { throw(\"x\") } } except e { r := -1 }",
    ),
    with(
        "builtin_values_in_memory",
        "struct S { f }",
        "f := abs\n mut s := S { f: len }\n s.f := f\n a := [i, 0]\n a[1] := len\n d := {\"k\": f}\n k := func (x) { return f(x) }\n r := f(0 - i) + k(1) + len(a)",
    ),
    with("builtin_read_from_field", "struct S { f }", "s := S { f: abs }\n g := s.f\n r := g(0 - i)"),
    case("builtin_pushed_and_in_literal", "f := abs\n a := push([i], f)\n b := [f, i, [i]]\n r := len(a) + len(b)"),
];

/// Cases still allowed to abort with an NYI reason: (case, the reason reported, why the
/// recorder gives up there). The list only shrinks: a listed case that no longer aborts
/// with that reason fails the test.
const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

/// The standard input of every run: lines for `input`, one of them no UTF-8 (a read that
/// fails after the prompt was written and the line consumed), then the end of input.
const STDIN: &[u8] = b"one\ntwo\r\nthree\n\xff\xfe bad\nfive\nsix\n";

/// The program of a case: its body in a hot loop of `main`; the last `r` (carried from
/// iteration to iteration) is printed after the loop.
fn program(case: &Case) -> String {
    format!(
        "{}\nfunc main() {{\n    mut last := null\n    for i in range(60) {{\n        {}\n        last := r\n    }}\n    print(last)\n}}\nmain()\n",
        case.prelude, case.body
    )
}

/// The output of one run: stdout, stderr, exit status.
type Output = (String, String, Option<i32>);

fn run(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(RUFF)
        .args(args)
        .env("RUFF_JIT_STRICT", "1")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ruff runs");
    // A run that does not read all its input closes the pipe first: not a failure here.
    let _ = child.stdin.take().expect("piped stdin").write_all(STDIN);
    let output = child.wait_with_output().expect("ruff finishes");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code(),
    )
}

/// What running one case found.
struct Finding {
    name: &'static str,
    /// The output differed between `--no-jit` and the JIT at threshold 1.
    mismatch: Option<String>,
    /// The NYI abort reasons `--jit-stats=json` reported.
    nyi: BTreeSet<String>,
    /// An instruction case whose program does not contain its instruction.
    missing_instruction: bool,
}

fn check(case: &Case, instruction: bool) -> Finding {
    let dir = tempfile_dir(case.name);
    std::fs::write(dir.join("case.ruff"), program(case)).expect("write the case");
    let missing_instruction = instruction && {
        let (listing, _, _) = run(&dir, &["check", "--bytecode", "case.ruff"]);
        !listing.lines().any(|l| l.split_whitespace().nth(2).is_some_and(|w| w == case.name))
    };
    let reference = run(&dir, &["run", "--no-jit", "case.ruff"]);
    // The statistics go outside the case's folder, which `list_dir` lists.
    let stats_file = dir.with_extension("json");
    let stats_option = format!("--jit-stats=json:{}", stats_file.display());
    let jit = run(&dir, &["run", "--jit-threshold", "1", &stats_option, "case.ruff"]);
    let mismatch = (reference != jit).then(|| format!("--no-jit: {:?}\nthreshold 1: {:?}", reference, jit));
    let stats = std::fs::read_to_string(&stats_file).unwrap_or_default();
    let _ = std::fs::remove_file(&stats_file);
    let mut nyi = BTreeSet::new();
    for line in stats.lines().filter(|l| l.starts_with('{')) {
        let json: serde_json::Value = serde_json::from_str(line).expect("--jit-stats=json is JSON");
        for abort in json["aborts"].as_array().into_iter().flatten() {
            let reason = abort["reason"].as_str().unwrap_or_default();
            if reason.starts_with("NYI") {
                nyi.insert(reason.to_string());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Finding { name: case.name, mismatch, nyi, missing_instruction }
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ruff-trace-coverage-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    dir
}

/// The variants of `Instr`, read from its definition.
fn instr_variants() -> Vec<String> {
    let source = include_str!("../src/compile/bytecode.rs");
    let body = source.split("pub enum Instr {").nth(1).expect("Instr is defined").split("\n}").next().unwrap();
    body.lines()
        .filter_map(|l| l.strip_prefix("    ").filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase())))
        .map(|l| l.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap().to_string())
        .collect()
}

#[test]
fn every_instruction_and_builtin_has_a_case() {
    let covered: BTreeSet<&str> =
        INSTRUCTIONS.iter().map(|c| c.name).chain(NEVER_EMITTED.iter().map(|&(name, _)| name)).collect();
    let missing: Vec<String> = instr_variants().into_iter().filter(|v| !covered.contains(v.as_str())).collect();
    assert!(missing.is_empty(), "instructions without a coverage case: {:?}", missing);
    let covered: BTreeSet<&str> = BUILTIN_CASES.iter().map(|c| c.name).collect();
    let missing: Vec<&str> = ruff::builtins::BUILTINS.iter().map(|b| b.name).filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "builtins without a coverage case: {:?}", missing);
}

#[test]
fn every_case_traces_without_nyi_aborts() {
    let cases: Vec<(&Case, bool)> =
        INSTRUCTIONS.iter().map(|c| (c, true)).chain(BUILTIN_CASES.iter().chain(SHAPES).map(|c| (c, false))).collect();
    let findings = std::sync::Mutex::new(Vec::new());
    parallel::for_each_in_parallel(&cases, |&(case, instruction)| {
        let finding = check(case, instruction);
        findings.lock().expect("findings lock").push(finding);
    });
    let mut findings = findings.into_inner().expect("findings lock");
    findings.sort_by_key(|f| f.name);
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for finding in &findings {
        if let Some(mismatch) = &finding.mismatch {
            failures.push(format!("{}: output differs\n{}", finding.name, mismatch));
        }
        if finding.missing_instruction {
            failures.push(format!("{}: its program does not contain the instruction", finding.name));
        }
        let allowed: BTreeSet<&str> =
            KNOWN_GAPS.iter().filter(|(name, _, _)| *name == finding.name).map(|&(_, reason, _)| reason).collect();
        for reason in &finding.nyi {
            report.push(format!("{}: {}", finding.name, reason));
            if !allowed.contains(reason.as_str()) {
                failures.push(format!("{}: aborts with `{}`", finding.name, reason));
            }
        }
        for reason in allowed.iter().filter(|r| !finding.nyi.contains(**r)) {
            failures.push(format!("{}: listed in KNOWN_GAPS with `{}`, which it no longer hits", finding.name, reason));
        }
    }
    eprintln!("NYI aborts ({}):\n{}", report.len(), report.join("\n"));
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
