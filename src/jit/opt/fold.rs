//! FOLD: constant folding and algebraic simplification, one instruction at a time.
//!
//! An op whose operands are all constants is computed by the reference evaluator
//! (`ir::eval`), which is written with the runtime's own operator definitions, so the JIT
//! and the interpreter share one definition of each operation. Every rule is exact under
//! Ruff's semantics:
//! - an int operation whose check would fail (overflow, zero divisor, `MIN / -1`) is not
//!   folded: the guard stays, exits at run time and the interpreter raises the error;
//! - int identities `x + 0`, `0 + x`, `x - 0`, `x * 1`, `1 * x`, `x / 1` are `x` and
//!   `x * 0`, `0 * x` are `0`: none of them can fail, so their guard goes too;
//! - float identities only where IEEE gives `x` bit for bit: `x * 1.0`, `x / 1.0`,
//!   `x - 0.0` and `x + -0.0`. Not `x + 0.0` (`-0.0 + 0.0` is `0.0`) and not `x * 0.0`
//!   (`-0.0`, NaN);
//! - int comparisons of a value with itself fold (not float ones: NaN);
//! - `NOT NOT x` is `x`; guards on constants that hold disappear; a guard on `NOT c` becomes
//!   the opposite guard on `c`. A guard on a constant that fails stays (it exits at once,
//!   as a failing overflow check does).
//!
//! Math builtins are not folded (yet): the evaluator could, but it would change traces.

use super::emit::{rewrite, Stages};
use crate::jit::ir::eval::{arith_op, eval, Outcome};
use crate::jit::ir::{InstIdx, Op, Trace};
use crate::runtime::ops::ArithOp;
use crate::runtime::value::Value;

/// What folding made of one instruction.
pub(super) enum Folded {
    /// Nothing to simplify: emit the op as is.
    Keep,
    /// Emit this simpler op instead (fold it again first).
    Rewrite(Op),
    /// The instruction equals an existing value: emit nothing.
    Value(InstIdx),
    /// A guard that always passes: emit nothing.
    Remove,
}

/// The fold pass: every instruction of `trace` simplified in place of itself.
pub fn fold(trace: &Trace) -> Trace {
    rewrite(trace, Stages::FOLD)
}

/// Simplifies `op`, whose operands refer to instructions of `trace`.
pub(super) fn simplify(trace: &Trace, op: &Op) -> Folded {
    // All operands constant: the reference evaluator computes the outcome. Math functions
    // are left as they were before the evaluator existed (folding them would be exact, but
    // would change the traces this refactoring keeps as they were).
    if !matches!(op, Op::Math1(..) | Op::Math2(..)) {
        let operands = op.operands();
        let constants: Option<Vec<Value>> = operands.iter().map(|&o| constant_value(&trace.inst(o).op)).collect();
        if let (false, Some(args)) = (operands.is_empty(), constants) {
            match eval(op, &args) {
                Some(Outcome::Value(v)) => return Folded::Rewrite(constant_op(v)),
                Some(Outcome::Continues) => return Folded::Remove,
                // The guard stays: it exits at run time and the interpreter raises the error.
                Some(Outcome::Exits) => return Folded::Keep,
                None => {}
            }
        }
    }
    let int = |i: InstIdx| match trace.inst(i).op {
        Op::KInt(v) => Some(v),
        _ => None,
    };
    let float = |i: InstIdx| match trace.inst(i).op {
        Op::KFloat(v) => Some(v),
        _ => None,
    };
    let is_int = |i: InstIdx, k: i64| int(i) == Some(k);
    let is_float_bits = |i: InstIdx, k: f64| float(i).is_some_and(|v| v.to_bits() == k.to_bits());
    let bool_constant = |b: bool| Folded::Rewrite(Op::KBool(b));

    match *op {
        Op::AddInt(a, b) | Op::SubInt(a, b) | Op::MulInt(a, b) | Op::DivInt(a, b) | Op::ModInt(a, b) => {
            match arith_op(op) {
                ArithOp::Add if is_int(b, 0) => Folded::Value(a),
                ArithOp::Add if is_int(a, 0) => Folded::Value(b),
                ArithOp::Sub if is_int(b, 0) => Folded::Value(a),
                ArithOp::Mul if is_int(b, 1) => Folded::Value(a),
                ArithOp::Mul if is_int(a, 1) => Folded::Value(b),
                ArithOp::Mul if is_int(a, 0) || is_int(b, 0) => Folded::Rewrite(Op::KInt(0)),
                ArithOp::Div if is_int(b, 1) => Folded::Value(a),
                _ => Folded::Keep,
            }
        }
        Op::AddFloat(a, b) | Op::SubFloat(a, b) | Op::MulFloat(a, b) | Op::DivFloat(a, b) | Op::ModFloat(a, b) => {
            match arith_op(op) {
                ArithOp::Mul if is_float_bits(b, 1.0) => Folded::Value(a),
                ArithOp::Mul if is_float_bits(a, 1.0) => Folded::Value(b),
                ArithOp::Div if is_float_bits(b, 1.0) => Folded::Value(a),
                ArithOp::Sub if is_float_bits(b, 0.0) => Folded::Value(a),
                ArithOp::Add if is_float_bits(b, -0.0) => Folded::Value(a),
                ArithOp::Add if is_float_bits(a, -0.0) => Folded::Value(b),
                _ => Folded::Keep,
            }
        }
        // Every int equals itself.
        Op::LtInt(a, b) | Op::LeInt(a, b) | Op::GtInt(a, b) | Op::GeInt(a, b) | Op::EqInt(a, b) | Op::NeInt(a, b)
            if a == b =>
        {
            bool_constant(matches!(op, Op::LeInt(..) | Op::GeInt(..) | Op::EqInt(..)))
        }
        Op::EqBool(a, b) if a == b => bool_constant(true),
        Op::NotBool(a) => match trace.inst(a).op {
            Op::NotBool(x) => Folded::Value(x),
            _ => Folded::Keep,
        },
        Op::GuardTrue(c) | Op::GuardFalse(c) => match trace.inst(c).op {
            Op::NotBool(inner) if matches!(op, Op::GuardTrue(_)) => Folded::Rewrite(Op::GuardFalse(inner)),
            Op::NotBool(inner) => Folded::Rewrite(Op::GuardTrue(inner)),
            _ => Folded::Keep,
        },
        _ => Folded::Keep,
    }
}

/// The value of a scalar constant.
fn constant_value(op: &Op) -> Option<Value> {
    match *op {
        Op::KInt(v) => Some(Value::Int(v)),
        Op::KFloat(v) => Some(Value::Float(v)),
        Op::KBool(v) => Some(Value::Bool(v)),
        _ => None,
    }
}

/// The constant op of a value the evaluator produced (scalar ops produce scalars).
fn constant_op(value: Value) -> Op {
    match value {
        Value::Int(v) => Op::KInt(v),
        Value::Float(v) => Op::KFloat(v),
        Value::Bool(v) => Op::KBool(v),
        other => unreachable!("a pure scalar op produced a {}", other.type_name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::opt::check::check;

    #[test]
    fn folds_int_constants_with_runtime_semantics() {
        check(
            fold,
            "
            0000   int  K        7
            0001   int  K        -2
            ....        SNAP    #0 pc=1 [ ]
            0002 > int  ADD      0000 0001  #0
            0003 > int  DIV      0000 0001  #0
            0004 > int  MOD      0000 0001  #0
            0005 > int  NEG      0001       #0
            0006   flt  CONV     0001
            0007   bool LT       0000 0001
            0008   bool NE       0000 0001
            ....        SNAP    #1 pc=2 [ 3=0002 4=0003 5=0004 6=0005 7=0006 ]
            0009 > void GFALSE   0007       #1
            ",
            // 7 / -2 truncates to -3 and 7 % -2 keeps the dividend's sign (1), as the interpreter does.
            "
            0000   int  K        7
            0001   int  K        -2
            0002   int  K        5
            0003   int  K        -3
            0004   int  K        1
            0005   int  K        2
            0006   flt  K        -2.0
            0007   bool K        false
            0008   bool K        true
            ",
        );
    }

    #[test]
    fn refuses_to_fold_failing_int_operations() {
        check(
            fold,
            "
            0000   int  K        9223372036854775807
            0001   int  K        1
            0002   int  K        0
            0003   int  K        -9223372036854775808
            0004   int  K        -1
            ....        SNAP    #0 pc=1 [ ]
            0005 > int  ADD      0000 0001  #0
            0006 > int  DIV      0001 0002  #0
            0007 > int  DIV      0003 0004  #0
            0008 > int  NEG      0003       #0
            0009 > int  MOD      0001 0002  #0
            ",
            "
            0000   int  K        9223372036854775807
            0001   int  K        1
            0002   int  K        0
            0003   int  K        -9223372036854775808
            0004   int  K        -1
            ....        SNAP    #0 pc=1 [ ]
            0005 > int  ADD      0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0006 > int  DIV      0001 0002  #0
            ....        SNAP    #0 pc=1 [ ]
            0007 > int  DIV      0003 0004  #0
            ....        SNAP    #0 pc=1 [ ]
            0008 > int  NEG      0003       #0
            ....        SNAP    #0 pc=1 [ ]
            0009 > int  MOD      0001 0002  #0
            ",
        );
    }

    #[test]
    fn drops_int_identities_and_their_guards() {
        check(
            fold,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001   int  K        0
            0002   int  K        1
            0003 > int  ADD      0000 0001  #0
            0004 > int  ADD      0001 0003  #0
            0005 > int  SUB      0004 0001  #0
            0006 > int  MUL      0005 0002  #0
            0007 > int  DIV      0006 0002  #0
            0008 > int  MUL      0007 0001  #0
            0009 > int  SUB      0001 0007  #0
            ....        SNAP    #1 pc=2 [ 1=0007 2=0008 3=0009 ]
            0010 > int  MOD      0000 0002  #1
            ",
            // `0 - x` can overflow and `x % 1` is left alone: only the listed identities fold.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001   int  K        0
            0002   int  K        1
            0003   int  K        0
            ....        SNAP    #0 pc=1 [ ]
            0004 > int  SUB      0001 0000  #0
            ....        SNAP    #1 pc=2 [ 1=0000 2=0003 3=0004 ]
            0005 > int  MOD      0000 0002  #1
            ",
        );
    }

    #[test]
    fn float_identities_respect_negative_zero() {
        check(
            fold,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > flt  SLOAD    #0         #0
            0001   flt  K        0.0
            0002   flt  K        -0.0
            0003   flt  K        1.0
            0004   flt  ADD      0000 0001
            0005   flt  ADD      0002 0004
            0006   flt  SUB      0005 0001
            0007   flt  SUB      0006 0002
            0008   flt  MUL      0007 0003
            0009   flt  MUL      0008 0001
            0010 > flt  DIV      0009 0003  #0
            0011   flt  NEG      0002
            0012   flt  ADD      0002 0002
            ....        SNAP    #1 pc=2 [ 1=0010 2=0011 3=0012 ]
            0013 > flt  DIV      0003 0001  #1
            ",
            // x + 0.0, x - -0.0 and x * 0.0 are not x for x = -0.0 (or NaN); -(-0.0) is 0.0
            // and -0.0 + -0.0 stays -0.0; 1.0 / 0.0 is a Ruff error, so it stays a guard.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > flt  SLOAD    #0         #0
            0001   flt  K        0.0
            0002   flt  K        -0.0
            0003   flt  K        1.0
            0004   flt  ADD      0000 0001
            0005   flt  SUB      0004 0002
            0006   flt  MUL      0005 0001
            0007   flt  K        0.0
            0008   flt  K        -0.0
            ....        SNAP    #1 pc=2 [ 1=0006 2=0007 3=0008 ]
            0009 > flt  DIV      0003 0001  #1
            ",
        );
    }

    #[test]
    fn float_comparisons_use_ruff_equality() {
        check(
            fold,
            "
            0000   flt  K        0.1
            0001   flt  K        0.2
            0002   flt  K        0.30000000000000004
            0003   flt  K        0.3
            0004   flt  ADD      0000 0001
            0005   bool EQ       0004 0003
            0006   flt  K        NaN
            0007   bool NE       0006 0006
            0008   bool LE       0006 0006
            ....        SNAP    #0 pc=1 [ 1=0005 2=0007 3=0008 ]
            0009 > void GTRUE    0005       #0
            ",
            "
            0000   flt  K        0.1
            0001   flt  K        0.2
            0002   flt  K        0.30000000000000004
            0003   flt  K        0.3
            0004   flt  K        0.30000000000000004
            0005   bool K        true
            0006   flt  K        NaN
            0007   bool K        true
            0008   bool K        false
            ",
        );
    }

    #[test]
    fn simplifies_bool_logic_and_guards() {
        check(
            fold,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   bool LT       0000 0001
            0003   bool NOT      0002
            0004   bool NOT      0003
            0005   bool EQ       0004 0004
            0006   bool LE       0000 0000
            0007   bool TRUTHY   0000
            ....        SNAP    #1 pc=2 [ ]
            0008 > void GTRUE    0003       #1
            0009 > void GFALSE   0003       #1
            0010 > void GTRUE    0005       #1
            0011 > void GTRUE    0006       #1
            0012 > void GFALSE   0007       #1
            0013   bool K        false
            0014 > void GTRUE    0013       #1
            ",
            // A guard on constant false stays: it exits every time, like a failing overflow check.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            0002   bool LT       0000 0001
            0003   bool NOT      0002
            0004   bool K        true
            0005   bool K        true
            0006   bool TRUTHY   0000
            ....        SNAP    #1 pc=2 [ ]
            0007 > void GFALSE   0002       #1
            ....        SNAP    #1 pc=2 [ ]
            0008 > void GTRUE    0002       #1
            ....        SNAP    #1 pc=2 [ ]
            0009 > void GFALSE   0006       #1
            0010   bool K        false
            ....        SNAP    #1 pc=2 [ ]
            0011 > void GTRUE    0010       #1
            ",
        );
    }
}
