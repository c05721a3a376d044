//! Deoptimization: when native code leaves a trace through a guard, rebuild the
//! interpreter's frame from that guard's snapshot.
//!
//! The trace never writes frame slots (but the result of a `CallEffect`, the snapshot's
//! `stored_slot`, and the arguments of a native call), so every slot not named in the
//! snapshot already holds its right value; each named slot gets the IR value the snapshot maps it to, read
//! from where the register allocator kept it (a register saved by the exit stub, a spill
//! slot, or a constant in the IR) and boxed by its IR type. A sunk dict (`ir.rs`) is
//! allocated here, by replaying its `DIns` chain through the interpreter's own insertion
//! (`semantics::assign_index`), and a sunk struct by replaying its `StructSet`s through
//! `StructObj::set`; one IR value becomes one object even when several slots name it (the
//! object is then shared, as after the interpreter's `Move`).
//! Inlined frames get their closures from the callee slot below each ([`inlined_frames`]).
//! The interpreter then resumes at the snapshot's pc and cannot tell that native code ran.
//!
//! Allocating here is safe: a collection only starts at an interpreter safe point, and by
//! then every materialized object is in a slot.

use rustc_hash::FxHashMap;

use super::abi::{ExitState, Location};
use super::ir::{InlinedFrame, InstIdx, Op, SnapIdx, Trace, Ty};
use crate::compile::bytecode::ProtoId;
use crate::runtime::access;
use crate::runtime::heap::{Gc, Heap};
use crate::runtime::object::{DictObj, FuncObj, TaggedObj};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;
use crate::semantics;

/// Rebuilds interpreter values from one exit's registers and spill slots.
struct Rebuild<'a> {
    trace: &'a Trace,
    locations: &'a [Location],
    state: &'a ExitState,
    heap: &'a mut Heap,
    sunk: FxHashMap<InstIdx, Value>,
}

impl Rebuild<'_> {
    fn value(&mut self, v: InstIdx) -> Value {
        if !self.trace.inst(v).op.is_sunk() {
            return exit_value(self.trace, self.locations, self.state, v);
        }
        if let Some(&done) = self.sunk.get(&v) {
            // A second holder of one object, as after the interpreter's `Move`.
            done.mark_shared();
            return done;
        }
        let built = match self.trace.inst(v).op {
            Op::StructNew { .. } | Op::StructSet { .. } => self.sunk_struct(v),
            Op::ANew | Op::AIns { .. } => {
                let items = self.trace.sunk_elements(v);
                let items =
                    items.iter().map(|&value| exit_value(self.trace, self.locations, self.state, value)).collect();
                access::new_array(self.heap, items)
            }
            Op::TagNew { enum_name, tag, payload } => {
                let payload =
                    payload.map(|p| exit_value(self.trace, self.locations, self.state, p)).into_iter().collect();
                Value::Tagged(self.heap.alloc(TaggedObj { enum_name: Symbol(enum_name), tag: Symbol(tag), payload }))
            }
            _ => self.sunk_dict(v),
        };
        self.sunk.insert(v, built);
        built
    }

    /// The struct a chain `StructNew; StructSet...` ending at `v` builds: fields in the
    /// order they were first set, as `StructObj::set` orders them.
    fn sunk_struct(&mut self, v: InstIdx) -> Value {
        let (type_index, sets) = self.trace.sunk_fields(v);
        let object = self.heap.alloc_struct(type_index, sets.len() as u32);
        for &(field, value) in &sets {
            let value = exit_value(self.trace, self.locations, self.state, value);
            object.get_mut_young().set(Symbol(field), value);
        }
        Value::Struct(object)
    }

    /// The dict a chain `DNew; DIns...` ending at `v` builds.
    fn sunk_dict(&mut self, v: InstIdx) -> Value {
        let mut dict = Value::Dict(self.heap.alloc(DictObj::default()));
        for (key, value) in self.trace.sunk_inserts(v) {
            let key = exit_value(self.trace, self.locations, self.state, key);
            let value = exit_value(self.trace, self.locations, self.state, value);
            semantics::assign_index(self.heap, &mut dict, key, value)
                .expect("the recorder sinks only inserts of string constants into dicts");
        }
        dict
    }
}

/// The interpreter value of IR value `v` at the exit.
fn exit_value(trace: &Trace, locations: &[Location], state: &ExitState, v: InstIdx) -> Value {
    let inst = trace.inst(v);
    let bits = match locations[v.index()] {
        Location::Gpr(r) => state.gpr[r as usize],
        Location::Xmm(x) => state.xmm[x as usize],
        Location::Spill(n) => state.spill[n as usize],
        Location::Constant | Location::None => {
            return match inst.op {
                Op::KInt(i) => Value::Int(i),
                Op::KFloat(f) => Value::Float(f),
                Op::KBool(b) => Value::Bool(b),
                Op::KBuiltin(id) => Value::Builtin(id),
                Op::KStr(s) => Value::Str(s),
                Op::KFunc(f) => Value::Func(f),
                _ => Value::Null,
            }
        }
    };
    match inst.ty {
        Ty::Int => Value::Int(bits as i64),
        Ty::Float => Value::Float(f64::from_bits(bits)),
        Ty::Bool => Value::Bool(bits & 0xff != 0),
        // SAFETY: an array value on trace is a pointer the trace loaded from a slot of this
        // frame (possibly through other IR values), and no collection runs while native
        // code does, so the object is still live.
        Ty::Array => Value::Array(unsafe { Gc::from_address(bits as usize) }),
        // SAFETY: as for arrays: a dict address the trace loaded from this frame.
        Ty::Dict => Value::Dict(unsafe { Gc::from_address(bits as usize) }),
        // SAFETY: a string value on trace is a constant of the traced function or an address
        // loaded from this frame; `SAPPEND` changes the object, never which one it is.
        Ty::Str => Value::Str(unsafe { Gc::from_address(bits as usize) }),
        // SAFETY: a function value on trace was loaded from a slot or global of this frame
        // and compared with a constant the JIT keeps alive (`Jit::mark_roots`).
        Ty::Func => Value::Func(unsafe { Gc::from_address(bits as usize) }),
        // SAFETY: as for arrays: a struct address the trace loaded from this frame or an
        // array it holds (sunk structs never get here: `Rebuild` builds those).
        Ty::Struct => Value::Struct(unsafe { Gc::from_address(bits as usize) }),
        // SAFETY: as for arrays: an enum value's address the trace loaded from this frame
        // or an array it holds (sunk ones never get here: `Rebuild` builds those).
        Ty::Tagged => Value::Tagged(unsafe { Gc::from_address(bits as usize) }),
        Ty::Null | Ty::Builtin | Ty::Void => Value::Null,
    }
}

/// An interpreter frame an exit has the interpreter push above the frame the trace was
/// entered in: a call the trace inlined, or a level of native recursion.
#[derive(Clone, Copy, Debug)]
pub struct ResumeFrame {
    pub proto: ProtoId,
    /// The frame's closure; `None` for a method.
    pub closure: Option<Gc<FuncObj>>,
    /// Its slot 0, numbered from the entered frame's base.
    pub base: usize,
    /// Where the frame below resumes once this one returns (just after its call).
    pub return_pc: u32,
}

/// The interpreter frames of a snapshot's inlined calls, once [`restore`] has written its
/// values into `slots` (the frames of the level that exited, which starts `level_base`
/// slots above the entered frame): each gets the closure the callee slot below it holds,
/// the closure that arrived at the call (the snapshot lists that slot, or it is in memory
/// for a frame a side trace started in).
pub fn inlined_frames(frames: &[InlinedFrame], slots: &[Value], level_base: usize) -> Vec<ResumeFrame> {
    frames
        .iter()
        .map(|frame| {
            let closure = frame.closure.then(|| match slots[frame.base as usize - 1] {
                Value::Func(closure) => closure,
                other => unreachable!("the slot below an inlined frame holds its closure, not a {}", other.type_name()),
            });
            ResumeFrame {
                proto: frame.proto,
                closure,
                base: level_base + frame.base as usize,
                return_pc: frame.return_pc,
            }
        })
        .collect()
}

/// Writes snapshot `exit`'s values into `slots` (from the trace's frame base, covering its
/// inlined frames), allocating its sunk dicts; returns the pc to resume at. The caller
/// pushes the snapshot's inlined frames.
pub fn restore(
    trace: &Trace,
    locations: &[Location],
    state: &ExitState,
    exit: SnapIdx,
    slots: &mut [Value],
    heap: &mut Heap,
) -> u32 {
    let snapshot = &trace.snapshots[exit.index()];
    // Inlined frames' slots hold stale values (native code writes no slot); the
    // interpreter starts a frame with null slots, and the entries below fill the rest.
    for frame in snapshot.frames.iter().filter(|f| !f.slots_in_memory) {
        let start = frame.base as usize;
        for (slot, value) in slots[start..start + frame.num_slots as usize].iter_mut().enumerate() {
            if snapshot.stored_slot != Some((start + slot) as u16) {
                *value = Value::Null;
            }
        }
    }
    let mut rebuild = Rebuild { trace, locations, state, heap, sunk: FxHashMap::default() };
    for &(slot, v) in snapshot.restored_entries() {
        slots[slot as usize] = rebuild.value(v);
    }
    snapshot.pc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::ir::Snapshot;

    #[test]
    fn restore_boxes_each_snapshot_value_by_type_from_its_location() {
        let mut trace = Trace::default();
        let int = trace.push(Op::KInt(0), Ty::Int, None, 1);
        let float = trace.push(Op::KFloat(0.0), Ty::Float, None, 1);
        let flag = trace.push(Op::KBool(false), Ty::Bool, None, 1);
        let constant = trace.push(Op::KInt(42), Ty::Int, None, 1);
        let spilled = trace.push(Op::KInt(0), Ty::Int, None, 1);
        let exit = trace.add_snapshot(Snapshot {
            pc: 17,
            entries: vec![(0, int), (1, float), (3, flag), (4, constant), (6, spilled)],
            ..Snapshot::default()
        });
        let locations =
            vec![Location::Gpr(3), Location::Xmm(2), Location::Gpr(0), Location::Constant, Location::Spill(5)];
        let mut state = ExitState::default();
        state.gpr[3] = (-7i64) as u64;
        state.xmm[2] = 2.5f64.to_bits();
        state.gpr[0] = 1;
        state.spill[5] = 99;
        let mut slots = vec![Value::Null; 8];
        slots[2] = Value::Int(5);
        let pc = restore(&trace, &locations, &state, exit, &mut slots, &mut Heap::default());
        assert_eq!(pc, 17);
        assert!(matches!(slots[0], Value::Int(-7)));
        assert!(matches!(slots[1], Value::Float(f) if f == 2.5));
        assert!(matches!(slots[2], Value::Int(5)), "slots outside the snapshot keep their value");
        assert!(matches!(slots[3], Value::Bool(true)));
        assert!(matches!(slots[4], Value::Int(42)));
        assert!(matches!(slots[6], Value::Int(99)));
    }
}
