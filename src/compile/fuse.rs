//! Superinstructions: the interpreter's copy of a prototype's code in which the first
//! instruction of each frequent sequence is replaced by one that runs the whole sequence.
//!
//! Terms:
//! - A *superinstruction* (`Instr::GlobalIndex`, ...) has the operands of the `TakeGlobal`
//!   it replaces; the rest of its sequence stays in the code right after it, unchanged,
//!   and the interpreter reads the operands from there. So the fused code has the same
//!   length and the same instruction at every other pc: a jump into the middle of a
//!   sequence, a `try` handler or a trace exit resumes there as before.
//! - The sequences were chosen by counting consecutive instruction pairs over the corpus
//!   (`../shared/bench-awfy`): a global's element or field read or written
//!   (`tasks[t].link`, `balls[i].x := v`, `state.pos`), the idiom of programs that keep
//!   pools of structs in global arrays.
//!
//! Invariants:
//! - `Proto::code` never holds a superinstruction: every analysis, the listing and the JIT
//!   read `code`; only the interpreter's normal dispatch reads `Proto::fast_code`.
//! - Running a superinstruction performs exactly the slot, global and heap writes of its
//!   sequence, in order, and fails at the same instruction with the same error: it saves
//!   only the dispatches in between (no instruction of a sequence jumps, calls, or is a
//!   loop back-edge).

use super::bytecode::Instr;

/// The code with each fusable sequence's first instruction replaced.
pub fn superinstructions(code: &[Instr]) -> Vec<Instr> {
    let mut fused = code.to_vec();
    for pc in 0..code.len() {
        let Instr::TakeGlobal { dst, global } = code[pc] else { continue };
        let next = |k: usize| code.get(pc + k).copied();
        let reads_field_of = |instr: Option<Instr>, holder| matches!(instr, Some(Instr::GetField { obj, .. } | Instr::PeekField { obj, .. }) if obj == holder);
        let stores_back = |instr: Option<Instr>| matches!(instr, Some(Instr::SetGlobal { global: g, src }) if g == global && src == dst);
        fused[pc] = match next(1) {
            Some(Instr::GetIndex { dst: element, obj, .. } | Instr::PeekIndex { dst: element, obj, .. })
                if obj == dst =>
            {
                if reads_field_of(next(2), element) {
                    Instr::GlobalIndexField { dst, global }
                } else {
                    Instr::GlobalIndex { dst, global }
                }
            }
            Some(Instr::GetIndexForWrite { dst: element, obj, .. })
                if obj == dst
                    && matches!(next(2), Some(Instr::SetField { obj, .. }) if obj == element)
                    && stores_back(next(3)) =>
            {
                Instr::GlobalIndexSetField { dst, global }
            }
            Some(Instr::SetField { obj, .. }) if obj == dst && stores_back(next(2)) => {
                Instr::GlobalSetField { dst, global }
            }
            instr if reads_field_of(instr, dst) => Instr::GlobalField { dst, global },
            _ => continue,
        };
    }
    fused
}
