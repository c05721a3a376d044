//! Liveness of slots, to find the last use of a variable that is copied.
//!
//! A `Move` whose source slot is dead afterwards becomes `MoveOwned`: the value changes
//! holder instead of gaining a second one, so it is not marked shared and a later write
//! through the new holder needs no copy. This is what makes `a := f(a)` and
//! `a := push(a, x)` update arrays in place.
//!
//! Soundness: a slot may only be called dead when no path reads it before writing it. The
//! analysis over-approximates liveness: every instruction inside a `try` region has an
//! extra edge to its handler, and there only instructions that cannot fail kill their
//! destination (outside one, a failure leaves the frame, so nothing reads the old value);
//! instructions with several destinations kill nothing. Reads must be complete; `reads`
//! lists every slot each instruction can read.

use super::bytecode::{CaptureSource, Instr, Program, Proto, Reg};
use smallvec::SmallVec;

type Slots = SmallVec<[Reg; 4]>;

fn range(start: Reg, count: usize) -> Slots {
    (0..count).map(|i| start + i as Reg).collect()
}

/// Every slot `instr` may read.
pub(super) fn reads(instr: &Instr, proto: &Proto, child_captures: &dyn Fn(u32) -> Vec<CaptureSource>) -> Slots {
    use Instr::*;
    match *instr {
        Move { src, .. } | MoveOwned { src, .. } | Borrow { src, .. } => Slots::from_slice(&[src]),
        LoadConst { .. } | LoadInt { .. } | LoadNull { .. } | LoadBool { .. } | LoadSelfFunc { .. } => Slots::new(),
        GetGlobal { .. } | TakeGlobal { .. } | GetCapture { .. } | TakeCapture { .. } | NewDict { .. } => Slots::new(),
        SetGlobal { src, .. } | SetCapture { src, .. } => Slots::from_slice(&[src]),
        Add { lhs, rhs, .. }
        | Sub { lhs, rhs, .. }
        | Mul { lhs, rhs, .. }
        | Div { lhs, rhs, .. }
        | Mod { lhs, rhs, .. }
        | Eq { lhs, rhs, .. }
        | Ne { lhs, rhs, .. }
        | Lt { lhs, rhs, .. }
        | Le { lhs, rhs, .. }
        | Gt { lhs, rhs, .. }
        | Ge { lhs, rhs, .. }
        | TestLt { lhs, rhs }
        | TestLe { lhs, rhs }
        | TestGt { lhs, rhs }
        | TestGe { lhs, rhs }
        | TestEq { lhs, rhs }
        | TestNe { lhs, rhs } => Slots::from_slice(&[lhs, rhs]),
        AddK { lhs, .. }
        | SubK { lhs, .. }
        | MulK { lhs, .. }
        | DivK { lhs, .. }
        | ModK { lhs, .. }
        | TestLtK { lhs, .. }
        | TestLeK { lhs, .. }
        | TestGtK { lhs, .. }
        | TestGeK { lhs, .. }
        | TestEqK { lhs, .. }
        | TestNeK { lhs, .. } => Slots::from_slice(&[lhs]),
        TestNull { src } | TestNotNull { src } | Lend { src } | EndLoan { src } => Slots::from_slice(&[src]),
        Neg { src, .. }
        | Not { src, .. }
        | ToBool { src, .. }
        | ToStr { src, .. }
        | Test { src }
        | TestTag { src, .. }
        | JumpIfFalse { src, .. }
        | JumpIfTrue { src, .. }
        | JumpIfNotNull { src, .. }
        | GetPayload { src, .. }
        | Return { src }
        | Throw { src } => Slots::from_slice(&[src]),
        Jump { .. } | LoopEntry | ReturnNull | TryBegin { .. } | TryEnd | Raise { .. } => Slots::new(),
        Call { base, argc, .. } => range(base, argc as usize + 1),
        CallMethod { base, argc, .. } | CallMethodLent { base, argc, .. } => range(base + 1, argc as usize + 1),
        Closure { proto: child, .. } => child_captures(child)
            .into_iter()
            .filter_map(|c| match c {
                CaptureSource::Slot(s) => Some(s),
                _ => None,
            })
            .collect(),
        NewArray { start, count, .. } | Concat { start, count, .. } => range(start, count as usize),
        ArrayAppend { array, src } | ArraySpread { array, src } => Slots::from_slice(&[array, src]),
        DictInsert { dict, key, value } => Slots::from_slice(&[dict, key, value]),
        DictSpread { dict, src } => Slots::from_slice(&[dict, src]),
        NewStruct { literal, start, .. } => range(start, proto.struct_literals[literal as usize].fields.len()),
        NewTagged { ctor, start, .. } => range(start, proto.tag_ctors[ctor as usize].arity as usize),
        GetIndex { obj, index, .. } | PeekIndex { obj, index, .. } | GetIndexForWrite { obj, index, .. } => {
            Slots::from_slice(&[obj, index])
        }
        SetIndex { obj, index, src } => Slots::from_slice(&[obj, index, src]),
        GetField { obj, .. } | PeekField { obj, .. } | TakeField { obj, .. } | GetFieldForWrite { obj, .. } => {
            Slots::from_slice(&[obj])
        }
        SetField { obj, src, .. } => Slots::from_slice(&[obj, src]),
        ForPrep { base, .. } => Slots::from_slice(&[base]),
        ForNext { base, .. } => Slots::from_slice(&[base, base + 1]),
        ForRangePrep { base, .. } | ForRangeNext { base, .. } => range(base, 3),
    }
}

/// The slot `instr` overwrites when it completes, if it writes exactly one.
pub(super) fn destination(instr: &Instr) -> Option<Reg> {
    use Instr::*;
    match *instr {
        Move { dst, .. }
        | MoveOwned { dst, .. }
        | Borrow { dst, .. }
        | LoadConst { dst, .. }
        | LoadInt { dst, .. }
        | LoadNull { dst }
        | LoadBool { dst, .. }
        | LoadSelfFunc { dst }
        | GetGlobal { dst, .. }
        | TakeGlobal { dst, .. }
        | GetCapture { dst, .. }
        | TakeCapture { dst, .. }
        | Add { dst, .. }
        | Sub { dst, .. }
        | Mul { dst, .. }
        | Div { dst, .. }
        | Mod { dst, .. }
        | AddK { dst, .. }
        | SubK { dst, .. }
        | MulK { dst, .. }
        | DivK { dst, .. }
        | ModK { dst, .. }
        | Neg { dst, .. }
        | Not { dst, .. }
        | Eq { dst, .. }
        | Ne { dst, .. }
        | Lt { dst, .. }
        | Le { dst, .. }
        | Gt { dst, .. }
        | Ge { dst, .. }
        | ToBool { dst, .. }
        | Closure { dst, .. }
        | NewArray { dst, .. }
        | NewDict { dst }
        | NewStruct { dst, .. }
        | NewTagged { dst, .. }
        | GetPayload { dst, .. }
        | GetIndex { dst, .. }
        | PeekIndex { dst, .. }
        | GetField { dst, .. }
        | PeekField { dst, .. }
        | TakeField { dst, .. }
        | ToStr { dst, .. }
        | Concat { dst, .. }
        | GetIndexForWrite { dst, .. }
        | GetFieldForWrite { dst, .. } => Some(dst),
        Call { base, .. } | CallMethod { base, .. } | CallMethodLent { base, .. } => Some(base),
        _ => None,
    }
}

/// Whether `instr` always completes (never raises).
fn cannot_fail(instr: &Instr) -> bool {
    use Instr::*;
    matches!(
        instr,
        Move { .. }
            | MoveOwned { .. }
            | Borrow { .. }
            | LoadConst { .. }
            | LoadInt { .. }
            | LoadNull { .. }
            | LoadBool { .. }
            | LoadSelfFunc { .. }
            | GetCapture { .. }
            | TakeCapture { .. }
            | Eq { .. }
            | Ne { .. }
            | ToBool { .. }
            | Closure { .. }
            | NewArray { .. }
            | NewDict { .. }
            | NewStruct { .. }
            | NewTagged { .. }
            | GetPayload { .. }
            | Lend { .. }
            | EndLoan { .. }
    )
}

/// The slot `instr` certainly overwrites before any later read, if any. Inside a `try`
/// region only an instruction that cannot fail counts: a failing one leaves its
/// destination unchanged for the handler. Outside one, a failure leaves the frame.
fn kills(instr: &Instr, in_try_region: bool) -> Option<Reg> {
    if in_try_region && !cannot_fail(instr) {
        return None;
    }
    destination(instr)
}

fn jump_target(pc: usize, offset: i32) -> usize {
    (pc as i64 + 1 + offset as i64) as usize
}

pub(super) fn successors(pc: usize, instr: &Instr, len: usize) -> SmallVec<[usize; 2]> {
    use Instr::*;
    let mut out = SmallVec::new();
    match *instr {
        Jump { offset } | ForPrep { offset, .. } | ForRangePrep { offset, .. } => out.push(jump_target(pc, offset)),
        JumpIfFalse { offset, .. }
        | JumpIfTrue { offset, .. }
        | JumpIfNotNull { offset, .. }
        | ForNext { offset, .. }
        | ForRangeNext { offset, .. }
        | TryBegin { offset, .. } => {
            out.push(pc + 1);
            out.push(jump_target(pc, offset));
        }
        TestLt { .. }
        | TestLe { .. }
        | TestGt { .. }
        | TestGe { .. }
        | TestEq { .. }
        | TestNe { .. }
        | TestLtK { .. }
        | TestLeK { .. }
        | TestGtK { .. }
        | TestGeK { .. }
        | TestEqK { .. }
        | TestNeK { .. }
        | TestNull { .. }
        | TestNotNull { .. }
        | Test { .. }
        | TestTag { .. } => {
            out.push(pc + 1);
            out.push(pc + 2);
        }
        Return { .. } | ReturnNull | Throw { .. } | Raise { .. } => {}
        _ => out.push(pc + 1),
    }
    out.retain(|s| *s < len);
    out
}

/// For each pc, the handlers an error raised there goes to (the `try` regions around it).
pub(super) fn handler_edges(proto: &Proto) -> Vec<SmallVec<[usize; 2]>> {
    let mut handlers: Vec<SmallVec<[usize; 2]>> = vec![SmallVec::new(); proto.code.len()];
    for region in &proto.try_regions {
        for h in handlers.iter_mut().take(region.end as usize).skip(region.begin as usize + 1) {
            h.push(region.handler as usize);
        }
    }
    handlers
}

/// One set of tracked slots per instruction, as rows of one flat bit matrix (solving
/// rewrites the rows in place, so a round allocates nothing).
struct BitRows {
    rows: usize,
    words: usize,
    bits: Vec<u64>,
}

impl BitRows {
    fn new(rows: usize, columns: usize) -> BitRows {
        let words = columns.div_ceil(64);
        BitRows { rows, words, bits: vec![0; rows * words] }
    }
    fn row(&self, row: usize) -> &[u64] {
        &self.bits[row * self.words..(row + 1) * self.words]
    }
    fn row_mut(&mut self, row: usize) -> &mut [u64] {
        &mut self.bits[row * self.words..(row + 1) * self.words]
    }
    fn contains(&self, row: usize, column: usize) -> bool {
        self.row(row)[column / 64] & (1 << (column % 64)) != 0
    }
}

/// Live slots before and after each instruction, for a chosen set of tracked slots.
struct Liveness {
    /// Dense index of each tracked slot.
    tracked: Vec<Option<usize>>,
    live_in: BitRows,
    live_out: BitRows,
}

impl Liveness {
    fn solve(
        proto: &Proto,
        tracked: Vec<Option<usize>>,
        child_captures: &dyn Fn(u32) -> Vec<CaptureSource>,
    ) -> Liveness {
        let code = &proto.code;
        let len = code.len();
        let count = tracked.iter().flatten().count();
        let index_of = |slot: Reg| tracked.get(slot as usize).copied().flatten();
        let handlers = handler_edges(proto);
        let mut uses = Vec::with_capacity(len);
        let mut killed = Vec::with_capacity(len);
        for (pc, instr) in code.iter().enumerate() {
            uses.push(
                reads(instr, proto, child_captures).into_iter().filter_map(index_of).collect::<SmallVec<[usize; 4]>>(),
            );
            killed.push(kills(instr, !handlers[pc].is_empty()).and_then(index_of));
        }
        // Successors along both kinds of exit, computed once for all rounds.
        let exits: Vec<SmallVec<[usize; 2]>> = (0..len)
            .map(|pc| successors(pc, &code[pc], len).into_iter().chain(handlers[pc].iter().copied()).collect())
            .collect();
        let mut live_in = BitRows::new(len, count);
        let mut live_out = BitRows::new(len, count);
        let mut set = vec![0u64; live_in.words];
        let mut changed = true;
        while changed {
            changed = false;
            for pc in (0..len).rev() {
                set.fill(0);
                for &s in &exits[pc] {
                    for (word, successor) in set.iter_mut().zip(live_in.row(s)) {
                        *word |= successor;
                    }
                }
                live_out.row_mut(pc).copy_from_slice(&set);
                if let Some(k) = killed[pc] {
                    set[k / 64] &= !(1 << (k % 64));
                }
                for &u in &uses[pc] {
                    set[u / 64] |= 1 << (u % 64);
                }
                if set != live_in.row(pc) {
                    live_in.row_mut(pc).copy_from_slice(&set);
                    changed = true;
                }
            }
        }
        Liveness { tracked, live_in, live_out }
    }

    fn index_of(&self, slot: Reg) -> Option<usize> {
        self.tracked.get(slot as usize).copied().flatten()
    }
}

/// Rewrites each `Move` whose source is dead afterwards into `MoveOwned`, and each
/// `GetField` of a method's receiver at its last use into `TakeField`. The receiver is
/// the struct's owner (a `CallMethod` passes it owned or marked shared; lent only to a
/// method that lends its receiver, which a `TakeField` rules out, `borrow.rs`) as long as
/// nothing in the method gives slot 0 another value.
pub fn mark_owned_moves(proto: &mut Proto, child_captures: &dyn Fn(u32) -> Vec<CaptureSource>) {
    let receiver_stays = proto.is_method && !proto.code.iter().any(|i| gives_slot_another_value(i, 0));
    let takes_field = |instr: &Instr| receiver_stays && matches!(instr, Instr::GetField { obj: 0, .. });
    // Only sources of `Move` and the receiver matter; give each a dense index.
    let mut tracked: Vec<Option<usize>> = vec![None; proto.num_slots as usize + 1];
    let mut count = 0;
    for instr in &proto.code {
        let source = match instr {
            Instr::Move { src, .. } => *src,
            other if takes_field(other) => 0,
            _ => continue,
        };
        let entry = &mut tracked[source as usize];
        if entry.is_none() {
            *entry = Some(count);
            count += 1;
        }
    }
    if count == 0 {
        return;
    }
    let liveness = Liveness::solve(proto, tracked, child_captures);
    let dead_after = |pc: usize, slot: Reg| liveness.index_of(slot).is_some_and(|i| !liveness.live_out.contains(pc, i));
    for (pc, instr) in proto.code.iter_mut().enumerate() {
        match *instr {
            Instr::Move { dst, src } if dst != src && dead_after(pc, src) => *instr = Instr::MoveOwned { dst, src },
            Instr::GetField { dst, obj, name } if takes_field(instr) && dead_after(pc, obj) => {
                *instr = Instr::TakeField { dst, obj, name }
            }
            _ => {}
        }
    }
}

/// Whether `instr` may give `slot` another value. A write through the slot's value that
/// stores the private copy back (`SetField`, `GetFieldForWrite`, ...) keeps its owner.
fn gives_slot_another_value(instr: &Instr, slot: Reg) -> bool {
    destination(instr) == Some(slot) || writes_besides_destination(instr, slot, false)
}

/// Whether `instr` may write `slot` other than as its single destination: the state of a
/// loop instruction, a literal under construction, a handler's error slot, and with
/// `holders` also the holder a write goes through (it receives its own private copy of
/// the container, and a nested write's element is its destination).
pub(super) fn writes_besides_destination(instr: &Instr, slot: Reg, holders: bool) -> bool {
    use Instr::*;
    match *instr {
        ForPrep { base, .. } => slot == base || slot == base + 1,
        ForNext { base, .. } => slot == base + 1 || slot == base + 2,
        ForRangePrep { base, .. } => (base..base + 3).contains(&slot),
        ForRangeNext { base, .. } => slot == base || slot == base + 3,
        GetIndexForWrite { obj, .. } | GetFieldForWrite { obj, .. } | SetIndex { obj, .. } | SetField { obj, .. } => {
            holders && slot == obj
        }
        ArrayAppend { array, .. } | ArraySpread { array, .. } => slot == array,
        DictInsert { dict, .. } | DictSpread { dict, .. } => slot == dict,
        TryBegin { err, .. } => slot == err,
        _ => false,
    }
}

/// Which slots of a prototype hold a value some later instruction may read, at each pc.
/// A snapshot only needs to restore those: the interpreter overwrites every other slot
/// before reading it.
pub struct LiveSlots(Liveness);

impl LiveSlots {
    pub fn compute(program: &Program, proto: &Proto) -> LiveSlots {
        let child_captures = |child: u32| program.proto(super::bytecode::ProtoId(child)).captures.clone();
        LiveSlots::of_proto(proto, &child_captures)
    }

    /// The live slots of a prototype whose nested functions' captures `child_captures`
    /// gives (while the program is still being compiled).
    pub(super) fn of_proto(proto: &Proto, child_captures: &dyn Fn(u32) -> Vec<CaptureSource>) -> LiveSlots {
        let tracked = (0..proto.num_slots as usize).map(Some).collect();
        LiveSlots(Liveness::solve(proto, tracked, child_captures))
    }

    /// Whether `slot` may be read at or after `pc` before being overwritten.
    pub fn live_at(&self, pc: u32, slot: u16) -> bool {
        Self::contains(&self.0.live_in, self.0.index_of(slot), pc)
    }

    /// Whether `slot` may be read after the instruction at `pc`, along any of its exits:
    /// the next instruction, or a `try` handler when it raises. For a call, this is what
    /// its caller's frame must still hold while the callee runs: the callee may raise
    /// into a handler that reads a slot the call's result would have overwritten.
    pub fn live_after(&self, pc: u32, slot: u16) -> bool {
        Self::contains(&self.0.live_out, self.0.index_of(slot), pc)
    }

    fn contains(sets: &BitRows, index: Option<usize>, pc: u32) -> bool {
        match index {
            Some(i) if (pc as usize) < sets.rows => sets.contains(pc as usize, i),
            _ => true,
        }
    }
}
