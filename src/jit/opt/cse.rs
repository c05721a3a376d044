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
//!   Globals never alias each other, so a store only affects its own global. A `GStore` of
//!   the value the global is known to hold is removed (`x := x` of a global, and the
//!   `SetGlobal` that follows an in-place write into a global array or struct).
//! - Container contents are split into alias classes (`ir::Memory`): array elements and
//!   lengths, struct fields, the field an op names, dict entries, captured variables,
//!   string texts, and shared bits. Which classes an op reads and writes is its row in
//!   the op table (`Op::reads`, `Op::writes`). Each class has an epoch that the writes
//!   into it advance; `FSTORE` and `FLOADU` write one field in place (`NAMED_FIELD`):
//!   they advance that field name's own epoch, and a field read is keyed by both. A read
//!   is keyed by the epochs of the classes it reads, so it merges with an identical read
//!   that no write into its classes separates from it: a field store no longer makes
//!   `balls[i]` load again. Within a class any container may be any other (an element
//!   store to one array forgets every array's elements).
//! - Forwarding: the element that `ALOADU` or `ALOADW` took from array `a` at index `i`
//!   is what a later `ALoad` of `a` at `i` of that type reads (while no element is
//!   written), and after `ALOADU` an `ALOADW` of them finds what it checks (while no
//!   element or shared bit changes); the value an `AStore` stored is what an `ALoad` of the same array and index
//!   reads, and the value an `FSTORE` stored what an `FLOAD` of that object and field
//!   reads.
//! - Checks made once: a field that an `FLOAD`, `FSTORE` or `FLOADU` found at its
//!   position stays there (fields are only ever appended), so a later read of it is
//!   `FLOADK` (its value's type still checked) and a later store `FSTOREK` (no check) when
//!   the struct is also known to be unshared: a store into it or `FLOADU`, `UNSHARED`,
//!   `SUNIQUE`, `ALOADW`, `ALOADU` found it so, and no object was marked shared since
//!   (the shared-bits epoch). bounce's `balls[i].x := balls[i].x + ...` checks the
//!   element's layout once per field, not per access. Likewise an array index that an
//!   `ALOAD`, `ASTORE`, `ALOADW` or `ALOADU` found in bounds stays so until an
//!   instruction that may shorten an array (a call: `flag::MAY_SHORTEN_ARRAYS`) or `Loop`: a
//!   later read of it is `ALOADK` (the element's type still checked) and a later store
//!   `ASTOREK` (no check) when the array is also known to be unshared (a store into it,
//!   `APUSH`, `AUNIQUE`, `ALOADW`, `ALOADU`, `UNSHARED`). permute's `swap` checks each
//!   index once.
//! - Stores, allocations (`SCONCAT`, `TOSTR`, `SCHAR`, `KEYS`, `FNEW`), builtin calls (`CALLB`),
//!   `Loop` and `Phi` are never merged, nor are sunk allocations: each literal is its own
//!   object, even when two are equal.

use std::mem::Discriminant;

use rustc_hash::{FxHashMap, FxHashSet};

use super::emit::{rewrite, Stages};
use crate::jit::ir::{memory, InstIdx, MathFn, Memory, Op, Trace, Ty};

/// The CSE pass.
pub fn cse(trace: &Trace) -> Trace {
    rewrite(trace, Stages::CSE)
}

/// The field an op names (its `NAMED_FIELD` class of memory is that field's).
fn named_field(op: &Op) -> Option<u32> {
    match *op {
        Op::FieldLoad { field, .. }
        | Op::FieldLoadKnown { field, .. }
        | Op::FieldStore { field, .. }
        | Op::FieldStoreKnown { field, .. }
        | Op::FieldLoadUnique { field, .. }
        | Op::FieldSet { field, .. }
        | Op::FieldInit { field, .. }
        | Op::FieldBuiltin { field, .. } => Some(field),
        _ => None,
    }
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
    /// For a read of container memory, the epochs of the classes it reads (0 elsewhere;
    /// for `NAMED_FIELD`, its field's own epoch).
    epochs: [u64; Memory::CLASSES],
}

#[derive(Default)]
pub(super) struct CseTable {
    values: FxHashMap<ValueKey, InstIdx>,
    /// Per global, the instruction whose value the global is known to hold.
    globals: FxHashMap<u32, InstIdx>,
    /// Per class of container memory, advanced by every write into it (but
    /// `NAMED_FIELD`'s, kept per field in `field_epochs`).
    epochs: [u64; Memory::CLASSES],
    /// Per field name, advanced by the writes of that field alone (`NAMED_FIELD`: `FSTORE`,
    /// `FLOADU`): a field read is keyed by its field's epoch and by the epoch of all fields
    /// (`FIELDS`), which writes that may add fields or copy the struct (`FSET`, `CALLB`)
    /// advance.
    field_epochs: FxHashMap<u32, u64>,
    /// (struct, field, position) that an earlier check found: the struct has that field
    /// there, for good (fields are only ever added at the end of the list).
    known_fields: FxHashSet<(InstIdx, u32, u32)>,
    /// Arrays and structs found unshared, with the shared-bits epoch of then: still
    /// unshared while that epoch lasts.
    unshared: FxHashMap<InstIdx, u64>,
    /// (array, index) that an earlier check found in bounds: still so until an
    /// instruction that may shorten an array (`Op::may_shorten_arrays`).
    known_indexes: FxHashSet<(InstIdx, InstIdx)>,
}

impl CseTable {
    /// An earlier instruction of `trace` that `op` (of type `ty`) would duplicate.
    pub fn find(&self, trace: &Trace, op: &Op, ty: Ty) -> Option<InstIdx> {
        match *op {
            Op::GLoad { global } => self.globals.get(&global).copied().filter(|&known| trace.inst(known).ty == ty),
            _ => self.key(op, ty).and_then(|key| self.values.get(&key).copied()),
        }
    }

    /// `op` without the checks that earlier ones made redundant: a `FieldLoad` of a field
    /// known to stand at its position is `FieldLoadKnown` (its value's type is still
    /// checked), a `FieldStore` into a struct also known to be unshared `FieldStoreKnown`.
    pub fn without_known_checks(&self, op: Op) -> Op {
        match op {
            Op::FieldLoad { object, field, position } if self.known_fields.contains(&(object, field, position)) => {
                Op::FieldLoadKnown { object, field, position }
            }
            Op::FieldStore { object, field, position, value }
                if self.known_fields.contains(&(object, field, position)) && self.is_unshared(object) =>
            {
                Op::FieldStoreKnown { object, field, position, value }
            }
            Op::ALoad(array, index) if self.known_indexes.contains(&(array, index)) => Op::ALoadKnown(array, index),
            Op::AStore { array, index, value }
                if self.known_indexes.contains(&(array, index)) && self.is_unshared(array) =>
            {
                Op::AStoreKnown { array, index, value }
            }
            op => op,
        }
    }

    fn is_unshared(&self, object: InstIdx) -> bool {
        self.unshared.get(&object) == Some(&self.epochs[memory::SHARED_BITS.class()])
    }

    /// Whether `op` is a store of the value its destination is known to hold already: a
    /// `GStore` of what the global was last loaded as or set to (`v := v` of a global, or
    /// `TakeGlobal` ... `SetGlobal` around an in-place write into the global's container).
    /// Memory is the same with or without it.
    pub fn stores_what_memory_holds(&self, op: &Op) -> bool {
        match *op {
            Op::GStore { global, value } => self.globals.get(&global) == Some(&value),
            _ => false,
        }
    }

    fn key(&self, op: &Op, ty: Ty) -> Option<ValueKey> {
        value_key(op, ty, self.epochs_read(op))
    }

    /// The epochs of the classes `op` reads, 0 for the others.
    fn epochs_read(&self, op: &Op) -> [u64; Memory::CLASSES] {
        let mut epochs = [0; Memory::CLASSES];
        for class in op.reads().classes() {
            epochs[class] = match named_field(op) {
                Some(field) if class == memory::NAMED_FIELD.class() => {
                    self.field_epochs.get(&field).copied().unwrap_or(0)
                }
                _ => self.epochs[class],
            };
        }
        epochs
    }

    /// Advances the epochs of the classes `op` writes; a write of `NAMED_FIELD` advances
    /// its field's own epoch only.
    fn advance_written(&mut self, op: &Op) {
        for class in op.writes().classes() {
            match named_field(op) {
                Some(field) if class == memory::NAMED_FIELD.class() => {
                    *self.field_epochs.entry(field).or_default() += 1
                }
                _ => self.epochs[class] += 1,
            }
        }
    }

    /// Advances the epoch of every class (not the per-field ones: a write into every
    /// class writes `FIELDS` too, which every field read is keyed by).
    fn advance_all(&mut self) {
        for epoch in &mut self.epochs {
            *epoch += 1;
        }
    }

    /// Notes that a read `op` of type `ty` would find `value` (forwarding).
    fn forward(&mut self, op: Op, ty: Ty, value: InstIdx) {
        if let Some(key) = self.key(&op, ty) {
            self.values.insert(key, value);
        }
    }

    /// Records instruction `at` of `trace` for later lookups.
    pub fn remember(&mut self, trace: &Trace, at: InstIdx) {
        let inst = trace.inst(at);
        // The unchecked forms are keyed and forwarded as the checked ones they replace.
        let op = match inst.op {
            Op::FieldLoadKnown { object, field, position } => Op::FieldLoad { object, field, position },
            Op::FieldStoreKnown { object, field, position, value } => Op::FieldStore { object, field, position, value },
            Op::ALoadKnown(array, index) => Op::ALoad(array, index),
            Op::AStoreKnown { array, index, value } => Op::AStore { array, index, value },
            op => op,
        };
        if op.may_shorten_arrays() {
            self.known_indexes.clear();
        }
        match op {
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
                self.advance_all();
            }
            op => {
                self.advance_written(&op);
                if let Some(key) = self.key(&op, inst.ty) {
                    self.values.entry(key).or_insert(at);
                }
                match op {
                    Op::ALoadUnique(array, index) => {
                        // The array and, from here on, the element are private: what
                        // `ALOADW` checks.
                        self.forward(Op::ALoad(array, index), inst.ty, at);
                        self.forward(Op::ALoadForWrite(array, index), inst.ty, at);
                    }
                    Op::ALoadForWrite(array, index) => self.forward(Op::ALoad(array, index), inst.ty, at),
                    Op::AStore { array, index, value } => {
                        self.forward(Op::ALoad(array, index), trace.inst(value).ty, value)
                    }
                    Op::FieldStore { object, field, position, value } => {
                        self.forward(Op::FieldLoad { object, field, position }, trace.inst(value).ty, value)
                    }
                    _ => {}
                }
                self.learn_checks(op, at);
            }
        }
    }

    /// Notes what instruction `at` (`op`, in its checked form) found when it got past its
    /// checks: a struct's field at a position, a struct or element unshared.
    fn learn_checks(&mut self, op: Op, at: InstIdx) {
        let shared_bits = self.epochs[memory::SHARED_BITS.class()];
        match op {
            Op::FieldLoad { object, field, position } => {
                self.known_fields.insert((object, field, position));
            }
            Op::FieldStore { object, field, position, .. } | Op::FieldLoadUnique { object, field, position } => {
                self.known_fields.insert((object, field, position));
                self.unshared.insert(object, shared_bits);
            }
            Op::GuardUnshared(object) | Op::APush { array: object, .. } => {
                self.unshared.insert(object, shared_bits);
            }
            Op::ALoad(array, index) => {
                self.known_indexes.insert((array, index));
            }
            Op::AStore { array, index, .. } => {
                self.known_indexes.insert((array, index));
                self.unshared.insert(array, shared_bits);
            }
            // The array was unshared, the index in bounds, and the element is private from
            // here on (checked, or made private, for a write).
            Op::ALoadForWrite(array, index) | Op::ALoadUnique(array, index) => {
                self.known_indexes.insert((array, index));
                self.unshared.insert(array, shared_bits);
                self.unshared.insert(at, shared_bits);
            }
            // Their result is private: a struct or array made unique.
            Op::SUnique(_) | Op::AUnique(_) => {
                self.unshared.insert(at, shared_bits);
            }
            _ => {}
        }
    }

    /// Forgets what is known about the contents of containers (and so which arrays are
    /// unshared and which indexes in bounds; where a struct's fields stand stays known).
    pub fn forget_container_contents(&mut self) {
        self.advance_all();
        self.known_indexes.clear();
    }

    /// Forgets what is known about the contents of `globals`.
    pub fn forget_globals(&mut self, globals: &FxHashSet<u32>) {
        self.globals.retain(|global, _| !globals.contains(global));
    }
}

fn value_key(op: &Op, ty: Ty, epochs: [u64; Memory::CLASSES]) -> Option<ValueKey> {
    if !op.is_mergeable() {
        return None;
    }
    let (immediate, math) = match *op {
        // Field reads are keyed by the field too (not its position: a field stands at one
        // position, and a read at another exits).
        Op::FieldLoad { field, .. } => (field as u64, None),
        // Capture reads are keyed by the capture too.
        Op::CaptureTag { index, .. } | Op::CaptureGet { index, .. } => (index as u64, None),
        _ if !op.reads().is_empty() => (0, None),
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
    Some(ValueKey { opcode: std::mem::discriminant(op), ty, immediate, math, operands, epochs })
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
    fn stores_of_what_a_global_holds_are_removed() {
        // `v[i] := x` on a global array (`TakeGlobal`, the element store, `SetGlobal`):
        // the global still holds the array it was loaded as, so storing it back changes
        // nothing. A store of another value stays, and so does storing the old value
        // back after it.
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  GLOAD    g3         #0
            0001 > int  SLOAD    #0         #0
            0002 > void ASTORE   0000 0001 0001 #0
            0003   void GSTORE   g3 0000
            0004 > arr  GLOAD    g3         #0
            0005   void GSTORE   g3 0004
            0006 > int  GLOAD    g1         #0
            0007   void GSTORE   g1 0001
            0008   void GSTORE   g1 0006
            0009   void GSTORE   g1 0006
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  GLOAD    g3         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > void ASTORE   0000 0001 0001 #0
            ....        SNAP    #0 pc=1 [ ]
            0003 > int  GLOAD    g1         #0
            0004   void GSTORE   g1 0001
            0005   void GSTORE   g1 0003
            ",
        );
    }

    #[test]
    fn field_checks_made_once_are_not_made_again() {
        // A field found at its position stays there; a struct found unshared (by a store
        // into it, or an element made private for a write) stays so until an object is
        // marked shared.
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002 > obj  ALOAD    0000 0001  #0
            0003 > int  FLOAD    0002 field13 @0 #0
            0004 > int  FLOAD    0002 field15 @2 #0
            0005 > int  ADD      0003 0004  #0
            0006 > void FSTORE   0002 field13 @0 0005 #0
            0007 > int  FLOAD    0002 field14 @1 #0
            0008 > void FSTORE   0002 field14 @1 0007 #0
            0009 > void FSTORE   0002 field13 @0 0001 #0
            0010   void SHARE    0000
            0011 > void FSTORE   0002 field14 @1 0005 #0
            0012 > int  FLOAD    0002 field15 @2 #0
            0013 > obj  ALOADU   0000 0001  #0
            0014 > int  FLOAD    0013 field15 @2 #0
            0015 > void FSTORE   0013 field15 @2 0014 #0
            0016 > void FSTORE   0013 field15 @2 0005 #0
            ",
            // 0008 and 0009 store into fields already found, into a struct 0006 found
            // unshared; 0011 checks again after SHARE (its field is known, the shared bit
            // not); 0012 is 0004 (field15 is not written); 0015 and 0016 store into the
            // element ALOADU made private, at the field 0014 found.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > obj  ALOAD    0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0003 > int  FLOAD    0002 field13 @0 #0
            ....        SNAP    #0 pc=1 [ ]
            0004 > int  FLOAD    0002 field15 @2 #0
            ....        SNAP    #0 pc=1 [ ]
            0005 > int  ADD      0003 0004  #0
            ....        SNAP    #0 pc=1 [ ]
            0006 > void FSTORE   0002 field13 @0 0005 #0
            ....        SNAP    #0 pc=1 [ ]
            0007 > int  FLOAD    0002 field14 @1 #0
            0008   void FSTOREK  0002 field14 @1 0007
            0009   void FSTOREK  0002 field13 @0 0001
            0010   void SHARE    0000
            ....        SNAP    #0 pc=1 [ ]
            0011 > void FSTORE   0002 field14 @1 0005 #0
            ....        SNAP    #0 pc=1 [ ]
            0012 > obj  ALOADU   0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0013 > int  FLOAD    0012 field15 @2 #0
            0014   void FSTOREK  0012 field15 @2 0013
            0015   void FSTOREK  0012 field15 @2 0005
            ",
        );
    }

    #[test]
    fn a_known_field_is_read_again_with_its_type_checked_only() {
        // A builtin call may change every field's value, not where a field stands.
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002 > obj  ALOAD    0000 0001  #0
            0003 > int  FLOAD    0002 field13 @0 #0
            0004 > arr  CALLB    unique 0000 #0
            0005 > int  FLOAD    0002 field13 @0 #0
            0006 > int  FLOAD    0002 field14 @1 #0
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > obj  ALOAD    0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0003 > int  FLOAD    0002 field13 @0 #0
            ....        SNAP    #0 pc=1 [ ]
            0004 > arr  CALLB    unique 0000 #0
            ....        SNAP    #0 pc=1 [ ]
            0005 > int  FLOADK   0002 field13 @0 #0
            ....        SNAP    #0 pc=1 [ ]
            0006 > int  FLOAD    0002 field14 @1 #0
            ",
        );
    }

    #[test]
    fn bounds_and_shared_checks_made_once_are_not_made_again() {
        // `tmp := v[i]; v[i] := v[j]; v[j] := tmp`: both indexes are found in bounds by the
        // reads, the array unshared by the first store, so the second store checks
        // nothing; a read after it checks the element's type only; a builtin call may
        // shorten the array, so the read after it checks the bounds again.
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002 > int  SLOAD    #2         #0
            0003 > int  ALOAD    0000 0001  #0
            0004 > int  ALOAD    0000 0002  #0
            0005 > void ASTORE   0000 0001 0004 #0
            0006 > void ASTORE   0000 0002 0003 #0
            0007 > int  ALOAD    0000 0001  #0
            0008 > arr  CALLB    unique 0000 #0
            0009 > int  ALOAD    0000 0001  #0
            0010 > void ASTORE   0000 0002 0009 #0
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > int  SLOAD    #2         #0
            ....        SNAP    #0 pc=1 [ ]
            0003 > int  ALOAD    0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0004 > int  ALOAD    0000 0002  #0
            ....        SNAP    #0 pc=1 [ ]
            0005 > void ASTORE   0000 0001 0004 #0
            0006   void ASTOREK  0000 0002 0003
            ....        SNAP    #0 pc=1 [ ]
            0007 > int  ALOADK   0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0008 > arr  CALLB    unique 0000 #0
            ....        SNAP    #0 pc=1 [ ]
            0009 > int  ALOAD    0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0010 > void ASTORE   0000 0002 0009 #0
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
    #[test]
    fn field_stores_keep_elements_and_forward_to_loads() {
        // `balls[i].x := balls[i].x + balls[i].vx; balls[i].y := balls[i].y + ...;
        // if balls[i].x < balls[i].vx`: the element taken for the write is the element
        // later reads find (and what `ALOADW` checks), a field store forgets no element and
        // no other field, a read of the stored field is the value stored, and an element
        // store forgets the elements read before it.
        check(
            cse,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002 > obj  ALOAD    0000 0001  #0
            0003 > int  FLOAD    0002 field13 @0 #0
            0004 > int  FLOAD    0002 field15 @2 #0
            0005 > int  ADD      0003 0004  #0
            0006 > obj  ALOADU   0000 0001  #0
            0007 > void FSTORE   0006 field13 @0 0005 #0
            0008 > obj  ALOAD    0000 0001  #0
            0009 > int  FLOAD    0008 field14 @1 #0
            0010 > obj  ALOADW   0000 0001  #0
            0011 > void FSTORE   0010 field14 @1 0009 #0
            0012 > obj  ALOAD    0000 0001  #0
            0013 > int  FLOAD    0012 field13 @0 #0
            0014 > int  FLOAD    0012 field15 @2 #0
            0015 > int  FLOAD    0012 field15 @2 #0
            0016 > void FSTORE   0002 field15 @2 0001 #0
            0017 > int  FLOAD    0012 field15 @2 #0
            0018 > void ASTORE   0000 0005 0001 #0
            0019 > obj  ALOAD    0000 0001  #0
            0020   bool LT       0013 0017
            ....        SNAP    #1 pc=2 [ 1=0014 2=0015 3=0019 ]
            0021 > void GTRUE    0020       #1
            ",
            // 0008, 0010 and 0012 are the element ALOADU took; 0013 is the value 0007
            // stored; 0015 is 0014; 0017 reads again after the store into field15 of 0002
            // (which may be the same struct), its position known, and 0019 after the
            // element store, its index known in bounds. 0011 stores into the private
            // element's field 0009 found.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > arr  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > obj  ALOAD    0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0003 > int  FLOAD    0002 field13 @0 #0
            ....        SNAP    #0 pc=1 [ ]
            0004 > int  FLOAD    0002 field15 @2 #0
            ....        SNAP    #0 pc=1 [ ]
            0005 > int  ADD      0003 0004  #0
            ....        SNAP    #0 pc=1 [ ]
            0006 > obj  ALOADU   0000 0001  #0
            ....        SNAP    #0 pc=1 [ ]
            0007 > void FSTORE   0006 field13 @0 0005 #0
            ....        SNAP    #0 pc=1 [ ]
            0008 > int  FLOAD    0006 field14 @1 #0
            0009   void FSTOREK  0006 field14 @1 0008
            ....        SNAP    #0 pc=1 [ ]
            0010 > int  FLOAD    0006 field15 @2 #0
            ....        SNAP    #0 pc=1 [ ]
            0011 > void FSTORE   0002 field15 @2 0001 #0
            ....        SNAP    #0 pc=1 [ ]
            0012 > int  FLOADK   0006 field15 @2 #0
            ....        SNAP    #0 pc=1 [ ]
            0013 > void ASTORE   0000 0005 0001 #0
            ....        SNAP    #0 pc=1 [ ]
            0014 > obj  ALOADK   0000 0001  #0
            0015   bool LT       0005 0012
            ....        SNAP    #1 pc=2 [ 1=0010 2=0010 3=0014 ]
            0016 > void GTRUE    0015       #1
            ",
        );
    }
}
