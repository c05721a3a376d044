//! Recording operations on containers: struct literals and fields (inline `FieldLoad` /
//! `FieldStore` at a guarded position), enum payloads, array and dict reads and writes, and
//! the sunk (not yet allocated) containers that allocation sinking keeps in the slot map.
//!
//! Invariant: a write in place is recorded only behind a guard that the container is
//! unshared, as the interpreter writes in place only then.

use super::{element_type, field_position, read_element_type, trace_key, value_type, Recorder, View};
use crate::compile::bytecode::{Proto, Reg};
use crate::jit::abort::AbortReason;
use crate::jit::ir::{AllocKind, InstIdx, Op, Ty};
use crate::jit::residual::Residual;
use crate::runtime::access;
use crate::runtime::object::TaggedObj;
use crate::runtime::value::Value;

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
            if !self.ty(value).is_field_value() {
                return Err(AbortReason::NyiInstruction("a struct literal holding a builtin"));
            }
            object = self.emit(Op::StructSet { object, field: field.0, value }, Ty::Struct);
        }
        self.write(dst, object);
        Ok(())
    }

    /// Field `field` of sunk struct `object`: the value it was set to last.
    pub(super) fn sunk_field(&mut self, object: InstIdx, field: u32) -> Result<InstIdx, AbortReason> {
        if self.ty(object) != Ty::Struct || !self.trace.inst(object).op.is_sunk() {
            return Err(AbortReason::NyiInstruction("field access on anything but a struct built in the loop"));
        }
        let mut at = object;
        while let Op::StructSet { object, field: set, value } = self.trace.inst(at).op {
            if set == field {
                return Ok(value);
            }
            at = object;
        }
        // The interpreter raises its missing-field error here.
        Err(AbortReason::ErrorRaised)
    }

    /// Field `field` of the struct object `object` (whose value now is `current`): a guard
    /// that the field's tag is the one it has now, then its value.
    pub(super) fn field(
        &mut self,
        object: InstIdx,
        current: Value,
        field: u32,
        share: bool,
        pc: u32,
    ) -> Result<InstIdx, AbortReason> {
        let Value::Struct(s) = current else {
            return Err(AbortReason::NyiInstruction("field access on anything but a struct"));
        };
        let Some(position) = field_position(&s, field) else { return Err(AbortReason::ErrorRaised) };
        let value = s.fields[position as usize].1;
        let ty = value_type(&value)?;
        let read = self.emit_guard(Op::FieldLoad { object, field, position }, ty, pc);
        // An object read out of a field is shared with the struct, as `access::get_field`
        // marks it (`PeekField` does not).
        if share && matches!(ty, Ty::Str | Ty::Array | Ty::Dict | Ty::Struct | Ty::Tagged) {
            self.emit(Op::MarkShared(read), Ty::Void);
        }
        Ok(read)
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
        if self.ty(value) == Ty::Builtin {
            return Err(AbortReason::NyiInstruction("an array literal holding a builtin"));
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

    /// `dst := dict[key]` on a sunk dict with a constant key: the value inserted last under
    /// that key, with no code at all.
    pub(super) fn sunk_get(
        &mut self,
        dst: Reg,
        sunk: InstIdx,
        index: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let key = self.read(index, view, pc)?;
        let Op::KStr(wanted) = self.trace.inst(key).op else {
            return Err(AbortReason::NyiInstruction("reading a dict literal with a computed key"));
        };
        let wanted = access::dict_key(Value::Str(wanted)).expect("strings are dict keys");
        let mut at = sunk;
        while let Op::DIns { dict, key, value } = self.trace.inst(at).op {
            let Op::KStr(k) = self.trace.inst(key).op else { unreachable!("DIns keys are string constants") };
            if access::dict_key(Value::Str(k)).expect("strings are dict keys") == wanted {
                self.write(dst, value);
                return Ok(());
            }
            at = dict;
        }
        // The interpreter raises its missing-key error here.
        Err(AbortReason::ErrorRaised)
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
        if values.iter().any(|&v| self.ty(v) == Ty::Builtin) {
            return Err(AbortReason::NyiInstruction("an array literal holding a builtin"));
        }
        let array = self.emit_guard(Op::Alloc(AllocKind::Array), Ty::Array, pc);
        for &value in values {
            self.emit_guard(Op::APush { array, value }, Ty::Void, pc);
        }
        Ok(array)
    }

    /// `dst := obj[index]` for a nested write (`a[i][j] := v`) into an array element that
    /// is itself an array, dict or struct: `ALoadForWrite`, which guards that neither needs
    /// a copy, or, when one did while recording, `AUnique` and `ALoadUnique`, which copy
    /// on trace as `access::index_for_write` does.
    pub(super) fn index_for_write(
        &mut self,
        dst: Reg,
        obj: Reg,
        index: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let (Value::Array(a), Value::Int(i)) = (view.slots[obj as usize], view.slots[index as usize]) else {
            return Err(AbortReason::NyiInstruction("a nested write into anything but an array element"));
        };
        let element = usize::try_from(i).ok().and_then(|i| a.items.get(i).copied());
        let ty = match element {
            Some(Value::Array(_)) => Ty::Array,
            Some(Value::Dict(_)) => Ty::Dict,
            Some(Value::Struct(_)) => Ty::Struct,
            _ => {
                return Err(AbortReason::NyiInstruction(
                    "a nested write into an element that is not an array, dict or struct",
                ))
            }
        };
        let array = self.read(obj, view, pc)?;
        let position = self.read(index, view, pc)?;
        let element = if a.is_shared() || element.is_some_and(|e| e.is_shared()) {
            // Copied on trace, by the interpreter's own copy-on-write.
            let private = self.private_array(obj, array, pc);
            self.emit_guard(Op::ALoadUnique(private, position), ty, pc)
        } else {
            self.emit_guard(Op::ALoadForWrite(array, position), ty, pc)
        };
        self.write(dst, element);
        Ok(())
    }

    /// `dst := obj.name` for a nested write through a field (`s.f[i] := v`,
    /// `GetFieldForWrite`) that holds an array, dict or struct. When neither the struct
    /// nor the container was shared while recording, guards that they still are not
    /// (`UNSHARED`, `FLOAD`, `UNSHARED`; the interpreter copies whichever is shared after
    /// all); otherwise they are copied on trace as `access::field_for_write` copies them:
    /// `SUNIQUE` makes the struct private (written back into `obj`'s slot) and `FLOADU`
    /// the container inside it.
    pub(super) fn field_for_write(
        &mut self,
        dst: Reg,
        obj: Reg,
        field: u32,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        // A struct built in the loop is materialized: the write goes into the object.
        let object = self.read(obj, view, pc)?;
        let (Value::Struct(s), Ty::Struct) = (view.slots[obj as usize], self.ty(object)) else {
            return Err(AbortReason::NyiInstruction("a nested write through a field of anything but a struct"));
        };
        let Some(position) = field_position(&s, field) else { return Err(AbortReason::ErrorRaised) };
        let held = s.fields[position as usize].1;
        if !matches!(held, Value::Array(_) | Value::Dict(_) | Value::Struct(_)) {
            return Err(AbortReason::NyiInstruction("a nested write into a field that holds no container"));
        }
        let ty = value_type(&held)?;
        let container = if s.is_shared() || held.is_shared() {
            let private = self.emit_guard(Op::SUnique(object), Ty::Struct, pc);
            self.write(obj, private);
            self.emit_guard(Op::FieldLoadUnique { object: private, field, position }, ty, pc)
        } else {
            self.emit_guard(Op::GuardUnshared(object), Ty::Void, pc);
            let container = self.emit_guard(Op::FieldLoad { object, field, position }, ty, pc);
            self.emit_guard(Op::GuardUnshared(container), Ty::Void, pc);
            container
        };
        self.write(dst, container);
        Ok(())
    }

    /// The array in slot `holder` (IR value `array`), made private for a write there
    /// (`AUnique`: a copy when it is shared), written back into the slot as the
    /// interpreter's write path does.
    pub(super) fn private_array(&mut self, holder: Reg, array: InstIdx, pc: u32) -> InstIdx {
        let private = self.emit_guard(Op::AUnique(array), Ty::Array, pc);
        self.write(holder, private);
        private
    }

    /// `dst := array[index]` on a sunk array with a constant index: the element put there.
    pub(super) fn sunk_element(
        &mut self,
        dst: Reg,
        array: InstIdx,
        index: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let position = self.read(index, view, pc)?;
        let Op::KInt(i) = self.trace.inst(position).op else {
            unreachable!("get_index sends only constant indexes here")
        };
        let elements = self.trace.sunk_elements(array);
        // The interpreter raises its out-of-bounds error here.
        let at = access::element_index(i, elements.len()).map_err(|_| AbortReason::ErrorRaised)?;
        self.write(dst, elements[at]);
        Ok(())
    }

    /// `dst := container[index]` for an array and a non-negative int index, a dict and an
    /// int or string key, or a sunk array, dict and a constant index or key. An object read
    /// out of an array is marked shared when `share` (not for `PeekIndex`).
    pub(super) fn get_index(
        &mut self,
        dst: Reg,
        obj: Reg,
        index: Reg,
        share: bool,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let mut container = self.read_sunk(obj, view, pc)?;
        if matches!(self.trace.inst(container).op, Op::ANew | Op::AIns { .. }) {
            // A sunk array indexed by a constant is answered while recording; by a
            // computed index, it is built and indexed as any array.
            let position = self.read(index, view, pc)?;
            if let Op::KInt(_) = self.trace.inst(position).op {
                return self.sunk_element(dst, container, index, view, pc);
            }
            container = self.materialize(container, pc)?;
        }
        if self.trace.inst(container).op.is_sunk() {
            return self.sunk_get(dst, container, index, view, pc);
        }
        if let (Value::Dict(d), Some(key)) = (view.slots[obj as usize], trace_key(view.slots[index as usize])) {
            let Some(entry) = d.get(&key) else { return Err(AbortReason::ErrorRaised) };
            let ty = element_type(&entry)?;
            let dict = self.read(obj, view, pc)?;
            let key = self.read(index, view, pc)?;
            let tag = self.emit(Op::DTag(dict, key), Ty::Int);
            let expected = self.emit(Op::KInt(entry.tag() as i64), Ty::Int);
            let found = self.emit(Op::EqInt(tag, expected), Ty::Bool);
            self.emit_guard(Op::GuardTrue(found), Ty::Void, pc);
            let value = self.emit(Op::DGet(dict, key), ty);
            self.write(dst, value);
            return Ok(());
        }
        if let (Value::Str(_), Value::Int(_)) = (view.slots[obj as usize], view.slots[index as usize]) {
            let string = self.read(obj, view, pc)?;
            let position = self.read(index, view, pc)?;
            let character = self.emit_guard(Op::SChar(string, position), Ty::Str, pc);
            self.write(dst, character);
            return Ok(());
        }
        let (Value::Array(a), Value::Int(i)) = (view.slots[obj as usize], view.slots[index as usize]) else {
            return Err(AbortReason::NyiInstruction("indexing anything but an array or a string with an int"));
        };
        if i < 0 {
            return Err(AbortReason::NyiInstruction("negative array index"));
        }
        let Some(element) = a.items.get(i as usize) else { return Err(AbortReason::ErrorRaised) };
        let ty = read_element_type(element)?;
        let array = self.read(obj, view, pc)?;
        let position = self.read(index, view, pc)?;
        let value = self.emit_guard(Op::ALoad(array, position), ty, pc);
        if share {
            self.share_read_out(value);
        }
        self.write(dst, value);
        Ok(())
    }

    /// Marks an object read out of a container shared, as the interpreter's read does (the
    /// container still holds it).
    pub(super) fn share_read_out(&mut self, value: InstIdx) {
        if matches!(self.ty(value), Ty::Str | Ty::Struct | Ty::Array | Ty::Dict | Ty::Tagged) {
            self.emit(Op::MarkShared(value), Ty::Void);
        }
    }

    /// `container[index] := value` into an array (copied on trace first when it is shared)
    /// or, with an int or string key, an unshared dict, in place.
    pub(super) fn set_index(
        &mut self,
        obj: Reg,
        index: Reg,
        src: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        if let (Value::Dict(d), Some(_)) = (view.slots[obj as usize], trace_key(view.slots[index as usize])) {
            if d.is_shared() {
                return Err(AbortReason::NyiInstruction("writing a shared dict (it is copied first)"));
            }
            let dict = self.read(obj, view, pc)?;
            let key = self.read(index, view, pc)?;
            let value = self.read(src, view, pc)?;
            if !matches!(self.ty(value), Ty::Int | Ty::Float | Ty::Bool | Ty::Null) {
                return Err(AbortReason::NyiInstruction("storing an array, dict, string or struct into a dict"));
            }
            self.emit_guard(Op::DSet { dict, key, value }, Ty::Void, pc);
            return Ok(());
        }
        let (Value::Array(a), Value::Int(i)) = (view.slots[obj as usize], view.slots[index as usize]) else {
            return Err(AbortReason::NyiInstruction("index assignment to anything but an array with an int"));
        };
        if i < 0 {
            return Err(AbortReason::NyiInstruction("negative array index"));
        }
        let mut array = self.read(obj, view, pc)?;
        if a.is_shared() {
            array = self.private_array(obj, array, pc);
        }
        let position = self.read(index, view, pc)?;
        let value = self.read(src, view, pc)?;
        // The stored value is handed over, as `access::set_index` takes it.
        if self.ty(value) == Ty::Builtin {
            return Err(AbortReason::NyiInstruction("storing a builtin into an array"));
        }
        self.emit_guard(Op::AStore { array, index: position, value }, Ty::Void, pc);
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
