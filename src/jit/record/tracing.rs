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

use super::{field_position, read_element_type, trace_key, value_type, Recorder};
use crate::compile::bytecode::Program;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{InstIdx, Op, Ty};
use crate::jit::residual::Residual;
use crate::runtime::heap::Gc;
use crate::runtime::object::{ArrayObj, DictKey, DictObj, StrObj, StructObj};
use crate::runtime::ops::{self, ArithOp, CmpOp, OpError};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;
use crate::semantics::concrete::{element_for_write, string_char};
use crate::semantics::{Allocating, Comparison, Concrete, Containers, Domain, Failed, Kind, Texts};

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
    /// For a loop-advance instruction, where it jumps back to (its loop test's target).
    loop_target: Option<u32>,
}

impl<'r> Tracing<'r> {
    pub(super) fn new(recorder: &'r mut Recorder, pc: u32) -> Tracing<'r> {
        Tracing { recorder, pc, loop_target: None }
    }

    /// For the loop-advance instruction at `pc`, which jumps back to `target`.
    pub(super) fn in_loop(recorder: &'r mut Recorder, pc: u32, target: u32) -> Tracing<'r> {
        Tracing { recorder, pc, loop_target: Some(target) }
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
    type Struct = Traced<Gc<StructObj>>;
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
            (Ty::Struct, Some(Value::Struct(value))) => Kind::Struct(Traced { ir, value }),
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

    fn int_constant(&mut self, i: i64) -> Traced<i64> {
        self.op(Op::KInt(i), Ty::Int, i)
    }

    /// A guard that the condition goes the way it goes now.
    fn decide(&mut self, condition: Traced<bool>) -> bool {
        let op = if condition.value { Op::GuardTrue(condition.ir) } else { Op::GuardFalse(condition.ir) };
        self.recorder.emit_guard(op, Ty::Void, self.pc);
        condition.value
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
    /// The concrete domain's answer (`ops::can_append_in_place`), recorded as nothing:
    /// `SAPPEND` guards it.
    fn str_appendable(&mut self, a: Traced<Gc<StrObj>>, b: Traced<Gc<StrObj>>) -> bool {
        ops::can_append_in_place(a.value, b.value)
    }

    /// `SAPPEND`: a guard that the string is still unshared and not the piece, and that
    /// exits when a collection is due.
    fn str_append(&mut self, a: Traced<Gc<StrObj>>, b: Traced<Gc<StrObj>>) -> Result<TracedValue, AbortReason> {
        self.recorder.emit_guard(Op::SAppend { string: a.ir, piece: b.ir }, Ty::Void, self.pc);
        Ok(TracedValue::of(a.ir, Value::Str(a.value)))
    }

    /// `SCONCAT`: a guard that exits when a collection is due or `+` raises.
    fn str_concat(&mut self, a: Traced<Gc<StrObj>>, b: Traced<Gc<StrObj>>) -> Result<TracedValue, AbortReason> {
        let concatenated = self.recorder.emit_guard(Op::SConcat(a.ir, b.ir), Ty::Str, self.pc);
        Ok(Traced { ir: concatenated, value: None })
    }
}

impl Texts for Tracing<'_> {
    /// `TOSTR` of a scalar, else a residual call of the concrete `ToStr`
    /// (`Recorder::display`).
    fn display(&mut self, _: &Program, v: TracedValue) -> Result<TracedValue, AbortReason> {
        Ok(Traced { ir: self.recorder.display(v.ir, self.pc)?, value: None })
    }

    /// A chain of `SCONCAT` (each `ops::concat` of two strings), or a residual call of
    /// the concrete `Concat` (`Recorder::concatenation`).
    fn str_join(&mut self, parts: &[Traced<Gc<StrObj>>]) -> Result<TracedValue, AbortReason> {
        let parts: Vec<InstIdx> = parts.iter().map(|p| p.ir).collect();
        Ok(Traced { ir: self.recorder.concatenation(&parts, self.pc)?, value: None })
    }
}

impl Containers for Tracing<'_> {
    /// `ALOAD` (a guard on the bounds and the element's type); for a sunk array (see
    /// `Recorder::get_index`: its index is a constant), the element put there, with no code.
    fn array_get(
        &mut self,
        a: Traced<Gc<ArrayObj>>,
        at: Traced<i64>,
        out: &mut TracedValue,
    ) -> Result<bool, AbortReason> {
        let Some(element) = usize::try_from(at.value).ok().and_then(|p| a.value.items.get(p).copied()) else {
            return Ok(false);
        };
        let ir = if self.recorder.trace.inst(a.ir).op.is_sunk() {
            if !matches!(self.recorder.trace.inst(at.ir).op, Op::KInt(_)) {
                return Err(AbortReason::NyiInstruction("a sunk array indexed by a computed position"));
            }
            self.recorder.trace.sunk_elements(a.ir)[at.value as usize]
        } else {
            let ty = read_element_type(&element)?;
            self.recorder.emit_guard(Op::ALoad(a.ir, at.ir), ty, self.pc)
        };
        *out = TracedValue::of(ir, element);
        Ok(true)
    }

    /// `ASTORE`, a guard that the array is still unshared and the position in bounds.
    fn array_store(
        &mut self,
        a: Traced<Gc<ArrayObj>>,
        at: Traced<i64>,
        value: TracedValue,
    ) -> Result<bool, AbortReason> {
        let in_bounds = usize::try_from(at.value).is_ok_and(|p| p < a.value.items.len());
        if a.value.is_shared() || !in_bounds {
            return Ok(false);
        }
        // The stored value is handed over, as the interpreter's store takes it.
        self.recorder.emit_guard(Op::AStore { array: a.ir, index: at.ir, value: value.ir }, Ty::Void, self.pc);
        Ok(true)
    }

    /// `ALOADW`, which guards that neither the array nor the element (an array, dict or
    /// struct) needs a copy.
    fn array_get_for_write(
        &mut self,
        a: Traced<Gc<ArrayObj>>,
        at: Traced<i64>,
        out: &mut TracedValue,
    ) -> Result<bool, AbortReason> {
        let Some(element) = element_for_write(a.value, at.value) else { return Ok(false) };
        let ty = container_type(element, NOT_A_CONTAINER_ELEMENT)?;
        let ir = self.recorder.emit_guard(Op::ALoadForWrite(a.ir, at.ir), ty, self.pc);
        *out = TracedValue::of(ir, element);
        Ok(true)
    }

    /// `AUNIQUE` when the array is shared; an unshared array is used as it is, since the
    /// access that follows (`ASTORE`, `ALOADU`) guards that it still is.
    fn array_unique(&mut self, a: Traced<Gc<ArrayObj>>) -> Result<Traced<Gc<ArrayObj>>, AbortReason> {
        if !a.value.is_shared() {
            return Ok(a);
        }
        Ok(self.guard(Op::AUnique(a.ir), Ty::Array, a.value))
    }

    /// `ALOADU`: the element (an array, dict or struct), copied in place when shared.
    fn array_element_unique(
        &mut self,
        a: Traced<Gc<ArrayObj>>,
        at: Traced<i64>,
        out: &mut TracedValue,
    ) -> Result<bool, AbortReason> {
        let Some(element) = usize::try_from(at.value).ok().and_then(|p| a.value.items.get(p).copied()) else {
            return Ok(false);
        };
        let ty = container_type(element, NOT_A_CONTAINER_ELEMENT)?;
        let ir = self.recorder.emit_guard(Op::ALoadUnique(a.ir, at.ir), ty, self.pc);
        *out = TracedValue::of(ir, element);
        Ok(true)
    }

    fn array_value(&mut self, a: Traced<Gc<ArrayObj>>) -> TracedValue {
        TracedValue::of(a.ir, Value::Array(a.value))
    }

    fn out_of_bounds(&mut self, _: Traced<i64>) -> AbortReason {
        AbortReason::ErrorRaised
    }

    /// `SCHAR`, whose helper runs the concrete `str_index` (a guard that exits when it
    /// raises, for the interpreter to raise the error at its line).
    fn str_index(&mut self, s: Traced<Gc<StrObj>>, i: Traced<i64>) -> Result<TracedValue, AbortReason> {
        raised(string_char(&s.value, i.value))?;
        let ir = self.recorder.emit_guard(Op::SChar(s.ir, i.ir), Ty::Str, self.pc);
        Ok(Traced { ir, value: None })
    }

    /// `DTAG` and a guard on the entry's type, then `DGET`; for a sunk dict (a string
    /// constant key: see `Recorder::get_index`), the value inserted last under that key.
    fn dict_get(&mut self, x: Traced<Gc<DictObj>>, key: TracedValue, out: &mut TracedValue) -> Result<(), AbortReason> {
        let Some(wanted) = key.value.and_then(trace_key) else {
            return Err(AbortReason::NyiInstruction("a dict key built by the same instruction"));
        };
        // The interpreter raises its missing-key error.
        let entry = x.value.get(&wanted).ok_or(AbortReason::ErrorRaised)?;
        if self.recorder.trace.inst(x.ir).op.is_sunk() {
            let mut at = x.ir;
            while let Op::DIns { dict, key, value } = self.recorder.trace.inst(at).op {
                let Op::KStr(k) = self.recorder.trace.inst(key).op else {
                    unreachable!("DIns keys are string constants")
                };
                if DictKey::of_string(k) == wanted {
                    *out = TracedValue::of(value, entry);
                    return Ok(());
                }
                at = dict;
            }
            return Err(AbortReason::ErrorRaised);
        }
        let ty = read_element_type(&entry)?;
        let tag = self.recorder.emit(Op::DTag(x.ir, key.ir), Ty::Int);
        let expected = self.recorder.emit(Op::KInt(entry.tag() as i64), Ty::Int);
        let found = self.recorder.emit(Op::EqInt(tag, expected), Ty::Bool);
        self.recorder.emit_guard(Op::GuardTrue(found), Ty::Void, self.pc);
        let value = self.recorder.emit(Op::DGet(x.ir, key.ir), ty);
        *out = TracedValue::of(value, entry);
        Ok(())
    }

    /// An unshared dict is used as it is (`DSET` guards that it still is); a shared one
    /// is copied by the interpreter's own copy-on-write (a residual call).
    fn dict_unique(&mut self, x: Traced<Gc<DictObj>>) -> Result<Traced<Gc<DictObj>>, AbortReason> {
        if !x.value.is_shared() {
            return Ok(x);
        }
        let ir = self.recorder.residual(Residual::DictUnique, &[x.ir], Ty::Dict, self.pc)?;
        Ok(Traced { ir, value: x.value })
    }

    /// `DSET`; the stored value is handed over, as the interpreter's insert takes it.
    fn dict_insert(&mut self, x: Traced<Gc<DictObj>>, key: TracedValue, value: TracedValue) -> Result<(), AbortReason> {
        self.recorder.emit_guard(Op::DSet { dict: x.ir, key: key.ir, value: value.ir }, Ty::Void, self.pc);
        Ok(())
    }

    /// The entry a nested write (`d[k].a := v`) goes through. One that is no container is
    /// left as it is (the write then raises, as in the interpreter). When neither the dict
    /// nor the entry was shared while recording, guards that they still are not (`UNSHARED`
    /// twice: the interpreter copies whichever is shared after all); otherwise the
    /// interpreter's own copy-on-write of the entry (a residual call, which fails when the
    /// dict is shared: the interpreter then copies it too).
    fn dict_element_unique(
        &mut self,
        x: Traced<Gc<DictObj>>,
        key: TracedValue,
        out: &mut TracedValue,
    ) -> Result<(), AbortReason> {
        let Some(entry) = out.value else { return Ok(()) };
        let ty = match entry {
            Value::Array(_) => Ty::Array,
            Value::Dict(_) => Ty::Dict,
            Value::Struct(_) => Ty::Struct,
            _ => return Ok(()),
        };
        if self.recorder.trace.inst(x.ir).op.is_sunk() {
            return Err(AbortReason::NyiInstruction("a nested write through an entry of a dict built on trace"));
        }
        if x.value.is_shared() || entry.is_shared() {
            let ir = self.recorder.residual(Residual::DictEntryUnique, &[x.ir, key.ir], ty, self.pc)?;
            *out = TracedValue::of(ir, entry);
        } else {
            self.recorder.emit_guard(Op::GuardUnshared(x.ir), Ty::Void, self.pc);
            self.recorder.emit_guard(Op::GuardUnshared(out.ir), Ty::Void, self.pc);
        }
        Ok(())
    }

    fn dict_value(&mut self, x: Traced<Gc<DictObj>>) -> TracedValue {
        TracedValue::of(x.ir, Value::Dict(x.value))
    }

    /// `FLOAD` at the position the field has now (a guard on it and on the field's type);
    /// for a sunk struct, the value it was set to last, with no code.
    fn struct_field(
        &mut self,
        s: Traced<Gc<StructObj>>,
        name: Symbol,
        _: usize,
        out: &mut TracedValue,
    ) -> Result<Option<usize>, AbortReason> {
        let Some(position) = field_position(&s.value, name.0) else { return Ok(None) };
        let value = s.value.fields[position as usize].1;
        let ir = if self.recorder.trace.inst(s.ir).op.is_sunk() {
            let mut at = s.ir;
            loop {
                match self.recorder.trace.inst(at).op {
                    Op::StructSet { field, value, .. } if field == name.0 => break value,
                    Op::StructSet { object, .. } => at = object,
                    // The interpreter's struct has the field, so the literal or an
                    // assignment set it.
                    _ => return Err(AbortReason::NyiInstruction("a field the sunk struct was not given")),
                }
            }
        } else if let Value::Builtin(builtin) = value {
            // A builtin has no register form: the field is guarded to hold it.
            let guard = Op::FieldBuiltin { object: s.ir, field: name.0, position, builtin };
            self.recorder.emit_guard(guard, Ty::Void, self.pc);
            self.recorder.emit(Op::KBuiltin(builtin), Ty::Builtin)
        } else {
            let ty = value_type(&value)?;
            self.recorder.emit_guard(Op::FieldLoad { object: s.ir, field: name.0, position }, ty, self.pc)
        };
        *out = TracedValue::of(ir, value);
        Ok(Some(position as usize))
    }

    /// `false` only behind a guard that the struct is still unshared (`UNSHARED`); a
    /// sunk struct may have two holders, so it counts as shared.
    fn struct_is_shared(&mut self, s: Traced<Gc<StructObj>>) -> bool {
        if self.recorder.trace.inst(s.ir).op.is_sunk() || s.value.is_shared() {
            return true;
        }
        self.recorder.emit_guard(Op::GuardUnshared(s.ir), Ty::Void, self.pc);
        false
    }

    /// No code: the field access that follows guards where the field is.
    fn struct_has_field(&mut self, s: Traced<Gc<StructObj>>, name: Symbol) -> bool {
        field_position(&s.value, name.0).is_some()
    }

    /// `FSTORE` into an unshared struct that has the field (a guard on both).
    fn struct_store(
        &mut self,
        s: Traced<Gc<StructObj>>,
        name: Symbol,
        _: usize,
        value: TracedValue,
    ) -> Result<Option<usize>, AbortReason> {
        if self.recorder.trace.inst(s.ir).op.is_sunk() || s.value.is_shared() {
            return Ok(None);
        }
        let Some(position) = field_position(&s.value, name.0) else { return Ok(None) };
        let store = Op::FieldStore { object: s.ir, field: name.0, position, value: value.ir };
        self.recorder.emit_guard(store, Ty::Void, self.pc);
        Ok(Some(position as usize))
    }

    /// `SUNIQUE` of a shared struct; an unshared or sunk one is used as it is (the access
    /// that follows guards that it is still unshared, or copies it itself: `FSET`).
    fn struct_unique(&mut self, s: Traced<Gc<StructObj>>) -> Result<Traced<Gc<StructObj>>, AbortReason> {
        if self.recorder.trace.inst(s.ir).op.is_sunk() || !s.value.is_shared() {
            return Ok(s);
        }
        Ok(self.guard(Op::SUnique(s.ir), Ty::Struct, s.value))
    }

    /// `STSET` on a sunk struct (a new sunk value), else `FSET`.
    fn struct_set(
        &mut self,
        s: Traced<Gc<StructObj>>,
        name: Symbol,
        value: TracedValue,
    ) -> Result<Traced<Gc<StructObj>>, AbortReason> {
        let (object, field, value) = (s.ir, name.0, value.ir);
        let ir = if self.recorder.trace.inst(s.ir).op.is_sunk() {
            self.recorder.emit(Op::StructSet { object, field, value }, Ty::Struct)
        } else {
            self.recorder.emit_guard(Op::FieldSet { object, field, value }, Ty::Struct, self.pc)
        };
        Ok(Traced { ir, value: s.value })
    }

    /// When neither the struct nor the container in the field was shared while recording,
    /// guards that they still are not (`UNSHARED`, `FLOAD`, `UNSHARED`: the interpreter
    /// copies whichever is shared after all); otherwise `FLOADU`, which copies the
    /// container on trace (after `SUNIQUE` copied the struct).
    fn struct_field_unique(
        &mut self,
        s: Traced<Gc<StructObj>>,
        name: Symbol,
        out: &mut TracedValue,
    ) -> Result<(), AbortReason> {
        let Some(position) = field_position(&s.value, name.0) else { return Err(AbortReason::ErrorRaised) };
        let held = s.value.fields[position as usize].1;
        let ty = container_type(held, "a nested write into a field that holds no container")?;
        let (object, field) = (s.ir, name.0);
        let ir = if s.value.is_shared() || held.is_shared() {
            self.recorder.emit_guard(Op::FieldLoadUnique { object, field, position }, ty, self.pc)
        } else {
            self.recorder.emit_guard(Op::GuardUnshared(object), Ty::Void, self.pc);
            let container = self.recorder.emit_guard(Op::FieldLoad { object, field, position }, ty, self.pc);
            self.recorder.emit_guard(Op::GuardUnshared(container), Ty::Void, self.pc);
            container
        };
        *out = TracedValue::of(ir, held);
        Ok(())
    }

    fn struct_value(&mut self, s: Traced<Gc<StructObj>>) -> TracedValue {
        TracedValue::of(s.ir, Value::Struct(s.value))
    }

    /// The loop's guard (`Recorder::loop_test`: the root loop must go on; another loop
    /// is guarded on the direction taken).
    fn loop_test(&mut self, more: Traced<bool>) -> bool {
        let target = self.loop_target.expect("a loop test is recorded for a loop-advance instruction");
        self.recorder.loop_test(more.ir, self.pc, target);
        more.value
    }

    fn float_to_int(&mut self, _: Traced<f64>) -> Result<Traced<i64>, AbortReason> {
        Err(AbortReason::NyiInstruction("for over a float count"))
    }

    /// `KEYS`, through the interpreter's `access::dict_keys`.
    fn dict_keys(&mut self, x: Traced<Gc<DictObj>>) -> Result<TracedValue, AbortReason> {
        let ir = self.recorder.emit_guard(Op::DictKeys(x.ir), Ty::Array, self.pc);
        Ok(Traced { ir, value: None })
    }

    /// `SNEXTCH`, through the interpreter's `access::next_char`, and `SBYTES` of the
    /// character. The loop test's guard goes first: at the end of the string it must be
    /// the one to exit (a loop exit grows a side trace), not the step, which gets a
    /// snapshot of its own, so that its exit is known to be a collection due.
    fn str_char_at_byte(
        &mut self,
        s: Traced<Gc<StrObj>>,
        at: Traced<i64>,
        item: &mut TracedValue,
    ) -> Result<Traced<i64>, AbortReason> {
        let target = self.loop_target.expect("a string is stepped by ForNext");
        let c = usize::try_from(at.value).ok().and_then(|p| s.value.text.get(p..)).and_then(|rest| rest.chars().next());
        let Some(c) = c else { return Err(AbortReason::NyiInstruction("a string position inside a character")) };
        self.recorder.resolve_pending_branch(target)?;
        let snapshot = self.recorder.trace.add_snapshot(self.recorder.snapshot_state(self.pc));
        let line = self.recorder.line;
        let character = self.recorder.trace.push(Op::SNextChar(s.ir, at.ir), Ty::Str, Some(snapshot), line);
        *item = Traced { ir: character, value: None };
        Ok(self.op(Op::SBytes(character), Ty::Int, c.len_utf8() as i64))
    }

    /// `ADD`, a guard that exits on overflow (the interpreter then ends the range).
    fn range_advance(
        &mut self,
        current: Traced<i64>,
        step: Traced<i64>,
        stop: Traced<i64>,
    ) -> Result<Traced<i64>, AbortReason> {
        let value = raised(Concrete::pure().int_arith(ArithOp::Add, current.value, step.value)).unwrap_or(stop.value);
        Ok(self.guard(Op::AddInt(current.ir, step.ir), Ty::Int, value))
    }

    /// `SHARE` of an object; objects already shared (constants, `SCHAR`'s strings:
    /// `Op::result_is_shared`) and sunk values (immutable IR) need none.
    fn mark_shared(&mut self, v: &TracedValue) {
        let inst = self.recorder.trace.inst(v.ir);
        let shared_or_sunk = inst.op.result_is_shared() || inst.op.is_sunk();
        if !shared_or_sunk && matches!(inst.ty, Ty::Str | Ty::Struct | Ty::Array | Ty::Dict | Ty::Tagged) {
            self.recorder.emit(Op::MarkShared(v.ir), Ty::Void);
        }
    }
}

const NOT_A_CONTAINER_ELEMENT: &str = "a nested write into an element that is not an array, dict or struct";

/// The IR type of a container a nested write goes through; `otherwise` is why a value
/// that is none is not traced.
fn container_type(element: Value, otherwise: &'static str) -> Result<Ty, AbortReason> {
    match element {
        Value::Array(_) => Ok(Ty::Array),
        Value::Dict(_) => Ok(Ty::Dict),
        Value::Struct(_) => Ok(Ty::Struct),
        _ => Err(AbortReason::NyiInstruction(otherwise)),
    }
}
