//! CSE: common-subexpression elimination over pure ops, guards and loads.
//!
//! Because a trace is linear, an instruction identical to an earlier one (same op, type
//! and operands) computes the same value, and a guard identical to an earlier one cannot
//! fail once that one passed; either is replaced by the earlier instruction.
//! - Constants are keyed by their bits (`0.0` and `-0.0` stay distinct).
//! - `SLoad` of one slot is one value: the trace never writes frame slots.
//! - Int `+`, `*`, `==`, `!=` and float `==`, `!=` are keyed with sorted operands (their
//!   result and their overflow check are symmetric); float `+`/`*` are not reordered.
//! - Globals: the table remembers, per global, the value known to be in it: the last load,
//!   or the value of the last `GStore` (store-to-load forwarding). A `GLoad` reuses that
//!   value when its type is the load's type; otherwise it stays (its tag guard decides).
//!   Globals never alias each other, so a store only affects its own global.
//! - Container contents: `ALen`, `ALoad`, `DTag`, `DGet`, `FLOAD`, `CTAG` and `CGET` are
//!   keyed by an epoch that every `AStore`, `APush`, `DSet`, `FSET`, `FSTORE`, `CSET` and
//!   `CALLB` advances (any container may be any other), so a read merges only with an
//!   identical read that no container write separates from it.
//! - Stores, allocations (`SCONCAT`, `TOSTR`, `SCHAR`, `KEYS`, `FNEW`), builtin calls (`CALLB`),
//!   `Loop` and `Phi` are never merged, nor are sunk allocations: each literal is its own
//!   object, even when two are equal.

use std::mem::Discriminant;

use rustc_hash::{FxHashMap, FxHashSet};

use super::emit::{rewrite, Stages};
use crate::jit::ir::{InstIdx, MathFn, Op, Trace, Ty};

/// The CSE pass.
pub fn cse(trace: &Trace) -> Trace {
    rewrite(trace, Stages::CSE)
}

/// Everything that makes two instructions compute the same value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ValueKey {
    opcode: Discriminant<Op>,
    ty: Ty,
    /// The op's non-instruction operand: constant bits, slot number, math function.
    immediate: u64,
    math: Option<MathFn>,
    operands: [Option<InstIdx>; 2],
}

#[derive(Default)]
pub(super) struct CseTable {
    values: FxHashMap<ValueKey, InstIdx>,
    /// Per global, the instruction whose value the global is known to hold.
    globals: FxHashMap<u32, InstIdx>,
    /// Advances at every array write; array reads are keyed by it.
    array_epoch: u64,
}

impl CseTable {
    /// An earlier instruction of `trace` that `op` (of type `ty`) would duplicate.
    pub fn find(&self, trace: &Trace, op: &Op, ty: Ty) -> Option<InstIdx> {
        match *op {
            Op::GLoad { global } => self.globals.get(&global).copied().filter(|&known| trace.inst(known).ty == ty),
            _ => value_key(op, ty, self.array_epoch).and_then(|key| self.values.get(&key).copied()),
        }
    }

    /// Records instruction `at` of `trace` for later lookups.
    pub fn remember(&mut self, trace: &Trace, at: InstIdx) {
        let inst = trace.inst(at);
        match inst.op {
            Op::GLoad { global } => {
                self.globals.insert(global, at);
            }
            Op::GStore { global, value } => {
                self.globals.insert(global, value);
            }
            // A native call may change every slot, global and container: nothing known
            // before it holds after it.
            Op::CallTrace { .. } => {
                self.values.clear();
                self.globals.clear();
                self.array_epoch += 1;
            }
            op if op.writes_containers() => self.array_epoch += 1,
            op => {
                if let Some(key) = value_key(&op, inst.ty, self.array_epoch) {
                    self.values.entry(key).or_insert(at);
                }
            }
        }
    }

    /// Forgets what is known about the contents of arrays.
    pub fn forget_array_contents(&mut self) {
        self.array_epoch += 1;
    }

    /// Forgets what is known about the contents of `globals`.
    pub fn forget_globals(&mut self, globals: &FxHashSet<u32>) {
        self.globals.retain(|global, _| !globals.contains(global));
    }
}

fn value_key(op: &Op, ty: Ty, array_epoch: u64) -> Option<ValueKey> {
    if op.is_sunk() {
        // Each sunk allocation is its own object, even when two are equal.
        return None;
    }
    let (immediate, math) = match *op {
        Op::GLoad { .. }
        | Op::GStore { .. }
        | Op::SStore { .. }
        | Op::AStore { .. }
        | Op::APush { .. }
        | Op::SAppend { .. }
        | Op::DSet { .. }
        | Op::MarkShared(_)
        | Op::GuardUnshared(_)
        | Op::CallTrace { .. }
        | Op::JumpTrace { .. }
        | Op::Ret(_)
        | Op::SConcat(..)
        | Op::ToStr(_)
        | Op::SChar(..)
        | Op::SNextChar(..)
        | Op::FieldSet { .. }
        | Op::FieldStore { .. }
        | Op::DictKeys(_)
        | Op::CallBuiltin { .. }
        | Op::CallResidual { .. }
        | Op::Alloc(_)
        | Op::FuncNew { .. }
        | Op::CaptureSet { .. }
        | Op::PushCopy { .. }
        | Op::AUnique(_)
        | Op::ALoadUnique(..)
        | Op::SUnique(_)
        | Op::FieldLoadUnique { .. }
        | Op::Loop
        | Op::Phi(..) => return None,
        // Field reads are keyed by the field too.
        Op::FieldLoad { field, .. } => (array_epoch << 32 | field as u64, None),
        // Capture reads are keyed by the capture too (`CaptureSet` advances the epoch).
        Op::CaptureTag { index, .. } | Op::CaptureGet { index, .. } => (array_epoch << 32 | index as u64, None),
        _ if op.reads_containers() => (array_epoch, None),
        Op::KInt(v) => (v as u64, None),
        Op::KFloat(v) => (v.to_bits(), None),
        Op::KBool(v) => (v as u64, None),
        Op::KBuiltin(id) => (id as u64, None),
        Op::KStr(s) => (s.addr() as u64, None),
        Op::KFunc(f) => (f.addr() as u64, None),
        Op::SLoad { slot } => (slot as u64, None),
        Op::Math1(f, _) | Op::Math2(f, ..) => (0, Some(f)),
        _ => (0, None),
    };
    let mut operands = [None, None];
    for (place, operand) in operands.iter_mut().zip(op.operands()) {
        *place = Some(operand);
    }
    let commutative = op.is_commutative();
    if commutative {
        operands.sort();
    }
    Some(ValueKey { opcode: std::mem::discriminant(op), ty, immediate, math, operands })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::opt::check::check;

    #[test]
    fn merges_pure_ops_constants_and_slot_loads() {
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #0         #0
            0002   flt  K        0.0
            0003   flt  K        -0.0
            0004   flt  K        0.0
            0005   flt  CONV     0001
            0006   flt  CONV     0000
            0007   flt  ADD      0005 0002
            0008   flt  ADD      0004 0006
            0009   bool EQ       0000 0001
            ....        SNAP    #1 pc=2 [ 1=0007 2=0008 3=0003 ]
            0010 > void GTRUE    0009       #1
            ",
            // Float addition is not reordered, so 0007 and 0008 stay apart.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001   flt  K        0.0
            0002   flt  K        -0.0
            0003   flt  CONV     0000
            0004   flt  ADD      0003 0001
            0005   flt  ADD      0001 0003
            0006   bool EQ       0000 0000
            ....        SNAP    #1 pc=2 [ 1=0004 2=0005 3=0002 ]
            0007 > void GTRUE    0006       #1
            ",
        );
    }

    #[test]
    fn merges_identical_guards_and_commutative_int_ops() {
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            ....        SNAP    #1 pc=2 [ ]
            0002 > int  ADD      0000 0001  #1
            ....        SNAP    #2 pc=3 [ 4=0002 ]
            0003 > int  ADD      0001 0000  #2
            0004   bool LT       0000 0001
            0005 > void GTRUE    0004       #2
            0006   bool LT       0000 0001
            ....        SNAP    #3 pc=4 [ 4=0003 ]
            0007 > void GTRUE    0006       #3
            0008   bool GT       0001 0000
            0009 > void GTRUE    0008       #3
            ",
            // GT b a is not rewritten to LT a b here; the guard pass proves it redundant.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            ....        SNAP    #1 pc=2 [ ]
            0002 > int  ADD      0000 0001  #1
            0003   bool LT       0000 0001
            ....        SNAP    #2 pc=3 [ 4=0002 ]
            0004 > void GTRUE    0003       #2
            0005   bool GT       0001 0000
            ....        SNAP    #3 pc=4 [ 4=0002 ]
            0006 > void GTRUE    0005       #3
            ",
        );
    }

    #[test]
    fn global_loads_are_reused_until_a_store_and_forwarded_from_it() {
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  GLOAD    g1         #0
            0001 > int  GLOAD    g2         #0
            0002 > int  GLOAD    g1         #0
            0003 > int  ADD      0000 0002  #0
            0004   void GSTORE   g1 0003
            0005 > int  GLOAD    g1         #0
            0006 > int  GLOAD    g2         #0
            0007   flt  K        1.5
            0008   void GSTORE   g2 0007
            0009 > flt  GLOAD    g2         #0
            ....        SNAP    #1 pc=2 [ 0=0005 1=0006 2=0009 ]
            0010 > int  GLOAD    g2         #1
            ",
            // g2 holds a float after the store: the float load is forwarded from it, the int
            // load stays (its tag guard will exit).
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  GLOAD    g1         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  GLOAD    g2         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > int  ADD      0000 0000  #0
            0003   void GSTORE   g1 0002
            0004   flt  K        1.5
            0005   void GSTORE   g2 0004
            ....        SNAP    #1 pc=2 [ 0=0002 1=0001 2=0004 ]
            0006 > int  GLOAD    g2         #1
            ",
        );
    }
    #[test]
    fn builtin_calls_are_never_merged_and_end_what_is_known_of_containers() {
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            0001   int  ALEN     0000
            0002 > arr  CALLB    unique 0000 #0
            0003 > arr  CALLB    unique 0000 #0
            0004   int  ALEN     0000
            0005   int  ALEN     0000
            0006   bool LT       0005 0001
            ....        SNAP    #1 pc=2 [ 1=0002 2=0003 3=0004 ]
            0007 > void GTRUE    0006       #1
            ",
            // Each call may allocate a new array; the length read after the calls is not
            // the one read before them (a call reaches into containers), but it is one.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            0001   int  ALEN     0000
            ....        SNAP    #0 pc=1 [ ]
            0002 > arr  CALLB    unique 0000 #0
            ....        SNAP    #0 pc=1 [ ]
            0003 > arr  CALLB    unique 0000 #0
            0004   int  ALEN     0000
            0005   bool LT       0004 0001
            ....        SNAP    #1 pc=2 [ 1=0002 2=0003 3=0004 ]
            0006 > void GTRUE    0005       #1
            ",
        );
    }
}
