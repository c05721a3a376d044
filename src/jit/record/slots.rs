//! The recorder's view of the interpreter's state: the slot map (which IR value each slot
//! holds), typed slot loads, writes, constants, snapshots of the state an exit restores, and
//! materializing sunk allocations before they escape.
//!
//! Invariant: a snapshot lists every slot the interpreter may read after the exit (by
//! liveness) whose value differs from memory, in every frame from the root to the current
//! inlined call, and the callee slot below each inlined frame, which holds its closure.

use super::{value_type, FrameClosure, RecordedFrame, Recorder, View};
use crate::compile::bytecode::Reg;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{AllocKind, InlinedFrame, InstIdx, Op, SnapIdx, Snapshot, Ty};
use crate::runtime::value::Value;

impl Recorder {
    pub(super) fn current(&self) -> &RecordedFrame {
        self.frames.last().expect("the root frame is never popped")
    }

    /// Whether the recorder is inside an inlined call.
    pub(super) fn inlined(&self) -> bool {
        self.frames.len() > 1
    }

    /// Slot `r` of the current frame, numbered from the root frame's base.
    pub(super) fn slot(&self, r: Reg) -> usize {
        self.current().base + r as usize
    }

    /// The state an exit at `pc` in the current frame restores: the modified slots the
    /// interpreter may read (each outer frame resuming after its call), the inlined frames
    /// to rebuild and the handlers installed on trace.
    pub(super) fn snapshot_state(&self, pc: u32) -> Snapshot {
        let mut entries = std::collections::BTreeMap::new();
        self.for_each_live_slot(pc, |slot| {
            if self.modified[slot] {
                entries.insert(slot as u16, self.slots[slot].expect("a modified slot holds a value"));
            }
        });
        // An inlined frame's closure is the callee value below it, where the exit finds it
        // (a frame a side trace started in has it in memory unless loaded from there).
        for frame in &self.frames[1..] {
            if let (FrameClosure::Value(closure), false) = (frame.closure, frame.in_memory) {
                entries.insert((frame.base - 1) as u16, closure);
            }
        }
        let frames = self.frames[1..]
            .iter()
            .zip(&self.frames)
            .map(|(frame, caller)| InlinedFrame {
                proto: frame.proto,
                closure: frame.closure != FrameClosure::Method,
                base: frame.base as u16,
                num_slots: frame.num_slots as u16,
                return_pc: caller.call.expect("a caller is in a call").0 + 1,
                slots_in_memory: frame.in_memory,
            })
            .collect();
        Snapshot {
            pc,
            entries: entries.into_iter().collect(),
            frames,
            handlers: self.handlers.clone(),
            handlers_left: self.handlers_left,
            back_edges: self.back_edges,
            calls: self.calls,
            stored_slot: None,
        }
    }

    /// Calls `f` with every slot (numbered from the root frame's base) the interpreter may
    /// read after an exit at `pc` in the current frame: by liveness, in every frame from
    /// the root to the current inlined call, each caller resuming after its call.
    fn for_each_live_slot(&self, pc: u32, mut f: impl FnMut(usize)) {
        let innermost = self.frames.len() - 1;
        for (depth, frame) in self.frames.iter().enumerate() {
            // A caller keeps what the rest of it may read once the call returns or raises.
            let live = |s: u16| match frame.call {
                Some((call_pc, _)) if depth < innermost => frame.live.live_after(call_pc, s),
                _ => frame.live.live_at(pc, s),
            };
            for s in 0..frame.num_slots {
                if live(s as u16) {
                    f(frame.base + s);
                }
            }
        }
    }

    /// The snapshot of the current state, resuming at `pc`.
    pub(super) fn snapshot(&mut self, pc: u32) -> SnapIdx {
        let depth = self.frames.len();
        if let Some((last_depth, last_pc, snap, writes)) = self.last_snapshot {
            let last = &self.trace.snapshots[snap.index()];
            let same_events = last.back_edges == self.back_edges && last.calls == self.calls;
            if last_depth == depth && last_pc == pc && writes == self.writes && same_events {
                return snap;
            }
        }
        let snap = self.trace.add_snapshot(self.snapshot_state(pc));
        self.last_snapshot = Some((depth, pc, snap, self.writes));
        snap
    }

    pub(super) fn emit(&mut self, op: Op, ty: Ty) -> InstIdx {
        self.trace.push(op, ty, None, self.line)
    }

    pub(super) fn emit_guard(&mut self, op: Op, ty: Ty, pc: u32) -> InstIdx {
        let snap = self.snapshot(pc);
        self.trace.push(op, ty, Some(snap), self.line)
    }

    pub(super) fn constant(&mut self, v: &Value) -> Result<InstIdx, AbortReason> {
        let (op, ty) = match *v {
            Value::Int(i) => (Op::KInt(i), Ty::Int),
            Value::Float(f) => (Op::KFloat(f), Ty::Float),
            Value::Bool(b) => (Op::KBool(b), Ty::Bool),
            Value::Null => (Op::KNull, Ty::Null),
            Value::Builtin(id) => (Op::KBuiltin(id), Ty::Builtin),
            Value::Str(s) => (Op::KStr(s), Ty::Str),
            other => return Err(AbortReason::NyiValueType(other.type_name())),
        };
        Ok(self.emit(op, ty))
    }

    pub(super) fn ty(&self, v: InstIdx) -> Ty {
        self.trace.inst(v).ty
    }

    /// The IR value of slot `r`, loading it (with a type guard) on first use. A sunk
    /// value (built in this iteration) is materialized: only [`Recorder::read_sunk`]'s
    /// callers (copies, calls, returns, field and key reads) know how to use one as it is.
    pub(super) fn read(&mut self, r: Reg, view: &View, pc: u32) -> Result<InstIdx, AbortReason> {
        let v = self.read_sunk(r, view, pc)?;
        if self.trace.inst(v).op.is_sunk() {
            return self.materialize(v, pc);
        }
        Ok(v)
    }

    /// Builds sunk value `v` for real where it escapes (the instruction at `pc` stores,
    /// pushes or passes it on, or it lives on past the trace): `Alloc`, then the
    /// `APush`es, `DSet`s or `FieldInit`s that fill it, in the order the literal and the
    /// assignments after it made them (a struct's fields each once, with the last value
    /// set; `Alloc` reserves room for exactly those, which `FieldInit` relies on). Every slot naming `v` then names the object; when
    /// two the interpreter may still read do, it is shared, as the interpreter's `Move`
    /// made it (an exit that finds `v` in two slots of its snapshot does the same). Guards here exit to `pc` with `v` still sunk, so the exit
    /// builds it.
    pub(super) fn materialize(&mut self, v: InstIdx, pc: u32) -> Result<InstIdx, AbortReason> {
        let object = match self.trace.inst(v).op {
            Op::ANew | Op::AIns { .. } => {
                let array = self.emit_guard(Op::Alloc(AllocKind::Array), Ty::Array, pc);
                for value in self.trace.sunk_elements(v) {
                    self.emit_guard(Op::APush { array, value }, Ty::Void, pc);
                }
                array
            }
            Op::DNew | Op::DIns { .. } => {
                let dict = self.emit_guard(Op::Alloc(AllocKind::Dict), Ty::Dict, pc);
                for (key, value) in self.trace.sunk_inserts(v) {
                    self.emit_guard(Op::DSet { dict, key, value }, Ty::Void, pc);
                }
                dict
            }
            Op::StructNew { .. } | Op::StructSet { .. } => {
                let (type_index, sets) = self.trace.sunk_fields(v);
                let fields = final_fields(sets);
                let Ok(room) = u16::try_from(fields.len()) else {
                    return Err(AbortReason::NyiInstruction("a struct with more than 65535 fields"));
                };
                let kind = AllocKind::Struct { type_index, fields: room };
                let object = self.emit_guard(Op::Alloc(kind), Ty::Struct, pc);
                for (field, value) in fields {
                    self.emit(Op::FieldInit { object, field, value }, Ty::Void);
                }
                object
            }
            Op::TagNew { enum_name, tag, payload } => self.new_tagged_object(enum_name, tag, payload.as_slice(), pc)?,
            _ => unreachable!("only arrays, dicts, structs and enum values are sunk"),
        };
        // Only slots the interpreter may still read hold it: a dead one (the slot of a
        // returned callee, a variable past its last use) is never read again, and the
        // interpreter did not mark the object for it.
        let mut holders = 0;
        self.for_each_live_slot(pc, |slot| holders += usize::from(self.slots[slot] == Some(v)));
        for slot in self.slots.iter_mut().filter(|s| **s == Some(v)) {
            *slot = Some(object);
        }
        if holders > 1 {
            self.emit(Op::MarkShared(object), Ty::Void);
        }
        self.writes += 1;
        Ok(object)
    }

    /// Materializes every sunk value among the modified slots `wanted` picks, before
    /// they are stored or carried on.
    pub(super) fn materialize_slots(&mut self, pc: u32, wanted: impl Fn(usize) -> bool) -> Result<(), AbortReason> {
        let mut sunk: Vec<InstIdx> = (0..self.slots.len())
            .filter(|&s| self.modified[s] && wanted(s))
            .filter_map(|s| self.slots[s])
            .filter(|&v| self.trace.inst(v).op.is_sunk())
            .collect();
        sunk.sort();
        sunk.dedup();
        for v in sunk {
            self.materialize(v, pc)?;
        }
        Ok(())
    }

    /// Like [`Recorder::read`], but a sunk dict is returned as is.
    pub(super) fn read_sunk(&mut self, r: Reg, view: &View, pc: u32) -> Result<InstIdx, AbortReason> {
        let slot = self.slot(r);
        if let Some(v) = self.slots[slot] {
            return Ok(v);
        }
        // Every slot of a call inlined while recording is written on entry.
        if !self.current().in_memory {
            return Err(AbortReason::NyiInstruction("a callee slot the trace never wrote"));
        }
        let v = match view.slots[r as usize] {
            // A builtin has no register form: the slot is guarded to hold it, and the trace
            // knows it as a constant (a callee, an argument, a value stored).
            Value::Builtin(builtin) => {
                self.type_checked_load(Op::SBuiltin { slot: slot as u16, builtin }, Ty::Void, pc);
                self.emit(Op::KBuiltin(builtin), Ty::Builtin)
            }
            ref other => {
                let ty = value_type(other)?;
                self.type_checked_load(Op::SLoad { slot: slot as u16 }, ty, pc)
            }
        };
        self.slots[slot] = Some(v);
        Ok(v)
    }

    /// A type-guarded load with a snapshot of its own, so that an exit through it is
    /// known to be a type check failing (which retires a trace whose types changed).
    pub(super) fn type_checked_load(&mut self, op: Op, ty: Ty, pc: u32) -> InstIdx {
        let snap = self.trace.add_snapshot(self.snapshot_state(pc));
        self.trace.push(op, ty, Some(snap), self.line)
    }

    pub(super) fn write(&mut self, r: Reg, v: InstIdx) {
        let slot = self.slot(r);
        self.slots[slot] = Some(v);
        self.modified[slot] = true;
        self.writes += 1;
    }

    /// Grows the slot map to cover `end` slots.
    pub(super) fn cover_slots(&mut self, end: usize) {
        if self.slots.len() < end {
            self.slots.resize(end, None);
            self.modified.resize(end, false);
        }
    }

    /// After a native call every slot is in memory: the slot map starts over, except that
    /// a slot below `call_base` (which the call left alone) still names the constant it
    /// held. Registers do not survive the call but constants need none, so the trace
    /// still knows, for example, which builtin a callee slot loaded before the call holds
    /// (`len(f(x))`), as the interpreter's frame still holds it.
    pub(super) fn forget_slots(&mut self, call_base: usize) {
        for (s, slot) in self.slots.iter_mut().enumerate() {
            let constant = slot.is_some_and(|v| self.trace.inst(v).op.is_constant());
            if s >= call_base || !constant {
                *slot = None;
            }
        }
        // Memory holds every value the rest of the frame reads (stored before the call).
        self.modified.iter_mut().for_each(|m| *m = false);
        self.writes += 1;
    }
}

/// The fields a sunk struct ends up with, from the `StructSet`s that built it (in order):
/// each field once, where it was first set, holding the value last set, as assigning an
/// existing field in place (`semantics::set_field`) leaves it.
fn final_fields(sets: Vec<(u32, InstIdx)>) -> Vec<(u32, InstIdx)> {
    let mut fields: Vec<(u32, InstIdx)> = Vec::with_capacity(sets.len());
    for (field, value) in sets {
        match fields.iter_mut().find(|(name, _)| *name == field) {
            Some(entry) => entry.1 = value,
            None => fields.push((field, value)),
        }
    }
    fields
}
