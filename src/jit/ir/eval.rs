//! The reference evaluator: what each pure scalar op computes on concrete values, written
//! with the runtime's own definitions (the operators of `semantics` on concrete values,
//! the primitives of `runtime::ops`,
//! `Value::as_number`, the math builtins' `builtins::math::float` functions). Constant
//! folding computes with it (`opt/fold.rs`), and a property test holds the backend's code
//! for each of these ops against it on edge and random inputs (`assemble/tests/evaluator.rs`).
//!
//! Terms: a *pure scalar op* reads only int, float and bool operands and touches no
//! memory: arithmetic, the bit operations, conversions, comparisons, `NOT`, `TRUTHY`, the math functions and
//! the `GTRUE`/`GFALSE` guards. Its [`Outcome`] is a value, nothing (a guard that holds),
//! or an exit (a guard whose check fails: overflow, zero divisor, a math domain error, a
//! guarded condition that does not hold). `SEQ` (string `==`) is evaluated too: it reads
//! only the texts of its operands, which never change, so it is as pure (constant folding
//! never meets it: string constants are not folded).
//!
//! Invariant: `eval` returns `None` exactly for ops that are neither pure scalar ops nor
//! `SEQ`.

use super::{MathFn, Op};
use crate::builtins::math::{self, float, BitOp};
use crate::runtime::ops::{self, ArithOp, CmpOp};
use crate::runtime::value::Value;
use crate::semantics::{self, Concrete};

/// What a pure scalar op does.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// It produces this value.
    Value(Value),
    /// A guard whose check holds; no value.
    Continues,
    /// A guard whose check fails: the trace exits.
    Exits,
}

/// The outcome of `op` on `args` (its operands' values, in operand order), or `None` when
/// `op` is not a pure scalar op. Panics when an argument has a type the op's row forbids.
pub fn eval(op: &Op, args: &[Value]) -> Option<Outcome> {
    let int = |n: usize| match args[n] {
        Value::Int(i) => i,
        other => panic!("{} operand {} is a {}, not an int", op.name(), n, other.type_name()),
    };
    let number = |n: usize| args[n].as_number().unwrap_or_else(|| panic!("{} operand {} is no number", op.name(), n));
    fn value_or_exit<E>(result: Result<Value, E>) -> Outcome {
        match result {
            Ok(v) => Outcome::Value(v),
            Err(_) => Outcome::Exits,
        }
    }
    Some(match *op {
        Op::AddInt(..) | Op::SubInt(..) | Op::MulInt(..) | Op::DivInt(..) | Op::ModInt(..) => {
            value_or_exit(ops::int_arith(arith_op(op), int(0), int(1)).map(Value::Int))
        }
        Op::AddFloat(..) | Op::SubFloat(..) | Op::MulFloat(..) | Op::DivFloat(..) | Op::ModFloat(..) => {
            value_or_exit(ops::float_arith(arith_op(op), number(0), number(1)).map(Value::Float))
        }
        Op::AddIntExact(..) => Outcome::Value(Value::Int(int(0).wrapping_add(int(1)))),
        Op::SubIntExact(..) => Outcome::Value(Value::Int(int(0).wrapping_sub(int(1)))),
        Op::NegInt(_) | Op::NegFloat(_) => value_or_exit(semantics::negate(&mut Concrete::pure(), args[0])),
        Op::BitAnd(..) | Op::BitOr(..) | Op::BitXor(..) | Op::BitNot(_) | Op::ShiftLeft(..) | Op::ShiftRight(..) => {
            let other = if args.len() > 1 { int(1) } else { 0 };
            match bit_op(op).apply(int(0), other) {
                Some(result) => Outcome::Value(Value::Int(result)),
                None => Outcome::Exits,
            }
        }
        Op::IntToFloat(_) => Outcome::Value(Value::Float(number(0))),
        Op::NotBool(_) => value_or_exit(semantics::not(&mut Concrete::pure(), args[0])),
        Op::TruthyInt(_) | Op::TruthyFloat(_) => Outcome::Value(Value::Bool(args[0].is_truthy())),
        // Function identity has no scalar meaning.
        Op::EqRef(..) => return None,
        // `==` of two strings: the interpreter's, which reads their immutable texts.
        Op::SEq(..) => Outcome::Value(Value::Bool(semantics::values_equal(args[0], args[1]))),
        // The other conditions compare two numbers or bools.
        _ if op.is_condition() => Outcome::Value(Value::Bool(compare(op, args[0], args[1]))),
        Op::GuardTrue(_) | Op::GuardFalse(_) => {
            if args[0].is_truthy() == matches!(op, Op::GuardTrue(_)) {
                Outcome::Continues
            } else {
                Outcome::Exits
            }
        }
        Op::Math1(function, _) => match math_1(function, number(0)) {
            Some(x) => Outcome::Value(Value::Float(x)),
            None => Outcome::Exits,
        },
        Op::Math2(function, ..) => {
            let f = match function {
                MathFn::Pow => float::POW,
                MathFn::Min => float::MIN,
                MathFn::Max => float::MAX,
                other => panic!("MATH {} takes one argument", other.name()),
            };
            Outcome::Value(Value::Float(f(number(0), number(1))))
        }
        _ => return None,
    })
}

/// A one-argument math function, `None` outside its domain (a Ruff error).
fn math_1(function: MathFn, x: f64) -> Option<f64> {
    Some(match function {
        MathFn::Abs => float::ABS(x),
        MathFn::Sqrt => return math::checked_sqrt(x),
        MathFn::Floor => float::FLOOR(x),
        MathFn::Ceil => float::CEIL(x),
        MathFn::Round => float::ROUND(x),
        MathFn::Sin => float::SIN(x),
        MathFn::Cos => float::COS(x),
        MathFn::Tan => float::TAN(x),
        MathFn::Exp => float::EXP(x),
        MathFn::Log => return math::checked_log(x),
        MathFn::Pow | MathFn::Min | MathFn::Max => panic!("MATH {} takes two arguments", function.name()),
    })
}

/// The bit builtin a bit op computes.
fn bit_op(op: &Op) -> BitOp {
    match op {
        Op::BitAnd(..) => BitOp::And,
        Op::BitOr(..) => BitOp::Or,
        Op::BitXor(..) => BitOp::Xor,
        Op::BitNot(_) => BitOp::Not,
        Op::ShiftLeft(..) => BitOp::Shl,
        _ => BitOp::Shr,
    }
}

/// The runtime operator of an int or float arithmetic op.
pub fn arith_op(op: &Op) -> ArithOp {
    match op {
        Op::AddInt(..) | Op::AddFloat(..) => ArithOp::Add,
        Op::SubInt(..) | Op::SubFloat(..) => ArithOp::Sub,
        Op::MulInt(..) | Op::MulFloat(..) => ArithOp::Mul,
        Op::DivInt(..) | Op::DivFloat(..) => ArithOp::Div,
        _ => ArithOp::Mod,
    }
}

/// A comparison op on two values, by the interpreter's definitions.
fn compare(op: &Op, a: Value, b: Value) -> bool {
    let ordering = match op {
        Op::LtInt(..) | Op::LtFloat(..) => CmpOp::Lt,
        Op::LeInt(..) | Op::LeFloat(..) => CmpOp::Le,
        Op::GtInt(..) | Op::GtFloat(..) => CmpOp::Gt,
        Op::GeInt(..) | Op::GeFloat(..) => CmpOp::Ge,
        Op::EqInt(..) | Op::EqFloat(..) | Op::EqBool(..) => return semantics::values_equal(a, b),
        _ => return !semantics::values_equal(a, b),
    };
    semantics::compare(&mut Concrete::pure(), ordering, a, b).expect("numbers are always ordered-comparable")
}
