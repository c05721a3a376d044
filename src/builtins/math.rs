//! Number builtins (LANGUAGE.md section 15, "Numbers" and "Time").
//!
//! Terms: *num* is an int or a float. The math functions accept nums and always return
//! floats (`abs(-3)` is the float 3); the bit operations take and return ints.
//!
//! Invariants: domain errors (`sqrt` of a negative, `log` of a non-positive) and shift
//! counts outside `0..=63` are runtime errors; everything else follows IEEE-754 (NaN and
//! infinities pass through).

use super::convert::{expect_int, expect_number};
use super::Ctx;
use crate::runtime::format;
use crate::runtime::value::Value;

/// The math builtins, as traces name them (`MATH sqrt`): each row of the builtin table
/// that a trace may compute inline names its function here (`Recording::Math`); results
/// are floats (LANGUAGE.md section 15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathFn {
    Abs,
    Sqrt,
    Floor,
    Ceil,
    Round,
    Sin,
    Cos,
    Tan,
    Exp,
    Log,
    Pow,
    Min,
    Max,
}

impl MathFn {
    pub const ALL: [MathFn; 13] = [
        MathFn::Abs,
        MathFn::Sqrt,
        MathFn::Floor,
        MathFn::Ceil,
        MathFn::Round,
        MathFn::Sin,
        MathFn::Cos,
        MathFn::Tan,
        MathFn::Exp,
        MathFn::Log,
        MathFn::Pow,
        MathFn::Min,
        MathFn::Max,
    ];

    /// Whether some float argument is a Ruff error (`sqrt` of a negative, `log` of a
    /// non-positive number), so that calling it on trace is a guard.
    pub fn can_fail(self) -> bool {
        matches!(self, MathFn::Sqrt | MathFn::Log)
    }

    pub fn name(self) -> &'static str {
        match self {
            MathFn::Abs => "abs",
            MathFn::Sqrt => "sqrt",
            MathFn::Floor => "floor",
            MathFn::Ceil => "ceil",
            MathFn::Round => "round",
            MathFn::Sin => "sin",
            MathFn::Cos => "cos",
            MathFn::Tan => "tan",
            MathFn::Exp => "exp",
            MathFn::Log => "log",
            MathFn::Pow => "pow",
            MathFn::Min => "min",
            MathFn::Max => "max",
        }
    }

    pub fn arity(self) -> usize {
        match self {
            MathFn::Pow | MathFn::Min | MathFn::Max => 2,
            _ => 1,
        }
    }
}

/// The float function of each math builtin, applied after its argument checks. The JIT's
/// helpers (`jit/assemble/helpers.rs`) call these very functions, so native code computes
/// what the interpreter does, bit for bit.
pub mod float {
    pub const ABS: fn(f64) -> f64 = f64::abs;
    pub const SQRT: fn(f64) -> f64 = f64::sqrt;
    pub const FLOOR: fn(f64) -> f64 = f64::floor;
    pub const CEIL: fn(f64) -> f64 = f64::ceil;
    /// Halves round away from zero: `round(2.5) == 3`, `round(-2.5) == -3`.
    pub const ROUND: fn(f64) -> f64 = f64::round;
    pub const SIN: fn(f64) -> f64 = f64::sin;
    pub const COS: fn(f64) -> f64 = f64::cos;
    pub const TAN: fn(f64) -> f64 = f64::tan;
    pub const EXP: fn(f64) -> f64 = f64::exp;
    /// The natural logarithm.
    pub const LOG: fn(f64) -> f64 = f64::ln;
    pub const POW: fn(f64, f64) -> f64 = f64::powf;
    pub const MIN: fn(f64, f64) -> f64 = f64::min;
    pub const MAX: fn(f64, f64) -> f64 = f64::max;
}

/// `sqrt` of a float, `None` for a negative one (a Ruff error; NaN passes through).
pub fn checked_sqrt(x: f64) -> Option<f64> {
    (x >= 0.0 || x.is_nan()).then(|| float::SQRT(x))
}

/// `log` of a float, `None` for a non-positive one (a Ruff error; NaN passes through).
pub fn checked_log(x: f64) -> Option<f64> {
    (x > 0.0 || x.is_nan()).then(|| float::LOG(x))
}

fn unary(name: &str, args: &[Value], f: fn(f64) -> f64) -> Result<Value, String> {
    Ok(Value::Float(f(expect_number(name, &args[0])?)))
}

fn binary(name: &str, args: &[Value], f: fn(f64, f64) -> f64) -> Result<Value, String> {
    Ok(Value::Float(f(expect_number(name, &args[0])?, expect_number(name, &args[1])?)))
}

/// The argument as written in a domain-error message (`-1`, `-2.5`).
fn shown(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            let mut text = String::new();
            format::write_float(*f, &mut text);
            text
        }
        _ => v.type_name().to_string(),
    }
}

pub(super) fn abs(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    unary("abs", args, float::ABS)
}

pub(super) fn sqrt(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let x = expect_number("sqrt", &args[0])?;
    match checked_sqrt(x) {
        Some(root) => Ok(Value::Float(root)),
        None => Err(format!("sqrt() of a negative number: {}", shown(&args[0]))),
    }
}

pub(super) fn floor(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    unary("floor", args, float::FLOOR)
}

pub(super) fn ceil(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    unary("ceil", args, float::CEIL)
}

/// Halves round away from zero (`f64::round`): `round(2.5) == 3`, `round(-2.5) == -3`.
pub(super) fn round(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    unary("round", args, float::ROUND)
}

pub(super) fn sin(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    unary("sin", args, float::SIN)
}

pub(super) fn cos(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    unary("cos", args, float::COS)
}

pub(super) fn tan(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    unary("tan", args, float::TAN)
}

pub(super) fn exp(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    unary("exp", args, float::EXP)
}

/// Natural logarithm.
pub(super) fn log(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let x = expect_number("log", &args[0])?;
    match checked_log(x) {
        Some(log) => Ok(Value::Float(log)),
        None => Err(format!("log() of a non-positive number: {}", shown(&args[0]))),
    }
}

pub(super) fn pow(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    binary("pow", args, float::POW)
}

pub(super) fn min(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    binary("min", args, float::MIN)
}

pub(super) fn max(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    binary("max", args, float::MAX)
}

fn int_args(name: &str, args: &[Value]) -> Result<(i64, i64), String> {
    Ok((expect_int(name, "int arguments", &args[0])?, expect_int(name, "int arguments", &args[1])?))
}

/// The bit builtins, as traces name them (`BAND`, `BSHL`, ...): what each computes on
/// ints is defined once, here, for the builtin and for the trace's ops (`jit/ir/eval.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
    Shl,
    Shr,
}

impl BitOp {
    /// The result on `value` and `other` (ignored by `Not`; the count of a shift), or
    /// `None` for a shift count outside `0..=63` (a Ruff error). A left shift drops the
    /// bits shifted out at the top (a bit operation, not arithmetic, so no overflow
    /// error); a right shift is arithmetic: the sign bit is copied in (`bit_shr(-8, 1) ==
    /// -4`).
    pub fn apply(self, value: i64, other: i64) -> Option<i64> {
        let count = || u32::try_from(other).ok().filter(|&count| count <= 63);
        Some(match self {
            BitOp::And => value & other,
            BitOp::Or => value | other,
            BitOp::Xor => value ^ other,
            BitOp::Not => !value,
            BitOp::Shl => value << count()?,
            BitOp::Shr => value >> count()?,
        })
    }
}

fn bits(name: &str, op: BitOp, args: &[Value]) -> Result<Value, String> {
    let (value, other) = int_args(name, args)?;
    match op.apply(value, other) {
        Some(result) => Ok(Value::Int(result)),
        None => Err(format!("{}() shift count must be between 0 and 63, got {}", name, other)),
    }
}

pub(super) fn bit_and(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    bits("bit_and", BitOp::And, args)
}

pub(super) fn bit_or(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    bits("bit_or", BitOp::Or, args)
}

pub(super) fn bit_xor(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    bits("bit_xor", BitOp::Xor, args)
}

pub(super) fn bit_not(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(BitOp::Not.apply(expect_int("bit_not", "an int", &args[0])?, 0).expect("not never fails")))
}

pub(super) fn bit_shl(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    bits("bit_shl", BitOp::Shl, args)
}

pub(super) fn bit_shr(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    bits("bit_shr", BitOp::Shr, args)
}

/// The three clocks measure from the program's start on the monotonic clock, so
/// differences are exact and never go backwards.
pub(super) fn performance_now(ctx: &mut Ctx, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Float(ctx.start_time.elapsed().as_secs_f64() * 1e3))
}

pub(super) fn time_us(ctx: &mut Ctx, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Float(ctx.start_time.elapsed().as_nanos() as f64 / 1e3))
}

pub(super) fn time_ns(ctx: &mut Ctx, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Float(ctx.start_time.elapsed().as_nanos() as f64))
}

#[cfg(test)]
mod tests {
    use super::super::convert::testing::Harness;
    use crate::runtime::value::Value;

    fn float(h: &mut Harness, name: &str, args: &[Value]) -> f64 {
        match h.call(name, args) {
            Ok(Value::Float(f)) => f,
            Ok(other) => panic!("{}() returned a {}", name, other.type_name()),
            Err(e) => panic!("{}() failed: {}", name, e),
        }
    }

    #[test]
    fn results_are_floats() {
        let mut h = Harness::new();
        assert_eq!(float(&mut h, "abs", &[Value::Int(-3)]), 3.0);
        assert_eq!(float(&mut h, "floor", &[Value::Float(-2.5)]), -3.0);
        assert_eq!(float(&mut h, "ceil", &[Value::Int(2)]), 2.0);
        assert_eq!(float(&mut h, "pow", &[Value::Int(2), Value::Int(10)]), 1024.0);
        assert_eq!(float(&mut h, "min", &[Value::Int(2), Value::Float(1.5)]), 1.5);
        assert_eq!(float(&mut h, "max", &[Value::Int(2), Value::Int(7)]), 7.0);
        assert_eq!(float(&mut h, "sqrt", &[Value::Int(16)]), 4.0);
        assert_eq!(float(&mut h, "exp", &[Value::Int(0)]), 1.0);
        assert_eq!(float(&mut h, "log", &[Value::Int(1)]), 0.0);
        assert_eq!(float(&mut h, "sin", &[Value::Int(0)]), 0.0);
        assert_eq!(float(&mut h, "cos", &[Value::Int(0)]), 1.0);
        assert_eq!(float(&mut h, "tan", &[Value::Int(0)]), 0.0);
    }

    #[test]
    fn round_halves_away_from_zero() {
        let mut h = Harness::new();
        assert_eq!(float(&mut h, "round", &[Value::Float(2.5)]), 3.0);
        assert_eq!(float(&mut h, "round", &[Value::Float(-2.5)]), -3.0);
        assert_eq!(float(&mut h, "round", &[Value::Float(2.4)]), 2.0);
    }

    #[test]
    fn domain_and_type_errors() {
        let mut h = Harness::new();
        assert_eq!(h.fail("sqrt", &[Value::Int(-1)]), "sqrt() of a negative number: -1");
        assert_eq!(h.fail("log", &[Value::Float(0.0)]), "log() of a non-positive number: 0");
        assert_eq!(h.fail("log", &[Value::Float(-2.5)]), "log() of a non-positive number: -2.5");
        let s = h.str("x");
        assert_eq!(h.fail("abs", &[s]), "abs() requires a number, got string");
        assert_eq!(h.fail("pow", &[Value::Int(1), Value::Null]), "pow() requires a number, got null");
    }

    #[test]
    fn bit_operations() {
        let mut h = Harness::new();
        assert!(matches!(h.call("bit_and", &[Value::Int(12), Value::Int(10)]), Ok(Value::Int(8))));
        assert!(matches!(h.call("bit_or", &[Value::Int(12), Value::Int(10)]), Ok(Value::Int(14))));
        assert!(matches!(h.call("bit_xor", &[Value::Int(12), Value::Int(10)]), Ok(Value::Int(6))));
        assert!(matches!(h.call("bit_not", &[Value::Int(0)]), Ok(Value::Int(-1))));
        assert!(matches!(h.call("bit_shl", &[Value::Int(1), Value::Int(63)]), Ok(Value::Int(i64::MIN))));
        assert!(matches!(h.call("bit_shr", &[Value::Int(-8), Value::Int(1)]), Ok(Value::Int(-4))));
        assert_eq!(
            h.fail("bit_shl", &[Value::Int(1), Value::Int(64)]),
            "bit_shl() shift count must be between 0 and 63, got 64"
        );
        assert_eq!(
            h.fail("bit_shr", &[Value::Int(1), Value::Int(-1)]),
            "bit_shr() shift count must be between 0 and 63, got -1"
        );
        assert_eq!(
            h.fail("bit_and", &[Value::Float(1.0), Value::Int(1)]),
            "bit_and() requires int arguments, got float"
        );
        assert_eq!(h.fail("bit_not", &[Value::Float(1.0)]), "bit_not() requires an int, got float");
    }

    #[test]
    fn clocks_are_non_negative_floats() {
        let mut h = Harness::new();
        for name in ["performance_now", "time_us", "time_ns"] {
            assert!(float(&mut h, name, &[]) >= 0.0);
        }
    }
}
