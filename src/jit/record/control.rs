//! Recording control flow: branches (resolved at the next step, when the interpreter has
//! chosen), loop tests, the steps of `for` loops (`semantics::iteration`, run in the
//! tracing domain), pending builtin calls, and the jump into another loop's compiled
//! trace.

use super::tracing::{Traced, TracedValue, Tracing};
use super::{value_type, PendingBranch, Recorder, TraceKind, View};
use crate::compile::bytecode::Reg;
use crate::compile::listing::jump_target;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{InstIdx, Op, Snapshot, Ty};
use crate::runtime::value::Value;
use crate::semantics;
use std::rc::Rc;

impl Recorder {
    /// Records a branch whose direction the next step's pc reveals. A branch whose two
    /// targets are the same pc needs no guard.
    pub(super) fn branch(&mut self, condition: InstIdx, pc: u32, when_true: u32, when_false: u32) {
        if when_true != when_false {
            let snapshot = self.snapshot(pc);
            self.pending =
                Some(PendingBranch { condition, snapshot, when_true, continues_loop: false, line: self.line });
        }
    }

    /// Records the test of a loop's advance instruction: it must continue the loop.
    pub(super) fn loop_continues(&mut self, condition: InstIdx, pc: u32) {
        let snapshot = self.snapshot(pc);
        self.pending =
            Some(PendingBranch { condition, snapshot, when_true: self.header, continues_loop: true, line: self.line });
    }

    pub(super) fn resolve_pending_branch(&mut self, pc: u32) -> Result<(), AbortReason> {
        if let Some(branch) = self.pending.take() {
            let op = if pc == branch.when_true {
                Op::GuardTrue(branch.condition)
            } else if branch.continues_loop {
                return Err(AbortReason::LoopExited);
            } else {
                Op::GuardFalse(branch.condition)
            };
            self.trace.push(op, Ty::Void, Some(branch.snapshot), branch.line);
        }
        Ok(())
    }

    /// Emits the builtin call the interpreter has just made, typed by its result; `pc` is
    /// where the interpreter goes on after it.
    pub(super) fn resolve_pending_call(&mut self, view: &View, pc: u32) -> Result<(), AbortReason> {
        let Some(call) = self.pending_call.take() else { return Ok(()) };
        let result = view.slots[call.base as usize];
        let ty = match value_type(&result)? {
            Ty::Func | Ty::Tagged => return Err(AbortReason::NyiValueType(result.type_name())),
            ty => ty,
        };
        let args = call.args;
        if !call.effect {
            let op = Op::CallBuiltin { builtin: call.builtin, args };
            let value = self.trace.push(op, ty, Some(call.snapshot), call.line);
            self.write(call.base, value);
            return Ok(());
        }
        // The call's exit before it is for a failure only; the exit after it leaves the
        // result where the call stored it, in its slot, whatever its type.
        let slot = self.slot(call.base);
        let op = Op::CallEffect { builtin: call.builtin, slot: slot as u16, args };
        let value = self.trace.push(op, ty, Some(call.snapshot), call.line);
        self.write(call.base, value);
        let after = Snapshot { stored_slot: Some(slot as u16), ..self.snapshot_state(pc) };
        let after = self.trace.add_snapshot(after);
        self.trace.push(Op::EffectCheck(value), Ty::Void, Some(after), call.line);
        Ok(())
    }

    /// The loop trace to end the recording in at `pc`: a side trace or a function trace,
    /// in its own frame, that reaches the header of a loop with a trace of its own (other
    /// than the header a side trace of a loop closes at) jumps into that trace, whose exits
    /// grow side traces that continue after the loop (LuaJIT links to the inner loop's
    /// trace the same way). A root loop trace does so only at an inner loop that an
    /// earlier recording found too long to unroll (`CompiledTraces::long_loops`): it then
    /// is not peeled and ends in the jump, and the inner trace's loop-exit side trace runs
    /// the rest of the outer body and jumps back to it at its header. Short inner loops
    /// are unrolled into the root trace instead. Code inside an inlined call or a `try`
    /// block never jumps.
    pub(super) fn loop_to_jump_into(&self, pc: u32) -> Option<u32> {
        if self.inlined() || self.changed_handlers() {
            return None;
        }
        let at = (self.current().proto, pc);
        let may_jump = match (self.side_of, self.kind) {
            (Some(_), _) | (None, TraceKind::Function) => true,
            (None, TraceKind::Loop) => self.compiled.long_loops.contains(&at),
        };
        if !may_jump || (self.kind == TraceKind::Loop && pc == self.header) {
            return None;
        }
        self.compiled.loops.get(&at).copied()
    }

    /// Records the test of a loop-advance instruction at `pc` that jumps back to `target`
    /// while `more` holds. The root trace's own loop must go on (an iteration that leaves
    /// it aborts); any other loop (an inner loop being unrolled, or for a side trace the
    /// loops enclosing its root's) gets a guard on the direction taken.
    pub(super) fn loop_test(&mut self, more: InstIdx, pc: u32, target: u32) {
        if self.at_own_header(target) {
            self.loop_continues(more, pc);
        } else {
            self.branch(more, pc, target, pc + 1);
        }
    }

    /// `ForRangePrep` of an inner loop being unrolled (or, for a side trace, of a loop
    /// enclosing its root's), by `semantics::range_bounds` in the tracing domain: the
    /// bounds stay as they are, behind a guard that the step is not zero.
    pub(super) fn range_prep(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let mut bounds = [TracedValue::of(InstIdx(0), Value::Null); 3];
        for (k, bound) in bounds.iter_mut().enumerate() {
            let r = base + k as Reg;
            *bound = TracedValue::of(self.read(r, view, pc)?, view.slots[r as usize]);
        }
        semantics::range_bounds(&mut Tracing::new(self, pc), bounds)?;
        Ok(())
    }

    /// Where the loop-advance instruction at `pc` jumps back to.
    fn loop_target(&self, pc: u32, view: &View) -> u32 {
        let proto = view.program.proto(self.current().proto);
        jump_target(pc as usize, &proto.code[pc as usize]).expect("loop tests jump") as u32
    }

    /// `ForRangeNext`, by `semantics::range_next` in the tracing domain.
    pub(super) fn range_next(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let mut bounds = [Traced { ir: InstIdx(0), value: 0 }; 3];
        for (k, bound) in bounds.iter_mut().enumerate() {
            let r = base + k as Reg;
            let ir = self.read(r, view, pc)?;
            let Value::Int(value) = view.slots[r as usize] else {
                return Err(AbortReason::NyiValueType("non-int range"));
            };
            *bound = Traced { ir, value };
        }
        let [current, stop, step] = bounds;
        let target = self.loop_target(pc, view);
        let next = semantics::range_next(&mut Tracing::in_loop(self, pc, target), current, stop, step)?;
        if let Some(next) = next {
            self.write(base + 3, current.ir);
            self.write(base, next.ir);
        }
        Ok(())
    }

    /// `ForPrep`, by `semantics::iteration_source` in the tracing domain (a dict's keys
    /// are `KEYS`).
    pub(super) fn for_prep(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let sequence = self.read(base, view, pc)?;
        let source = semantics::iteration_source(
            &mut Tracing::new(self, pc),
            TracedValue::of(sequence, view.slots[base as usize]),
        )?;
        if source.ir != sequence {
            self.write(base, source.ir);
        }
        let start = self.emit(Op::KInt(0), Ty::Int);
        self.write(base + 1, start);
        Ok(())
    }

    /// `ForNext` over an int count, an array (a dict's keys too) or a string, by
    /// `semantics::next_item` in the tracing domain.
    pub(super) fn for_next(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let sequence = TracedValue::of(self.read(base, view, pc)?, view.slots[base as usize]);
        let position = self.read(base + 1, view, pc)?;
        let Value::Int(at) = view.slots[base as usize + 1] else {
            return Err(AbortReason::NyiValueType("non-int iteration position"));
        };
        let target = self.loop_target(pc, view);
        let mut item = sequence;
        let domain = &mut Tracing::in_loop(self, pc, target);
        if let Some(next) = semantics::next_item(domain, sequence, Traced { ir: position, value: at }, &mut item)? {
            self.write(base + 2, item.ir);
            self.write(base + 1, next.ir);
        }
        Ok(())
    }

    /// Ends a recording at the header of a loop with a trace of its own (see
    /// `loop_to_jump_into`): the frame's values the loop may read go to memory, and
    /// `JumpTrace` runs the loop trace.
    pub(super) fn jump_into_loop(&mut self, trace: u32, header: u32) -> Result<(), AbortReason> {
        if self.changed_handlers() {
            return Err(AbortReason::NyiInstruction("a loop with a trace of its own inside a try block"));
        }
        let live = Rc::clone(&self.frames[0].live);
        let num_slots = self.frames[0].num_slots;
        let stored_slot = |s: usize| s < num_slots && live.live_at(header, s as u16);
        // Guards materializing a value leave at the header, before the loop's trace.
        self.materialize_slots(header, stored_slot)?;
        let stored: Vec<(u16, InstIdx)> = (0..num_slots)
            .filter(|&s| self.modified[s] && stored_slot(s))
            .map(|s| (s as u16, self.slots[s].expect("a modified slot holds a value")))
            .collect();
        for (slot, value) in stored {
            self.emit(Op::SStore { slot, value }, Ty::Void);
        }
        self.emit(Op::JumpTrace { trace }, Ty::Void);
        self.jumped_into_loop = true;
        Ok(())
    }
}
