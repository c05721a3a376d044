//! The semantics layer: each value operation of the language written once, generic over
//! an execution [`Domain`] (LANGUAGE.md sections 5 and 6). The interpreter runs these
//! functions on concrete values ([`Concrete`]); the trace recorder runs the very same
//! functions on traced values (`jit::record::tracing`), where every primitive step is also
//! recorded as IR. So the interpreter and the JIT cannot disagree about what `+`, `<`,
//! `==`, truthiness or unary `-` mean: there is no second copy to drift.
//!
//! What it owns: arithmetic (`+ - * / %` for every pair of operand kinds, int overflow and
//! division by zero as errors), ordering comparisons, equality, truthiness, negation and
//! `!` ([`operators`]); indexing, index assignment, field reads and writes and the
//! element and field access of nested writes, with the negative-index rule and
//! copy-on-write ([`containers`]); the steps of `for` loops and `range`'s bounds
//! ([`iteration`]); interpolation's `ToStr` and `Concat` ([`strings`]); the concrete
//! domain and the structural walk of `==` on containers ([`concrete`]). The primitives themselves (checked int arithmetic, float arithmetic,
//! float equality with its epsilon, string concatenation) are `runtime::ops`.
//!
//! The Domain contract:
//! - A domain has a value type and one type per kind of payload (int, float, bool,
//!   string, array, dict). [`Domain::kind`] answers what kind a value is, with its
//!   payload: the concrete domain reads the tag; the tracing domain reads the IR type (traces are typed, and every
//!   value is guarded on its type where it is loaded), and would record a guard for a kind
//!   question its types cannot answer. Every operator raises on `Kind::Undefined`.
//! - A *primitive* (int add with its overflow check, int to float, float compare, string
//!   equality, ...) is computed directly by the concrete domain. The tracing domain both
//!   computes it on the concrete values it carries (through the concrete domain, so the
//!   decisions the operation makes next are the interpreter's) and records it as one IR op.
//! - Errors: an operation that raises returns [`Domain::fail`]'s error. The concrete domain
//!   returns the marker `Failed` (the `ops::OpError` raised waits aside until the
//!   interpreter renders its text); the tracing domain ends the recording, so the
//!   interpreter raises the error itself at the right line. A primitive the tracing domain
//!   has no IR for ends the recording with the reason why.
//!
//! - A decision on a computed condition goes through [`Domain::decide`] (the tracing
//!   domain records a guard). A fast-path primitive of [`Containers`] is recorded only
//!   when it applies (see there).
//!
//! Invariants: operations decide only through `kind`, `decide` and primitives, never by
//! looking at a domain's values directly; the concrete domain never fails where the runtime raises no
//! error; the interpreter's fast paths are these functions monomorphized for [`Concrete`]
//! and inlined (`#[inline(always)]` on the common cases, `#[inline(never)]` on the rest),
//! not hand-written copies.
//!
//! Adding an operation: write it in [`operators`] against `Domain`; a new primitive it needs
//! becomes a `Domain` method, implemented by [`Concrete`] (its meaning) and by the tracing
//! domain (its IR); the interpreter and the recorder then call the one function.

pub mod concrete;
pub mod containers;
pub mod iteration;
pub mod operators;
pub mod strings;

pub use concrete::{assign_field, assign_index, get_index, is_truthy, values_equal, Concrete, Failed};
pub use containers::{field_for_write, field_into, index_for_write, index_into, set_field, set_index};
pub use iteration::{iteration_source, next_item, range_bounds, range_next};
pub use operators::{arith, arith_numbers, compare, comparison, equal, negate, not, not_equal, truthy};
pub use strings::{join, text_of, Texts};

use crate::runtime::ops::{ArithOp, CmpOp, OpError};
use crate::runtime::symbol::Symbol;

/// A comparison's operation: an ordering (the runtime's `CmpOp`) or (in)equality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Order(CmpOp),
    Equal,
    NotEqual,
}

/// What kind of value a domain value is, with the payload the operations compute on.
pub enum Kind<D: Domain + ?Sized> {
    Null,
    Bool(D::Bool),
    Int(D::Int),
    Float(D::Float),
    Str(D::Str),
    Array(D::Array),
    Dict(D::Dict),
    Struct(D::Struct),
    Tagged,
    Func,
    /// A builtin function, by its index in `builtins::BUILTINS` (traces hold builtins only
    /// as constants, so both domains know which).
    Builtin(u32),
    /// A value no operator accepts: a global not assigned yet (never an operand, since
    /// reading it raises first), or in the tracing domain a value whose concrete value the
    /// recording does not have (a string built by the operation itself).
    Undefined,
}

/// An execution domain: the values operations run on and the primitive steps they are
/// built from (see the module header for the contract).
pub trait Domain {
    type Value: Copy;
    type Int: Copy;
    type Float: Copy;
    type Bool: Copy;
    type Str: Copy;
    type Array: Copy;
    type Dict: Copy;
    type Struct: Copy;
    /// Why an operation did not produce a value.
    type Error;

    /// The kind of `v`, with its payload.
    fn kind(&mut self, v: Self::Value) -> Kind<Self>;
    /// The type name error messages use (`Value::type_name`).
    fn type_name(&self, v: Self::Value) -> &'static str;
    /// The error of an operation that raises `error`.
    fn fail(&mut self, error: OpError) -> Self::Error;

    fn int_value(&mut self, x: Self::Int) -> Self::Value;
    fn float_value(&mut self, x: Self::Float) -> Self::Value;
    fn bool_value(&mut self, x: Self::Bool) -> Self::Value;
    fn bool_constant(&mut self, b: bool) -> Self::Bool;
    fn int_constant(&mut self, i: i64) -> Self::Int;
    /// Which way a condition goes, for an operation that takes one path or the other on
    /// it. The tracing domain records a guard that it goes that way again.
    fn decide(&mut self, condition: Self::Bool) -> bool;

    /// Checked int arithmetic: overflow and a zero divisor raise.
    fn int_arith(&mut self, op: ArithOp, a: Self::Int, b: Self::Int) -> Result<Self::Int, Self::Error>;
    /// `-a`; `-i64::MIN` overflows.
    fn int_negate(&mut self, a: Self::Int) -> Result<Self::Int, Self::Error>;
    fn int_compare(&mut self, op: Comparison, a: Self::Int, b: Self::Int) -> Self::Bool;
    /// `a != 0`.
    fn int_truthy(&mut self, a: Self::Int) -> Self::Bool;
    fn int_to_float(&mut self, a: Self::Int) -> Self::Float;

    /// IEEE float arithmetic, except that a zero divisor raises.
    fn float_arith(&mut self, op: ArithOp, a: Self::Float, b: Self::Float) -> Result<Self::Float, Self::Error>;
    fn float_negate(&mut self, a: Self::Float) -> Self::Float;
    /// Orderings are IEEE (false with NaN); (in)equality is `ops::floats_equal`'s.
    fn float_compare(&mut self, op: Comparison, a: Self::Float, b: Self::Float) -> Self::Bool;
    /// `a != 0.0`.
    fn float_truthy(&mut self, a: Self::Float) -> Self::Bool;

    fn bool_equal(&mut self, a: Self::Bool, b: Self::Bool) -> Self::Bool;
    fn bool_not(&mut self, a: Self::Bool) -> Self::Bool;

    fn str_equal(&mut self, a: Self::Str, b: Self::Str) -> Self::Bool;
    /// Ordering of strings (byte-wise, which is code-point order for UTF-8).
    fn str_order(&mut self, op: CmpOp, a: Self::Str, b: Self::Str) -> Result<Self::Bool, Self::Error>;
    fn str_byte_length(&mut self, a: Self::Str) -> Self::Int;

    fn array_length(&mut self, a: Self::Array) -> Self::Int;
    /// The number of entries of dict `d`.
    fn dict_length(&mut self, d: Self::Dict) -> Result<Self::Int, Self::Error>;
    /// `==` on two arrays, two dicts, two structs, two enum values or two functions: by
    /// contents (identity for functions).
    fn contents_equal(&mut self, a: Self::Value, b: Self::Value) -> Result<Self::Bool, Self::Error>;
}

/// A domain that can also build new objects (string concatenation). Which of the two
/// ways `a + b` is made is decided once, by [`operators::str_add`].
pub trait Allocating: Domain {
    /// Whether `b`'s text may be appended to `a` itself (`ops::can_append_in_place`:
    /// nothing else holds `a`, and `b` is not `a`). The tracing domain answers from the
    /// concrete values and records nothing: `str_append`'s op guards the same condition.
    fn str_appendable(&mut self, a: Self::Str, b: Self::Str) -> bool;
    /// `b`'s text appended to `a` in place (where `str_appendable` holds); the result is `a`.
    fn str_append(&mut self, a: Self::Str, b: Self::Str) -> Result<Self::Value, Self::Error>;
    /// A new string of `a`'s text and then `b`'s.
    fn str_concat(&mut self, a: Self::Str, b: Self::Str) -> Result<Self::Value, Self::Error>;
}

/// A domain that reads and writes containers and struct fields ([`containers`]). Positions here are
/// resolved already (never negative: [`containers::position`] resolves an index). A
/// primitive answering `bool` or `Option` says whether it applied; one that did not has
/// no effect, and the operation goes on by its general path (which the tracing domain
/// guards), so a domain may record such a primitive only when it applies.
pub trait Containers: Allocating {
    /// Element `at` of `a` into `out`, when `0 <= at < length`.
    fn array_get(&mut self, a: Self::Array, at: Self::Int, out: &mut Self::Value) -> Result<bool, Self::Error>;
    /// `a[at] := value` in place, when `a` is not shared and `0 <= at < length`.
    fn array_store(&mut self, a: Self::Array, at: Self::Int, value: Self::Value) -> Result<bool, Self::Error>;
    /// Element `at` of `a` into `out` for a write through it, when neither `a` nor the
    /// element is shared and `0 <= at < length` (nothing needs a copy).
    fn array_get_for_write(
        &mut self,
        a: Self::Array,
        at: Self::Int,
        out: &mut Self::Value,
    ) -> Result<bool, Self::Error>;
    /// `a`, private to its holder: `a` itself when not shared, else a copy (whose elements
    /// become shared: two arrays hold them).
    fn array_unique(&mut self, a: Self::Array) -> Result<Self::Array, Self::Error>;
    /// Element `at` of the private array `a` into `out` for a write through it, made
    /// private in place first when it is a container; when `0 <= at < length`.
    fn array_element_unique(
        &mut self,
        a: Self::Array,
        at: Self::Int,
        out: &mut Self::Value,
    ) -> Result<bool, Self::Error>;
    fn array_value(&mut self, a: Self::Array) -> Self::Value;
    /// The error of index `i` (as written) outside the sequence.
    fn out_of_bounds(&mut self, i: Self::Int) -> Self::Error;

    /// `s[i]`: the character at index `i` (resolved by [`containers::position`] against
    /// the length in characters) as a one-character string; raises out of bounds.
    fn str_index(&mut self, s: Self::Str, i: Self::Int) -> Result<Self::Value, Self::Error>;

    /// The entry of `x` under `key` (a string or an int) into `out`; raises when missing.
    fn dict_get(&mut self, x: Self::Dict, key: Self::Value, out: &mut Self::Value) -> Result<(), Self::Error>;
    /// `x`, private to its holder (a copy when shared).
    fn dict_unique(&mut self, x: Self::Dict) -> Result<Self::Dict, Self::Error>;
    /// `x[key] := value` on the private dict `x`, inserting or replacing the entry (a
    /// string key becomes shared: the dict holds it too).
    fn dict_insert(&mut self, x: Self::Dict, key: Self::Value, value: Self::Value) -> Result<(), Self::Error>;
    /// The entry of the private dict `x` under `key` (read into `out` already) for a write
    /// through it: made private in place when it is a container, into `out`.
    fn dict_element_unique(
        &mut self,
        x: Self::Dict,
        key: Self::Value,
        out: &mut Self::Value,
    ) -> Result<(), Self::Error>;
    fn dict_value(&mut self, x: Self::Dict) -> Self::Value;

    /// Marks an object read out of a container shared (the container still holds it).
    fn mark_shared(&mut self, v: &Self::Value);

    /// Field `name` of `s` into `out`, looked for at position `guess` first (an inline
    /// cache's answer); where it was, or `None` when `s` has no such field.
    fn struct_field(
        &mut self,
        s: Self::Struct,
        name: Symbol,
        guess: usize,
        out: &mut Self::Value,
    ) -> Result<Option<usize>, Self::Error>;
    /// Whether `s` is shared (a read out of it must then mark the value). `true` is
    /// always a safe answer: it only makes the read mark.
    fn struct_is_shared(&mut self, s: Self::Struct) -> bool;
    /// Whether `s` has field `name` (the access that follows checks it again).
    fn struct_has_field(&mut self, s: Self::Struct, name: Symbol) -> bool;
    /// `s.name := value` in place, when `s` is not shared and has the field (found at
    /// `guess` first); where it was.
    fn struct_store(
        &mut self,
        s: Self::Struct,
        name: Symbol,
        guess: usize,
        value: Self::Value,
    ) -> Result<Option<usize>, Self::Error>;
    /// `s`, private to its holder (a copy when shared, whose fields become shared).
    fn struct_unique(&mut self, s: Self::Struct) -> Result<Self::Struct, Self::Error>;
    /// `s.name := value` on the private struct `s` (adding the field when it has none);
    /// the struct now holding it.
    fn struct_set(&mut self, s: Self::Struct, name: Symbol, value: Self::Value) -> Result<Self::Struct, Self::Error>;
    /// Field `name` (which it has) of the private struct `s` into `out` for a write
    /// through it: made private in place first when it is a container.
    fn struct_field_unique(&mut self, s: Self::Struct, name: Symbol, out: &mut Self::Value) -> Result<(), Self::Error>;
    fn struct_value(&mut self, s: Self::Struct) -> Self::Value;

    /// Whether a loop goes round again (`ForNext`, `ForRangeNext`): [`Domain::decide`]
    /// for a loop's test, which the tracing domain records as the loop's own guard.
    fn loop_test(&mut self, more: Self::Bool) -> bool;
    /// A float count of `for i in f`, truncated toward zero.
    fn float_to_int(&mut self, f: Self::Float) -> Result<Self::Int, Self::Error>;
    /// The keys of `x` as a new array of strings (which become shared: the dict holds
    /// them too), what `for k in dict` iterates.
    fn dict_keys(&mut self, x: Self::Dict) -> Result<Self::Value, Self::Error>;
    /// The character of `s` starting at byte `at` (before the end) as a new string into
    /// `item`; returns its width in bytes.
    fn str_char_at_byte(
        &mut self,
        s: Self::Str,
        at: Self::Int,
        item: &mut Self::Value,
    ) -> Result<Self::Int, Self::Error>;
    /// `current + step`, or `stop` when that overflows (a range's last step).
    fn range_advance(&mut self, current: Self::Int, step: Self::Int, stop: Self::Int)
        -> Result<Self::Int, Self::Error>;
}
