//! Recording closures: the closure of each recorded frame as an IR value, captured
//! variables read (`GetCapture`, `TakeCapture`) and assigned (`SetCapture`) through it,
//! closures created on trace (`Closure`), and `LoadSelfFunc`.
//!
//! Terms: a frame's closure is what the interpreter's `Frame::closure` holds. An inlined
//! call's closure is its callee value, which the call guards on its prototype only (see
//! `Recorder::guard_callee_prototype`), so every access goes through the IR value of the
//! closure that arrived, never through the object seen while recording.
//!
//! Invariant: a closure created on trace (`FNEW`, then one `CSET` per captured variable)
//! is filled before any other instruction sees it, and `FNEW` is the only guard among
//! them, so an exit never finds a half-built closure.

use super::{FrameClosure, Recorder, View};
use crate::compile::bytecode::{CaptureSource, ProtoId, Reg};
use crate::jit::abi::capture_key;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{InstIdx, Op, Ty};
use crate::runtime::value::Value;

impl Recorder {
    /// The IR value of the current frame's closure (loaded from the callee slot below a
    /// frame a side trace started in).
    pub(super) fn closure(&mut self, pc: u32) -> Result<InstIdx, AbortReason> {
        match self.current().closure {
            FrameClosure::Value(v) => Ok(v),
            FrameClosure::InCalleeSlot => {
                let callee_slot = self.current().base - 1;
                // A constant the side trace inherited from its parent exit, or a load.
                let v = match self.slots[callee_slot] {
                    Some(known) => known,
                    None => self.type_checked_load(Op::SLoad { slot: callee_slot as u16 }, Ty::Func, pc),
                };
                self.frames.last_mut().expect("the root frame is never popped").closure = FrameClosure::Value(v);
                Ok(v)
            }
            FrameClosure::Unknown => {
                Err(AbortReason::NyiInstruction("closures' captured variables in a loop's own function"))
            }
            FrameClosure::Method => Err(AbortReason::NyiInstruction("captured variables of a method")),
        }
    }

    /// Captured variable `index` of the current frame's closure: a guard on its type, then
    /// its value (a builtin: a guard on which one, then that constant). The interpreter's
    /// closure `view.closure` says the type.
    fn capture_value(&mut self, index: u16, view: &View, pc: u32) -> Result<InstIdx, AbortReason> {
        let Some(current) = view.closure.and_then(|c| c.captures.get(index as usize).copied()) else {
            return Err(AbortReason::ErrorRaised);
        };
        let ty = match current {
            Value::Builtin(_) => Ty::Builtin,
            _ => capture_type(&current)?,
        };
        let closure = self.closure(pc)?;
        let index = index as u32;
        if let Some(value) = self.capture_set_on_trace(closure, index) {
            return Ok(value);
        }
        let tag = self.emit(Op::CaptureTag { func: closure, index }, Ty::Int);
        let expected = self.emit(Op::KInt(capture_key(current)), Ty::Int);
        let same = self.emit(Op::EqInt(tag, expected), Ty::Bool);
        self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
        Ok(match current {
            // The guard fixed which builtin it is.
            Value::Builtin(builtin) => self.emit(Op::KBuiltin(builtin), Ty::Builtin),
            _ => self.emit(Op::CaptureGet { func: closure, index }, ty),
        })
    }

    /// The value this recording last stored into captured variable `index` of `closure`
    /// (`CSET`, as a new closure is filled or by `SetCapture`), when nothing since may have
    /// assigned it: a closure made on trace needs no load of what it was given. A store
    /// into another closure value (which may be the same object) or a native call stops
    /// the search.
    fn capture_set_on_trace(&self, closure: InstIdx, index: u32) -> Option<InstIdx> {
        for inst in self.trace.insts.iter().rev() {
            match inst.op {
                Op::CaptureSet { func, index: set, value } if func == closure && set == index => return Some(value),
                Op::CaptureSet { func, .. } if func != closure => return None,
                Op::CallTrace { .. } => return None,
                _ => {}
            }
        }
        None
    }

    /// `GetCapture` (which marks an object read out shared, as the closure still holds it)
    /// and `TakeCapture` (which does not).
    pub(super) fn capture(&mut self, index: u16, share: bool, view: &View, pc: u32) -> Result<InstIdx, AbortReason> {
        let value = self.capture_value(index, view, pc)?;
        if share {
            self.mark_shared_object(value);
        }
        Ok(value)
    }

    /// `SetCapture`: the current closure's captured variable `index` takes the value over.
    pub(super) fn set_capture(&mut self, index: u16, src: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        if view.closure.is_none_or(|c| index as usize >= c.captures.len()) {
            return Err(AbortReason::ErrorRaised);
        }
        let value = self.read(src, view, pc)?;
        let closure = self.closure(pc)?;
        self.emit(Op::CaptureSet { func: closure, index: index as u32, value }, Ty::Void);
        Ok(())
    }

    /// `Closure`: a new closure of `child`, its captured variables copied (and marked
    /// shared) from the creating frame's slots, its closure's captures or that closure
    /// itself, as the interpreter builds it.
    pub(super) fn new_closure(&mut self, dst: Reg, child: ProtoId, view: &View, pc: u32) -> Result<(), AbortReason> {
        let sources = view.program.proto(child).captures.clone();
        let mut captured = Vec::with_capacity(sources.len());
        for source in sources {
            let value = match source {
                CaptureSource::Slot(s) => self.read(s, view, pc)?,
                CaptureSource::Capture(i) => self.capture_value(i, view, pc)?,
                CaptureSource::CurrentClosure if self.current().closure == FrameClosure::Method => {
                    self.emit(Op::KNull, Ty::Null)
                }
                CaptureSource::CurrentClosure => self.closure(pc)?,
            };
            captured.push(value);
        }
        let closure = self.emit_guard(Op::FuncNew { proto: child.0 }, Ty::Func, pc);
        for (index, &value) in captured.iter().enumerate() {
            self.mark_shared_object(value);
            self.emit(Op::CaptureSet { func: closure, index: index as u32, value }, Ty::Void);
        }
        self.write(dst, closure);
        Ok(())
    }

    /// `SHARE` of a string, array, dict or struct value, as `Value::mark_shared` marks it.
    fn mark_shared_object(&mut self, value: InstIdx) {
        if matches!(self.ty(value), Ty::Array | Ty::Dict | Ty::Str | Ty::Struct) {
            self.emit(Op::MarkShared(value), Ty::Void);
        }
    }
}

/// The IR type of a captured variable read on trace: any value a struct field may hold
/// on trace (builtins abort).
fn capture_type(v: &Value) -> Result<Ty, AbortReason> {
    let ty = super::value_type(v)?;
    if !ty.is_field_value() {
        return Err(AbortReason::NyiValueType(v.type_name()));
    }
    Ok(ty)
}
