//! Native builtin functions (LANGUAGE.md section 15): one table, looked up by name at
//! compile time and called by index at run time.
//!
//! Terms: a builtin is a plain Rust function over its argument values. It may allocate
//! (collections happen only at the interpreter's next safe point, so fresh objects in Rust
//! locals are safe) but never calls back into Ruff code; the builtins that take a Ruff
//! function (`map`, `filter`, `reduce`, `find`, `any`, `all`) are written in Ruff, in
//! `library.ruff`, and compiled with every program that mentions them (`library.rs`).
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
mod data;
mod dicts;
mod io;
pub mod library;
pub mod math;
mod sequences;
mod strings;

use math::{BitOp, MathFn};
pub use sequences::range_bounds;

/// What a builtin can reach besides its arguments.
pub struct Ctx<'a> {
    pub heap: &'a mut Heap,
    pub program: &'a Program,
    pub out: &'a mut dyn Write,
    pub start_time: Instant,
}

impl Builtin {
    /// Whether it takes `count` arguments. Below `min_args` the subtraction wraps to more
    /// than `usize::MAX / 2`, above every `extra_args`.
    #[inline(always)]
    pub fn accepts(&self, count: usize) -> bool {
        count.wrapping_sub(self.min_args as usize) <= self.extra_args
    }
}

pub type BuiltinFn = fn(&mut Ctx, &[Value]) -> Result<Value, String>;

pub struct Builtin {
    pub name: &'static str,
    pub min_args: u8,
    pub max_args: u8,
    /// Arguments it takes beyond `min_args`: `max_args - min_args`, or `usize::MAX / 2`
    /// (more than any call passes) when `max_args` is `MANY`, so that [`Builtin::accepts`]
    /// is one comparison.
    extra_args: usize,
    pub func: BuiltinFn,
    /// It only looks at its arguments: it never changes one in place, keeps one, or
    /// returns one (or a part of one) without marking it shared. Its arguments can be
    /// lent instead of copied, so `len(a)` in a loop does not make `a` shared (which would
    /// make the next `a := push(a, x)` copy the whole array).
    pub borrows: bool,
    /// How a trace calls it (`jit/record/calls.rs` reads this, never the name).
    pub on_trace: OnTrace,
    /// It may update an argument in place (`push` on an array the call owns). A call of
    /// any other builtin changes no container, which `compile/borrow.rs` relies on.
    pub updates_arguments: bool,
    /// Called by name with this many arguments, it is the library function of this name
    /// instead (`sort(a, less)` is `sort_with(a, less)` in `library.ruff`): the forms that
    /// call back into Ruff code are written in Ruff.
    pub callback_form: Option<(u8, &'static str)>,
    /// How a trace records a call when the arguments suit it (`jit/record/calls.rs`
    /// reads this, never the name). Any other call is recorded as its [`OnTrace`] says.
    pub recording: Option<Recording>,
}

/// How a trace calls a builtin through its `func` (when no [`Recording`] suits the
/// arguments). The result's type rule is the same for all: the type the interpreter's
/// call returned while recording, which native code checks after each call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTrace {
    /// It can be called again with the same arguments with no difference anyone could
    /// see: no output, no clock, no argument updated in place (marking an argument's
    /// elements shared is idempotent). A trace calls it through `builtins::call` and,
    /// when the call fails or its result surprises the trace, leaves it *before* the
    /// call for the interpreter to make the same call again (`jit::ir::Op::CallBuiltin`).
    Repeatable,
    /// It has an effect (output, files, the environment, the clock, the random
    /// generator, an argument updated in place), and when it fails it fails before that
    /// effect, or after one that doing again changes nothing (a file created before a
    /// write that failed). A trace calls it with the program's own output and clock
    /// (`jit::ir::Op::CallEffect`) and leaves it before the call only when it failed (the
    /// interpreter makes the call again and raises the error); a result of another type,
    /// or a collection due, leaves the trace *after* the call, with the result in its
    /// slot, so the effect is never repeated.
    Effect,
    /// An [`OnTrace::Effect`] that may fail *after* its effect (`input` writes its prompt
    /// and consumes a line before a read that may fail). A trace calls it as an effect
    /// through [`call_from_trace`], which keeps its error; the exit makes the interpreter
    /// call it again, and that call raises the kept error instead of running (see
    /// [`call`]), so the effect shows once, as without the JIT.
    FailsAfterEffect,
}

impl OnTrace {
    /// A trace calls it as `CallEffect` (with the program's output, never twice).
    pub fn has_effect(self) -> bool {
        self != OnTrace::Repeatable
    }
}

/// The specialised recordings of builtin calls: each is an operation on trace that
/// computes what the builtin's function does, for the argument types it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recording {
    /// The length of an array or a string (`ALEN`, `SLEN`, or a constant for an array
    /// built on trace).
    Length,
    /// Appending to an array: in place when it is unshared (`APUSH`), else onto a copy
    /// (`PUSHCOPY`).
    Append,
    /// Whether a dict has an int or string key.
    HasKey,
    /// The text of a number, bool, null or string, as string interpolation makes it.
    ToText,
    /// A float function of ints or floats (`MATH`).
    Math(math::MathFn),
    /// A bit operation on ints (`BAND`, `BOR`, `BXOR`, `BNOT`, `BSHL`, `BSHR`).
    Bits(math::BitOp),
}

/// A row of the table with the given properties (the kinds below name the combinations).
const fn row(
    name: &'static str,
    (min_args, max_args): (u8, u8),
    func: BuiltinFn,
    borrows: bool,
    on_trace: OnTrace,
    updates_arguments: bool,
) -> Builtin {
    let extra_args = if max_args == MANY { usize::MAX / 2 } else { (max_args - min_args) as usize };
    Builtin {
        name,
        min_args,
        max_args,
        extra_args,
        func,
        borrows,
        on_trace,
        updates_arguments,
        callback_form: None,
        recording: None,
    }
}

/// A builtin that only looks at its arguments (see [`Builtin::borrows`]) and can be
/// called again.
const fn looks(name: &'static str, min_args: u8, max_args: u8, func: BuiltinFn) -> Builtin {
    row(name, (min_args, max_args), func, true, OnTrace::Repeatable, false)
}

/// A builtin that can be called again but may hand an argument (or part of one) back.
const fn pure(name: &'static str, min_args: u8, max_args: u8, func: BuiltinFn) -> Builtin {
    row(name, (min_args, max_args), func, false, OnTrace::Repeatable, false)
}

/// A builtin that only looks at its arguments but writes output (an effect on trace).
const fn prints(name: &'static str, min_args: u8, max_args: u8, func: BuiltinFn) -> Builtin {
    row(name, (min_args, max_args), func, true, OnTrace::Effect, false)
}

/// A builtin that reads the clock: calling it again gives another answer (an effect on
/// trace).
const fn clock(name: &'static str, func: BuiltinFn) -> Builtin {
    row(name, (0, 0), func, true, OnTrace::Effect, false)
}

/// A builtin that may update an argument in place (an effect on trace).
const fn effect(name: &'static str, min_args: u8, max_args: u8, func: BuiltinFn) -> Builtin {
    row(name, (min_args, max_args), func, false, OnTrace::Effect, true)
}

/// A builtin that only looks at its arguments but reads or changes the world outside the
/// program (files, standard input, the environment, the process, the random generator):
/// a second call may see or do something else (an effect on trace).
const fn outside(name: &'static str, min_args: u8, max_args: u8, func: BuiltinFn) -> Builtin {
    row(name, (min_args, max_args), func, true, OnTrace::Effect, false)
}

/// `builtin`, an effect that may fail after its effect (see [`OnTrace::FailsAfterEffect`]).
const fn fails_after_effect(builtin: Builtin) -> Builtin {
    Builtin { on_trace: OnTrace::FailsAfterEffect, ..builtin }
}

/// `builtin`, which with `argc` arguments is the library function `library` instead.
const fn or_library(builtin: Builtin, argc: u8, library: &'static str) -> Builtin {
    Builtin { callback_form: Some((argc, library)), ..builtin }
}

/// `builtin`, which a trace records as `recording` when the arguments suit it.
const fn recorded(builtin: Builtin, recording: Recording) -> Builtin {
    Builtin { recording: Some(recording), ..builtin }
}

/// Most builtins take a fixed number of arguments; `print` and `format` take any number.
const MANY: u8 = u8::MAX;

pub static BUILTINS: &[Builtin] = &[
    // Output, conversion and types
    prints("print", 0, MANY, convert::print),
    recorded(pure("to_string", 1, 1, convert::to_string), Recording::ToText),
    recorded(pure("str", 1, 1, convert::to_string), Recording::ToText),
    looks("to_int", 1, 1, convert::to_int),
    looks("to_float", 1, 1, convert::to_float),
    looks("to_bool", 1, 1, convert::to_bool),
    looks("parse_int", 1, 1, convert::parse_int),
    looks("parse_float", 1, 1, convert::parse_float),
    looks("type", 1, 1, convert::type_of),
    looks("type_of", 1, 1, convert::type_of),
    looks("is_int", 1, 1, convert::is_int),
    looks("is_float", 1, 1, convert::is_float),
    looks("is_string", 1, 1, convert::is_string),
    looks("is_bool", 1, 1, convert::is_bool),
    looks("is_array", 1, 1, convert::is_array),
    looks("is_dict", 1, 1, convert::is_dict),
    looks("is_null", 1, 1, convert::is_null),
    looks("is_function", 1, 1, convert::is_function),
    pure("error", 1, 1, convert::error),
    looks("assert", 1, 1, convert::assert),
    looks("assert_true", 1, 1, convert::assert_true),
    looks("assert_false", 1, 1, convert::assert_false),
    looks("assert_equal", 2, 2, convert::assert_equal),
    looks("assert_contains", 2, 2, convert::assert_contains),
    // Numbers
    recorded(looks("abs", 1, 1, math::abs), Recording::Math(MathFn::Abs)),
    recorded(looks("sqrt", 1, 1, math::sqrt), Recording::Math(MathFn::Sqrt)),
    recorded(looks("floor", 1, 1, math::floor), Recording::Math(MathFn::Floor)),
    recorded(looks("ceil", 1, 1, math::ceil), Recording::Math(MathFn::Ceil)),
    recorded(looks("round", 1, 1, math::round), Recording::Math(MathFn::Round)),
    recorded(looks("sin", 1, 1, math::sin), Recording::Math(MathFn::Sin)),
    recorded(looks("cos", 1, 1, math::cos), Recording::Math(MathFn::Cos)),
    recorded(looks("tan", 1, 1, math::tan), Recording::Math(MathFn::Tan)),
    recorded(looks("exp", 1, 1, math::exp), Recording::Math(MathFn::Exp)),
    recorded(looks("log", 1, 1, math::log), Recording::Math(MathFn::Log)),
    recorded(looks("pow", 2, 2, math::pow), Recording::Math(MathFn::Pow)),
    recorded(looks("min", 2, 2, math::min), Recording::Math(MathFn::Min)),
    recorded(looks("max", 2, 2, math::max), Recording::Math(MathFn::Max)),
    recorded(looks("bit_and", 2, 2, math::bit_and), Recording::Bits(BitOp::And)),
    recorded(looks("bit_or", 2, 2, math::bit_or), Recording::Bits(BitOp::Or)),
    recorded(looks("bit_xor", 2, 2, math::bit_xor), Recording::Bits(BitOp::Xor)),
    recorded(looks("bit_not", 1, 1, math::bit_not), Recording::Bits(BitOp::Not)),
    recorded(looks("bit_shl", 2, 2, math::bit_shl), Recording::Bits(BitOp::Shl)),
    recorded(looks("bit_shr", 2, 2, math::bit_shr), Recording::Bits(BitOp::Shr)),
    clock("performance_now", math::performance_now),
    clock("time_us", math::time_us),
    clock("time_ns", math::time_ns),
    // Sequences
    recorded(looks("len", 1, 1, sequences::len), Recording::Length),
    pure("range", 1, 3, sequences::range),
    recorded(effect("push", 2, 2, sequences::push), Recording::Append),
    recorded(effect("append", 2, 2, sequences::push), Recording::Append),
    effect("pop", 1, 1, sequences::pop),
    effect("insert", 3, 3, sequences::insert),
    effect("remove", 2, 2, sequences::remove),
    effect("remove_at", 2, 2, sequences::remove_at),
    looks("slice", 3, 3, sequences::slice),
    effect("concat", 2, 2, sequences::concat),
    effect("reverse", 1, 1, sequences::reverse),
    or_library(effect("sort", 1, 1, sequences::sort), 2, "sort_with"),
    looks("contains", 2, 2, sequences::contains),
    looks("index_of", 2, 2, sequences::index_of),
    looks("sum", 1, 1, sequences::sum),
    looks("join", 2, 2, sequences::join),
    pure("unique", 1, 1, sequences::unique),
    pure("flatten", 1, 1, sequences::flatten),
    pure("zip", 2, 2, sequences::zip),
    pure("enumerate", 1, 1, sequences::enumerate),
    looks("take", 2, 2, sequences::take),
    looks("skip", 2, 2, sequences::skip),
    pure("chunk", 2, 2, sequences::chunk),
    // Dicts
    looks("keys", 1, 1, dicts::keys),
    pure("values", 1, 1, dicts::values),
    pure("items", 1, 1, dicts::items),
    recorded(looks("has_key", 2, 2, dicts::has_key), Recording::HasKey),
    looks("get", 2, 2, dicts::get),
    looks("get_default", 3, 3, dicts::get_default),
    effect("merge", 2, 2, dicts::merge),
    // Strings
    pure("upper", 1, 1, strings::upper),
    pure("to_upper", 1, 1, strings::upper),
    pure("lower", 1, 1, strings::lower),
    pure("to_lower", 1, 1, strings::lower),
    pure("capitalize", 1, 1, strings::capitalize),
    pure("trim", 1, 1, strings::trim),
    pure("trim_start", 1, 1, strings::trim_start),
    pure("trim_end", 1, 1, strings::trim_end),
    pure("split", 2, 2, strings::split),
    pure("replace", 3, 3, strings::replace),
    pure("replace_str", 3, 3, strings::replace),
    looks("starts_with", 2, 2, strings::starts_with),
    looks("ends_with", 2, 2, strings::ends_with),
    pure("substring", 3, 3, strings::substring),
    pure("substr", 3, 3, strings::substring),
    pure("char_at", 2, 2, strings::char_at),
    pure("repeat", 2, 2, strings::repeat),
    pure("str_reverse", 1, 1, strings::str_reverse),
    pure("pad_left", 3, 3, strings::pad_left),
    pure("pad_right", 3, 3, strings::pad_right),
    pure("lines", 1, 1, strings::lines),
    pure("words", 1, 1, strings::words),
    looks("is_empty", 1, 1, strings::is_empty),
    looks("count_chars", 1, 1, strings::count_chars),
    pure("format", 1, MANY, strings::format),
    looks("ord", 1, 1, data::ord),
    looks("chr", 1, 1, data::chr),
    // Process, standard streams and the environment (LANGUAGE.md 18.2)
    pure("args", 0, 0, io::args),
    prints("eprint", 0, MANY, io::eprint),
    // `input` writes its prompt before a read that may fail (input that is no UTF-8), and
    // a failed read has consumed input: making the call again would show.
    fails_after_effect(outside("input", 0, 1, io::input)),
    outside("env", 1, 1, io::env),
    effect("env_or", 2, 2, io::env_or),
    outside("exit", 0, 1, io::exit),
    // Files (LANGUAGE.md 18.3)
    outside("read_file", 1, 1, io::read_file),
    outside("read_lines", 1, 1, io::read_lines),
    outside("write_file", 2, 2, io::write_file),
    outside("append_file", 2, 2, io::append_file),
    outside("file_exists", 1, 1, io::file_exists),
    outside("list_dir", 1, 1, io::list_dir),
    outside("delete_file", 1, 1, io::delete_file),
    // Data, random numbers, time (LANGUAGE.md 18.4)
    looks("parse_json", 1, 1, data::parse_json),
    looks("to_json", 1, 2, data::to_json),
    outside("random", 0, 0, data::random),
    outside("random_int", 2, 2, data::random_int),
    outside("random_seed", 1, 1, data::random_seed),
    clock("now", data::now),
    // Sequences added later (kept last so that earlier builtins keep their indexes)
    looks("array", 2, 2, sequences::array),
];

pub fn is_repeatable(id: u32) -> bool {
    BUILTINS[id as usize].on_trace == OnTrace::Repeatable
}

pub fn borrows_arguments(id: u32) -> bool {
    BUILTINS[id as usize].borrows
}

pub fn updates_arguments(id: u32) -> bool {
    BUILTINS[id as usize].updates_arguments
}

/// The library function that builtin `id` called with `argc` arguments stands for.
pub fn callback_form(id: u32, argc: usize) -> Option<&'static str> {
    BUILTINS[id as usize].callback_form.filter(|&(n, _)| n as usize == argc).map(|(_, library)| library)
}

pub fn lookup(name: &str) -> Option<u32> {
    BUILTINS.iter().position(|b| b.name == name).map(|i| i as u32)
}

/// Checks the argument count and calls builtin `id`. A call of a
/// [`OnTrace::FailsAfterEffect`] builtin that a trace made and that failed (its error kept
/// by [`call_from_trace`]) is made again by the interpreter at the trace's exit: this
/// second call raises the kept error instead of running.
/// Inlined into its callers (the interpreter's builtin call), leaving only the builtin's
/// own function to call.
#[inline]
pub fn call(id: u32, ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let builtin = &BUILTINS[id as usize];
    let count = args.len();
    if !builtin.accepts(count) {
        return Err(arity_error(builtin, count));
    }
    if builtin.on_trace == OnTrace::FailsAfterEffect {
        return call_unless_failure_kept(id, ctx, args);
    }
    (builtin.func)(ctx, args)
}

/// [`call`] of a [`OnTrace::FailsAfterEffect`] builtin: its kept error, or the call. Out
/// of line, so that the check costs other builtins' calls one comparison (inline, it made
/// `builtins::call` 8 instructions longer).
#[cold]
#[inline(never)]
fn call_unless_failure_kept(id: u32, ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    match take_failure_kept(id) {
        Some(error) => Err(error),
        None => (BUILTINS[id as usize].func)(ctx, args),
    }
}

/// [`call`] as a trace's `CallEffect` makes it: the error of a
/// [`OnTrace::FailsAfterEffect`] builtin is kept for the interpreter's call at the exit.
pub fn call_from_trace(id: u32, ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let result = call(id, ctx, args);
    if let Err(error) = &result {
        if BUILTINS[id as usize].on_trace == OnTrace::FailsAfterEffect {
            FAILURE_KEPT.with(|kept| kept.replace(Some((id, error.clone()))));
        }
    }
    result
}

thread_local! {
    /// The error of the last call a trace made of a builtin that failed after its effect,
    /// with that builtin, until the interpreter makes the call again (the trace's exit
    /// resumes at it, so that is the next call of the builtin).
    static FAILURE_KEPT: std::cell::RefCell<Option<(u32, String)>> = const { std::cell::RefCell::new(None) };
}

/// The kept error of builtin `id`'s call by a trace, taken (see [`call_from_trace`]).
fn take_failure_kept(id: u32) -> Option<String> {
    FAILURE_KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        match kept.take() {
            Some((builtin, error)) if builtin == id => Some(error),
            other => {
                *kept = other;
                None
            }
        }
    })
}

/// The error of a call of `builtin` with `count` arguments, which its row does not allow.
#[cold]
fn arity_error(builtin: &Builtin, count: usize) -> String {
    let expected = if builtin.min_args == builtin.max_args {
        builtin.min_args.to_string()
    } else if builtin.max_args == MANY {
        format!("at least {}", builtin.min_args)
    } else {
        format!("{} to {}", builtin.min_args, builtin.max_args)
    };
    format!("{} expects {} arguments, got {}", builtin.name, expected, count)
}
