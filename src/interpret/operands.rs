//! The operand paths of the dispatch loop that are not slot moves: int and float
//! arithmetic inline (`fast_arith`), everything else out of line (`arith_slow`,
//! `compare_slow`, `equal_slow`), and the next element of a `for` loop.
//!
//! The split keeps each handler of the dispatch loop a few machine instructions: the fast
//! path is inlined, and every other case (mixed types, strings, errors) calls out.

use super::Vm;
use crate::runtime::access;
use crate::runtime::ops::{self, ArithOp, CmpOp};
use crate::runtime::value::Value;

/// `a op b` when both are ints (and the checked operation succeeds) or both floats (and
/// no zero divisor); `None` sends the operation to the slow path, which also reports
/// every error.
#[inline(always)]
pub(super) fn fast_arith(op: ArithOp, a: &Value, b: &Value) -> Option<Value> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let (x, y) = (*x, *y);
            let result = match op {
                ArithOp::Add => x.checked_add(y),
                ArithOp::Sub => x.checked_sub(y),
                ArithOp::Mul => x.checked_mul(y),
                ArithOp::Div => x.checked_div(y),
                ArithOp::Mod => x.checked_rem(y),
            };
            result.map(Value::Int)
        }
        (Value::Float(x), Value::Float(y)) => {
            let (x, y) = (*x, *y);
            match op {
                ArithOp::Add => Some(Value::Float(x + y)),
                ArithOp::Sub => Some(Value::Float(x - y)),
                ArithOp::Mul => Some(Value::Float(x * y)),
                ArithOp::Div | ArithOp::Mod if y == 0.0 => None,
                ArithOp::Div => Some(Value::Float(x / y)),
                ArithOp::Mod => Some(Value::Float(x % y)),
            }
        }
        _ => None,
    }
}

#[inline(never)]
pub(super) fn compare_slow(op: CmpOp, a: Value, b: Value) -> Result<bool, String> {
    ops::compare(op, a, b)
}

#[inline(never)]
pub(super) fn equal_slow(a: Value, b: Value) -> bool {
    // Two strings need none of `values_equal`'s setup for nested values.
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y || x.same_text(&y),
        _ => ops::values_equal(a, b),
    }
}

impl Vm {
    /// Arithmetic on anything but two ints or two floats (or when those fail).
    #[inline(never)]
    pub(super) fn arith_slow(&mut self, op: ArithOp, a: Value, b: Value, reuse_lhs: bool) -> Result<Value, String> {
        ops::arith(&mut self.heap, op, a, b, reuse_lhs)
    }

    /// The next element of a `for` loop, advancing `position`; `None` at the end.
    pub(super) fn next_element(&mut self, source: Value, position: &mut i64) -> Option<Value> {
        match source {
            Value::Array(a) => {
                let item = *a.items.get(*position as usize)?;
                item.mark_shared();
                *position += 1;
                Some(item)
            }
            Value::Int(n) => {
                if *position >= n {
                    return None;
                }
                *position += 1;
                Some(Value::Int(*position - 1))
            }
            Value::Str(s) => access::next_char(&mut self.heap, &s, position),
            _ => None,
        }
    }
}
