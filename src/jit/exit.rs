//! Deoptimization: when native code leaves a trace through a guard, rebuild the
//! interpreter's frame from that guard's snapshot.
//!
//! The trace never writes frame slots, so every slot not named in the snapshot already
//! holds its right value; each named slot gets the IR value the snapshot maps it to, read
//! from where the register allocator kept it (a register saved by the exit stub, a spill
//! slot, or a constant in the IR) and boxed by its IR type. The interpreter then resumes
//! at the snapshot's pc and cannot tell that native code ran.

use super::abi::{ExitState, Location};
use super::ir::{InstIdx, Op, SnapIdx, Trace, Ty};
use crate::runtime::heap::Gc;
use crate::runtime::value::Value;

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
        Ty::Null | Ty::Builtin | Ty::Void => Value::Null,
    }
}

/// Writes snapshot `exit`'s values into `slots` (the recorded frame); returns the pc to
/// resume at.
pub fn restore(trace: &Trace, locations: &[Location], state: &ExitState, exit: SnapIdx, slots: &mut [Value]) -> u32 {
    let snapshot = &trace.snapshots[exit.index()];
    for &(slot, v) in &snapshot.entries {
        slots[slot as usize] = exit_value(trace, locations, state, v);
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
        let pc = restore(&trace, &locations, &state, exit, &mut slots);
        assert_eq!(pc, 17);
        assert!(matches!(slots[0], Value::Int(-7)));
        assert!(matches!(slots[1], Value::Float(f) if f == 2.5));
        assert!(matches!(slots[2], Value::Int(5)), "slots outside the snapshot keep their value");
        assert!(matches!(slots[3], Value::Bool(true)));
        assert!(matches!(slots[4], Value::Int(42)));
        assert!(matches!(slots[6], Value::Int(99)));
    }
}
