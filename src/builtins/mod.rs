//! Native builtin functions (LANGUAGE.md section 15): one table, looked up by name at
//! compile time and called by index at run time.
//!
//! Terms: a builtin is a plain Rust function over its argument values. It may allocate
//! (collections happen only at the interpreter's next safe point, so fresh objects in Rust
//! locals are safe) but never calls back into Ruff code; the builtins that take a Ruff
//! function (`map`, `filter`, `reduce`, `find`, `any`, `all`) are written in Ruff, in
//! `library.ruff`, and compiled with every program.
//!
//! Invariants: argument counts are checked against `min_args..=max_args` before the call;
//! every failure is an `Err(message)` that becomes a catchable runtime error. Arguments
//! are owned by the call (see `compile/bytecode.rs`), so a builtin may update an unshared
//! argument in place and return it (`push` on an array nobody else holds).

use std::io::Write;
use std::time::Instant;

use crate::compile::bytecode::Program;
use crate::runtime::heap::Heap;
use crate::runtime::value::Value;

mod convert;
mod dicts;
mod math;
mod sequences;
mod strings;

pub use sequences::range_bounds;

/// What a builtin can reach besides its arguments.
pub struct Ctx<'a> {
    pub heap: &'a mut Heap,
    pub program: &'a Program,
    pub out: &'a mut dyn Write,
    pub start_time: Instant,
}

pub type BuiltinFn = fn(&mut Ctx, &[Value]) -> Result<Value, String>;

pub struct Builtin {
    pub name: &'static str,
    pub min_args: u8,
    pub max_args: u8,
    pub func: BuiltinFn,
}

const fn b(name: &'static str, min_args: u8, max_args: u8, func: BuiltinFn) -> Builtin {
    Builtin { name, min_args, max_args, func }
}

/// Most builtins take a fixed number of arguments; `print` and `format` take any number.
const MANY: u8 = u8::MAX;

pub static BUILTINS: &[Builtin] = &[
    // Output, conversion and types
    b("print", 0, MANY, convert::print),
    b("to_string", 1, 1, convert::to_string),
    b("str", 1, 1, convert::to_string),
    b("to_int", 1, 1, convert::to_int),
    b("to_float", 1, 1, convert::to_float),
    b("to_bool", 1, 1, convert::to_bool),
    b("parse_int", 1, 1, convert::parse_int),
    b("parse_float", 1, 1, convert::parse_float),
    b("type", 1, 1, convert::type_of),
    b("type_of", 1, 1, convert::type_of),
    b("is_int", 1, 1, convert::is_int),
    b("is_float", 1, 1, convert::is_float),
    b("is_string", 1, 1, convert::is_string),
    b("is_bool", 1, 1, convert::is_bool),
    b("is_array", 1, 1, convert::is_array),
    b("is_dict", 1, 1, convert::is_dict),
    b("is_null", 1, 1, convert::is_null),
    b("is_function", 1, 1, convert::is_function),
    b("error", 1, 1, convert::error),
    b("assert", 1, 1, convert::assert),
    b("assert_true", 1, 1, convert::assert_true),
    b("assert_false", 1, 1, convert::assert_false),
    b("assert_equal", 2, 2, convert::assert_equal),
    b("assert_contains", 2, 2, convert::assert_contains),
    // Numbers
    b("abs", 1, 1, math::abs),
    b("sqrt", 1, 1, math::sqrt),
    b("floor", 1, 1, math::floor),
    b("ceil", 1, 1, math::ceil),
    b("round", 1, 1, math::round),
    b("sin", 1, 1, math::sin),
    b("cos", 1, 1, math::cos),
    b("tan", 1, 1, math::tan),
    b("exp", 1, 1, math::exp),
    b("log", 1, 1, math::log),
    b("pow", 2, 2, math::pow),
    b("min", 2, 2, math::min),
    b("max", 2, 2, math::max),
    b("bit_and", 2, 2, math::bit_and),
    b("bit_or", 2, 2, math::bit_or),
    b("bit_xor", 2, 2, math::bit_xor),
    b("bit_not", 1, 1, math::bit_not),
    b("bit_shl", 2, 2, math::bit_shl),
    b("bit_shr", 2, 2, math::bit_shr),
    b("performance_now", 0, 0, math::performance_now),
    b("time_us", 0, 0, math::time_us),
    b("time_ns", 0, 0, math::time_ns),
    // Sequences
    b("len", 1, 1, sequences::len),
    b("range", 1, 3, sequences::range),
    b("push", 2, 2, sequences::push),
    b("append", 2, 2, sequences::push),
    b("pop", 1, 1, sequences::pop),
    b("insert", 3, 3, sequences::insert),
    b("remove", 2, 2, sequences::remove),
    b("remove_at", 2, 2, sequences::remove_at),
    b("slice", 3, 3, sequences::slice),
    b("concat", 2, 2, sequences::concat),
    b("reverse", 1, 1, sequences::reverse),
    b("sort", 1, 1, sequences::sort),
    b("contains", 2, 2, sequences::contains),
    b("index_of", 2, 2, sequences::index_of),
    b("sum", 1, 1, sequences::sum),
    b("join", 2, 2, sequences::join),
    b("unique", 1, 1, sequences::unique),
    b("flatten", 1, 1, sequences::flatten),
    b("zip", 2, 2, sequences::zip),
    b("enumerate", 1, 1, sequences::enumerate),
    b("take", 2, 2, sequences::take),
    b("skip", 2, 2, sequences::skip),
    b("chunk", 2, 2, sequences::chunk),
    // Dicts
    b("keys", 1, 1, dicts::keys),
    b("values", 1, 1, dicts::values),
    b("items", 1, 1, dicts::items),
    b("has_key", 2, 2, dicts::has_key),
    b("get", 2, 2, dicts::get),
    b("get_default", 3, 3, dicts::get_default),
    b("merge", 2, 2, dicts::merge),
    // Strings
    b("upper", 1, 1, strings::upper),
    b("to_upper", 1, 1, strings::upper),
    b("lower", 1, 1, strings::lower),
    b("to_lower", 1, 1, strings::lower),
    b("capitalize", 1, 1, strings::capitalize),
    b("trim", 1, 1, strings::trim),
    b("trim_start", 1, 1, strings::trim_start),
    b("trim_end", 1, 1, strings::trim_end),
    b("split", 2, 2, strings::split),
    b("replace", 3, 3, strings::replace),
    b("replace_str", 3, 3, strings::replace),
    b("starts_with", 2, 2, strings::starts_with),
    b("ends_with", 2, 2, strings::ends_with),
    b("substring", 3, 3, strings::substring),
    b("substr", 3, 3, strings::substring),
    b("char_at", 2, 2, strings::char_at),
    b("repeat", 2, 2, strings::repeat),
    b("str_reverse", 1, 1, strings::str_reverse),
    b("pad_left", 3, 3, strings::pad_left),
    b("pad_right", 3, 3, strings::pad_right),
    b("lines", 1, 1, strings::lines),
    b("words", 1, 1, strings::words),
    b("is_empty", 1, 1, strings::is_empty),
    b("count_chars", 1, 1, strings::count_chars),
    b("format", 1, MANY, strings::format),
];

/// Builtins that only look at their arguments: they never change one in place, keep
/// one, or return one (or a part of one) without marking it shared. Their arguments can
/// be lent instead of copied, so `len(a)` in a loop does not make `a` shared (which would
/// make the next `a := push(a, x)` copy the whole array).
const BORROWING: &[&str] = &[
    "print",
    "len",
    "type",
    "type_of",
    "is_int",
    "is_float",
    "is_string",
    "is_bool",
    "is_array",
    "is_dict",
    "is_null",
    "is_function",
    "contains",
    "index_of",
    "has_key",
    "get",
    "keys",
    "sum",
    "join",
    "count_chars",
    "is_empty",
    "starts_with",
    "ends_with",
    "abs",
    "sqrt",
    "floor",
    "ceil",
    "round",
    "sin",
    "cos",
    "tan",
    "exp",
    "log",
    "pow",
    "min",
    "max",
    "bit_and",
    "bit_or",
    "bit_xor",
    "bit_not",
    "bit_shl",
    "bit_shr",
    "to_int",
    "to_float",
    "to_bool",
    "parse_int",
    "parse_float",
    "assert",
    "assert_true",
    "assert_false",
    "assert_equal",
    "assert_contains",
];

/// Builtins that can be called again with the same arguments with no difference anyone
/// could see: no output, no clock, no argument updated in place (marking an argument's
/// elements shared is idempotent). A trace calls these through `builtins::call` and, when
/// the call fails or its result surprises the trace, leaves it for the interpreter to make
/// the same call again (`jit::ir::Op::CallBuiltin`).
const REPEATABLE: &[&str] = &[
    "to_string",
    "str",
    "to_int",
    "to_float",
    "to_bool",
    "parse_int",
    "parse_float",
    "type",
    "type_of",
    "is_int",
    "is_float",
    "is_string",
    "is_bool",
    "is_array",
    "is_dict",
    "is_null",
    "is_function",
    "abs",
    "sqrt",
    "floor",
    "ceil",
    "round",
    "sin",
    "cos",
    "tan",
    "exp",
    "log",
    "pow",
    "min",
    "max",
    "bit_and",
    "bit_or",
    "bit_xor",
    "bit_not",
    "bit_shl",
    "bit_shr",
    "len",
    "range",
    "contains",
    "index_of",
    "sum",
    "join",
    "unique",
    "flatten",
    "zip",
    "enumerate",
    "chunk",
    "keys",
    "values",
    "items",
    "has_key",
    "get",
    "get_default",
    "upper",
    "to_upper",
    "lower",
    "to_lower",
    "capitalize",
    "trim",
    "trim_start",
    "trim_end",
    "split",
    "replace",
    "replace_str",
    "starts_with",
    "ends_with",
    "substring",
    "substr",
    "char_at",
    "repeat",
    "str_reverse",
    "pad_left",
    "pad_right",
    "lines",
    "words",
    "is_empty",
    "count_chars",
    "format",
    "error",
    "assert",
    "assert_true",
    "assert_false",
    "assert_equal",
    "assert_contains",
];

pub fn is_repeatable(id: u32) -> bool {
    REPEATABLE.contains(&BUILTINS[id as usize].name)
}

pub fn borrows_arguments(id: u32) -> bool {
    BORROWING.contains(&BUILTINS[id as usize].name)
}

pub fn lookup(name: &str) -> Option<u32> {
    BUILTINS.iter().position(|b| b.name == name).map(|i| i as u32)
}

/// Checks the argument count and calls builtin `id`.
pub fn call(id: u32, ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let builtin = &BUILTINS[id as usize];
    let count = args.len();
    if count < builtin.min_args as usize || (builtin.max_args != MANY && count > builtin.max_args as usize) {
        let expected = if builtin.min_args == builtin.max_args {
            builtin.min_args.to_string()
        } else if builtin.max_args == MANY {
            format!("at least {}", builtin.min_args)
        } else {
            format!("{} to {}", builtin.min_args, builtin.max_args)
        };
        return Err(format!("{} expects {} arguments, got {}", builtin.name, expected, count));
    }
    (builtin.func)(ctx, args)
}
