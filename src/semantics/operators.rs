//! The operators, each defined once over any [`Domain`]: arithmetic, ordering comparisons,
//! equality, truthiness, unary minus and `!` (LANGUAGE.md sections 5 and 6).
//!
//! Rules: int with int stays int (checked: overflow and a zero divisor raise); any other
//! pair of numbers is float arithmetic on the int converted (a zero divisor raises); `+`
//! concatenates two strings; anything else is "Invalid binary operation". Orderings
//! compare numbers (mixed int and float) and strings. `==` never fails: numbers compare
//! by value (floats with an epsilon), values of different kinds are unequal, containers
//! compare by contents. Truthiness: false, null, 0, 0.0, "" and empty arrays and dicts
//! are false; everything else is true.
//!
//! Shape: the cases the interpreter runs most (two ints, two floats, int orderings and
//! equality, null equality) are `#[inline(always)]`; the rest is a function of its own,
//! `#[inline(never)]`, so a concrete handler stays a few machine instructions.

use super::{Allocating, Comparison, Domain, Kind};
use crate::runtime::ops::{ArithOp, CmpOp, OpError};

#[inline(always)]
fn kinds<D: Domain>(d: &mut D, a: D::Value, b: D::Value) -> (Kind<D>, Kind<D>) {
    (d.kind(a), d.kind(b))
}

/// A float and a number as two floats (an int converted), or both kinds back otherwise.
/// Two ints never come here: the inline cases computed them as ints.
#[allow(clippy::type_complexity)]
fn as_floats<D: Domain>(d: &mut D, ka: Kind<D>, kb: Kind<D>) -> Result<(D::Float, D::Float), (Kind<D>, Kind<D>)> {
    Ok(match (ka, kb) {
        (Kind::Float(x), Kind::Float(y)) => (x, y),
        (Kind::Int(x), Kind::Float(y)) => (d.int_to_float(x), y),
        (Kind::Float(x), Kind::Int(y)) => (x, d.int_to_float(y)),
        other => return Err(other),
    })
}

fn invalid_binary<D: Domain>(d: &mut D, symbol: &'static str, a: D::Value, b: D::Value) -> D::Error {
    let (a, b) = (d.type_name(a), d.type_name(b));
    d.fail(OpError::InvalidBinary { symbol, a, b })
}

fn invalid_unary<D: Domain>(d: &mut D, symbol: &'static str, v: D::Value) -> D::Error {
    let operand = d.type_name(v);
    d.fail(OpError::InvalidUnary { symbol, operand })
}

fn undefined<D: Domain>(d: &mut D) -> D::Error {
    d.fail(OpError::Undefined)
}

/// `a op b` when both operands are ints or both floats (the pairs the interpreter computes
/// inline); `Ok(None)` for every other pair, which [`arith`] handles.
#[inline(always)]
pub fn arith_numbers<D: Domain>(
    d: &mut D,
    op: ArithOp,
    a: D::Value,
    b: D::Value,
) -> Result<Option<D::Value>, D::Error> {
    Ok(Some(match kinds(d, a, b) {
        (Kind::Int(x), Kind::Int(y)) => {
            let r = d.int_arith(op, x, y)?;
            d.int_value(r)
        }
        (Kind::Float(x), Kind::Float(y)) => {
            let r = d.float_arith(op, x, y)?;
            d.float_value(r)
        }
        _ => return Ok(None),
    }))
}

/// `a op b` for every operand pair. `reuse_lhs`: the caller overwrites the left operand's
/// holder with the result (`s := s + t`), so a string may grow in place.
pub fn arith<D: Allocating>(
    d: &mut D,
    op: ArithOp,
    a: D::Value,
    b: D::Value,
    reuse_lhs: bool,
) -> Result<D::Value, D::Error> {
    if let Some(v) = arith_numbers(d, op, a, b)? {
        return Ok(v);
    }
    let (ka, kb) = kinds(d, a, b);
    match as_floats(d, ka, kb) {
        Ok((x, y)) => {
            let r = d.float_arith(op, x, y)?;
            Ok(d.float_value(r))
        }
        Err((Kind::Str(x), Kind::Str(y))) if op == ArithOp::Add => str_add(d, x, y, reuse_lhs),
        Err(_) => Err(invalid_binary(d, op.symbol(), a, b)),
    }
}

/// `a + b` on strings: appended to `a` in place when `reuse_lhs` (the caller overwrites
/// `a`'s holder with the result) and `Allocating::str_appendable` allow, else a new
/// string. The one place that chooses (interpolation's `Concat` joins through it too).
#[inline(always)]
pub fn str_add<D: Allocating>(d: &mut D, a: D::Str, b: D::Str, reuse_lhs: bool) -> Result<D::Value, D::Error> {
    if reuse_lhs && d.str_appendable(a, b) {
        d.str_append(a, b)
    } else {
        d.str_concat(a, b)
    }
}

/// `a op b` for an ordering `op`: numbers (mixed int and float) and strings.
#[inline(always)]
pub fn compare<D: Domain>(d: &mut D, op: CmpOp, a: D::Value, b: D::Value) -> Result<D::Bool, D::Error> {
    if let (Kind::Int(x), Kind::Int(y)) = kinds(d, a, b) {
        return Ok(d.int_compare(Comparison::Order(op), x, y));
    }
    compare_other(d, op, a, b)
}

#[inline(never)]
fn compare_other<D: Domain>(d: &mut D, op: CmpOp, a: D::Value, b: D::Value) -> Result<D::Bool, D::Error> {
    let (ka, kb) = kinds(d, a, b);
    match as_floats(d, ka, kb) {
        Ok((x, y)) => Ok(d.float_compare(Comparison::Order(op), x, y)),
        Err((Kind::Str(x), Kind::Str(y))) => d.str_order(op, x, y),
        Err(_) => Err(invalid_binary(d, op.symbol(), a, b)),
    }
}

/// `a == b`; never fails in the concrete domain.
#[inline(always)]
pub fn equal<D: Domain>(d: &mut D, a: D::Value, b: D::Value) -> Result<D::Bool, D::Error> {
    equality(d, false, a, b)
}

/// `a != b`, the negation of [`equal`].
#[inline(always)]
pub fn not_equal<D: Domain>(d: &mut D, a: D::Value, b: D::Value) -> Result<D::Bool, D::Error> {
    equality(d, true, a, b)
}

/// Any comparison instruction's operation.
#[inline(always)]
pub fn comparison<D: Domain>(d: &mut D, op: Comparison, a: D::Value, b: D::Value) -> Result<D::Bool, D::Error> {
    match op {
        Comparison::Order(o) => compare(d, o, a, b),
        Comparison::Equal => equal(d, a, b),
        Comparison::NotEqual => not_equal(d, a, b),
    }
}

#[inline(always)]
fn negated_if<D: Domain>(d: &mut D, negated: bool, equal: D::Bool) -> D::Bool {
    if negated {
        d.bool_not(equal)
    } else {
        equal
    }
}

/// Two ints and a null are inlined into the callers; everything else is `equality_other`,
/// out of line. (Two strings inlined too made the interpreter's dispatch loop compile
/// worse: every dispatch reloaded the code pointer, loop_sum +1.3% instructions.)
#[inline(always)]
fn equality<D: Domain>(d: &mut D, negated: bool, a: D::Value, b: D::Value) -> Result<D::Bool, D::Error> {
    let op = if negated { Comparison::NotEqual } else { Comparison::Equal };
    match kinds(d, a, b) {
        (Kind::Int(x), Kind::Int(y)) => Ok(d.int_compare(op, x, y)),
        (Kind::Null, other) | (other, Kind::Null) => {
            let equal = d.bool_constant(matches!(other, Kind::Null));
            Ok(negated_if(d, negated, equal))
        }
        _ => equality_other(d, negated, a, b),
    }
}

#[inline(never)]
fn equality_other<D: Domain>(d: &mut D, negated: bool, a: D::Value, b: D::Value) -> Result<D::Bool, D::Error> {
    // Strings first: a parser compares with string constants all the time.
    let (ka, kb) = match kinds(d, a, b) {
        (Kind::Str(x), Kind::Str(y)) => {
            let equal = d.str_equal(x, y);
            return Ok(negated_if(d, negated, equal));
        }
        pair => pair,
    };
    let equal = match as_floats(d, ka, kb) {
        Ok((x, y)) => {
            let op = if negated { Comparison::NotEqual } else { Comparison::Equal };
            return Ok(d.float_compare(op, x, y));
        }
        Err(pair) => pair,
    };
    let equal = match equal {
        (Kind::Bool(x), Kind::Bool(y)) => d.bool_equal(x, y),
        (Kind::Builtin(x), Kind::Builtin(y)) => d.bool_constant(x == y),
        (Kind::Array(_), Kind::Array(_))
        | (Kind::Dict(_), Kind::Dict(_))
        | (Kind::Struct(_), Kind::Struct(_))
        | (Kind::Tagged, Kind::Tagged)
        | (Kind::Func, Kind::Func) => d.contents_equal(a, b)?,
        (Kind::Undefined, _) | (_, Kind::Undefined) => return Err(undefined(d)),
        // Values of different kinds (numbers aside) are never equal.
        _ => d.bool_constant(false),
    };
    Ok(negated_if(d, negated, equal))
}

/// Whether `v` counts as true in a condition.
#[inline(always)]
pub fn truthy<D: Domain>(d: &mut D, v: D::Value) -> Result<D::Bool, D::Error> {
    Ok(match d.kind(v) {
        Kind::Bool(b) => b,
        Kind::Null => d.bool_constant(false),
        Kind::Undefined => return Err(undefined(d)),
        Kind::Int(i) => d.int_truthy(i),
        Kind::Float(f) => d.float_truthy(f),
        Kind::Str(s) => {
            let length = d.str_byte_length(s);
            d.int_truthy(length)
        }
        Kind::Array(a) => {
            let length = d.array_length(a);
            d.int_truthy(length)
        }
        Kind::Dict(x) => {
            let length = d.dict_length(x)?;
            d.int_truthy(length)
        }
        Kind::Struct(_) | Kind::Tagged | Kind::Func | Kind::Builtin(_) => d.bool_constant(true),
    })
}

/// Unary `-`: numbers only.
pub fn negate<D: Domain>(d: &mut D, v: D::Value) -> Result<D::Value, D::Error> {
    match d.kind(v) {
        Kind::Int(i) => {
            let r = d.int_negate(i)?;
            Ok(d.int_value(r))
        }
        Kind::Float(f) => {
            let r = d.float_negate(f);
            Ok(d.float_value(r))
        }
        _ => Err(invalid_unary(d, "-", v)),
    }
}

/// `!`: bools only.
pub fn not<D: Domain>(d: &mut D, v: D::Value) -> Result<D::Value, D::Error> {
    match d.kind(v) {
        Kind::Bool(b) => {
            let r = d.bool_not(b);
            Ok(d.bool_value(r))
        }
        _ => Err(invalid_unary(d, "!", v)),
    }
}
