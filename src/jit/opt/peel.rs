//! PEEL: loop peeling by copy-substitution (LuaJIT's lj_opt_loop.c).
//!
//! The recorded iteration becomes the *pre-roll*, kept exactly as it is (indices and
//! snapshots unchanged). After it come `Loop`, one `Phi` per carried slot, and a copy of the
//! iteration, the *body*, re-emitted through fold, CSE and guard facts (`emit.rs`) with
//! every operand substituted:
//! - an `SLoad` of a carried slot becomes the slot's `Phi`; an `SLoad` of any other slot
//!   stays the pre-roll load (the trace never writes slots, so it is loop-invariant);
//! - every other instruction whose operands are all pre-roll values collapses onto its
//!   pre-roll copy through CSE, so invariant loads, arithmetic and guards run once;
//! - `GLoad`s of globals the trace stores are real loads again in the body (CSE forgets
//!   those globals at `Loop`); other globals are invariant.
//!
//! A carried slot is a `loop_end` entry whose value is not the slot's own `SLoad`. Its
//! `Phi(entry, back_edge)` joins the pre-roll's end value with the body's. A `Phi` whose
//! back edge is itself or its entry value never changes: the slot is then invariant with
//! the entry value, and the body is copied again with that value substituted directly,
//! so that what depends on it collapses too (repeated until no such `Phi` is left).
//!
//! Body snapshots start from `{ every carried slot -> its Phi or invariant value }`: frame
//! memory still holds the values from before the trace, so every slot the loop changes is
//! stale in the body, not only those changed so far in this iteration. The recorded
//! snapshot's entries (substituted) are laid over that.
//!
//! A carried slot must end the iteration with the type its `SLoad` guards; otherwise the
//! body's value would not fit the loop header's type check, and peeling fails
//! ("type-unstable loop").

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::emit::{stored_memory, Emitter, Stages};
use super::OptError;
use crate::jit::ir::{Inst, InstIdx, Op, SnapIdx, Snapshot, Trace};

/// Peels `trace`; a trace without `loop_end` (not a loop, or already peeled) is returned as is.
pub fn peel(trace: &Trace) -> Result<Trace, OptError> {
    let Some(loop_end) = trace.loop_end else { return Ok(trace.clone()) };
    let carried = carried_slots(trace, loop_end)?;
    let mut invariant: FxHashMap<u16, InstIdx> = FxHashMap::default();
    loop {
        let peeled = copy_iteration(trace, &carried, &invariant);
        let constant_phis: Vec<&LoopPhi> =
            peeled.phis.iter().filter(|p| p.back_edge == p.phi || p.back_edge == p.entry).collect();
        if constant_phis.is_empty() {
            return Ok(peeled.trace);
        }
        for p in constant_phis {
            invariant.insert(p.slot, p.entry);
        }
    }
}

/// A slot whose value the iteration changes, and that value (a pre-roll instruction).
struct CarriedSlot {
    slot: u16,
    end_value: InstIdx,
}

fn carried_slots(trace: &Trace, loop_end: SnapIdx) -> Result<Vec<CarriedSlot>, OptError> {
    let mut carried = Vec::new();
    for &(slot, end_value) in &trace.snapshots[loop_end.index()].entries {
        if trace.inst(end_value).op == (Op::SLoad { slot }) {
            continue;
        }
        let end_ty = trace.inst(end_value).ty;
        let mismatched_load = trace.insts.iter().find(|i| i.op == Op::SLoad { slot } && i.ty != end_ty);
        if let Some(load) = mismatched_load {
            return Err(OptError::new(format!(
                "type-unstable loop: slot {} enters as {} and leaves as {}",
                slot,
                load.ty.name(),
                end_ty.name()
            )));
        }
        carried.push(CarriedSlot { slot, end_value });
    }
    Ok(carried)
}

struct LoopPhi {
    slot: u16,
    phi: InstIdx,
    entry: InstIdx,
    back_edge: InstIdx,
}

struct PeeledTrace {
    trace: Trace,
    phis: Vec<LoopPhi>,
}

/// Pre-roll, `Loop`, `Phi`s for the carried slots not in `invariant`, body.
fn copy_iteration(trace: &Trace, carried: &[CarriedSlot], invariant: &FxHashMap<u16, InstIdx>) -> PeeledTrace {
    let pre_roll = Trace { loop_end: None, ..trace.clone() };
    let mut emitter = Emitter::continuing(Stages::ALL, pre_roll);
    emitter.enter_loop(&stored_memory(trace));

    // The value each carried slot has whenever the body starts.
    let mut slot_values: BTreeMap<u16, InstIdx> = BTreeMap::new();
    let mut phis = Vec::new();
    for &CarriedSlot { slot, end_value } in carried {
        let value = match invariant.get(&slot) {
            Some(&value) => value,
            None => {
                let ty = trace.inst(end_value).ty;
                // The back edge is not defined yet; it is set once the body is.
                let phi = emitter.append(Inst { op: Op::Phi(end_value, end_value), ty, snap: None, line: 0 });
                phis.push(LoopPhi { slot, phi, entry: end_value, back_edge: end_value });
                phi
            }
        };
        slot_values.insert(slot, value);
    }

    let mut copies: Vec<Option<InstIdx>> = Vec::with_capacity(trace.insts.len());
    let mut body_snapshots: FxHashMap<SnapIdx, SnapIdx> = FxHashMap::default();
    for (n, inst) in trace.insts.iter().enumerate() {
        let copy = match inst.op {
            Op::SLoad { slot } => Some(slot_values.get(&slot).copied().unwrap_or(InstIdx(n as u32))),
            op => {
                let copy_of = |i: InstIdx| copies[i.index()].expect("operands and snapshot entries have values");
                emitter.emit(op.map_operands(copy_of), inst.ty, inst.line, |out| {
                    let recorded = inst.snap.expect("guards have snapshots");
                    *body_snapshots.entry(recorded).or_insert_with(|| {
                        let snapshot = &trace.snapshots[recorded.index()];
                        let mut entries = slot_values.clone();
                        entries.extend(snapshot.entries.iter().map(|&(slot, value)| (slot, copy_of(value))));
                        out.add_snapshot(Snapshot {
                            pc: snapshot.pc,
                            entries: entries.into_iter().collect(),
                            frames: snapshot.frames.clone(),
                            handlers: snapshot.handlers.clone(),
                            handlers_left: snapshot.handlers_left,
                            back_edges: snapshot.back_edges,
                            calls: snapshot.calls,
                            stored_slot: snapshot.stored_slot,
                        })
                    })
                })
            }
        };
        copies.push(copy);
    }

    let end_values: FxHashMap<u16, InstIdx> = carried.iter().map(|c| (c.slot, c.end_value)).collect();
    for p in &mut phis {
        p.back_edge = copies[end_values[&p.slot].index()].expect("slot values are values");
        emitter.set_phi_back_edge(p.phi, p.back_edge);
    }
    PeeledTrace { trace: emitter.into_trace(), phis }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::ir::text::parse;
    use crate::jit::opt::check::check;

    fn peeled(trace: &Trace) -> Trace {
        peel(trace).unwrap_or_else(|e| panic!("{}", e))
    }

    /// `i := i + 1; while i < n`: one Phi; n's load and the constant stay in the pre-roll.
    #[test]
    fn counting_loop_gets_one_phi_and_hoists_the_bound() {
        check(
            peeled,
            "
            ....        SNAP    #0 pc=3 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   int  K        1
            ....        SNAP    #1 pc=5 [ ]
            0003 > int  ADD      0000 0002  #1
            0004   bool LT       0003 0001
            ....        SNAP    #2 pc=7 [ 0=0003 ]
            0005 > void GTRUE    0004       #2
            ....        LOOPEND #3 pc=3 [ 0=0003 ]
            ",
            "
            ....        SNAP    #0 pc=3 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=3 [ ]
            0001 > int  SLOAD    #1         #0
            0002   int  K        1
            ....        SNAP    #1 pc=5 [ ]
            0003 > int  ADD      0000 0002  #1
            0004   bool LT       0003 0001
            ....        SNAP    #2 pc=7 [ 0=0003 ]
            0005 > void GTRUE    0004       #2
            0006 ------------ LOOP ------------
            0007   int  PHI      0003 0008
            ....        SNAP    #4 pc=5 [ 0=0007 ]
            0008 > int  ADD      0007 0002  #4
            0009   bool LT       0008 0001
            ....        SNAP    #5 pc=7 [ 0=0008 ]
            0010 > void GTRUE    0009       #5
            ",
        );
    }

    /// `while i < n { if flag {..}; x := x + float(k * 2); i := i + 1 }`: the guard on the
    /// invariant `flag` and the invariant `k * 2` exist only in the pre-roll.
    #[test]
    fn invariant_guards_and_arithmetic_leave_the_body() {
        check(
            peeled,
            "
            ....        SNAP    #0 pc=2 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   bool LT       0000 0001
            ....        SNAP    #1 pc=4 [ ]
            0003 > void GTRUE    0002       #1
            0004 > bool SLOAD    #2         #1
            0005 > void GTRUE    0004       #1
            0006 > int  SLOAD    #3         #1
            0007   int  K        2
            ....        SNAP    #2 pc=8 [ ]
            0008 > int  MUL      0006 0007  #2
            0009 > flt  SLOAD    #4         #2
            0010   flt  CONV     0008
            0011   flt  ADD      0009 0010
            0012   int  K        1
            ....        SNAP    #3 pc=10 [ 4=0011 ]
            0013 > int  ADD      0000 0012  #3
            ....        LOOPEND #4 pc=2 [ 0=0013 4=0011 ]
            ",
            "
            ....        SNAP    #0 pc=2 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=2 [ ]
            0001 > int  SLOAD    #1         #0
            0002   bool LT       0000 0001
            ....        SNAP    #1 pc=4 [ ]
            0003 > void GTRUE    0002       #1
            ....        SNAP    #1 pc=4 [ ]
            0004 > bool SLOAD    #2         #1
            ....        SNAP    #1 pc=4 [ ]
            0005 > void GTRUE    0004       #1
            ....        SNAP    #1 pc=4 [ ]
            0006 > int  SLOAD    #3         #1
            0007   int  K        2
            ....        SNAP    #2 pc=8 [ ]
            0008 > int  MUL      0006 0007  #2
            ....        SNAP    #2 pc=8 [ ]
            0009 > flt  SLOAD    #4         #2
            0010   flt  CONV     0008
            0011   flt  ADD      0009 0010
            0012   int  K        1
            ....        SNAP    #3 pc=10 [ 4=0011 ]
            0013 > int  ADD      0000 0012  #3
            0014 ------------ LOOP ------------
            0015   int  PHI      0013 0020
            0016   flt  PHI      0011 0019
            0017   bool LT       0015 0001
            ....        SNAP    #5 pc=4 [ 0=0015 4=0016 ]
            0018 > void GTRUE    0017       #5
            0019   flt  ADD      0016 0010
            ....        SNAP    #6 pc=10 [ 0=0015 4=0019 ]
            0020 > int  ADD      0015 0012  #6
            ",
        );
    }

    /// `while i < n { last := i; i := i + 1 }` where `last` (slot 2) is never read: it still
    /// gets a Phi, because the body's exits must restore it.
    #[test]
    fn slot_written_but_never_read_gets_a_phi_for_snapshots() {
        check(
            peeled,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   bool LT       0000 0001
            ....        SNAP    #1 pc=3 [ ]
            0003 > void GTRUE    0002       #1
            0004   int  K        1
            ....        SNAP    #2 pc=5 [ 2=0000 ]
            0005 > int  ADD      0000 0004  #2
            ....        LOOPEND #3 pc=1 [ 0=0005 2=0000 ]
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            0002   bool LT       0000 0001
            ....        SNAP    #1 pc=3 [ ]
            0003 > void GTRUE    0002       #1
            0004   int  K        1
            ....        SNAP    #2 pc=5 [ 2=0000 ]
            0005 > int  ADD      0000 0004  #2
            0006 ------------ LOOP ------------
            0007   int  PHI      0005 0011
            0008   int  PHI      0000 0007
            0009   bool LT       0007 0001
            ....        SNAP    #4 pc=3 [ 0=0007 2=0008 ]
            0010 > void GTRUE    0009       #4
            ....        SNAP    #5 pc=5 [ 0=0007 2=0007 ]
            0011 > int  ADD      0007 0004  #5
            ",
        );
    }

    /// `a, b := b, a; i := i + 1`: each swap Phi's back edge is the other Phi.
    #[test]
    fn swap_phis_reference_each_other() {
        check(
            peeled,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002 > int  SLOAD    #2         #0
            0003   int  K        1
            ....        SNAP    #1 pc=4 [ 0=0001 1=0000 ]
            0004 > int  ADD      0002 0003  #1
            ....        LOOPEND #2 pc=1 [ 0=0001 1=0000 2=0004 ]
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > int  SLOAD    #2         #0
            0003   int  K        1
            ....        SNAP    #1 pc=4 [ 0=0001 1=0000 ]
            0004 > int  ADD      0002 0003  #1
            0005 ------------ LOOP ------------
            0006   int  PHI      0001 0007
            0007   int  PHI      0000 0006
            0008   int  PHI      0004 0009
            ....        SNAP    #3 pc=4 [ 0=0007 1=0006 2=0008 ]
            0009 > int  ADD      0008 0003  #3
            ",
        );
    }

    /// `g0 := g0 + g1; i := i + 1`: g0 is stored, so the body loads it again (not forwarded
    /// from the pre-roll's store); g1 is never stored, so its pre-roll load is reused.
    #[test]
    fn stored_globals_are_reloaded_in_the_body() {
        check(
            peeled,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  GLOAD    g0         #0
            0001 > int  GLOAD    g1         #0
            0002 > int  ADD      0000 0001  #0
            0003   void GSTORE   g0 0002
            0004 > int  SLOAD    #0         #0
            0005   int  K        1
            ....        SNAP    #1 pc=5 [ ]
            0006 > int  ADD      0004 0005  #1
            ....        LOOPEND #2 pc=1 [ 0=0006 ]
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  GLOAD    g0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  GLOAD    g1         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > int  ADD      0000 0001  #0
            0003   void GSTORE   g0 0002
            ....        SNAP    #0 pc=1 [ ]
            0004 > int  SLOAD    #0         #0
            0005   int  K        1
            ....        SNAP    #1 pc=5 [ ]
            0006 > int  ADD      0004 0005  #1
            0007 ------------ LOOP ------------
            0008   int  PHI      0006 0012
            ....        SNAP    #3 pc=1 [ 0=0008 ]
            0009 > int  GLOAD    g0         #3
            ....        SNAP    #3 pc=1 [ 0=0008 ]
            0010 > int  ADD      0009 0001  #3
            0011   void GSTORE   g0 0010
            ....        SNAP    #4 pc=5 [ 0=0008 ]
            0012 > int  ADD      0008 0005  #4
            ",
        );
    }

    /// `x := n; c := 5; i := i + 1`, and slot 1 "changed" to its own load: only `i` needs a
    /// Phi; x and c are invariant but still listed in body snapshots (memory is stale).
    #[test]
    fn slots_set_to_invariant_values_get_no_phi() {
        check(
            peeled,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   int  K        5
            0003   int  K        1
            ....        SNAP    #1 pc=4 [ 2=0001 3=0002 ]
            0004 > int  ADD      0000 0003  #1
            ....        LOOPEND #2 pc=1 [ 0=0004 1=0001 2=0001 3=0002 ]
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            0002   int  K        5
            0003   int  K        1
            ....        SNAP    #1 pc=4 [ 2=0001 3=0002 ]
            0004 > int  ADD      0000 0003  #1
            0005 ------------ LOOP ------------
            0006   int  PHI      0004 0007
            ....        SNAP    #3 pc=4 [ 0=0006 2=0001 3=0002 ]
            0007 > int  ADD      0006 0003  #3
            ",
        );
    }

    #[test]
    fn a_slot_changing_type_is_an_error() {
        let trace = parse(
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001   flt  CONV     0000
            0002   flt  K        0.5
            0003   flt  ADD      0001 0002
            ....        LOOPEND #1 pc=1 [ 0=0003 ]
            ",
        )
        .unwrap();
        assert_eq!(peel(&trace), Err(OptError::new("type-unstable loop: slot 0 enters as int and leaves as flt")));
    }
}
