//! Recording operations on containers: struct literals and fields (inline `FieldLoad` /
//! `FieldStore` at a guarded position), enum payloads, and the sunk (not yet allocated)
//! containers that allocation sinking keeps in the slot map. Indexing and index
//! assignment are `semantics::containers`, run in the tracing domain; what is left of
//! them here is trace business: which slots they read and write back, and when a sunk
//! container must be built first.
//!
//! Invariant: a write in place is recorded only behind a guard that the container is
//! unshared, as the interpreter writes in place only then.

use super::tracing::{TracedValue, Tracing};
use super::{read_element_type, Recorder, View};
use crate::compile::bytecode::{Proto, Reg};
use crate::jit::abort::AbortReason;
use crate::jit::ir::{AllocKind, InstIdx, Op, Ty};
use crate::jit::residual::Residual;
use crate::runtime::access::Mark;
use crate::runtime::object::TaggedObj;
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;
use crate::semantics;

impl Recorder {
    /// A struct literal: a sunk struct (see `ir.rs`) whose fields are set in the literal's
    /// order, while they hold values that need no shared-bit bookkeeping.
    pub(super) fn new_struct(
        &mut self,
        proto: &Proto,
        dst: Reg,
        literal: u16,
        start: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let literal = &proto.struct_literals[literal as usize];
        let mut object = self.emit(Op::StructNew { type_index: literal.type_index }, Ty::Struct);
        for (k, field) in literal.fields.iter().enumerate() {
            // The field takes the value over, as `NewStruct` does (the `Move` into the
            // literal's operand already marked a copy shared).
            let value = self.read(start + k as Reg, view, pc)?;
            object = self.emit(Op::StructSet { object, field: field.0, value }, Ty::Struct);
        }
        self.write(dst, object);
        Ok(())
    }

    /// Guards that enum object `value` (now `current`) has `current`'s constructor.
    pub(super) fn guard_constructor(&mut self, value: InstIdx, current: &TaggedObj, pc: u32) {
        let key = self.emit(Op::TagKey(value), Ty::Int);
        let constructor = (current.enum_name.0 as i64) << 32 | current.tag.0 as i64;
        let expected = self.emit(Op::KInt(constructor), Ty::Int);
        let same = self.emit(Op::EqInt(key, expected), Ty::Bool);
        self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
    }

    /// The payload of enum object `value` (now `current`): a guard on its type, then its
    /// value. An object read out (a string, array, dict, struct or enum value) becomes
    /// shared, as `GetPayload` makes it.
    pub(super) fn payload_of(&mut self, value: InstIdx, current: &TaggedObj, pc: u32) -> Result<InstIdx, AbortReason> {
        let payload = current.payload.first().copied().unwrap_or(Value::Null);
        let ty = match payload {
            Value::Func(_) => Ty::Func,
            other => read_element_type(&other)?,
        };
        let tag = self.emit(Op::PayloadTag(value), Ty::Int);
        let expected = self.emit(Op::KInt(payload.tag() as i64), Ty::Int);
        let same = self.emit(Op::EqInt(tag, expected), Ty::Bool);
        self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
        Ok(match ty {
            Ty::Null => self.emit(Op::KNull, Ty::Null),
            Ty::Str | Ty::Array | Ty::Dict | Ty::Struct | Ty::Tagged => {
                let object = self.emit(Op::PayloadGet(value), ty);
                self.emit(Op::MarkShared(object), Ty::Void);
                object
            }
            _ => self.emit(Op::PayloadGet(value), ty),
        })
    }

    /// One entry of a dict literal: the dict stays sunk (see `ir.rs`) while its keys are
    /// string constants and its values need no shared-bit bookkeeping.
    pub(super) fn dict_insert(
        &mut self,
        dict: Reg,
        key: Reg,
        value: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let literal = self.read_sunk(dict, view, pc)?;
        let key = self.read(key, view, pc)?;
        let value = self.read_sunk(value, view, pc)?;
        let sinks = matches!(self.trace.inst(key).op, Op::KStr(_))
            && matches!(self.ty(value), Ty::Int | Ty::Float | Ty::Bool | Ty::Null);
        let inserted = if self.trace.inst(literal).op.is_sunk() && sinks {
            self.emit(Op::DIns { dict: literal, key, value }, Ty::Dict)
        } else if self.ty(key) != Ty::Str {
            // The interpreter raises: dict keys must be strings.
            return Err(AbortReason::ErrorRaised);
        } else {
            self.residual(Residual::DictInsert, &[literal, key, value], Ty::Dict, pc)?
        };
        self.write(dict, inserted);
        Ok(())
    }

    /// `ArrayAppend` of the value in `src` to the array literal being built in `array`
    /// (the elements after a spread): a sunk element while the literal is sunk and the
    /// value can be one, else an `APush` onto the literal built for real, which takes the
    /// value over as `access::array_push` does (the literal is never shared).
    pub(super) fn array_append(&mut self, array: Reg, src: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let literal = self.read_sunk(array, view, pc)?;
        let value = self.read(src, view, pc)?;
        let sunk = self.trace.inst(literal).op.is_sunk();
        if sunk && self.sinks_as_element(value) {
            let appended = self.sunk_append(literal, value)?;
            self.write(array, appended);
            return Ok(());
        }
        let literal = if sunk { self.materialize(literal, pc)? } else { literal };
        self.emit_guard(Op::APush { array: literal, value }, Ty::Void, pc);
        self.write(array, literal);
        Ok(())
    }

    /// `ArraySpread` or `DictSpread` (`function`) of the value in `src` into the literal
    /// being built in `target`, of type `ty`: a residual call of the interpreter's own
    /// `access::spread_into_*`, on the literal and the source built for real.
    pub(super) fn spread(
        &mut self,
        function: Residual,
        target: Reg,
        src: Reg,
        ty: Ty,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let literal = self.read_sunk(target, view, pc)?;
        let source = self.read_sunk(src, view, pc)?;
        if self.ty(source) != ty {
            // The interpreter raises: only an array spreads into an array, a dict into a dict.
            return Err(AbortReason::ErrorRaised);
        }
        let spread = self.residual(function, &[literal, source], ty, pc)?;
        self.write(target, spread);
        Ok(())
    }

    /// Whether `value` may be an element of a sunk array literal: scalars and string
    /// constants need no shared-bit bookkeeping.
    fn sinks_as_element(&self, value: InstIdx) -> bool {
        matches!(self.ty(value), Ty::Int | Ty::Float | Ty::Bool | Ty::Null)
            || matches!(self.trace.inst(value).op, Op::KStr(_))
    }

    /// One more element of a sunk array literal (see `ir.rs`).
    pub(super) fn sunk_append(&mut self, array: InstIdx, value: InstIdx) -> Result<InstIdx, AbortReason> {
        if !self.sinks_as_element(value) {
            return Err(AbortReason::NyiInstruction("an array literal holding heap values"));
        }
        Ok(self.emit(Op::AIns { array, value }, Ty::Array))
    }

    /// The array literal `[values...]` (`NewArray`): sunk when every element can be, else
    /// built for real as `NewArray` builds it (`ALLOC`, then an `APUSH` per element, which
    /// takes the value over as the interpreter's literal does; an exit before the end
    /// leaves the new array to the collector and the interpreter redoes the literal).
    pub(super) fn array_literal(&mut self, values: &[InstIdx], pc: u32) -> Result<InstIdx, AbortReason> {
        if values.iter().all(|&v| self.sinks_as_element(v)) {
            let mut array = self.emit(Op::ANew, Ty::Array);
            for &value in values {
                array = self.sunk_append(array, value)?;
            }
            return Ok(array);
        }
        let array = self.emit_guard(Op::Alloc(AllocKind::Array), Ty::Array, pc);
        for &value in values {
            self.emit_guard(Op::APush { array, value }, Ty::Void, pc);
        }
        Ok(array)
    }

    /// `dst := obj[index]` (`GetIndex`, `PeekIndex`, marked as `mark` says), by
    /// `semantics::index_into` in the tracing domain. A sunk container is read without
    /// code when the index is a non-negative int constant (an array) or a string constant
    /// (a dict); otherwise it is built first.
    pub(super) fn get_index(
        &mut self,
        dst: Reg,
        obj: Reg,
        index: Reg,
        mark: Mark,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let mut container = self.read_sunk(obj, view, pc)?;
        let key = self.read(index, view, pc)?;
        if self.trace.inst(container).op.is_sunk() && !self.read_while_sunk(container, key) {
            container = self.materialize(container, pc)?;
        }
        let container = TracedValue::of(container, view.slots[obj as usize]);
        let key = TracedValue::of(key, view.slots[index as usize]);
        let mut out = key;
        semantics::index_into(&mut Tracing::new(self, pc), container, key, mark, &mut out)?;
        self.write(dst, out.ir);
        Ok(())
    }

    /// Whether sunk container `container` is read at `key` with no code (see `get_index`).
    fn read_while_sunk(&self, container: InstIdx, key: InstIdx) -> bool {
        match (self.trace.inst(container).op, self.trace.inst(key).op) {
            (Op::ANew | Op::AIns { .. }, Op::KInt(i)) => i >= 0,
            (Op::DNew | Op::DIns { .. }, Op::KStr(_)) => true,
            _ => false,
        }
    }

    /// The traced holder, index and value of an index write into slot `obj`.
    fn write_operands(
        &mut self,
        obj: Reg,
        index: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(TracedValue, TracedValue), AbortReason> {
        let holder = TracedValue::of(self.read(obj, view, pc)?, view.slots[obj as usize]);
        let key = TracedValue::of(self.read(index, view, pc)?, view.slots[index as usize]);
        Ok((holder, key))
    }

    /// `obj[index] := src`, by `semantics::set_index` in the tracing domain; a copy made
    /// on trace is written back into `obj`'s slot, as the interpreter writes it back.
    pub(super) fn set_index(
        &mut self,
        obj: Reg,
        index: Reg,
        src: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let (mut holder, key) = self.write_operands(obj, index, view, pc)?;
        let value = TracedValue::of(self.read(src, view, pc)?, view.slots[src as usize]);
        let before = holder.ir;
        semantics::set_index(&mut Tracing::new(self, pc), &mut holder, key, value)?;
        if holder.ir != before {
            self.write(obj, holder.ir);
        }
        Ok(())
    }

    /// `dst := obj.name` (`GetField`, `PeekField`, `TakeField`, marked as `mark` says),
    /// by `semantics::field_into` in the tracing domain; a sunk struct's field is the
    /// value it was set to last.
    pub(super) fn get_field(
        &mut self,
        dst: Reg,
        obj: Reg,
        name: Symbol,
        mark: Mark,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let object = TracedValue::of(self.read_sunk(obj, view, pc)?, view.slots[obj as usize]);
        let mut out = object;
        semantics::field_into(&mut Tracing::new(self, pc), object, name, 0, || "", mark, &mut out)?;
        self.write(dst, out.ir);
        Ok(())
    }

    /// `obj.name := src`, by `semantics::set_field` in the tracing domain: in place,
    /// on a sunk struct (a new sunk value) or through `FSET`; the struct now holding the
    /// field is written back into `obj`'s slot.
    pub(super) fn set_field(
        &mut self,
        obj: Reg,
        name: Symbol,
        src: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let mut holder = TracedValue::of(self.read_sunk(obj, view, pc)?, view.slots[obj as usize]);
        let value = TracedValue::of(self.read(src, view, pc)?, view.slots[src as usize]);
        let before = holder.ir;
        semantics::set_field(&mut Tracing::new(self, pc), &mut holder, name, 0, || "", value)?;
        if holder.ir != before {
            self.write(obj, holder.ir);
        }
        Ok(())
    }

    /// `dst := obj.name` for a nested write through a field (`s.f[i] := v`,
    /// `GetFieldForWrite`), by `semantics::field_for_write` in the tracing domain (a
    /// struct built in the loop is materialized: the write goes into the object).
    pub(super) fn field_for_write(
        &mut self,
        dst: Reg,
        obj: Reg,
        name: Symbol,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let mut holder = TracedValue::of(self.read(obj, view, pc)?, view.slots[obj as usize]);
        let before = holder.ir;
        let mut out = holder;
        semantics::field_for_write(&mut Tracing::new(self, pc), &mut holder, name, || "", &mut out)?;
        if holder.ir != before {
            self.write(obj, holder.ir);
        }
        self.write(dst, out.ir);
        Ok(())
    }

    /// `dst := obj[index]` for a nested write (`a[i][j] := v`, `GetIndexForWrite`), by
    /// `semantics::index_for_write` in the tracing domain.
    pub(super) fn index_for_write(
        &mut self,
        dst: Reg,
        obj: Reg,
        index: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let (mut holder, key) = self.write_operands(obj, index, view, pc)?;
        let before = holder.ir;
        let mut out = key;
        semantics::index_for_write(&mut Tracing::new(self, pc), &mut holder, key, &mut out)?;
        if holder.ir != before {
            self.write(obj, holder.ir);
        }
        self.write(dst, out.ir);
        Ok(())
    }

    /// `has_key(d, k)` on a dict with an int or string key: whether the entry's tag
    /// (`DTag`) is not -1.
    pub(super) fn has_key(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let dict = self.read(base + 1, view, pc)?;
        let key = self.read(base + 2, view, pc)?;
        let tag = self.emit(Op::DTag(dict, key), Ty::Int);
        let absent = self.emit(Op::KInt(-1), Ty::Int);
        let present = self.emit(Op::NeInt(tag, absent), Ty::Bool);
        self.write(base, present);
        Ok(())
    }
}
