//! The trace IR: linear SSA over one recorded loop iteration, typed, with guards as
//! instructions and sparse snapshots for deoptimization.
//!
//! Terms:
//! - An instruction is named by its [`InstIdx`] (its position in [`Trace::insts`]); every
//!   operand refers to an earlier instruction, except the second operand of a `Phi`.
//! - Every instruction has a [`Ty`]: the type of the value it produces (`Void` for stores,
//!   guards and `Loop`). Ints are i64 in general registers, floats f64 in XMM registers,
//!   bools 0/1 in general registers; `Null` values need no register.
//! - A *guard* is an instruction that can leave the trace: type-guarded loads, overflow-
//!   checked int arithmetic, checked division, `GuardTrue`/`GuardFalse`. Every guard names a
//!   snapshot; when the check fails, execution resumes in the interpreter from it.
//! - A *snapshot* records the bytecode pc to resume at and, for each frame slot whose value
//!   differs from what the interpreter's slot holds, the IR value it must be given. Slots
//!   not listed still hold their correct values in memory (the trace never writes frame
//!   slots; globals are stored at once, so snapshots never mention them).
//! - Loop structure: before loop peeling a trace is one recorded iteration; `loop_end`
//!   names the snapshot of the slot state when it gets back to the loop header. After peeling it is `pre-roll; Loop; Phi...; body` and the end
//!   of the body jumps back to just after `Loop`. `Phi(a, b)` sits right after `Loop`: on
//!   the first entry into the body it has the value `a` (defined before `Loop`), on every
//!   later iteration the value `b` (defined in the body, after the `Phi`).
//!
//! - *Sunk* values: `DNew` and `DIns` build a dict literal (`StructNew` and `StructSet` a
//!   struct instance) that native code never creates. The recorder reads entries back from the IR (`r["y"]` becomes the value
//!   inserted under `"y"`), so the dict is named only by `DIns` chains and snapshots; an
//!   exit whose snapshot names one allocates it then (`exit.rs`), the way LuaJIT sinks
//!   allocations. Sunk values have no location and emit no code; the verifier rejects any
//!   other use of them.
//!
//! - A *function trace* records one call of a function, from its first instruction to a
//!   `Ret`; it has no `Loop`. Its recursive calls are `CallTrace`: native calls of the same
//!   trace on a new frame (see `CallTrace`). Its side traces end in `Ret` too.
//!
//! - A *side trace* has no `Loop`: it runs once, from a hot exit of a root trace to that
//!   trace's loop header, then stores every slot it changed (`SStore`) and returns
//!   `abi::BACK_TO_LOOP`, and the root trace is entered again.
//!
//! Text form (dumps and pass tests), one instruction per line:
//! `0004 > int  ADD      0001 0003        #2  ; L7` = instruction 4, a guard (`>`) of type
//! int adding instructions 1 and 3, exiting through snapshot 2, recorded at source line 7.
//! Snapshots print as `.... SNAP #2 pc=14 [ 1=0004 3=0002 ]` (slot=instruction).

use std::fmt;

use crate::compile::bytecode::ProtoId;

pub mod eval;
pub mod props;
pub mod table;
pub mod text;
pub mod verify;

/// The math functions a `MATH` op computes are the builtins' own (`builtins::math`).
pub use crate::builtins::math::MathFn;
pub use table::{memory, Memory, Op, OpCode, OpProps, OPS};
pub use text::InstText;

/// `CallTrace::trace` for a call of the function the trace (tree) itself records.
pub const SELF_TRACE: u32 = u32::MAX;

/// The most arguments a `CallBuiltin` passes.
pub const MAX_BUILTIN_ARGS: usize = 3;

/// The position of an instruction in its trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstIdx(pub u32);

impl InstIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for InstIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// The position of a snapshot in its trace; also the trace's exit number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapIdx(pub u32);

impl SnapIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Null,
    /// A builtin function value (only as a constant, e.g. a callee in a snapshot).
    Builtin,
    /// A pointer to an array object (`GcBox<ArrayObj>`), in a general register.
    Array,
    /// A pointer to a dict object (`GcBox<DictObj>`), in a general register.
    Dict,
    /// A pointer to a string object (`GcBox<StrObj>`), in a general register.
    Str,
    /// A pointer to a function object (`GcBox<FuncObj>`), in a general register: a callee.
    Func,
    /// A struct instance: a pointer to its object (`GcBox<StructObj>`) in a general
    /// register, or a sunk value (no location).
    Struct,
    /// An enum value (`Ok(v)`, `None`, ...); on trace only sunk.
    Tagged,
    Void,
}

impl Ty {
    pub const ALL: [Ty; 12] = [
        Ty::Int,
        Ty::Float,
        Ty::Bool,
        Ty::Null,
        Ty::Builtin,
        Ty::Array,
        Ty::Dict,
        Ty::Str,
        Ty::Func,
        Ty::Struct,
        Ty::Tagged,
        Ty::Void,
    ];

    /// Whether a value of this type may be stored into a struct field on trace (sunk with
    /// `StructSet` or written by `FieldSet`/`FieldInit`): the types an exit and the `FSET`
    /// helper box, and `FINIT` stores.
    pub fn is_field_value(self) -> bool {
        table::FIELD_VALUE.contains(self)
    }

    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "flt",
            Ty::Bool => "bool",
            Ty::Null => "null",
            Ty::Builtin => "fn",
            Ty::Array => "arr",
            Ty::Dict => "dict",
            Ty::Str => "str",
            Ty::Func => "func",
            Ty::Struct => "obj",
            Ty::Tagged => "enum",
            Ty::Void => "void",
        }
    }

    /// Whether values of this type live in XMM registers.
    pub fn is_float(self) -> bool {
        self == Ty::Float
    }
}

/// What `Alloc` allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllocKind {
    Array,
    Dict,
    /// A struct of struct type `type_index` (`StructObj::type_index`), with no fields yet
    /// and room for exactly `fields` (the `FINIT`s that follow append them in place).
    Struct {
        type_index: u32,
        fields: u16,
    },
}

/// The arguments of a `CallBuiltin`, `CallEffect` or `CallResidual`: up to
/// `MAX_BUILTIN_ARGS` instructions, or (a *spread* call, for a builtin called with more)
/// one array instruction holding the arguments in order, which the helper spreads into
/// the call. The text form writes a spread argument `...N`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BuiltinArgs {
    /// The arguments, then `InstIdx(0)` for each one absent (so that equal calls compare equal).
    refs: [InstIdx; MAX_BUILTIN_ARGS],
    len: u8,
    spread: bool,
}

impl BuiltinArgs {
    /// Panics with more than `MAX_BUILTIN_ARGS` arguments (the recorder spreads those).
    pub fn new(args: &[InstIdx]) -> BuiltinArgs {
        let mut refs = [InstIdx(0); MAX_BUILTIN_ARGS];
        refs[..args.len()].copy_from_slice(args);
        BuiltinArgs { refs, len: args.len() as u8, spread: false }
    }

    /// The arguments held by the array `array` (see [`BuiltinArgs`]).
    pub fn spread(array: InstIdx) -> BuiltinArgs {
        BuiltinArgs { spread: true, ..BuiltinArgs::new(&[array]) }
    }

    pub fn is_spread(&self) -> bool {
        self.spread
    }

    pub fn as_slice(&self) -> &[InstIdx] {
        &self.refs[..self.len as usize]
    }

    fn map(&mut self, f: &mut impl FnMut(InstIdx) -> InstIdx) {
        for arg in &mut self.refs[..self.len as usize] {
            *arg = f(*arg);
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    pub op: Op,
    pub ty: Ty,
    /// The snapshot a guard exits through; `None` for every non-guard.
    pub snap: Option<SnapIdx>,
    /// Source line of the bytecode instruction this was recorded from (0 if none).
    pub line: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Bytecode pc the interpreter resumes at, in the innermost frame.
    pub pc: u32,
    /// `(slot, value)` for every slot that differs from memory, ordered by slot. Slots are
    /// numbered from the trace's frame base, so inlined frames' slots come after its own.
    pub entries: Vec<(u16, InstIdx)>,
    /// The frames of inlined calls active at this point, outermost first (empty when
    /// execution is in the trace's own frame). An exit pushes them as interpreter frames.
    pub frames: Vec<InlinedFrame>,
    /// The `try` handlers the trace has installed and not yet removed, in the order they
    /// were installed. Native code keeps no handler stack (every error leaves the trace
    /// before it is raised); an exit pushes these onto the interpreter's.
    pub handlers: Vec<TraceHandler>,
    /// How many `try` handlers installed before the trace started (in the trace's own
    /// frame, innermost first) the trace has removed (`TryEnd` of a try block entered
    /// before it): an exit pops that many off the interpreter's stack before pushing
    /// `handlers`.
    pub handlers_left: u16,
    /// What native code did since the start of the iteration (a side trace's start) or the
    /// last `CallTrace`, which the counters of `--jit-stats` must learn when the trace
    /// exits here: loop back-edges other than a root's own (which the backend counts in a
    /// register), i.e. those of enclosing loops a side trace goes round, and Ruff calls
    /// inlined. An exit through this snapshot adds them to `ExitState`'s counts.
    pub back_edges: u32,
    pub calls: u32,
    /// A slot native code stored just before this exit: the result of a `CallEffect`,
    /// whose `EffectCheck` exits here, after the call. The exit leaves it as memory holds
    /// it (an entry naming it, which peeling may add, is ignored), since the result may
    /// have another type than the trace's value of it.
    pub stored_slot: Option<u16>,
}

impl Snapshot {
    /// The entries an exit writes into the frame: all but the stored slot's.
    pub fn restored_entries(&self) -> impl Iterator<Item = &(u16, InstIdx)> {
        self.entries.iter().filter(move |&&(slot, _)| Some(slot) != self.stored_slot)
    }
}

/// A `try` handler installed on trace (`TryBegin` recorded, its `TryEnd` not yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHandler {
    /// The frame it belongs to: 0 for the trace's own frame, `n` for the `n`th of the
    /// snapshot's inlined frames.
    pub frame: u16,
    /// Where the handler starts, in that frame's function.
    pub pc: u32,
    /// The slot that receives the error value, numbered from the trace's frame base.
    pub err_slot: u16,
}

/// An interpreter frame that an exit must rebuild: a call the trace inlined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InlinedFrame {
    pub proto: ProtoId,
    /// Whether the frame has a closure (a method's frame has none). The closure is the
    /// callee value in the slot just below `base`, as in the interpreter's frame: the
    /// snapshot lists that slot (or, for a frame a side trace started in, memory holds
    /// it), so an exit gives the frame the closure that actually arrived, which a guard on
    /// its prototype let through, not the one recorded.
    pub closure: bool,
    /// Its slot 0, numbered from the trace's frame base.
    pub base: u16,
    pub num_slots: u16,
    /// Where the frame below resumes once this one returns (just after its `Call`).
    pub return_pc: u32,
    /// Whether the frame's slots are in memory: a side trace that starts inside an inlined
    /// call finds that call's slots written by its root trace's exit. Otherwise only the
    /// snapshot holds them, and the exit clears the rest.
    pub slots_in_memory: bool,
}

/// A trace under construction or optimization.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub insts: Vec<Inst>,
    pub snapshots: Vec<Snapshot>,
    /// The slot state at the end of the recorded iteration, when control is back at the
    /// loop header (its pc): which slots the iteration changed and their new values. Loop
    /// peeling builds the `Phi`s from it. Not referenced by any guard.
    pub loop_end: Option<SnapIdx>,
}

impl Trace {
    pub fn push(&mut self, op: Op, ty: Ty, snap: Option<SnapIdx>, line: u32) -> InstIdx {
        self.insts.push(Inst { op, ty, snap, line });
        InstIdx(self.insts.len() as u32 - 1)
    }

    pub fn inst(&self, i: InstIdx) -> &Inst {
        &self.insts[i.index()]
    }

    pub fn add_snapshot(&mut self, snapshot: Snapshot) -> SnapIdx {
        self.snapshots.push(snapshot);
        SnapIdx(self.snapshots.len() as u32 - 1)
    }

    /// Calls `f` with every value an exit through `snap` reads from a location: the
    /// snapshot's entries, with each sunk value replaced by the values it is built from.
    pub fn for_each_snapshot_value(&self, snap: SnapIdx, mut f: impl FnMut(InstIdx)) {
        let mut pending: smallvec::SmallVec<[InstIdx; 8]> =
            self.snapshots[snap.index()].entries.iter().map(|&(_, v)| v).collect();
        while let Some(v) = pending.pop() {
            let op = &self.inst(v).op;
            if op.is_sunk() {
                pending.extend(op.operands());
            } else {
                f(v);
            }
        }
    }

    /// The elements of the sunk array `array` (an `ANew`, `AIns` chain), in order.
    pub fn sunk_elements(&self, array: InstIdx) -> Vec<InstIdx> {
        let mut elements = Vec::new();
        let mut at = array;
        while let Op::AIns { array, value } = self.inst(at).op {
            elements.push(value);
            at = array;
        }
        elements.reverse();
        elements
    }

    /// The `(key, value)` inserts of the sunk dict `dict` (a `DNew`, `DIns` chain), in order.
    pub fn sunk_inserts(&self, dict: InstIdx) -> Vec<(InstIdx, InstIdx)> {
        let mut inserts = Vec::new();
        let mut at = dict;
        while let Op::DIns { dict, key, value } = self.inst(at).op {
            inserts.push((key, value));
            at = dict;
        }
        inserts.reverse();
        inserts
    }

    /// The struct type and the `(field, value)` sets of the sunk struct `object` (a
    /// `StructNew`, `StructSet` chain), in the order they were made.
    pub fn sunk_fields(&self, object: InstIdx) -> (u32, Vec<(u32, InstIdx)>) {
        let mut sets = Vec::new();
        let mut at = object;
        loop {
            match self.inst(at).op {
                Op::StructSet { object, field, value } => {
                    sets.push((field, value));
                    at = object;
                }
                Op::StructNew { type_index } => {
                    sets.reverse();
                    return (type_index, sets);
                }
                other => unreachable!("a sunk struct chain starts with STNEW, not {}", other.name()),
            }
        }
    }

    /// The position of `Loop`, once the trace has been peeled.
    pub fn loop_start(&self) -> Option<InstIdx> {
        self.insts.iter().position(|i| i.op == Op::Loop).map(|p| InstIdx(p as u32))
    }
}
