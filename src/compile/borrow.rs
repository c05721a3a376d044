//! Lending: copies out of a live location that need no shared mark.
//!
//! The instructions that copy a value out of a location that stays live (`Move`,
//! `GetGlobal`, `GetCapture`, `GetIndex`, `GetField`) mark the value shared, because two
//! holders now have it and a write through either must not be seen by the other. The mark
//! is sticky, so the first write through the *original* holder copies the whole container,
//! even when the second holder died long ago (`x := a[0]; n := len(x)` followed by
//! `a[0][0] := k`; `g[i] := g[i] + 1` on a global `g`).
//!
//! This pass turns such a copy into its non-marking twin (`Borrow`, `TakeGlobal`,
//! `TakeCapture`, `PeekIndex`, `PeekField`) when the copy is a *loan*: on every path from
//! the copy, as long as its destination slot may still be read,
//! 1. every instruction that reads the slot only *looks* at the value: indexes it, reads a
//!    field, compares, tests, does arithmetic into another slot, lends it to a builtin
//!    that borrows its arguments, or copies it with a marking `Move`. Nothing stores it,
//!    returns it, passes it to Ruff code, hands it on as owned (`MoveOwned`), appends to
//!    it in place or writes into it; and
//! 2. no instruction can change any container in place: no index or field write, no
//!    in-place string append (`s := s + t`), no call of Ruff code or of a builtin that
//!    updates an argument in place (`builtins::updates_arguments`).
//!
//! Then nobody can observe that the two holders share one object: neither holder writes
//! while the loan lasts, and the loan ends before anyone could. Copies made by a lent slot
//! are checked on their own (a `Borrow` from a lent slot is itself a loan), so chains of
//! loans keep the rule.
//!
//! A local variable's value may also be *lent to a call* (`f(a)`, `a` still live): the
//! argument is copied with `Borrow` and the call's `lent` bit for it is set, when rule 2
//! holds up to the call and the argument slot dies there. At run time the call marks the
//! argument shared after all unless the callee only looks at that parameter
//! (`Program::lent_arguments_to_share`): the summary `Proto::lendable_params` applies rule 1
//! to each parameter from the function's entry. Rule 2 is not needed inside the callee:
//! the lent value's other holder is a variable of a suspended caller, which nothing the
//! callee runs can reach. Only `Move`s are lent to calls; a global or an element read
//! straight into an argument could be reached and changed by the callee.
//!
//! A method call's receiver may be lent whatever copy produced it (`CallMethodLent`),
//! followed through the `MoveOwned` that puts it in the receiver slot. The call marks it
//! unless the method *lends its receiver* (`Proto::lends_receiver`): rules 1 and 2 hold for
//! slot 0 from the method's entry. Rule 2 is needed there because the receiver's other
//! holder may be an element or a global the method can reach. A `TakeField` of `self` is a
//! copy like the others: it becomes `PeekField` when its value is only looked at.
//!
//! Soundness rests on the liveness analysis (`liveness.rs`), which over-approximates where
//! a slot may be read (including `try` handler edges), and on the compiler's record of which
//! `Call`s call which builtin (`builtin_calls`): only a call known at compile time to be of
//! a builtin is trusted not to run Ruff code.

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::bytecode::{CaptureSource, Instr, Proto, Reg};
use super::liveness::{destination, handler_edges, reads, successors, writes_besides_destination, LiveSlots};
use crate::builtins;
use crate::runtime::value::Value;

/// Rewrites every copy that is a loan (see the module docs) into its non-marking twin,
/// lends local variables to calls where that is safe, and records which parameters the
/// function only looks at (`Proto::lendable_params`). `builtin_calls` maps the pc of each
/// `Call` of a builtin known at compile time to the builtin's index.
pub fn lend_unescaping_copies(
    proto: &mut Proto,
    builtin_calls: &FxHashMap<usize, u32>,
    child_captures: &dyn Fn(u32) -> Vec<CaptureSource>,
) {
    let live = LiveSlots::of_proto(proto, child_captures);
    let handlers = handler_edges(proto);
    let analysis = Analysis { proto, builtin_calls, child_captures, live: &live, handlers: &handlers };
    let params = proto.arity as usize + usize::from(proto.is_method);
    let lendable_params = (0..params.min(64) as Reg)
        .filter(|&slot| !live.live_at(0, slot) || matches!(analysis.verdict(&[0], slot, false), Verdict::Loan))
        .fold(0u64, |bits, slot| bits | 1 << slot);
    let mut rewrites: Vec<(usize, Instr)> = Vec::new();
    for (pc, instr) in proto.code.iter().enumerate() {
        let (Some(twin), Some(slot)) = (lent_twin(instr), destination(instr)) else { continue };
        let after: SmallVec<[usize; 2]> = successors(pc, instr, proto.code.len());
        match analysis.verdict(&after, slot, true) {
            Verdict::Loan => rewrites.push((pc, twin)),
            // Only a local variable's value is lent to a call: the callee cannot reach the
            // variable, so only the callee itself could write what it was lent.
            Verdict::IntoCall { call, arg } if matches!(instr, Instr::Move { .. }) => {
                let Instr::Call { base, argc, lent } = proto.code[call] else { unreachable!("found at a call") };
                rewrites.push((pc, twin));
                rewrites.push((call, Instr::Call { base, argc, lent: lent | 1 << arg }));
            }
            Verdict::IntoMethod { call } => {
                let (Instr::CallMethod { base, name, argc } | Instr::CallMethodLent { base, name, argc }) =
                    proto.code[call]
                else {
                    unreachable!("found at a method call")
                };
                rewrites.push((pc, twin));
                rewrites.push((call, Instr::CallMethodLent { base, name, argc }));
            }
            _ => {}
        }
    }
    for (pc, instr) in rewrites {
        // A call may gain several lent arguments: merge the bits.
        proto.code[pc] = match (proto.code[pc], instr) {
            (Instr::Call { lent: had, .. }, Instr::Call { base, argc, lent }) => {
                Instr::Call { base, argc, lent: had | lent }
            }
            _ => instr,
        };
    }
    proto.lendable_params = lendable_params;
    // Decided after the rewrites: a `TakeField` of the receiver that became a loan
    // (`PeekField`) only looks at it. A lent receiver's other holder may be an element or
    // a global the method can reach, so rule 2 must hold inside the method too, as long
    // as it reads `self`.
    let analysis = Analysis { proto, builtin_calls, child_captures, live: &live, handlers: &handlers };
    let lends_receiver =
        proto.is_method && (!live.live_at(0, 0) || matches!(analysis.verdict(&[0], 0, true), Verdict::Loan));
    proto.lends_receiver = lends_receiver;
}

/// What happens to the value a slot holds, on every path from a point on, as long as the
/// slot may be read.
enum Verdict {
    /// It could be seen changing or escape: it must be marked shared.
    Unsafe,
    /// Only looked at, while nothing changes any container.
    Loan,
    /// Only looked at, while nothing changes any container, and then passed as argument
    /// `arg` to the call at `call`, where the slot dies.
    IntoCall { call: usize, arg: u16 },
    /// Only looked at, while nothing changes any container, and then the receiver of the
    /// method call at `call`, where the slot dies.
    IntoMethod { call: usize },
}

/// The non-marking twin of a copy out of a live location.
fn lent_twin(instr: &Instr) -> Option<Instr> {
    Some(match *instr {
        Instr::Move { dst, src } if dst != src => Instr::Borrow { dst, src },
        Instr::GetGlobal { dst, global } => Instr::TakeGlobal { dst, global },
        Instr::GetCapture { dst, index } => Instr::TakeCapture { dst, index },
        Instr::GetIndex { dst, obj, index } => Instr::PeekIndex { dst, obj, index },
        Instr::GetField { dst, obj, name } | Instr::TakeField { dst, obj, name } => Instr::PeekField { dst, obj, name },
        _ => return None,
    })
}

struct Analysis<'a> {
    proto: &'a Proto,
    builtin_calls: &'a FxHashMap<usize, u32>,
    child_captures: &'a dyn Fn(u32) -> Vec<CaptureSource>,
    live: &'a LiveSlots,
    handlers: &'a [SmallVec<[usize; 2]>],
}

impl Analysis<'_> {
    /// The verdict on the value `slot` holds when control reaches each pc of `starts`.
    /// With `writes_matter`, the value is a copy whose source stays live (rule 2 of the
    /// module docs applies); without, it is a parameter lent by a suspended caller, whose
    /// other holders no instruction here can reach.
    fn verdict(&self, starts: &[usize], slot: Reg, writes_matter: bool) -> Verdict {
        let code = &self.proto.code;
        let mut seen: FxHashSet<(usize, Reg)> = FxHashSet::default();
        // The value may move on to another slot (`MoveOwned` out of a dying slot): each
        // item is a pc and the slot that holds the value when control reaches it.
        let mut work: Vec<(usize, Reg)> = starts.iter().map(|&pc| (pc, slot)).collect();
        let mut into_call: Option<(usize, Option<u16>)> = None;
        while let Some((pc, slot)) = work.pop() {
            if !seen.insert((pc, slot)) || !self.live.live_at(pc as u32, slot) {
                continue;
            }
            let instr = &code[pc];
            let reads_slot = reads(instr, self.proto, self.child_captures).contains(&slot);
            if writes_matter && reads_slot {
                if let Some(arg) = self.argument_of_call(pc, slot) {
                    if into_call.is_some_and(|(call, _)| call != pc) {
                        return Verdict::Unsafe;
                    }
                    into_call = Some((pc, arg));
                    continue;
                }
                if let Instr::MoveOwned { dst, src } = *instr {
                    if src == slot && dst != slot && !self.live.live_after(pc as u32, slot) {
                        work.extend(successors(pc, instr, code.len()).into_iter().map(|next| (next, dst)));
                        continue;
                    }
                }
            }
            if (reads_slot && !self.only_looks(pc, slot)) || (writes_matter && self.may_change_containers(pc)) {
                return Verdict::Unsafe;
            }
            // A failing instruction leaves the slot as it was for the handler.
            work.extend(self.handlers[pc].iter().map(|&handler| (handler, slot)));
            if destination(instr) == Some(slot) {
                continue;
            }
            if writes_besides_destination(instr, slot, true) {
                return Verdict::Unsafe;
            }
            work.extend(successors(pc, instr, code.len()).into_iter().map(|next| (next, slot)));
        }
        match into_call {
            Some((call, Some(arg))) => Verdict::IntoCall { call, arg },
            Some((call, None)) => Verdict::IntoMethod { call },
            None => Verdict::Loan,
        }
    }

    /// The argument position of `slot` in the call of Ruff code (or of a callee unknown at
    /// compile time) at `pc`, when the slot dies there: `Some(None)` for the receiver of a
    /// method call. A builtin known at compile time either borrows (a look, see
    /// `only_looks`) or keeps its arguments: lending to it would only move the mark from
    /// the copy to the call.
    fn argument_of_call(&self, pc: usize, slot: Reg) -> Option<Option<u16>> {
        if self.live.live_after(pc as u32, slot) {
            return None;
        }
        match self.proto.code[pc] {
            Instr::Call { base, argc, .. } => {
                let arg = slot.checked_sub(base + 1)?;
                let known_builtin = self.builtin_calls.contains_key(&pc);
                (arg < argc && arg < 16 && !known_builtin).then_some(Some(arg))
            }
            Instr::CallMethod { base, .. } | Instr::CallMethodLent { base, .. } => (slot == base + 1).then_some(None),
            _ => None,
        }
    }

    /// Whether the instruction at `pc`, which reads `slot`, only looks at its value.
    fn only_looks(&self, pc: usize, slot: Reg) -> bool {
        use Instr::*;
        match self.proto.code[pc] {
            // A marking copy: whoever receives it sees a shared value.
            Move { .. } | Borrow { .. } => true,
            GetIndex { .. } | PeekIndex { .. } | GetField { .. } | PeekField { .. } | GetPayload { .. } => true,
            Add { .. } | AddK { .. } => self.appends_in_place(pc) != Some(slot),
            Sub { .. } | Mul { .. } | Div { .. } | Mod { .. } | SubK { .. } | MulK { .. } | DivK { .. } => true,
            ModK { .. } | Neg { .. } | Not { .. } | ToBool { .. } | ToStr { .. } | Concat { .. } => true,
            Eq { .. } | Ne { .. } | Lt { .. } | Le { .. } | Gt { .. } | Ge { .. } => true,
            TestLt { .. } | TestLe { .. } | TestGt { .. } | TestGe { .. } | TestEq { .. } | TestNe { .. } => true,
            TestLtK { .. } | TestLeK { .. } | TestGtK { .. } | TestGeK { .. } | TestEqK { .. } => true,
            TestNeK { .. } | TestNull { .. } | TestNotNull { .. } | Test { .. } | TestTag { .. } => true,
            JumpIfFalse { .. } | JumpIfTrue { .. } | JumpIfNotNull { .. } => true,
            // Changes only who may hold the object, never what it holds.
            Lend { .. } | EndLoan { .. } => true,
            Call { .. } => self.builtin_calls.get(&pc).is_some_and(|&id| builtins::borrows_arguments(id)),
            _ => false,
        }
    }

    /// The slot whose string the instruction at `pc` may append to in place: `s := s + t`
    /// writes an unshared `s` (`ops::can_append_in_place`). Adding a constant that is not a
    /// string (`i := i + 1`) never appends: a string plus a number is an error.
    fn appends_in_place(&self, pc: usize) -> Option<Reg> {
        match self.proto.code[pc] {
            Instr::Add { dst, lhs, .. } if dst == lhs => Some(lhs),
            Instr::AddK { dst, lhs, index } if dst == lhs => {
                matches!(self.proto.constants[index as usize], Value::Str(_)).then_some(lhs)
            }
            _ => None,
        }
    }

    /// Whether the instruction at `pc` may change some container in place (or run Ruff
    /// code, which may).
    fn may_change_containers(&self, pc: usize) -> bool {
        use Instr::*;
        match self.proto.code[pc] {
            SetIndex { .. } | SetField { .. } | GetIndexForWrite { .. } | GetFieldForWrite { .. } => true,
            Add { .. } | AddK { .. } => self.appends_in_place(pc).is_some(),
            Call { .. } => self.builtin_calls.get(&pc).is_none_or(|&id| builtins::updates_arguments(id)),
            CallMethod { .. } | CallMethodLent { .. } => true,
            _ => false,
        }
    }
}
