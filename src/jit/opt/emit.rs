//! The streaming emitter the rewriting passes share: it appends instructions to an output
//! trace one at a time, sending each through the enabled stages (fold, then CSE, then
//! guard facts) as LuaJIT's recorder does with FOLD/CSE. The standalone `fold`, `cse` and
//! `guard` passes are [`rewrite`] with one stage on; peeling emits its body with all three.
//!
//! Invariants: operands of an op given to [`Emitter::emit`] already refer to the output
//! trace; a snapshot is created only when a guard is actually appended, so a guard removed
//! by a stage leaves no orphan snapshot behind.

use rustc_hash::{FxHashMap, FxHashSet};

use super::cse::CseTable;
use super::fold::{simplify, Folded};
use super::guard::GuardFacts;
use crate::jit::ir::{Inst, InstIdx, Op, SnapIdx, Snapshot, Trace, Ty};

/// Which rewriting stages an [`Emitter`] applies.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stages {
    pub fold: bool,
    pub cse: bool,
    pub guard_facts: bool,
}

impl Stages {
    pub const FOLD: Stages = Stages { fold: true, cse: false, guard_facts: false };
    pub const CSE: Stages = Stages { fold: false, cse: true, guard_facts: false };
    pub const GUARD_FACTS: Stages = Stages { fold: false, cse: false, guard_facts: true };
    pub const ALL: Stages = Stages { fold: true, cse: true, guard_facts: true };
}

pub(super) struct Emitter {
    trace: Trace,
    fold: bool,
    cse: Option<CseTable>,
    facts: Option<GuardFacts>,
}

impl Emitter {
    /// An emitter whose output starts as `prefix`; its instructions are remembered by the
    /// stages as if they had been emitted (peeling's pre-roll).
    pub fn continuing(stages: Stages, prefix: Trace) -> Emitter {
        let mut emitter = Emitter {
            trace: Trace { insts: Vec::new(), ..prefix },
            fold: stages.fold,
            cse: stages.cse.then(CseTable::default),
            facts: stages.guard_facts.then(GuardFacts::default),
        };
        for inst in prefix.insts {
            emitter.append(inst);
        }
        emitter
    }

    pub fn into_trace(self) -> Trace {
        self.trace
    }

    /// Appends `inst` unchanged and lets the stages learn from it.
    pub fn append(&mut self, inst: Inst) -> InstIdx {
        let at = self.trace.push(inst.op, inst.ty, inst.snap, inst.line);
        if let Some(cse) = &mut self.cse {
            cse.remember(&self.trace, at);
        }
        if let Some(facts) = &mut self.facts {
            facts.remember(&self.trace, at);
        }
        at
    }

    /// Appends `Loop`. From here on, loads of memory the trace stores may not reuse values
    /// from before it: on later iterations that memory holds what the body stored.
    pub fn enter_loop(&mut self, stored: &StoredMemory) -> InstIdx {
        if let Some(cse) = &mut self.cse {
            cse.forget_globals(&stored.globals);
            if stored.containers {
                cse.forget_container_contents();
            }
        }
        self.append(Inst { op: Op::Loop, ty: Ty::Void, snap: None, line: 0 })
    }

    /// Emits `op` through the stages. Returns the instruction that now stands for it (new or
    /// earlier), or `None` when it was removed (only value-less guards and stores are ever
    /// removed).
    /// `snapshot` is called only if a guard is appended, to add its exit snapshot.
    pub fn emit(
        &mut self,
        mut op: Op,
        ty: Ty,
        line: u32,
        snapshot: impl FnOnce(&mut Trace) -> SnapIdx,
    ) -> Option<InstIdx> {
        if self.fold {
            loop {
                match simplify(&self.trace, &op) {
                    Folded::Keep => break,
                    Folded::Rewrite(simpler) => op = simpler,
                    Folded::Value(existing) => return Some(existing),
                    Folded::Remove => return None,
                }
            }
        }
        if let Some(cse) = &self.cse {
            if let Some(existing) = cse.find(&self.trace, &op, ty) {
                return Some(existing);
            }
            if cse.stores_what_memory_holds(&op) {
                return None;
            }
            op = cse.without_known_checks(op);
        }
        if self.facts.as_ref().is_some_and(|facts| facts.implies(&self.trace, &op)) {
            return None;
        }
        let snap = op.is_guard().then(|| snapshot(&mut self.trace));
        Some(self.append(Inst { op, ty, snap, line }))
    }

    /// Sets the back-edge (second) operand of `phi`, once the body has defined it.
    pub fn set_phi_back_edge(&mut self, phi: InstIdx, back_edge: InstIdx) {
        if let Op::Phi(entry, _) = self.trace.inst(phi).op {
            self.trace.insts[phi.index()].op = Op::Phi(entry, back_edge);
        }
    }
}

/// The memory a trace writes: the globals some `GStore` stores to, and whether any
/// instruction writes container memory (`Op::writes`: contents, or shared bits).
pub(super) struct StoredMemory {
    pub globals: FxHashSet<u32>,
    pub containers: bool,
}

pub(super) fn stored_memory(trace: &Trace) -> StoredMemory {
    let globals = trace
        .insts
        .iter()
        .filter_map(|inst| match inst.op {
            Op::GStore { global, .. } => Some(global),
            _ => None,
        })
        .collect();
    let containers = trace.insts.iter().any(|inst| !inst.op.writes().is_empty());
    StoredMemory { globals, containers }
}

/// Re-emits every instruction of `trace` through `stages` (peeled traces included: `Phi`
/// back edges are patched at the end). Snapshots are renumbered in order of first use.
pub(super) fn rewrite(trace: &Trace, stages: Stages) -> Trace {
    let mut emitter = Emitter::continuing(stages, Trace::default());
    let mut rewritten: Vec<Option<InstIdx>> = Vec::with_capacity(trace.insts.len());
    let mut snapshot_copies: FxHashMap<SnapIdx, SnapIdx> = FxHashMap::default();
    let mut phis = Vec::new();
    let stored = stored_memory(trace);
    for inst in &trace.insts {
        let value = |i: InstIdx| rewritten[i.index()].expect("operands and snapshot entries have values");
        let new = match inst.op {
            Op::Loop => Some(emitter.enter_loop(&stored)),
            Op::Phi(entry, back_edge) => {
                let phi = emitter.append(Inst { op: Op::Phi(value(entry), value(entry)), ..inst.clone() });
                phis.push((phi, back_edge));
                Some(phi)
            }
            _ => {
                let op = inst.op.map_operands(value);
                emitter.emit(op, inst.ty, inst.line, |out| {
                    let old = inst.snap.expect("guards have snapshots");
                    *snapshot_copies
                        .entry(old)
                        .or_insert_with(|| out.add_snapshot(renumber(&trace.snapshots[old.index()], value)))
                })
            }
        };
        rewritten.push(new);
    }
    let value = |i: InstIdx| rewritten[i.index()].expect("phi operands and loop_end entries have values");
    for (phi, back_edge) in phis {
        emitter.set_phi_back_edge(phi, value(back_edge));
    }
    let loop_end = trace.loop_end.map(|end| renumber(&trace.snapshots[end.index()], value));
    let mut out = emitter.into_trace();
    out.loop_end = loop_end.map(|snapshot| out.add_snapshot(snapshot));
    out
}

/// `snapshot` with every entry's value passed through `value`.
fn renumber(snapshot: &Snapshot, value: impl Fn(InstIdx) -> InstIdx) -> Snapshot {
    Snapshot {
        pc: snapshot.pc,
        entries: snapshot.entries.iter().map(|&(slot, v)| (slot, value(v))).collect(),
        frames: snapshot.frames.clone(),
        handlers: snapshot.handlers.clone(),
        handlers_left: snapshot.handlers_left,
        back_edges: snapshot.back_edges,
        calls: snapshot.calls,
        stored_slot: snapshot.stored_slot,
    }
}
