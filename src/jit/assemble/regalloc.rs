//! Register allocation for one peeled trace: live intervals, then linear scan.
//!
//! Terms:
//! - *Position*: an instruction index. The back-edge (where the Phi second operands are
//!   moved into the Phis) is position `insts.len()`, called `end_of_body` below.
//! - *Interval* of a value: `[start, end]`, the positions at which the value must be in its
//!   location. `start` is the defining instruction, except for a Phi, which starts at
//!   `Loop` because the loop-entry moves write it there. `end` is the last use.
//! - *Use*: an operand of an instruction, an entry of a guard's snapshot (used at the
//!   guard; a sunk entry uses the values it is built from there, and gets no location), a Phi operand (used at `end_of_body`). A value defined before `Loop` and used
//!   after it is live until `end_of_body`, because the body runs again after the back-edge.
//!   So is every Phi (the back-edge moves write it). A Phi's first operand is read by the
//!   entry moves at `Loop`: that use alone keeps it only until `Loop` (a counter's pre-roll
//!   value and its first increment would otherwise hold two registers through the body).
//!   It is released after `Loop`, so no Phi, which starts at `Loop`, takes its register
//!   while the entry moves still read it.
//! - *Fused comparison*: a comparison whose only use is a `GuardTrue`/`GuardFalse`. It
//!   gets no location; the guard emits it as compare-and-branch, so its operands are used
//!   at the guard.
//!
//! Invariants:
//! - Each value has one [`Location`] for its whole interval (no splitting); a spilled
//!   value lives in its `state.spill` slot only.
//! - A value never shares a register or spill slot with any value used at its own
//!   position: intervals are released only after the position of their last use. The code
//!   of a guard may thus write its result before checking, and the exit still finds every
//!   snapshot value intact. One exception, *Phi coalescing*: the value a loop-carried
//!   variable gets in the body (a Phi's second operand, `acc + x`, `i + 1`) takes the
//!   Phi's own register when it is computed from the Phi as its left operand by an
//!   instruction that is no guard and computes in place (`computes_over_left_operand`),
//!   and nothing reads the Phi after that instruction. Its code reads the Phi before
//!   writing the register, no exit can happen there, and the back-edge move disappears
//!   (`acc := acc + x` was `movaps t, acc; addsd t, x; ...; movaps acc, t`).

use super::AssembleError;
use crate::jit::abi::{Location, MAX_SPILL_SLOTS};
use crate::jit::ir::{InstIdx, Op, Trace, Ty};

/// Hardware numbers of the general registers the backend names.
pub mod gpr {
    pub const RAX: u8 = 0;
    pub const RCX: u8 = 1;
    pub const RDX: u8 = 2;
    pub const RBX: u8 = 3;
    pub const RBP: u8 = 5;
    pub const RSI: u8 = 6;
    pub const RDI: u8 = 7;
    pub const R8: u8 = 8;
    pub const R9: u8 = 9;
    pub const R10: u8 = 10;
    pub const R11: u8 = 11;
    pub const R12: u8 = 12;
    pub const R13: u8 = 13;
    pub const R14: u8 = 14;
    pub const R15: u8 = 15;
}

/// General registers handed out to values, caller-saved first so that traces without
/// calls push fewer registers in their prologue. Not in this list: rsp; rbx, r12, r13
/// (pinned: slots base, globals base, `ExitState` pointer); rbp (the loop iteration
/// counter); rax, rdx (fixed operands of `idiv`, call results, short-lived scratch inside
/// one instruction's code); r11 (scratch for large immediates, divisors and breaking Phi
/// move cycles).
pub const ALLOCATABLE_GPRS: [u8; 8] = [gpr::RCX, gpr::RSI, gpr::RDI, gpr::R8, gpr::R9, gpr::R10, gpr::R14, gpr::R15];

/// Callee-saved registers among [`ALLOCATABLE_GPRS`]: the prologue saves those in use and
/// calls preserve them.
pub const CALLEE_SAVED_ALLOCATABLE: [u8; 2] = [gpr::R14, gpr::R15];

/// XMM registers handed out to values. xmm14 and xmm15 are scratch (float constants,
/// results headed for a spill slot, Phi move cycles). All XMMs are caller-saved.
pub const ALLOCATABLE_XMMS: [u8; 14] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

pub struct Allocation {
    /// Indexed by `InstIdx`.
    pub locations: Vec<Location>,
    /// Indexed by `InstIdx`: comparisons emitted inside the guard that is their only use.
    pub fused: Vec<bool>,
    /// Indexed by `InstIdx`: the last position at which a value with a location is needed.
    pub interval_end: Vec<usize>,
    pub spill_slots_used: usize,
}

/// Register class of a value of type `ty`, or `None` when it needs no storage.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    General,
    Float,
}

fn class_of(ty: Ty) -> Option<Class> {
    match ty {
        // An array, dict, string, function, struct or enum value is the address of its
        // object (sunk values get no location: `allocate` skips them).
        Ty::Int | Ty::Bool | Ty::Array | Ty::Dict | Ty::Str | Ty::Func | Ty::Struct | Ty::Tagged => {
            Some(Class::General)
        }
        Ty::Float => Some(Class::Float),
        // Builtin function values are constants (never allocated; see `check_compilable`).
        Ty::Null | Ty::Builtin | Ty::Void => None,
    }
}

/// The condition a `GuardTrue`/`GuardFalse` tests.
pub fn guarded_condition(op: &Op) -> Option<InstIdx> {
    match *op {
        Op::GuardTrue(c) | Op::GuardFalse(c) => Some(c),
        _ => None,
    }
}

fn use_counts(trace: &Trace) -> Vec<usize> {
    let mut counts = vec![0; trace.insts.len()];
    for inst in &trace.insts {
        for operand in inst.op.operands() {
            counts[operand.index()] += 1;
        }
        if let Some(snap) = inst.snap {
            trace.for_each_snapshot_value(snap, |value| counts[value.index()] += 1);
        }
    }
    counts
}

fn fused_comparisons(trace: &Trace) -> Vec<bool> {
    let counts = use_counts(trace);
    let mut fused = vec![false; trace.insts.len()];
    for inst in &trace.insts {
        if let Some(condition) = guarded_condition(&inst.op) {
            if counts[condition.index()] == 1 && trace.inst(condition).op.is_condition() {
                fused[condition.index()] = true;
            }
        }
    }
    fused
}

/// The values instruction `i` reads where it stands (Phi operands are read at the
/// back-edge and entry instead; a fused comparison is read by its guard).
pub fn operands_read_at(trace: &Trace, fused: &[bool], i: usize) -> smallvec::SmallVec<[InstIdx; 2]> {
    let op = &trace.insts[i].op;
    if fused[i] || op.is_sunk() || matches!(op, Op::Phi(..)) {
        return smallvec::SmallVec::new();
    }
    match guarded_condition(op) {
        Some(condition) if fused[condition.index()] => trace.inst(condition).op.operands(),
        _ => op.operands(),
    }
}

/// Per value, the last position at which an instruction reads it as an operand (Phi
/// operands at `end_of_body`; a pre-roll value read in the body until `end_of_body`, as
/// in [`last_uses`]); `None` for a value only snapshots name.
fn last_operand_uses(trace: &Trace, fused: &[bool], loop_pos: usize) -> Vec<Option<usize>> {
    uses_until(trace, fused, loop_pos, false)
}

fn last_uses(trace: &Trace, fused: &[bool], loop_pos: usize) -> Vec<Option<usize>> {
    uses_until(trace, fused, loop_pos, true)
}

fn uses_until(trace: &Trace, fused: &[bool], loop_pos: usize, with_snapshots: bool) -> Vec<Option<usize>> {
    let end_of_body = trace.insts.len();
    let mut last_use = reads(trace, fused, loop_pos, with_snapshots);
    for (i, inst) in trace.insts.iter().enumerate() {
        if let Op::Phi(..) = inst.op {
            last_use[i] = Some(end_of_body);
        }
    }
    for end in last_use.iter_mut().take(loop_pos) {
        if matches!(*end, Some(e) if e > loop_pos) {
            *end = Some(end_of_body);
        }
    }
    last_use
}

/// Per value, the last position at which something reads it: an instruction's operand,
/// with `with_snapshots` a snapshot entry, a Phi's first operand at `loop_pos` and its
/// second at `end_of_body` (the back-edge moves). No other lifetime rule applied.
fn reads(trace: &Trace, fused: &[bool], loop_pos: usize, with_snapshots: bool) -> Vec<Option<usize>> {
    let end_of_body = trace.insts.len();
    let mut last_read: Vec<Option<usize>> = vec![None; end_of_body];
    let mut note = |value: InstIdx, at: usize| {
        let slot = &mut last_read[value.index()];
        *slot = Some(slot.map_or(at, |previous| previous.max(at)));
    };
    for (i, inst) in trace.insts.iter().enumerate() {
        if let Op::Phi(first, second) = inst.op {
            note(first, loop_pos);
            note(second, end_of_body);
        }
        for operand in operands_read_at(trace, fused, i) {
            note(operand, i);
        }
        if let (Some(snap), true) = (inst.snap, with_snapshots) {
            trace.for_each_snapshot_value(snap, |value| note(value, i));
        }
    }
    last_read
}

/// The left operand of an instruction whose code computes its result in the result's
/// register starting from a copy of that operand (`x64::lower`: `float_arith`,
/// `unchecked_int`: load the left operand, combine the right one in, no exit), so that the
/// result may share the left operand's register when that operand dies there.
fn computes_over_left_operand(op: &Op) -> Option<InstIdx> {
    match *op {
        Op::AddFloat(a, _) | Op::SubFloat(a, _) | Op::MulFloat(a, _) => Some(a),
        Op::AddIntExact(a, _) | Op::SubIntExact(a, _) => Some(a),
        Op::BitAnd(a, _) | Op::BitOr(a, _) | Op::BitXor(a, _) => Some(a),
        _ => None,
    }
}

/// Per value, the Phi whose register it takes over (see the module docs, Phi coalescing):
/// the value is the Phi's second operand, computed in the loop body from the Phi as its
/// left operand by an instruction without a snapshot, and no instruction or snapshot reads
/// the Phi after it (nor another Phi at the back-edge).
fn coalesced_phis(trace: &Trace, fused: &[bool], loop_pos: usize) -> Vec<Option<InstIdx>> {
    let last_read = reads(trace, fused, loop_pos, true);
    let mut coalesced = vec![None; trace.insts.len()];
    for (p, inst) in trace.insts.iter().enumerate() {
        let Op::Phi(_, second) = inst.op else { continue };
        let v = second.index();
        let body = &trace.insts[v];
        let fits = v > loop_pos
            && body.snap.is_none()
            && !fused[v]
            && class_of(body.ty) == class_of(inst.ty)
            && computes_over_left_operand(&body.op) == Some(InstIdx(p as u32))
            && last_read[p].is_none_or(|at| at <= v);
        if fits {
            coalesced[v] = Some(InstIdx(p as u32));
        }
    }
    coalesced
}

struct ActiveInterval {
    value: usize,
    start: usize,
    end: usize,
    register: u8,
}

struct LinearScan<'a> {
    locations: Vec<Location>,
    active: Vec<ActiveInterval>,
    free_gprs: Vec<bool>,
    free_xmms: Vec<bool>,
    /// Per spill slot: the last position its latest occupant needs it.
    spill_busy_until: Vec<usize>,
    /// Indexed by `InstIdx`: see [`last_operand_uses`].
    last_operand_use: Vec<Option<usize>>,
    trace: &'a Trace,
}

impl LinearScan<'_> {
    fn release_ended_before(&mut self, position: usize) {
        let trace = self.trace;
        let (ended, still_active): (Vec<_>, Vec<_>) =
            self.active.drain(..).partition(|interval| interval.end < position);
        self.active = still_active;
        for interval in ended {
            let pool = self.pool_of(class_of(trace.insts[interval.value].ty));
            pool.0[pool.1.iter().position(|&r| r == interval.register).expect("register from its pool")] = true;
        }
    }

    fn pool_of(&mut self, class: Option<Class>) -> (&mut Vec<bool>, &'static [u8]) {
        match class {
            Some(Class::Float) => (&mut self.free_xmms, &ALLOCATABLE_XMMS),
            _ => (&mut self.free_gprs, &ALLOCATABLE_GPRS),
        }
    }

    fn allocate(&mut self, value: usize, class: Class, start: usize, end: usize) -> Result<(), AssembleError> {
        let (free, registers) = self.pool_of(Some(class));
        if let Some(k) = free.iter().position(|&f| f) {
            free[k] = false;
            let register = registers[k];
            self.locations[value] = register_location(class, register);
            self.active.push(ActiveInterval { value, start, end, register });
            return Ok(());
        }
        // Out of registers: an interval gives up its register for good and lives in a
        // spill slot for its whole interval. First choice: one that from here on only
        // snapshots name (a spilled value costs nothing until an exit reads it, while one
        // an instruction reads costs a load there); among those, or else among all, the
        // one that ends last (Poletto-Sarkar).
        let trace = self.trace;
        let last_operand_use = &self.last_operand_use;
        let spill_preference = |value: usize, end: usize| (last_operand_use[value].is_none_or(|u| u < start), end);
        let victim = self
            .active
            .iter()
            .enumerate()
            .filter(|(_, a)| class_of(trace.insts[a.value].ty) == Some(class))
            .map(|(k, a)| (k, spill_preference(a.value, a.end)))
            .max_by_key(|&(_, preference)| preference);
        match victim {
            Some((k, preference)) if preference > spill_preference(value, end) => {
                let victim = self.active.swap_remove(k);
                self.spill(victim.value, victim.start, victim.end)?;
                self.locations[value] = register_location(class, victim.register);
                self.active.push(ActiveInterval { value, start, end, register: victim.register });
                Ok(())
            }
            _ => self.spill(value, start, end),
        }
    }

    /// Gives `value` the register of `phi` for `[start, end]`, ending the Phi's interval,
    /// when the Phi has a register; `false` when it was spilled.
    fn take_over(&mut self, phi: InstIdx, value: usize, start: usize, end: usize) -> bool {
        let Some(interval) = self.active.iter_mut().find(|a| a.value == phi.index()) else { return false };
        *interval = ActiveInterval { value, start, end, register: interval.register };
        self.locations[value] = self.locations[phi.index()];
        true
    }

    fn spill(&mut self, value: usize, start: usize, end: usize) -> Result<(), AssembleError> {
        // A slot is reusable only if its previous occupants ended before this interval
        // began: a victim is spilled retroactively, from its start, not from now.
        let slot = match self.spill_busy_until.iter().position(|&busy| busy < start) {
            Some(slot) => slot,
            None if self.spill_busy_until.len() < MAX_SPILL_SLOTS => {
                self.spill_busy_until.push(0);
                self.spill_busy_until.len() - 1
            }
            None => return Err(AssembleError::TooManySpillSlots),
        };
        self.spill_busy_until[slot] = end;
        self.locations[value] = Location::Spill(slot as u16);
        Ok(())
    }
}

fn register_location(class: Class, register: u8) -> Location {
    match class {
        Class::General => Location::Gpr(register),
        Class::Float => Location::Xmm(register),
    }
}

/// Assigns every value its location. `loop_pos` is the index of `Loop`.
pub fn allocate(trace: &Trace, loop_pos: usize) -> Result<Allocation, AssembleError> {
    let fused = fused_comparisons(trace);
    let last_use = last_uses(trace, &fused, loop_pos);
    let last_operand_use = last_operand_uses(trace, &fused, loop_pos);
    let mut scan = LinearScan {
        locations: vec![Location::None; trace.insts.len()],
        active: Vec::new(),
        free_gprs: vec![true; ALLOCATABLE_GPRS.len()],
        free_xmms: vec![true; ALLOCATABLE_XMMS.len()],
        spill_busy_until: Vec::new(),
        last_operand_use,
        trace,
    };
    let coalesced = coalesced_phis(trace, &fused, loop_pos);
    let mut interval_end = vec![0; trace.insts.len()];
    // Definition order is start order: Phis start at `Loop`, right after every pre-roll value.
    for (i, inst) in trace.insts.iter().enumerate() {
        if inst.op.is_constant() {
            scan.locations[i] = Location::Constant;
            continue;
        }
        if inst.op.is_sunk() {
            continue;
        }
        let (Some(class), Some(end), false) = (class_of(inst.ty), last_use[i], fused[i]) else {
            continue;
        };
        let start = if matches!(inst.op, Op::Phi(..)) { loop_pos } else { i };
        scan.release_ended_before(start);
        interval_end[i] = end;
        if let Some(phi) = coalesced[i] {
            if scan.take_over(phi, i, start, end) {
                interval_end[phi.index()] = i;
                continue;
            }
        }
        scan.allocate(i, class, start, end)?;
    }
    Ok(Allocation { locations: scan.locations, fused, interval_end, spill_slots_used: scan.spill_busy_until.len() })
}
