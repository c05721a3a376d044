//! DCE: dead-code elimination and renumbering.
//!
//! Live instructions are found by marking from the roots: instructions with an effect
//! (`Op::has_effect`: guards, stores, `Loop`), the entries of `loop_end` (an unpeeled
//! trace hands them back to the interpreter), then transitively the operands of live
//! instructions (which covers both operands of a live `Phi`) and the snapshot entries of
//! live guards. A worklist is needed rather than one backward sweep because a `Phi`'s
//! back-edge operand comes after it.
//!
//! Everything else is removed; the survivors keep their order and are renumbered, with
//! operands and snapshot entries remapped. Snapshots that no surviving guard (or
//! `loop_end`) names are dropped and the rest renumbered in their original order.

use crate::jit::ir::{InstIdx, SnapIdx, Snapshot, Trace};

pub fn dce(trace: &Trace) -> Trace {
    let live = live_instructions(trace);

    let mut new_index: Vec<Option<InstIdx>> = vec![None; trace.insts.len()];
    let mut kept = 0u32;
    for (n, slot) in new_index.iter_mut().enumerate() {
        if live[n] {
            *slot = Some(InstIdx(kept));
            kept += 1;
        }
    }
    let renumbered = |i: InstIdx| new_index[i.index()].expect("live instructions only use live values");

    let mut snapshot_used = vec![false; trace.snapshots.len()];
    for inst in trace.insts.iter().zip(&live).filter(|(_, &l)| l).map(|(inst, _)| inst) {
        if let Some(s) = inst.snap {
            snapshot_used[s.index()] = true;
        }
    }
    if let Some(end) = trace.loop_end {
        snapshot_used[end.index()] = true;
    }
    let mut new_snapshot: Vec<Option<SnapIdx>> = vec![None; trace.snapshots.len()];
    let mut out = Trace::default();
    for (n, snapshot) in trace.snapshots.iter().enumerate() {
        if snapshot_used[n] {
            let entries = snapshot.entries.iter().map(|&(slot, value)| (slot, renumbered(value))).collect();
            new_snapshot[n] = Some(out.add_snapshot(Snapshot {
                pc: snapshot.pc,
                entries,
                frames: snapshot.frames.clone(),
                handlers: snapshot.handlers.clone(),
                handlers_left: snapshot.handlers_left,
                back_edges: snapshot.back_edges,
                calls: snapshot.calls,
                stored_slot: snapshot.stored_slot,
            }));
        }
    }

    for (inst, _) in trace.insts.iter().zip(&live).filter(|(_, &l)| l) {
        let snap = inst.snap.map(|s| new_snapshot[s.index()].expect("used snapshots are kept"));
        out.push(inst.op.map_operands(renumbered), inst.ty, snap, inst.line);
    }
    out.loop_end = trace.loop_end.and_then(|end| new_snapshot[end.index()]);
    out
}

fn live_instructions(trace: &Trace) -> Vec<bool> {
    let mut live = vec![false; trace.insts.len()];
    let mut pending: Vec<InstIdx> = Vec::new();
    let mark = |i: InstIdx, live: &mut Vec<bool>, pending: &mut Vec<InstIdx>| {
        if !live[i.index()] {
            live[i.index()] = true;
            pending.push(i);
        }
    };
    for (n, inst) in trace.insts.iter().enumerate() {
        if inst.op.has_effect() {
            mark(InstIdx(n as u32), &mut live, &mut pending);
        }
    }
    if let Some(end) = trace.loop_end {
        for &(_, value) in &trace.snapshots[end.index()].entries {
            mark(value, &mut live, &mut pending);
        }
    }
    while let Some(i) = pending.pop() {
        let inst = trace.inst(i);
        for operand in inst.op.operands() {
            mark(operand, &mut live, &mut pending);
        }
        if let Some(s) = inst.snap {
            for &(_, value) in &trace.snapshots[s.index()].entries {
                mark(value, &mut live, &mut pending);
            }
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::opt::check::check;

    #[test]
    fn drops_dead_arithmetic_but_keeps_guards_stores_and_snapshot_values() {
        check(
            dce,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > flt  SLOAD    #0         #0
            0001   flt  K        2.0
            0002   flt  MUL      0000 0001
            0003   flt  ADD      0002 0001
            0004   flt  SUB      0000 0001
            ....        SNAP    #1 pc=2 [ ]
            0005 > flt  DIV      0000 0001  #1
            0006   bool LT       0004 0001
            ....        SNAP    #2 pc=3 [ 1=0002 ]
            0007 > void GTRUE    0006       #2
            0008   int  K        7
            0009   int  K        8
            0010   void GSTORE   g0 0008
            ....        SNAP    #3 pc=4 [ 2=0003 ]
            0011   bool K        true
            ",
            // 0003 is only in snapshot #3, which no guard uses: both go. The unused DIV
            // stays (it is a guard: a zero divisor must still exit).
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > flt  SLOAD    #0         #0
            0001   flt  K        2.0
            0002   flt  MUL      0000 0001
            0003   flt  SUB      0000 0001
            ....        SNAP    #1 pc=2 [ ]
            0004 > flt  DIV      0000 0001  #1
            0005   bool LT       0003 0001
            ....        SNAP    #2 pc=3 [ 1=0002 ]
            0006 > void GTRUE    0005       #2
            0007   int  K        7
            0008   void GSTORE   g0 0007
            ",
        );
    }

    #[test]
    fn unpeeled_traces_keep_loop_end_values() {
        check(
            dce,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > flt  SLOAD    #0         #0
            0001   flt  K        2.0
            0002   flt  MUL      0000 0001
            0003   flt  ADD      0000 0001
            ....        LOOPEND #1 pc=1 [ 0=0003 ]
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > flt  SLOAD    #0         #0
            0001   flt  K        2.0
            0002   flt  ADD      0000 0001
            ....        LOOPEND #1 pc=1 [ 0=0002 ]
            ",
        );
    }

    /// A float accumulator nothing reads: its Phi and the body's add feed only each other,
    /// so marking from the roots (not use counts) removes both. The counter's Phi stays.
    #[test]
    fn removes_dead_phi_cycles_and_unused_snapshots() {
        check(
            dce,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > flt  SLOAD    #1         #0
            0002   flt  K        0.5
            0003   flt  ADD      0001 0002
            0004   int  K        1
            ....        SNAP    #1 pc=3 [ ]
            0005 > int  ADD      0000 0004  #1
            0006 ------------ LOOP ------------
            0007   int  PHI      0005 0010
            0008   flt  PHI      0003 0009
            0009   flt  ADD      0008 0002
            ....        SNAP    #2 pc=3 [ 0=0007 ]
            0010 > int  ADD      0007 0004  #2
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > flt  SLOAD    #1         #0
            0002   int  K        1
            ....        SNAP    #1 pc=3 [ ]
            0003 > int  ADD      0000 0002  #1
            0004 ------------ LOOP ------------
            0005   int  PHI      0003 0006
            ....        SNAP    #2 pc=3 [ 0=0005 ]
            0006 > int  ADD      0005 0002  #2
            ",
        );
    }
}
