//! The tracing domain: the recorder's side of `semantics::Domain`. The recorder runs the
//! operators of `semantics::operators` (the functions the interpreter runs) on traced
//! values, and each primitive step they take becomes an IR op.
//!
//! Terms: a [`Traced`] value is an IR value with the concrete value the interpreter holds
//! for it at this step (read from its slot or constant, or computed by the concrete domain
//! for a primitive's result), so the operation makes the interpreter's decisions. A kind
//! question is answered by the IR type: traces are typed, and every value is guarded on
//! its type where it is loaded. A primitive is computed by `semantics::Concrete` and
//! recorded as its IR op (a guard where it can fail: int overflow, a zero divisor, an
//! allocation that leaves a collection due).
//!
//! Invariants: an operation that raises ends the recording (`ErrorRaised`; the interpreter
//! raises it at its line); a primitive with no IR op ends it with the reason
//! (`NyiInstruction`). Guards are taken before the instruction being recorded (its `pc`).

use super::Recorder;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{InstIdx, Op, Ty};
use crate::jit::residual::Residual;
use crate::runtime::heap::Gc;
use crate::runtime::object::{ArrayObj, DictObj, StrObj};
use crate::runtime::ops::{self, ArithOp, CmpOp, OpError};
use crate::runtime::value::Value;
use crate::semantics::{Allocating, Comparison, Concrete, Domain, Failed, Kind};

/// An IR value with its concrete value at the step being recorded.
#[derive(Clone, Copy, Debug)]
pub(super) struct Traced<T> {
    pub ir: InstIdx,
    pub value: T,
}

/// A traced value of any kind: `None` for a string built by this very operation, which the
/// interpreter builds next (nothing in one operation looks at it).
pub(super) type TracedValue = Traced<Option<Value>>;

impl TracedValue {
    pub(super) fn of(ir: InstIdx, value: Value) -> TracedValue {
        Traced { ir, value: Some(value) }
    }
}

/// The recorder running an operation of the instruction at `pc`.
pub(super) struct Tracing<'r> {
    recorder: &'r mut Recorder,
    pc: u32,
}

impl<'r> Tracing<'r> {
    pub(super) fn new(recorder: &'r mut Recorder, pc: u32) -> Tracing<'r> {
        Tracing { recorder, pc }
    }

    fn op<T>(&mut self, op: Op, ty: Ty, value: T) -> Traced<T> {
        Traced { ir: self.recorder.emit(op, ty), value }
    }

    fn guard<T>(&mut self, op: Op, ty: Ty, value: T) -> Traced<T> {
        Traced { ir: self.recorder.emit_guard(op, ty, self.pc), value }
    }
}

/// An error the interpreter raises: the recording ends before it.
fn raised<T>(result: Result<T, Failed>) -> Result<T, AbortReason> {
    result.map_err(|_| AbortReason::ErrorRaised)
}

impl Domain for Tracing<'_> {
    type Value = TracedValue;
    type Int = Traced<i64>;
    type Float = Traced<f64>;
    type Bool = Traced<bool>;
    type Str = Traced<Gc<StrObj>>;
    type Array = Traced<Gc<ArrayObj>>;
    type Dict = Traced<Gc<DictObj>>;
    type Error = AbortReason;

    /// The kind the IR type says, with the concrete payload; `Undefined` (which every
    /// operator raises on, ending the recording) when the concrete value is not known or
    /// does not agree.
    fn kind(&mut self, v: TracedValue) -> Kind<Self> {
        let ir = v.ir;
        match (self.recorder.ty(ir), v.value) {
            (Ty::Null, _) => Kind::Null,
            (Ty::Bool, Some(Value::Bool(value))) => Kind::Bool(Traced { ir, value }),
            (Ty::Int, Some(Value::Int(value))) => Kind::Int(Traced { ir, value }),
            (Ty::Float, Some(Value::Float(value))) => Kind::Float(Traced { ir, value }),
            (Ty::Str, Some(Value::Str(value))) => Kind::Str(Traced { ir, value }),
            (Ty::Array, Some(Value::Array(value))) => Kind::Array(Traced { ir, value }),
            (Ty::Dict, Some(Value::Dict(value))) => Kind::Dict(Traced { ir, value }),
            (Ty::Struct, _) => Kind::Struct,
            (Ty::Tagged, _) => Kind::Tagged,
            (Ty::Func, _) => Kind::Func,
            // Builtins exist on trace only as constants.
            (Ty::Builtin, Some(Value::Builtin(id))) => Kind::Builtin(id),
            _ => Kind::Undefined,
        }
    }

    fn type_name(&self, v: TracedValue) -> &'static str {
        v.value.map_or("string", |value| value.type_name())
    }

    fn fail(&mut self, _: OpError) -> AbortReason {
        AbortReason::ErrorRaised
    }

    fn int_value(&mut self, x: Traced<i64>) -> TracedValue {
        TracedValue::of(x.ir, Value::Int(x.value))
    }

    fn float_value(&mut self, x: Traced<f64>) -> TracedValue {
        TracedValue::of(x.ir, Value::Float(x.value))
    }

    fn bool_value(&mut self, x: Traced<bool>) -> TracedValue {
        TracedValue::of(x.ir, Value::Bool(x.value))
    }

    fn bool_constant(&mut self, b: bool) -> Traced<bool> {
        self.op(Op::KBool(b), Ty::Bool, b)
    }

    fn int_arith(&mut self, op: ArithOp, a: Traced<i64>, b: Traced<i64>) -> Result<Traced<i64>, AbortReason> {
        let value = raised(Concrete::pure().int_arith(op, a.value, b.value))?;
        let (a, b) = (a.ir, b.ir);
        let ir = match op {
            ArithOp::Add => Op::AddInt(a, b),
            ArithOp::Sub => Op::SubInt(a, b),
            ArithOp::Mul => Op::MulInt(a, b),
            ArithOp::Div => Op::DivInt(a, b),
            ArithOp::Mod => Op::ModInt(a, b),
        };
        Ok(self.guard(ir, Ty::Int, value))
    }

    fn int_negate(&mut self, a: Traced<i64>) -> Result<Traced<i64>, AbortReason> {
        let value = raised(Concrete::pure().int_negate(a.value))?;
        Ok(self.guard(Op::NegInt(a.ir), Ty::Int, value))
    }

    fn int_compare(&mut self, op: Comparison, a: Traced<i64>, b: Traced<i64>) -> Traced<bool> {
        let value = Concrete::pure().int_compare(op, a.value, b.value);
        let (a, b) = (a.ir, b.ir);
        let ir = match op {
            Comparison::Order(CmpOp::Lt) => Op::LtInt(a, b),
            Comparison::Order(CmpOp::Le) => Op::LeInt(a, b),
            Comparison::Order(CmpOp::Gt) => Op::GtInt(a, b),
            Comparison::Order(CmpOp::Ge) => Op::GeInt(a, b),
            Comparison::Equal => Op::EqInt(a, b),
            Comparison::NotEqual => Op::NeInt(a, b),
        };
        self.op(ir, Ty::Bool, value)
    }

    fn int_truthy(&mut self, a: Traced<i64>) -> Traced<bool> {
        let value = Concrete::pure().int_truthy(a.value);
        self.op(Op::TruthyInt(a.ir), Ty::Bool, value)
    }

    fn int_to_float(&mut self, a: Traced<i64>) -> Traced<f64> {
        let value = Concrete::pure().int_to_float(a.value);
        self.op(Op::IntToFloat(a.ir), Ty::Float, value)
    }

    fn float_arith(&mut self, op: ArithOp, a: Traced<f64>, b: Traced<f64>) -> Result<Traced<f64>, AbortReason> {
        let value = raised(Concrete::pure().float_arith(op, a.value, b.value))?;
        let (a, b) = (a.ir, b.ir);
        let ir = match op {
            ArithOp::Add => Op::AddFloat(a, b),
            ArithOp::Sub => Op::SubFloat(a, b),
            ArithOp::Mul => Op::MulFloat(a, b),
            ArithOp::Div => Op::DivFloat(a, b),
            ArithOp::Mod => Op::ModFloat(a, b),
        };
        // Division and modulo guard their divisor; the others cannot fail.
        Ok(if ir.is_guard() { self.guard(ir, Ty::Float, value) } else { self.op(ir, Ty::Float, value) })
    }

    fn float_negate(&mut self, a: Traced<f64>) -> Traced<f64> {
        let value = Concrete::pure().float_negate(a.value);
        self.op(Op::NegFloat(a.ir), Ty::Float, value)
    }

    fn float_compare(&mut self, op: Comparison, a: Traced<f64>, b: Traced<f64>) -> Traced<bool> {
        let value = Concrete::pure().float_compare(op, a.value, b.value);
        let (a, b) = (a.ir, b.ir);
        let ir = match op {
            Comparison::Order(CmpOp::Lt) => Op::LtFloat(a, b),
            Comparison::Order(CmpOp::Le) => Op::LeFloat(a, b),
            Comparison::Order(CmpOp::Gt) => Op::GtFloat(a, b),
            Comparison::Order(CmpOp::Ge) => Op::GeFloat(a, b),
            Comparison::Equal => Op::EqFloat(a, b),
            Comparison::NotEqual => Op::NeFloat(a, b),
        };
        self.op(ir, Ty::Bool, value)
    }

    fn float_truthy(&mut self, a: Traced<f64>) -> Traced<bool> {
        let value = Concrete::pure().float_truthy(a.value);
        self.op(Op::TruthyFloat(a.ir), Ty::Bool, value)
    }

    fn bool_equal(&mut self, a: Traced<bool>, b: Traced<bool>) -> Traced<bool> {
        let value = Concrete::pure().bool_equal(a.value, b.value);
        self.op(Op::EqBool(a.ir, b.ir), Ty::Bool, value)
    }

    fn bool_not(&mut self, a: Traced<bool>) -> Traced<bool> {
        let value = Concrete::pure().bool_not(a.value);
        self.op(Op::NotBool(a.ir), Ty::Bool, value)
    }

    fn str_equal(&mut self, a: Traced<Gc<StrObj>>, b: Traced<Gc<StrObj>>) -> Traced<bool> {
        let value = Concrete::pure().str_equal(a.value, b.value);
        self.op(Op::SEq(a.ir, b.ir), Ty::Bool, value)
    }

    /// A residual call of the concrete ordering (`jit::residual`).
    fn str_order(
        &mut self,
        op: CmpOp,
        a: Traced<Gc<StrObj>>,
        b: Traced<Gc<StrObj>>,
    ) -> Result<Traced<bool>, AbortReason> {
        let value = raised(Concrete::pure().str_order(op, a.value, b.value))?;
        let ir = self.recorder.residual(Residual::Order(op), &[a.ir, b.ir], Ty::Bool, self.pc)?;
        Ok(Traced { ir, value })
    }

    fn str_byte_length(&mut self, a: Traced<Gc<StrObj>>) -> Traced<i64> {
        let value = Concrete::pure().str_byte_length(a.value);
        self.op(Op::SBytes(a.ir), Ty::Int, value)
    }

    fn array_length(&mut self, a: Traced<Gc<ArrayObj>>) -> Traced<i64> {
        let value = Concrete::pure().array_length(a.value);
        self.op(Op::ALen(a.ir), Ty::Int, value)
    }

    /// A residual call (`jit::residual`): traces have no dict length op.
    fn dict_length(&mut self, a: Traced<Gc<DictObj>>) -> Result<Traced<i64>, AbortReason> {
        let value = raised(Concrete::pure().dict_length(a.value))?;
        let ir = self.recorder.residual(Residual::DictLength, &[a.ir], Ty::Int, self.pc)?;
        Ok(Traced { ir, value })
    }

    /// A residual call of the concrete structural `==` (`jit::residual`).
    fn contents_equal(&mut self, a: TracedValue, b: TracedValue) -> Result<Traced<bool>, AbortReason> {
        let (Some(x), Some(y)) = (a.value, b.value) else {
            return Err(AbortReason::NyiInstruction("== on a string built by the same instruction"));
        };
        let value = raised(Concrete::pure().contents_equal(x, y))?;
        let ir = self.recorder.residual(Residual::Equal, &[a.ir, b.ir], Ty::Bool, self.pc)?;
        Ok(Traced { ir, value })
    }
}

impl Allocating for Tracing<'_> {
    /// In place (`SAPPEND`, guarded: the string is still unshared and not the piece) when
    /// the interpreter appends in place, else a new string (`SCONCAT`); both are guards
    /// that exit when a collection is due.
    fn str_concat(
        &mut self,
        a: Traced<Gc<StrObj>>,
        b: Traced<Gc<StrObj>>,
        reuse_lhs: bool,
    ) -> Result<TracedValue, AbortReason> {
        if reuse_lhs && ops::can_append_in_place(a.value, b.value) {
            self.recorder.emit_guard(Op::SAppend { string: a.ir, piece: b.ir }, Ty::Void, self.pc);
            return Ok(TracedValue::of(a.ir, Value::Str(a.value)));
        }
        let concatenated = self.recorder.emit_guard(Op::SConcat(a.ir, b.ir), Ty::Str, self.pc);
        Ok(Traced { ir: concatenated, value: None })
    }
}
