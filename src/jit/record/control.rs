//! Recording control flow: branches (resolved at the next step, when the interpreter has
//! chosen), loop tests, `for` loops over ranges and counts, pending builtin calls, and the
//! jump into another loop's compiled trace.

use super::{read_element_type, value_type, PendingBranch, Recorder, TraceKind, View};
use crate::compile::bytecode::Reg;
use crate::compile::listing::jump_target;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{BuiltinArgs, InstIdx, Op, Snapshot, Ty};
use crate::runtime::value::Value;
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
        let args = BuiltinArgs::new(&call.args[..call.argc as usize]);
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
        if self.inlined() || !self.handlers.is_empty() {
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
    pub(super) fn loop_test(&mut self, more: InstIdx, pc: u32, view: &View) {
        let proto = view.program.proto(self.current().proto);
        let target = jump_target(pc as usize, &proto.code[pc as usize]).expect("loop tests jump") as u32;
        if self.at_own_header(target) {
            self.loop_continues(more, pc);
        } else {
            self.branch(more, pc, target, pc + 1);
        }
    }

    /// `ForRangePrep` of an inner loop being unrolled (or, for a side trace, of a loop
    /// enclosing its root's): the bounds must be
    /// ints (they stay as they are) and the step nonzero, or the interpreter raises.
    pub(super) fn range_prep(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let bounds = [base, base + 1, base + 2];
        for r in bounds {
            let v = self.read(r, view, pc)?;
            if self.ty(v) != Ty::Int {
                return Err(AbortReason::NyiValueType("non-int range"));
            }
        }
        if matches!(view.slots[base as usize + 2], Value::Int(0)) {
            return Err(AbortReason::ErrorRaised);
        }
        let step = self.read(base + 2, view, pc)?;
        let zero = self.emit(Op::KInt(0), Ty::Int);
        let nonzero = self.emit(Op::NeInt(step, zero), Ty::Bool);
        self.emit_guard(Op::GuardTrue(nonzero), Ty::Void, pc);
        Ok(())
    }

    /// `ForRangeNext`: continue while `current` has not passed `stop`.
    pub(super) fn range_next(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let current = self.read(base, view, pc)?;
        let stop = self.read(base + 1, view, pc)?;
        let step = self.read(base + 2, view, pc)?;
        let (Value::Int(current_value), Value::Int(stop_value), Value::Int(step_value)) =
            (view.slots[base as usize], view.slots[base as usize + 1], view.slots[base as usize + 2])
        else {
            return Err(AbortReason::NyiValueType("non-int range"));
        };
        let zero = self.emit(Op::KInt(0), Ty::Int);
        let upward = self.emit(Op::GtInt(step, zero), Ty::Bool);
        let direction_guard = if step_value > 0 { Op::GuardTrue(upward) } else { Op::GuardFalse(upward) };
        self.emit_guard(direction_guard, Ty::Void, pc);
        let more = if step_value > 0 {
            self.emit(Op::LtInt(current, stop), Ty::Bool)
        } else {
            self.emit(Op::GtInt(current, stop), Ty::Bool)
        };
        self.loop_test(more, pc, view);
        let continues = if step_value > 0 { current_value < stop_value } else { current_value > stop_value };
        if !continues {
            return Ok(());
        }
        let advanced = self.emit_guard(Op::AddInt(current, step), Ty::Int, pc);
        self.write(base + 3, current);
        self.write(base, advanced);
        Ok(())
    }

    /// `ForNext` over an int count (`for i in n`) or an array (`for v in a`, and a dict's
    /// keys, which `ForPrep` made an array), or a string (below).
    pub(super) fn count_next(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let sequence = self.read(base, view, pc)?;
        let position = self.read(base + 1, view, pc)?;
        let Value::Int(at) = view.slots[base as usize + 1] else {
            return Err(AbortReason::NyiValueType("non-int iteration position"));
        };
        if let Value::Str(s) = view.slots[base as usize] {
            return self.char_next(base, sequence, position, at < s.text.len() as i64, view, pc);
        }
        let (count, element, continues) = match view.slots[base as usize] {
            Value::Int(n) => (sequence, None, at < n),
            Value::Array(a) => {
                let next = a.items.get(at as usize);
                let element = next.map(read_element_type).transpose()?;
                (self.emit(Op::ALen(sequence), Ty::Int), element, next.is_some())
            }
            ref other => return Err(AbortReason::NyiValueType(other.type_name())),
        };
        let more = self.emit(Op::LtInt(position, count), Ty::Bool);
        self.loop_test(more, pc, view);
        if !continues {
            return Ok(());
        }
        let item = match element {
            None => position,
            Some(ty) => {
                let item = self.emit_guard(Op::ALoad(sequence, position), ty, pc);
                self.share_read_out(item);
                item
            }
        };
        let one = self.emit(Op::KInt(1), Ty::Int);
        let advanced = self.emit_guard(Op::AddInt(position, one), Ty::Int, pc);
        self.write(base + 2, item);
        self.write(base + 1, advanced);
        Ok(())
    }

    /// `ForNext` over a string (`for c in s`), whose position is a byte offset, as
    /// `access::next_char` steps: the loop goes on while the position is before the end
    /// (`SBYTES`); the loop variable is the character there as a new string (`SNEXTCH`,
    /// which calls `next_char`), and the position moves past its bytes.
    #[allow(clippy::too_many_arguments)]
    fn char_next(
        &mut self,
        base: Reg,
        string: InstIdx,
        position: InstIdx,
        continues: bool,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let end = self.emit(Op::SBytes(string), Ty::Int);
        let more = self.emit(Op::LtInt(position, end), Ty::Bool);
        self.loop_test(more, pc, view);
        if !continues {
            return Ok(());
        }
        // The loop test's guard goes first: at the end of the string it must be the one to
        // exit (a loop exit grows a side trace), not the step. The step gets a snapshot of
        // its own, so that its exit is known to be a collection due.
        let proto = view.program.proto(self.current().proto);
        let target = jump_target(pc as usize, &proto.code[pc as usize]).expect("ForNext jumps") as u32;
        self.resolve_pending_branch(target)?;
        let snapshot = self.trace.add_snapshot(self.snapshot_state(pc));
        let character = self.trace.push(Op::SNextChar(string, position), Ty::Str, Some(snapshot), self.line);
        let width = self.emit(Op::SBytes(character), Ty::Int);
        let advanced = self.emit_guard(Op::AddInt(position, width), Ty::Int, pc);
        self.write(base + 2, character);
        self.write(base + 1, advanced);
        Ok(())
    }

    /// Ends a recording at the header of a loop with a trace of its own (see
    /// `loop_to_jump_into`): the frame's values the loop may read go to memory, and
    /// `JumpTrace` runs the loop trace.
    pub(super) fn jump_into_loop(&mut self, trace: u32, header: u32) -> Result<(), AbortReason> {
        if !self.handlers.is_empty() {
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
