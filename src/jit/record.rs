//! The recorder: turns one iteration of a hot loop, as the interpreter executes it, into
//! trace IR.
//!
//! Terms:
//! - The interpreter calls [`Recorder::step`] before executing each instruction and then
//!   executes it as usual. The recorder never decides control flow: a branch's direction
//!   is read off the pc of the next step, and the recorder only looks at the operand
//!   values to choose typed IR (the same type dispatch as `interpret::fast_arith` and
//!   `runtime::ops`). Each operation's meaning stays defined once, in `runtime/`.
//! - The *slot map* says, for each slot the iteration has touched, which IR value it
//!   holds now. A slot read for the first time is loaded with a type-guarded `SLoad`.
//!   Slots written by the iteration are *modified*; a snapshot lists those the
//!   interpreter may still read.
//! - *Inlining*: a call to a Ruff function is followed into the callee, whose frame the
//!   recorder stacks above the trace's own (the *root frame*), as the interpreter does:
//!   slots are numbered from the root frame's base, so the callee's slot 0 is the slot
//!   after the callee value. The callee's identity is guarded (`EqRef` against the
//!   function recorded); its slots past the arguments start as null, as in a new
//!   interpreter frame; its `Return` writes the result into the caller's callee slot and
//!   pops the frame. A snapshot taken inside a callee lists its frames, so an exit
//!   rebuilds them.
//!
//! Invariants: every guard's snapshot describes the state before the instruction it was
//! recorded for, and resumes at that instruction's pc, so an exit makes the interpreter
//! redo that instruction with its general semantics (raising its error, if any). The
//! trace starts and closes in the root frame; a return from it, recursion, calls nested
//! deeper than [`MAX_INLINE_DEPTH`] and inner loops going round more than
//! [`MAX_UNROLLED_ITERATIONS`] times abort the trace.
//! - *Unrolling*: an inner loop (in the root frame or in an inlined call) is recorded
//!   iteration by iteration like any other code, its loop tests becoming guards, so a
//!   different trip count exits where the paths part. A side trace or function trace
//!   reaching the header of a loop that has a trace of its own jumps into that trace.

use crate::builtins::{self, BUILTINS};
use crate::compile::bytecode::{Instr, Program, Proto, ProtoId, Reg};
use crate::compile::listing::jump_target;
use crate::compile::liveness::LiveSlots;
use crate::runtime::access;
use crate::runtime::heap::{Gc, Marker};
use crate::runtime::object::DictKey;
use crate::runtime::object::{FuncObj, StructObj, TaggedObj};
use crate::runtime::ops::{self, ArithOp};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;

use std::rc::Rc;

use super::abort::AbortReason;
use super::ir::{
    AllocKind, BuiltinArgs, InlinedFrame, InstIdx, MathFn, Op, SnapIdx, Snapshot, Trace, TraceHandler, Ty,
    MAX_BUILTIN_ARGS, SELF_TRACE,
};

/// Recorded traces longer than this abort (the optimizer and backend are linear, but
/// long traces are rarely loops worth compiling).
const MAX_TRACE_INSTRUCTIONS: usize = 4000;

/// Calls one iteration may have in progress at once (frames above the root frame).
pub const MAX_INLINE_DEPTH: usize = 8;

/// Back-edges of loops other than the root's own that one recording may follow (LuaJIT's
/// `loopunroll`, 15): an inner loop is unrolled into the trace, iteration by iteration,
/// with a guard on each of its loop tests, while the whole recording takes at most this
/// many such back-edges. A longer inner loop aborts the recording (`InnerLoop`): it gets a
/// trace of its own, which side traces and function traces jump into.
pub const MAX_UNROLLED_ITERATIONS: u32 = 16;

/// The traces a recording may call (function traces, by prototype, with the closure each
/// was recorded for: from a side trace or a function trace's own frame such calls become
/// native calls instead of being inlined) or jump into (loop traces, by prototype and
/// header: a function trace reaching one ends there).
#[derive(Default)]
pub struct CompiledTraces {
    pub functions: rustc_hash::FxHashMap<ProtoId, CompiledFunction>,
    pub loops: rustc_hash::FxHashMap<(ProtoId, u32), u32>,
    /// Functions a recording found on a cycle of calls (see `Recorder::recursive`): a
    /// trace calls them natively, since inlining one would meet the recursion again.
    pub recursive: rustc_hash::FxHashSet<ProtoId>,
}

/// A function's trace, as a recording that calls the function sees it.
#[derive(Clone, Copy, Debug)]
pub struct CompiledFunction {
    pub trace: u32,
    /// The closure the trace was recorded for (the trace assumes it).
    pub function: Gc<FuncObj>,
    /// Whether the trace calls functions natively (it recurses, for example), so that
    /// inlining the function could not reproduce it.
    pub calls_natively: bool,
}

/// What a recording covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// One iteration of a loop, back to its header.
    Loop,
    /// One call of a function, to its return; recursive calls become `CallTrace`.
    Function,
}

/// Where a side trace grows from: an exit of `parent`, which is the root trace or
/// another side trace of it.
#[derive(Clone, Copy, Debug)]
pub struct SideOf {
    pub root: u32,
    pub parent: u32,
    pub exit: SnapIdx,
}

/// What the interpreter must do after a step.
pub enum Step {
    /// Execute the instruction and call `step` again at the next one.
    Continue,
    /// The loop closed: the recorded iteration is complete.
    Closed(Trace),
    Abort(AbortReason),
}

/// What the recorder can see of the interpreter at a step.
pub struct View<'a> {
    pub program: &'a Program,
    /// The slots of the interpreter's current frame (the recorder's innermost frame).
    pub slots: &'a [Value],
    pub globals: &'a [Value],
    /// Number of interpreter frames.
    pub frame_depth: usize,
}

/// A frame of the recorded iteration: the root frame, or an inlined call.
struct RecordedFrame {
    proto: ProtoId,
    /// The callee; `None` for the root frame.
    func: Option<Gc<FuncObj>>,
    /// Its slot 0, numbered from the root frame's base.
    base: usize,
    num_slots: usize,
    live: Rc<LiveSlots>,
    /// While a callee above it runs: the pc of the `Call` and its callee slot.
    call: Option<(u32, Reg)>,
    /// Whether its slots are in memory: true for the root frame and for frames a side
    /// trace starts in (the exit wrote them); false for calls inlined during recording,
    /// whose slots exist only in the slot map.
    in_memory: bool,
}

#[derive(Clone, Copy)]
struct PendingBranch {
    condition: InstIdx,
    snapshot: SnapIdx,
    /// The pc reached when the condition is true.
    when_true: u32,
    /// A loop-continuation test: reaching any other pc means the loop ended.
    continues_loop: bool,
    line: u32,
}

/// A builtin call recorded as `CallBuiltin` once the interpreter has made it: the
/// instruction's type is its result's type.
#[derive(Clone, Copy)]
struct PendingCall {
    builtin: u32,
    args: [InstIdx; MAX_BUILTIN_ARGS],
    argc: u8,
    /// The slot of the callee, which the result replaces.
    base: Reg,
    /// The state before the call: an exit makes the call again in the interpreter.
    snapshot: SnapIdx,
    line: u32,
}

pub struct Recorder {
    pub proto: ProtoId,
    pub header: u32,
    /// The back-edge instruction that closes the loop; the body is `header..=back_edge`.
    pub back_edge: u32,
    /// For a side trace: where it grows from.
    pub side_of: Option<SideOf>,
    pub kind: TraceKind,
    /// For a function trace: the function recorded, whose recursive calls `CallTrace` runs.
    function: Option<Gc<FuncObj>>,
    /// A recursive call is running in the interpreter; recording resumes when it returns.
    in_self_call: bool,
    /// The most calls the iteration had inlined at once: each is a frame the interpreter
    /// would have pushed (and checked against the depth limit).
    max_inlined: usize,
    /// The trace ended with `JumpTrace`: the next step closes it.
    jumped_into_loop: bool,
    /// Functions this recording found recursive: inlining a call of one met a call of it
    /// again (they and the functions inlined between lie on a cycle of calls).
    pub recursive: Vec<ProtoId>,
    /// Functions whose traces this recording needed (to call them natively): the JIT
    /// records each at its next call, so that recording this trace again can succeed.
    pub wanted_functions: Vec<ProtoId>,
    /// Compiled traces when the recording started (see [`CompiledTraces`]).
    compiled: Rc<CompiledTraces>,
    frame_depth: usize,
    /// The root frame, then the inlined calls in progress.
    frames: Vec<RecordedFrame>,
    /// Slot liveness per prototype: snapshots list only slots the interpreter may read.
    live_slots: rustc_hash::FxHashMap<ProtoId, Rc<LiveSlots>>,
    trace: Trace,
    slots: Vec<Option<InstIdx>>,
    modified: Vec<bool>,
    pending: Option<PendingBranch>,
    pending_call: Option<PendingCall>,
    /// `try` handlers installed on trace and not removed yet, in order (see
    /// [`Snapshot::handlers`]).
    handlers: Vec<TraceHandler>,
    /// The instructions recorded, in order (for trace dumps).
    pub bytecode: Vec<(ProtoId, u32)>,
    /// The frame depth, pc and slot-write count of the last snapshot, for reuse.
    last_snapshot: Option<(usize, u32, SnapIdx, usize)>,
    writes: usize,
    line: u32,
    /// Loop back-edges recorded in the root frame of a side trace, and Ruff calls inlined,
    /// since the start of the iteration or the last `CallTrace` (see
    /// `Snapshot::back_edges`).
    back_edges: u32,
    calls: u32,
    /// Back-edges of loops other than the root's own loop recorded so far (see
    /// [`MAX_UNROLLED_ITERATIONS`]).
    unrolled: u32,
}

/// The IR type of a value a trace may load from a slot.
fn value_type(v: &Value) -> Result<Ty, AbortReason> {
    match v {
        Value::Array(_) => Ok(Ty::Array),
        Value::Dict(_) => Ok(Ty::Dict),
        Value::Str(_) => Ok(Ty::Str),
        Value::Func(_) => Ok(Ty::Func),
        Value::Struct(_) => Ok(Ty::Struct),
        Value::Tagged(_) => Ok(Ty::Tagged),
        other => element_type(other),
    }
}

/// The IR type of a value a trace may hold as an array element or a global: the types
/// that need no shared-bit bookkeeping when copied.
fn element_type(v: &Value) -> Result<Ty, AbortReason> {
    match v {
        Value::Int(_) => Ok(Ty::Int),
        Value::Float(_) => Ok(Ty::Float),
        Value::Bool(_) => Ok(Ty::Bool),
        Value::Null => Ok(Ty::Null),
        other => Err(AbortReason::NyiValueType(other.type_name())),
    }
}

/// The IR type of an array element a trace reads out: the element types, and strings,
/// structs, arrays and dicts (`ALoad` marks those shared, as the interpreter does).
fn read_element_type(v: &Value) -> Result<Ty, AbortReason> {
    match v {
        Value::Str(_) => Ok(Ty::Str),
        Value::Struct(_) => Ok(Ty::Struct),
        Value::Tagged(_) => Ok(Ty::Tagged),
        Value::Array(_) => Ok(Ty::Array),
        Value::Dict(_) => Ok(Ty::Dict),
        other => element_type(other),
    }
}

fn math_function(name: &str) -> Option<MathFn> {
    Some(match name {
        "abs" => MathFn::Abs,
        "sqrt" => MathFn::Sqrt,
        "floor" => MathFn::Floor,
        "ceil" => MathFn::Ceil,
        "round" => MathFn::Round,
        "sin" => MathFn::Sin,
        "cos" => MathFn::Cos,
        "tan" => MathFn::Tan,
        "exp" => MathFn::Exp,
        "log" => MathFn::Log,
        "pow" => MathFn::Pow,
        "min" => MathFn::Min,
        "max" => MathFn::Max,
        _ => return None,
    })
}

/// A short name of an instruction the recorder does not handle yet.
fn instruction_name(instr: &Instr) -> &'static str {
    match instr {
        Instr::NewArray { .. } | Instr::ArrayAppend { .. } | Instr::ArraySpread { .. } => "array construction",
        Instr::NewDict { .. } | Instr::DictInsert { .. } | Instr::DictSpread { .. } => "dict construction",
        Instr::GetIndex { .. } | Instr::GetIndexForWrite { .. } | Instr::SetIndex { .. } => "indexing",
        Instr::GetField { .. }
        | Instr::PeekField { .. }
        | Instr::TakeField { .. }
        | Instr::GetFieldForWrite { .. }
        | Instr::SetField { .. } => "field access",
        Instr::NewStruct { .. } => "struct construction",
        Instr::NewTagged { .. } | Instr::GetPayload { .. } | Instr::TestTag { .. } => "enum values and match",
        Instr::ToStr { .. } | Instr::Concat { .. } => "string interpolation",
        Instr::Closure { .. } | Instr::GetCapture { .. } | Instr::TakeCapture { .. } | Instr::SetCapture { .. } => {
            "closures"
        }
        Instr::LoadSelfFunc { .. } => "function values",
        Instr::CallMethod { .. } | Instr::CallMethodLent { .. } => "method calls",
        Instr::Throw { .. } | Instr::Raise { .. } => "throw",
        _ => "this instruction",
    }
}

impl Recorder {
    pub fn new(
        proto: ProtoId,
        header: u32,
        back_edge: u32,
        frame_depth: usize,
        num_slots: usize,
        live: Rc<LiveSlots>,
    ) -> Recorder {
        let root = RecordedFrame {
            proto,
            func: None,
            base: 0,
            num_slots,
            live: Rc::clone(&live),
            call: None,
            in_memory: true,
        };
        let mut live_slots = rustc_hash::FxHashMap::default();
        live_slots.insert(proto, live);
        Recorder {
            proto,
            header,
            back_edge,
            side_of: None,
            kind: TraceKind::Loop,
            function: None,
            in_self_call: false,
            max_inlined: 0,
            jumped_into_loop: false,
            recursive: Vec::new(),
            wanted_functions: Vec::new(),
            compiled: Rc::default(),
            frame_depth,
            frames: vec![root],
            live_slots,
            trace: Trace::default(),
            slots: vec![None; num_slots],
            modified: vec![false; num_slots],
            pending: None,
            pending_call: None,
            handlers: Vec::new(),
            bytecode: Vec::new(),
            last_snapshot: None,
            writes: 0,
            line: 0,
            back_edges: 0,
            calls: 0,
            unrolled: 0,
        }
    }

    /// A recorder for a call of `function` (prototype `proto`) whose frame, at depth
    /// `frame_depth`, is about to run its first instruction.
    pub fn for_function(
        proto: ProtoId,
        function: Gc<FuncObj>,
        frame_depth: usize,
        num_slots: usize,
        live: Rc<LiveSlots>,
    ) -> Recorder {
        let mut recorder = Recorder::new(proto, 0, 0, frame_depth, num_slots, live);
        recorder.kind = TraceKind::Function;
        recorder.function = Some(function);
        recorder.frames[0].func = Some(function);
        recorder
    }

    /// For a function trace: the function recorded.
    pub fn function(&self) -> Option<Gc<FuncObj>> {
        self.function
    }

    /// Lets the recording call or jump into these compiled traces.
    pub fn with_compiled_traces(mut self, compiled: Rc<CompiledTraces>) -> Recorder {
        self.compiled = compiled;
        self
    }

    /// The most inlined calls in progress at once during the recording.
    pub fn max_inlined(&self) -> usize {
        self.max_inlined
    }

    /// Loop back-edges a side trace takes, and Ruff calls the trace inlines, from its start
    /// (or its last `CallTrace`) to its end: for a root loop trace, the calls of one
    /// iteration after its last `CallTrace` (its own back-edge the backend counts).
    pub fn events_at_end(&self) -> (u32, u32) {
        (self.back_edges, self.calls)
    }

    /// Where the recording is: the instruction recorded last (the one an abort is about),
    /// as `(prototype, pc)`, innermost last, after the calls (prototype, pc of the call)
    /// inlined around it. The loop header when nothing was recorded yet.
    pub fn location(&self) -> Vec<(ProtoId, u32)> {
        let Some(&(proto, pc)) = self.bytecode.last() else { return vec![(self.proto, self.header)] };
        let mut chain: Vec<(ProtoId, u32)> =
            self.frames.iter().filter_map(|f| f.call.map(|(call_pc, _)| (f.proto, call_pc))).collect();
        if chain.last().is_some_and(|&(p, call_pc)| p == proto && call_pc == pc) {
            chain.pop();
        }
        chain.push((proto, pc));
        chain
    }

    /// Whether the instruction at `pc` is reached through a loop back-edge: the
    /// instruction recorded before it, in the same frame, is a backward jump (as the
    /// interpreter's back-edge counting sees it). A root loop trace's own back-edge is
    /// not one: the backend counts those.
    fn after_back_edge(&self, pc: u32, view: &View) -> bool {
        let Some(&(proto, from)) = self.bytecode.last() else { return false };
        // Frames of one prototype never nest (inlined recursion aborts), so the same
        // prototype means the same frame.
        if proto != self.current().proto || pc >= from || self.at_own_header(pc) {
            return false;
        }
        let instr = view.program.proto(proto).code[from as usize];
        matches!(instr, Instr::Jump { offset } if offset < 0)
            || matches!(instr, Instr::ForNext { .. } | Instr::ForRangeNext { .. })
    }

    /// Whether `pc` is the header of the root loop trace's own loop, in its own frame.
    fn at_own_header(&self, pc: u32) -> bool {
        self.side_of.is_none() && self.kind == TraceKind::Loop && !self.inlined() && pc == self.header
    }

    fn current(&self) -> &RecordedFrame {
        self.frames.last().expect("the root frame is never popped")
    }

    /// Whether the recorder is inside an inlined call.
    fn inlined(&self) -> bool {
        self.frames.len() > 1
    }

    /// Slot `r` of the current frame, numbered from the root frame's base.
    fn slot(&self, r: Reg) -> usize {
        self.current().base + r as usize
    }

    /// The state an exit at `pc` in the current frame restores: the modified slots the
    /// interpreter may read (each outer frame resuming after its call), the inlined frames
    /// to rebuild and the handlers installed on trace.
    fn snapshot_state(&self, pc: u32) -> Snapshot {
        let mut entries = std::collections::BTreeMap::new();
        let innermost = self.frames.len() - 1;
        for (depth, frame) in self.frames.iter().enumerate() {
            // A caller keeps what the rest of it may read once the call returns or raises.
            let live = |s: u16| match frame.call {
                Some((call_pc, _)) if depth < innermost => frame.live.live_after(call_pc, s),
                _ => frame.live.live_at(pc, s),
            };
            for s in 0..frame.num_slots {
                let slot = frame.base + s;
                if self.modified[slot] && live(s as u16) {
                    entries.insert(slot as u16, self.slots[slot].expect("a modified slot holds a value"));
                }
            }
        }
        let frames = self.frames[1..]
            .iter()
            .zip(&self.frames)
            .map(|(frame, caller)| InlinedFrame {
                proto: frame.proto,
                func: frame.func,
                base: frame.base as u16,
                num_slots: frame.num_slots as u16,
                return_pc: caller.call.expect("a caller is in a call").0 + 1,
                slots_in_memory: frame.in_memory,
            })
            .collect();
        Snapshot {
            pc,
            entries: entries.into_iter().collect(),
            frames,
            handlers: self.handlers.clone(),
            back_edges: self.back_edges,
            calls: self.calls,
        }
    }

    /// The snapshot of the current state, resuming at `pc`.
    fn snapshot(&mut self, pc: u32) -> SnapIdx {
        let depth = self.frames.len();
        if let Some((last_depth, last_pc, snap, writes)) = self.last_snapshot {
            let last = &self.trace.snapshots[snap.index()];
            let same_events = last.back_edges == self.back_edges && last.calls == self.calls;
            if last_depth == depth && last_pc == pc && writes == self.writes && same_events {
                return snap;
            }
        }
        let snap = self.trace.add_snapshot(self.snapshot_state(pc));
        self.last_snapshot = Some((depth, pc, snap, self.writes));
        snap
    }

    fn emit(&mut self, op: Op, ty: Ty) -> InstIdx {
        self.trace.push(op, ty, None, self.line)
    }

    fn emit_guard(&mut self, op: Op, ty: Ty, pc: u32) -> InstIdx {
        let snap = self.snapshot(pc);
        self.trace.push(op, ty, Some(snap), self.line)
    }

    fn constant(&mut self, v: &Value) -> Result<InstIdx, AbortReason> {
        let (op, ty) = match *v {
            Value::Int(i) => (Op::KInt(i), Ty::Int),
            Value::Float(f) => (Op::KFloat(f), Ty::Float),
            Value::Bool(b) => (Op::KBool(b), Ty::Bool),
            Value::Null => (Op::KNull, Ty::Null),
            Value::Builtin(id) => (Op::KBuiltin(id), Ty::Builtin),
            Value::Str(s) => (Op::KStr(s), Ty::Str),
            other => return Err(AbortReason::NyiValueType(other.type_name())),
        };
        Ok(self.emit(op, ty))
    }

    fn ty(&self, v: InstIdx) -> Ty {
        self.trace.inst(v).ty
    }

    /// The IR value of slot `r`, loading it (with a type guard) on first use. A sunk
    /// value (built in this iteration) is materialized: only [`Recorder::read_sunk`]'s
    /// callers (copies, calls, returns, field and key reads) know how to use one as it is.
    fn read(&mut self, r: Reg, view: &View, pc: u32) -> Result<InstIdx, AbortReason> {
        let v = self.read_sunk(r, view, pc)?;
        if self.trace.inst(v).op.is_sunk() {
            return self.materialize(v, pc);
        }
        Ok(v)
    }

    /// Builds sunk value `v` for real where it escapes (the instruction at `pc` stores,
    /// pushes or passes it on, or it lives on past the trace): `Alloc`, then the
    /// `APush`es, `DSet`s or `FieldSet`s that fill it, in the order the literal and the
    /// assignments after it made them. Every slot naming `v` then names the object; when
    /// two do, it is shared, as the interpreter's `Move` made it (an exit that finds `v` in
    /// two slots does the same). Guards here exit to `pc` with `v` still sunk, so the exit
    /// builds it.
    fn materialize(&mut self, v: InstIdx, pc: u32) -> Result<InstIdx, AbortReason> {
        let object = match self.trace.inst(v).op {
            Op::ANew | Op::AIns { .. } => {
                let array = self.emit_guard(Op::Alloc(AllocKind::Array), Ty::Array, pc);
                for value in self.trace.sunk_elements(v) {
                    self.emit_guard(Op::APush { array, value }, Ty::Void, pc);
                }
                array
            }
            Op::DNew | Op::DIns { .. } => {
                let dict = self.emit_guard(Op::Alloc(AllocKind::Dict), Ty::Dict, pc);
                for (key, value) in self.trace.sunk_inserts(v) {
                    self.emit_guard(Op::DSet { dict, key, value }, Ty::Void, pc);
                }
                dict
            }
            Op::StructNew { .. } | Op::StructSet { .. } => {
                let (type_index, sets) = self.trace.sunk_fields(v);
                let kind = AllocKind::Struct { type_index, fields: sets.len().min(u16::MAX as usize) as u16 };
                let mut object = self.emit_guard(Op::Alloc(kind), Ty::Struct, pc);
                for (field, value) in sets {
                    object = self.emit_guard(Op::FieldSet { object, field, value }, Ty::Struct, pc);
                }
                object
            }
            _ => {
                return Err(AbortReason::NyiInstruction("an enum value built on trace used other than by matching it"))
            }
        };
        let mut holders = 0;
        for slot in self.slots.iter_mut().filter(|s| **s == Some(v)) {
            *slot = Some(object);
            holders += 1;
        }
        if holders > 1 {
            self.emit(Op::MarkShared(object), Ty::Void);
        }
        self.writes += 1;
        Ok(object)
    }

    /// Materializes every sunk value among the modified slots `wanted` picks, before
    /// they are stored or carried on.
    fn materialize_slots(&mut self, pc: u32, wanted: impl Fn(usize) -> bool) -> Result<(), AbortReason> {
        let mut sunk: Vec<InstIdx> = (0..self.slots.len())
            .filter(|&s| self.modified[s] && wanted(s))
            .filter_map(|s| self.slots[s])
            .filter(|&v| self.trace.inst(v).op.is_sunk())
            .collect();
        sunk.sort();
        sunk.dedup();
        for v in sunk {
            self.materialize(v, pc)?;
        }
        Ok(())
    }

    /// Like [`Recorder::read`], but a sunk dict is returned as is.
    fn read_sunk(&mut self, r: Reg, view: &View, pc: u32) -> Result<InstIdx, AbortReason> {
        let slot = self.slot(r);
        if let Some(v) = self.slots[slot] {
            return Ok(v);
        }
        // Every slot of a call inlined while recording is written on entry.
        if !self.current().in_memory {
            return Err(AbortReason::NyiInstruction("a callee slot the trace never wrote"));
        }
        let ty = value_type(&view.slots[r as usize])?;
        let v = self.type_checked_load(Op::SLoad { slot: slot as u16 }, ty, pc);
        self.slots[slot] = Some(v);
        Ok(v)
    }

    /// A type-guarded load with a snapshot of its own, so that an exit through it is
    /// known to be a type check failing (which retires a trace whose types changed).
    fn type_checked_load(&mut self, op: Op, ty: Ty, pc: u32) -> InstIdx {
        let snap = self.trace.add_snapshot(self.snapshot_state(pc));
        self.trace.push(op, ty, Some(snap), self.line)
    }

    fn write(&mut self, r: Reg, v: InstIdx) {
        let slot = self.slot(r);
        self.slots[slot] = Some(v);
        self.modified[slot] = true;
        self.writes += 1;
    }

    fn float_of(&mut self, v: InstIdx) -> InstIdx {
        match self.ty(v) {
            Ty::Int => self.emit(Op::IntToFloat(v), Ty::Float),
            _ => v,
        }
    }

    /// Typed arithmetic, mirroring the interpreter: int with int stays int (checked), any
    /// other pair of numbers is float.
    fn arith(&mut self, op: ArithOp, a: InstIdx, b: InstIdx, pc: u32) -> Result<InstIdx, AbortReason> {
        match (self.ty(a), self.ty(b)) {
            (Ty::Int, Ty::Int) => {
                let ir = match op {
                    ArithOp::Add => Op::AddInt(a, b),
                    ArithOp::Sub => Op::SubInt(a, b),
                    ArithOp::Mul => Op::MulInt(a, b),
                    ArithOp::Div => Op::DivInt(a, b),
                    ArithOp::Mod => Op::ModInt(a, b),
                };
                Ok(self.emit_guard(ir, Ty::Int, pc))
            }
            (Ty::Int | Ty::Float, Ty::Int | Ty::Float) => {
                let (a, b) = (self.float_of(a), self.float_of(b));
                let ir = match op {
                    ArithOp::Add => Op::AddFloat(a, b),
                    ArithOp::Sub => Op::SubFloat(a, b),
                    ArithOp::Mul => Op::MulFloat(a, b),
                    ArithOp::Div => Op::DivFloat(a, b),
                    ArithOp::Mod => Op::ModFloat(a, b),
                };
                Ok(if ir.is_guard() { self.emit_guard(ir, Ty::Float, pc) } else { self.emit(ir, Ty::Float) })
            }
            (ta, tb) => Err(AbortReason::NyiInstruction(match (ta, tb) {
                _ if op == ArithOp::Add => "+ on non-numbers",
                _ => "arithmetic on non-numbers",
            })),
        }
    }

    /// `a op b` for `op` one of `<`, `<=`, `>`, `>=`, `==`, `!=` (by bytecode mnemonic).
    fn compare(&mut self, kind: Compare, a: InstIdx, b: InstIdx) -> Result<InstIdx, AbortReason> {
        let (ta, tb) = (self.ty(a), self.ty(b));
        let numeric = |t: Ty| matches!(t, Ty::Int | Ty::Float);
        if ta == Ty::Int && tb == Ty::Int {
            let op = match kind {
                Compare::Lt => Op::LtInt(a, b),
                Compare::Le => Op::LeInt(a, b),
                Compare::Gt => Op::GtInt(a, b),
                Compare::Ge => Op::GeInt(a, b),
                Compare::Eq => Op::EqInt(a, b),
                Compare::Ne => Op::NeInt(a, b),
            };
            return Ok(self.emit(op, Ty::Bool));
        }
        if numeric(ta) && numeric(tb) {
            let (a, b) = (self.float_of(a), self.float_of(b));
            let op = match kind {
                Compare::Lt => Op::LtFloat(a, b),
                Compare::Le => Op::LeFloat(a, b),
                Compare::Gt => Op::GtFloat(a, b),
                Compare::Ge => Op::GeFloat(a, b),
                Compare::Eq => Op::EqFloat(a, b),
                Compare::Ne => Op::NeFloat(a, b),
            };
            return Ok(self.emit(op, Ty::Bool));
        }
        match kind {
            Compare::Eq | Compare::Ne => {
                let equal = match (ta, tb) {
                    (Ty::Bool, Ty::Bool) => self.emit(Op::EqBool(a, b), Ty::Bool),
                    // Builtins exist on trace only as constants; they are equal when they
                    // are the same builtin.
                    (Ty::Builtin, Ty::Builtin) => {
                        let same = self.trace.inst(a).op == self.trace.inst(b).op;
                        self.emit(Op::KBool(same), Ty::Bool)
                    }
                    // The guarded types decide: values of different types never match
                    // (numbers were handled above) and null equals null
                    // (runtime::ops::values_equal).
                    _ if ta != tb || ta == Ty::Null => self.emit(Op::KBool(ta == tb), Ty::Bool),
                    (Ty::Str, Ty::Str) => self.emit(Op::SEq(a, b), Ty::Bool),
                    // Two values of one heap type (arrays, dicts) compare by content,
                    // which traces do not do.
                    _ => return Err(AbortReason::NyiInstruction("== on two arrays, dicts or functions")),
                };
                Ok(if kind == Compare::Ne { self.emit(Op::NotBool(equal), Ty::Bool) } else { equal })
            }
            _ => Err(AbortReason::NyiInstruction("ordering comparison of non-numbers")),
        }
    }

    fn truthiness(&mut self, v: InstIdx) -> Result<InstIdx, AbortReason> {
        Ok(match self.ty(v) {
            Ty::Bool => v,
            Ty::Int => self.emit(Op::TruthyInt(v), Ty::Bool),
            Ty::Float => self.emit(Op::TruthyFloat(v), Ty::Bool),
            Ty::Null => self.emit(Op::KBool(false), Ty::Bool),
            Ty::Builtin => self.emit(Op::KBool(true), Ty::Bool),
            Ty::Array => {
                let length = self.emit(Op::ALen(v), Ty::Int);
                self.emit(Op::TruthyInt(length), Ty::Bool)
            }
            Ty::Dict => return Err(AbortReason::NyiInstruction("the truthiness of a dict")),
            Ty::Str => return Err(AbortReason::NyiInstruction("the truthiness of a string")),
            Ty::Func => return Err(AbortReason::NyiInstruction("the truthiness of a function")),
            Ty::Struct => return Err(AbortReason::NyiInstruction("the truthiness of a struct")),
            Ty::Tagged => return Err(AbortReason::NyiInstruction("the truthiness of an enum value")),
            Ty::Void => return Err(AbortReason::NyiInstruction("truthiness of void")),
        })
    }

    /// Records a branch whose direction the next step's pc reveals. A branch whose two
    /// targets are the same pc needs no guard.
    fn branch(&mut self, condition: InstIdx, pc: u32, when_true: u32, when_false: u32) {
        if when_true != when_false {
            let snapshot = self.snapshot(pc);
            self.pending =
                Some(PendingBranch { condition, snapshot, when_true, continues_loop: false, line: self.line });
        }
    }

    /// Records the test of a loop's advance instruction: it must continue the loop.
    fn loop_continues(&mut self, condition: InstIdx, pc: u32) {
        let snapshot = self.snapshot(pc);
        self.pending =
            Some(PendingBranch { condition, snapshot, when_true: self.header, continues_loop: true, line: self.line });
    }

    fn resolve_pending_branch(&mut self, pc: u32) -> Result<(), AbortReason> {
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

    /// Emits the builtin call the interpreter has just made, typed by its result.
    fn resolve_pending_call(&mut self, view: &View) -> Result<(), AbortReason> {
        let Some(call) = self.pending_call.take() else { return Ok(()) };
        let result = view.slots[call.base as usize];
        let ty = match value_type(&result)? {
            Ty::Func | Ty::Tagged => return Err(AbortReason::NyiValueType(result.type_name())),
            ty => ty,
        };
        let op = Op::CallBuiltin { builtin: call.builtin, args: BuiltinArgs::new(&call.args[..call.argc as usize]) };
        let value = self.trace.push(op, ty, Some(call.snapshot), call.line);
        self.write(call.base, value);
        Ok(())
    }

    /// A recorder for a side trace: from the exit `side_of` back to the root's loop header
    /// (`base` records that loop). `frames` are the inlined calls the exit was in; the side
    /// trace starts in the innermost, with the exit's `handlers` installed. `constants` are
    /// the slots the exit's snapshot gives constant values: every entry into the side trace
    /// comes through that exit, so the side trace knows them as constants (a builtin callee
    /// stays a known builtin).
    pub fn for_side_trace(
        side_of: SideOf,
        base: Recorder,
        frames: &[InlinedFrame],
        handlers: &[TraceHandler],
        constants: &[(u16, Op, Ty)],
        program: &Program,
    ) -> Recorder {
        let mut recorder = Recorder { side_of: Some(side_of), handlers: handlers.to_vec(), ..base };
        for frame in frames {
            let caller = recorder.frames.last_mut().expect("the root frame is never popped");
            let callee_slot = (frame.base as usize - caller.base - 1) as Reg;
            caller.call = Some((frame.return_pc - 1, callee_slot));
            let live = recorder
                .live_slots
                .entry(frame.proto)
                .or_insert_with(|| Rc::new(LiveSlots::compute(program, program.proto(frame.proto))))
                .clone();
            recorder.frames.push(RecordedFrame {
                proto: frame.proto,
                func: frame.func,
                base: frame.base as usize,
                num_slots: frame.num_slots as usize,
                live,
                call: None,
                in_memory: true,
            });
            recorder.cover_slots(frame.base as usize + frame.num_slots as usize);
        }
        for &(slot, op, ty) in constants {
            recorder.cover_slots(slot as usize + 1);
            let value = recorder.emit(op, ty);
            recorder.slots[slot as usize] = Some(value);
        }
        recorder
    }

    /// Grows the slot map to cover `end` slots.
    fn cover_slots(&mut self, end: usize) {
        if self.slots.len() < end {
            self.slots.resize(end, None);
            self.modified.resize(end, false);
        }
    }

    /// Finishes the trace. A root trace keeps the slot map as its loop-end state (for
    /// peeling); otherwise the changed slots are stored.
    fn close(&mut self) -> Result<Trace, AbortReason> {
        if !self.handlers.is_empty() {
            return Err(AbortReason::NyiInstruction("a try block that the loop's back edge leaves open"));
        }
        // Exits from here on resume at the header: the root's back-edge is taken, and the
        // backend counts it only once back at the header.
        if self.side_of.is_none() {
            self.back_edges += 1;
        }
        let live: Vec<u16> = self.snapshot_state(self.header).entries.iter().map(|&(slot, _)| slot).collect();
        self.materialize_slots(self.header, |s| live.contains(&(s as u16)))?;
        let carried = self.snapshot_state(self.header).entries;
        // A side trace hands the frame back to its root; a root trace with a native call is
        // not peeled (registers do not survive the call) and reloads its frame each time
        // round. Both leave the frame in memory.
        let calls_natively = self.trace.insts.iter().any(|inst| matches!(inst.op, Op::CallTrace { .. }));
        if self.side_of.is_some() || calls_natively {
            for (slot, value) in carried {
                self.emit(Op::SStore { slot, value }, Ty::Void);
            }
            return Ok(std::mem::take(&mut self.trace));
        }
        let end = self.trace.add_snapshot(Snapshot { pc: self.header, entries: carried, ..Snapshot::default() });
        self.trace.loop_end = Some(end);
        Ok(std::mem::take(&mut self.trace))
    }

    /// Called before the interpreter executes the instruction at `pc`.
    pub fn step(&mut self, pc: u32, view: &View) -> Step {
        let depth = self.frame_depth + self.frames.len() - 1;
        if self.in_self_call {
            // The recursive call runs in the interpreter; its trace is this one.
            if view.frame_depth > depth {
                return Step::Continue;
            }
            self.in_self_call = false;
            self.forget_slots();
        }
        if self.jumped_into_loop {
            return Step::Closed(std::mem::take(&mut self.trace));
        }
        if let Err(reason) = self.resolve_pending_call(view).and_then(|()| self.resolve_pending_branch(pc)) {
            return Step::Abort(reason);
        }
        if self.after_back_edge(pc, view) {
            self.back_edges += 1;
            // A side trace's way back to its root's header is no unrolling.
            let closes_side_trace =
                self.side_of.is_some() && self.kind == TraceKind::Loop && !self.inlined() && pc == self.header;
            if !closes_side_trace {
                self.unrolled += 1;
                if self.unrolled > MAX_UNROLLED_ITERATIONS {
                    return Step::Abort(AbortReason::InnerLoop);
                }
            }
        }
        if view.frame_depth != depth {
            return Step::Abort(AbortReason::LeftFunction);
        }
        // A function trace ends at its function's return; so does a side trace of a loop
        // whose path returns from the loop's function.
        if (self.kind == TraceKind::Function || self.side_of.is_some()) && !self.inlined() {
            let proto = view.program.proto(self.current().proto);
            if let Instr::Return { .. } | Instr::ReturnNull = proto.code[pc as usize] {
                self.bytecode.push((self.current().proto, pc));
                self.line = proto.spans[pc as usize].line;
                return match self.function_return(proto.code[pc as usize], view, pc) {
                    Ok(trace) => Step::Closed(trace),
                    Err(reason) => Step::Abort(reason),
                };
            }
        }
        if !self.inlined() && self.kind == TraceKind::Loop {
            // A side trace may go round the loops enclosing its root's loop (LuaJIT's way of
            // compiling nested loops: the inner loop's exit grows a trace back to it).
            if self.side_of.is_none() && (pc < self.header || pc > self.back_edge) {
                return Step::Abort(AbortReason::LoopExited);
            }
            if pc == self.header && !self.bytecode.is_empty() {
                return match self.close() {
                    Ok(trace) => Step::Closed(trace),
                    Err(reason) => Step::Abort(reason),
                };
            }
        }
        if let Some(trace) = self.loop_to_jump_into(pc) {
            return match self.jump_into_loop(trace, pc) {
                Ok(()) => Step::Continue,
                Err(reason) => Step::Abort(reason),
            };
        }
        if self.trace.insts.len() > MAX_TRACE_INSTRUCTIONS {
            return Step::Abort(AbortReason::TraceTooLong);
        }
        let proto_id = self.current().proto;
        self.bytecode.push((proto_id, pc));
        let proto = view.program.proto(proto_id);
        self.line = proto.spans[pc as usize].line;
        match self.record(proto, pc, view) {
            Ok(()) => Step::Continue,
            Err(reason) => Step::Abort(reason),
        }
    }

    fn record(&mut self, proto: &Proto, pc: u32, view: &View) -> Result<(), AbortReason> {
        let constant = |index: u16| proto.constants[index as usize];
        let instr = proto.code[pc as usize];
        let next = pc + 1;
        match instr {
            Instr::Move { dst, src } => {
                let v = self.read_sunk(src, view, pc)?;
                // A copied heap object becomes shared, as in the interpreter (a sunk value is
                // immutable IR, so its copy is simply the same value).
                let sunk = self.trace.inst(v).op.is_sunk();
                if !sunk && matches!(self.ty(v), Ty::Array | Ty::Dict | Ty::Str | Ty::Struct) {
                    self.emit(Op::MarkShared(v), Ty::Void);
                }
                self.write(dst, v);
            }
            Instr::MoveOwned { dst, src } | Instr::Borrow { dst, src } => {
                let v = self.read_sunk(src, view, pc)?;
                self.write(dst, v);
            }
            Instr::LoadConst { dst, index } => {
                let v = self.constant(&proto.constants[index as usize])?;
                self.write(dst, v);
            }
            Instr::LoadInt { dst, value } => {
                let v = self.emit(Op::KInt(value as i64), Ty::Int);
                self.write(dst, v);
            }
            Instr::LoadNull { dst } => {
                let v = self.emit(Op::KNull, Ty::Null);
                self.write(dst, v);
            }
            Instr::LoadBool { dst, value } => {
                let v = self.emit(Op::KBool(value), Ty::Bool);
                self.write(dst, v);
            }
            Instr::GetGlobal { dst, global } | Instr::TakeGlobal { dst, global } => {
                let current = &view.globals[global as usize];
                let ty = match current {
                    Value::Undef => return Err(AbortReason::ErrorRaised),
                    // A function read from a global is called next; the call guards which.
                    Value::Func(_) => Ty::Func,
                    Value::Str(_) | Value::Array(_) | Value::Dict(_) | Value::Struct(_) => value_type(current)?,
                    other => element_type(other)?,
                };
                let v = self.type_checked_load(Op::GLoad { global }, ty, pc);
                // A copy of a global's object makes it shared, as in the interpreter; a
                // `TakeGlobal` hands the object over to a statement that stores it back.
                if matches!(instr, Instr::GetGlobal { .. }) && matches!(ty, Ty::Str | Ty::Array | Ty::Dict | Ty::Struct)
                {
                    self.emit(Op::MarkShared(v), Ty::Void);
                }
                self.write(dst, v);
            }
            Instr::SetGlobal { global, src } => {
                let value = self.read(src, view, pc)?;
                self.emit(Op::GStore { global, value }, Ty::Void);
            }
            Instr::Add { dst, lhs, rhs } => self.binary(ArithOp::Add, dst, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::Sub { dst, lhs, rhs } => self.binary(ArithOp::Sub, dst, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::Mul { dst, lhs, rhs } => self.binary(ArithOp::Mul, dst, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::Div { dst, lhs, rhs } => self.binary(ArithOp::Div, dst, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::Mod { dst, lhs, rhs } => self.binary(ArithOp::Mod, dst, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::AddK { dst, lhs, index } => {
                self.binary(ArithOp::Add, dst, lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::SubK { dst, lhs, index } => {
                self.binary(ArithOp::Sub, dst, lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::MulK { dst, lhs, index } => {
                self.binary(ArithOp::Mul, dst, lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::DivK { dst, lhs, index } => {
                self.binary(ArithOp::Div, dst, lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::ModK { dst, lhs, index } => {
                self.binary(ArithOp::Mod, dst, lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::Neg { dst, src } => {
                let v = self.read(src, view, pc)?;
                let result = match self.ty(v) {
                    Ty::Int => self.emit_guard(Op::NegInt(v), Ty::Int, pc),
                    Ty::Float => self.emit(Op::NegFloat(v), Ty::Float),
                    _ => return Err(AbortReason::NyiInstruction("- on non-numbers")),
                };
                self.write(dst, result);
            }
            Instr::Not { dst, src } => {
                let v = self.read(src, view, pc)?;
                if self.ty(v) != Ty::Bool {
                    return Err(AbortReason::NyiInstruction("! on non-bools"));
                }
                let result = self.emit(Op::NotBool(v), Ty::Bool);
                self.write(dst, result);
            }
            Instr::Eq { dst, lhs, rhs } => self.comparison(Compare::Eq, dst, lhs, rhs, view, pc)?,
            Instr::Ne { dst, lhs, rhs } => self.comparison(Compare::Ne, dst, lhs, rhs, view, pc)?,
            Instr::Lt { dst, lhs, rhs } => self.comparison(Compare::Lt, dst, lhs, rhs, view, pc)?,
            Instr::Le { dst, lhs, rhs } => self.comparison(Compare::Le, dst, lhs, rhs, view, pc)?,
            Instr::Gt { dst, lhs, rhs } => self.comparison(Compare::Gt, dst, lhs, rhs, view, pc)?,
            Instr::Ge { dst, lhs, rhs } => self.comparison(Compare::Ge, dst, lhs, rhs, view, pc)?,
            Instr::ToBool { dst, src } => {
                let v = self.read(src, view, pc)?;
                let truth = self.truthiness(v)?;
                self.write(dst, truth);
            }
            Instr::TestLt { lhs, rhs } => self.test(Compare::Lt, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestLe { lhs, rhs } => self.test(Compare::Le, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestGt { lhs, rhs } => self.test(Compare::Gt, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestGe { lhs, rhs } => self.test(Compare::Ge, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestEq { lhs, rhs } => self.test(Compare::Eq, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestNe { lhs, rhs } => self.test(Compare::Ne, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestLtK { lhs, index } => self.test(Compare::Lt, lhs, Rhs::Constant(constant(index)), view, pc)?,
            Instr::TestLeK { lhs, index } => self.test(Compare::Le, lhs, Rhs::Constant(constant(index)), view, pc)?,
            Instr::TestGtK { lhs, index } => self.test(Compare::Gt, lhs, Rhs::Constant(constant(index)), view, pc)?,
            Instr::TestGeK { lhs, index } => self.test(Compare::Ge, lhs, Rhs::Constant(constant(index)), view, pc)?,
            Instr::TestEqK { lhs, index } => self.test(Compare::Eq, lhs, Rhs::Constant(constant(index)), view, pc)?,
            Instr::TestNeK { lhs, index } => self.test(Compare::Ne, lhs, Rhs::Constant(constant(index)), view, pc)?,
            Instr::Test { src } => {
                let v = self.read(src, view, pc)?;
                let truth = self.truthiness(v)?;
                self.branch(truth, pc, pc + 2, test_false_target(proto, pc));
            }
            // Control flow is read off the next pc; a back-edge is counted there.
            Instr::Jump { .. } => {}
            Instr::JumpIfFalse { src, .. } | Instr::JumpIfTrue { src, .. } => {
                let v = self.read(src, view, pc)?;
                let truth = self.truthiness(v)?;
                let target = jump_target(pc as usize, &instr).expect("jumps have targets") as u32;
                let (when_true, when_false) =
                    if matches!(instr, Instr::JumpIfTrue { .. }) { (target, next) } else { (next, target) };
                self.branch(truth, pc, when_true, when_false);
            }
            Instr::JumpIfNotNull { src, .. } => {
                // The operand's type guard decides the direction.
                self.read(src, view, pc)?;
            }
            // A loop with a trace of its own is jumped into at its header (see
            // `loop_to_jump_into`); any other is unrolled.
            Instr::LoopEntry => {}
            Instr::ForPrep { base, .. } => {
                // `iteration_source` keeps arrays and ints as they are and lists a dict's keys.
                let sequence = self.read(base, view, pc)?;
                match self.ty(sequence) {
                    Ty::Array | Ty::Int => {}
                    Ty::Dict => {
                        let keys = self.emit_guard(Op::DictKeys(sequence), Ty::Array, pc);
                        self.write(base, keys);
                    }
                    _ => return Err(AbortReason::NyiInstruction("for over anything but an array, a dict or an int")),
                }
                let start = self.emit(Op::KInt(0), Ty::Int);
                self.write(base + 1, start);
            }
            Instr::ForRangePrep { base, .. } => self.range_prep(base, view, pc)?,
            Instr::ForRangeNext { base, .. } => self.range_next(base, view, pc)?,
            Instr::ForNext { base, .. } => self.count_next(base, view, pc)?,
            Instr::Call { base, argc, lent } => self.call(base, argc, lent, view, pc)?,
            Instr::NewStruct { dst, literal, start } => self.new_struct(proto, dst, literal, start, view, pc)?,
            Instr::NewArray { dst, start, count } => {
                let mut array = self.emit(Op::ANew, Ty::Array);
                for r in start..start + count {
                    let value = self.read(r, view, pc)?;
                    array = self.sunk_append(array, value)?;
                }
                self.write(dst, array);
            }
            Instr::ArrayAppend { array, src } => {
                let sunk = self.read_sunk(array, view, pc)?;
                let value = self.read(src, view, pc)?;
                if !self.trace.inst(sunk).op.is_sunk() {
                    return Err(AbortReason::NyiInstruction("array construction begun before the traced loop"));
                }
                let appended = self.sunk_append(sunk, value)?;
                self.write(array, appended);
            }
            Instr::NewTagged { dst, ctor, start } => {
                let ctor = &proto.tag_ctors[ctor as usize];
                let payload = match ctor.arity {
                    0 => None,
                    1 => {
                        let p = self.read(start, view, pc)?;
                        let scalar = matches!(self.ty(p), Ty::Int | Ty::Float | Ty::Bool | Ty::Null);
                        if !scalar && !matches!(self.trace.inst(p).op, Op::KStr(_)) {
                            return Err(AbortReason::NyiInstruction("an enum value holding a heap value"));
                        }
                        Some(p)
                    }
                    _ => return Err(AbortReason::NyiInstruction("an enum value with several payloads")),
                };
                let value = self.emit(Op::TagNew { enum_name: ctor.enum_name.0, tag: ctor.tag.0, payload }, Ty::Tagged);
                self.write(dst, value);
            }
            Instr::TestTag { src, pattern } => {
                let value = self.read_sunk(src, view, pc)?;
                let pattern = &proto.tag_patterns[pattern as usize];
                let matches = |enum_name: u32, tag: u32| {
                    tag == pattern.tag.0 && pattern.enum_name.is_none_or(|e| e.0 == enum_name)
                };
                let matched = match (self.trace.inst(value).op, view.slots[src as usize]) {
                    (Op::TagNew { enum_name, tag, .. }, _) => matches(enum_name, tag),
                    // An enum object from memory: guard its constructor, then it is known.
                    (_, Value::Tagged(t)) if self.ty(value) == Ty::Tagged => {
                        self.guard_constructor(value, &t, pc);
                        matches(t.enum_name.0, t.tag.0)
                    }
                    // Only an enum value matches a tag pattern (`TestTag` in the interpreter).
                    _ => false,
                };
                let condition = self.emit(Op::KBool(matched), Ty::Bool);
                self.branch(condition, pc, pc + 2, test_false_target(proto, pc));
            }
            Instr::GetPayload { dst, src } => {
                let value = self.read_sunk(src, view, pc)?;
                let payload = match (self.trace.inst(value).op, view.slots[src as usize]) {
                    (Op::TagNew { payload: Some(p), .. }, _) => p,
                    (Op::TagNew { payload: None, .. }, _) => self.emit(Op::KNull, Ty::Null),
                    (_, Value::Tagged(t)) if self.ty(value) == Ty::Tagged => self.payload_of(value, &t, pc)?,
                    _ => self.emit(Op::KNull, Ty::Null),
                };
                self.write(dst, payload);
            }
            Instr::ToStr { dst, src } => {
                let value = self.read(src, view, pc)?;
                let text = self.text_of(value, pc)?;
                self.write(dst, text);
            }
            Instr::Concat { dst, start, count } if count > 1 => {
                let mut text = self.read(start, view, pc)?;
                for part in start + 1..start + count {
                    let piece = self.read(part, view, pc)?;
                    if self.ty(text) != Ty::Str || self.ty(piece) != Ty::Str {
                        return Err(AbortReason::NyiInstruction("string interpolation of non-strings"));
                    }
                    text = self.emit_guard(Op::SConcat(text, piece), Ty::Str, pc);
                }
                self.write(dst, text);
            }
            Instr::GetField { dst, obj, name }
            | Instr::PeekField { dst, obj, name }
            | Instr::TakeField { dst, obj, name } => {
                let object = self.read_sunk(obj, view, pc)?;
                let value = if self.trace.inst(object).op.is_sunk() {
                    let value = self.sunk_field(object, name as u32)?;
                    // The struct still holds the object read out (`TakeField` too: a sunk
                    // struct may have two holders, so it marks as on a shared struct).
                    if !matches!(instr, Instr::PeekField { .. }) {
                        self.share_read_out(value);
                    }
                    value
                } else {
                    let current = view.slots[obj as usize];
                    let share = match instr {
                        Instr::PeekField { .. } => false,
                        // Taken from an unshared struct: the trace relies on its staying so.
                        Instr::TakeField { .. } if !current.is_shared() && self.ty(object) == Ty::Struct => {
                            self.emit_guard(Op::GuardUnshared(object), Ty::Void, pc);
                            false
                        }
                        _ => true,
                    };
                    self.field(object, current, name as u32, share, pc)?
                };
                self.write(dst, value);
            }
            Instr::GetFieldForWrite { dst, obj, name } => {
                // `s.f[i] := v`: the container in field `f`, through which the write goes.
                // `access::field_for_write` copies a shared struct or a shared container
                // first; the trace only follows the path where neither is shared.
                let object = self.read_sunk(obj, view, pc)?;
                let (Value::Struct(s), Ty::Struct, false) =
                    (view.slots[obj as usize], self.ty(object), self.trace.inst(object).op.is_sunk())
                else {
                    return Err(AbortReason::NyiInstruction(
                        "a nested write through a field of a struct built in the loop",
                    ));
                };
                let Some(position) = field_position(&s, name as u32) else { return Err(AbortReason::ErrorRaised) };
                let held = s.fields[position as usize].1;
                if s.is_shared()
                    || held.is_shared()
                    || !matches!(held, Value::Array(_) | Value::Dict(_) | Value::Struct(_))
                {
                    return Err(AbortReason::NyiInstruction(
                        "a nested write through a shared struct or into a field that holds no container",
                    ));
                }
                self.emit_guard(Op::GuardUnshared(object), Ty::Void, pc);
                let container =
                    self.emit_guard(Op::FieldLoad { object, field: name as u32, position }, value_type(&held)?, pc);
                self.emit_guard(Op::GuardUnshared(container), Ty::Void, pc);
                self.write(dst, container);
            }
            Instr::SetField { obj, name, src } => {
                let object = self.read_sunk(obj, view, pc)?;
                let value = self.read(src, view, pc)?;
                if self.ty(object) != Ty::Struct {
                    return Err(AbortReason::NyiInstruction("field assignment on anything but a struct"));
                }
                // The field takes the value over, as `access::set_field` does.
                if !self.ty(value).is_field_value() {
                    return Err(AbortReason::NyiInstruction("a struct field holding an enum value or a builtin"));
                }
                let field = name as u32;
                let in_place = match view.slots[obj as usize] {
                    Value::Struct(s) if !s.is_shared() => field_position(&s, field),
                    _ => None,
                };
                if self.trace.inst(object).op.is_sunk() {
                    let updated = self.emit(Op::StructSet { object, field, value }, Ty::Struct);
                    self.write(obj, updated);
                } else if let Some(position) = in_place {
                    // An unshared struct that has the field is written where it stands.
                    self.emit_guard(Op::FieldStore { object, field, position, value }, Ty::Void, pc);
                } else {
                    let updated = self.emit_guard(Op::FieldSet { object, field, value }, Ty::Struct, pc);
                    self.write(obj, updated);
                }
            }
            Instr::CallMethod { base, name, argc } => self.call_method(base, name as u32, argc, false, view, pc)?,
            Instr::CallMethodLent { base, name, argc } => self.call_method(base, name as u32, argc, true, view, pc)?,
            Instr::GetCapture { dst, index } | Instr::TakeCapture { dst, index } => {
                // The closure of an inlined call or a function trace is a known constant.
                let Some(func) = self.current().func else {
                    return Err(AbortReason::NyiInstruction("closures' captured variables in a loop's own function"));
                };
                let Some(current) = func.captures.get(index as usize) else {
                    return Err(AbortReason::ErrorRaised);
                };
                let ty = element_type(current)?;
                let closure = self.emit(Op::KFunc(func), Ty::Func);
                let tag = self.emit(Op::CaptureTag { func: closure, index: index as u32 }, Ty::Int);
                let expected = self.emit(Op::KInt(current.tag() as i64), Ty::Int);
                let same = self.emit(Op::EqInt(tag, expected), Ty::Bool);
                self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
                let value = self.emit(Op::CaptureGet { func: closure, index: index as u32 }, ty);
                self.write(dst, value);
            }
            Instr::NewDict { dst } => {
                let dict = self.emit(Op::DNew, Ty::Dict);
                self.write(dst, dict);
            }
            Instr::DictInsert { dict, key, value } => self.dict_insert(dict, key, value, view, pc)?,
            Instr::GetIndex { dst, obj, index } => self.get_index(dst, obj, index, true, view, pc)?,
            Instr::PeekIndex { dst, obj, index } => self.get_index(dst, obj, index, false, view, pc)?,
            Instr::GetIndexForWrite { dst, obj, index } => self.index_for_write(dst, obj, index, view, pc)?,
            Instr::SetIndex { obj, index, src } => self.set_index(obj, index, src, view, pc)?,
            Instr::Return { src } if self.inlined() => {
                let result = self.read_sunk(src, view, pc)?;
                self.return_to_caller(result);
            }
            Instr::ReturnNull if self.inlined() => {
                let null = self.emit(Op::KNull, Ty::Null);
                self.return_to_caller(null);
            }
            Instr::Return { .. } | Instr::ReturnNull => return Err(AbortReason::LeftFunction),
            Instr::TryBegin { err, .. } => {
                let handler = jump_target(pc as usize, &instr).expect("a try names its handler") as u32;
                let frame = (self.frames.len() - 1) as u16;
                self.handlers.push(TraceHandler { frame, pc: handler, err_slot: self.slot(err) as u16 });
                self.writes += 1;
            }
            Instr::TryEnd => {
                let frame = (self.frames.len() - 1) as u16;
                if self.handlers.pop().is_none_or(|h| h.frame != frame) {
                    return Err(AbortReason::NyiInstruction("leaving a try block entered before the trace"));
                }
                self.writes += 1;
            }
            other => return Err(AbortReason::NyiInstruction(instruction_name(&other))),
        }
        Ok(())
    }

    /// The IR values of a two-operand instruction's operands.
    fn operands(&mut self, lhs: Reg, rhs: Rhs, view: &View, pc: u32) -> Result<(InstIdx, InstIdx), AbortReason> {
        let a = self.read(lhs, view, pc)?;
        let b = match rhs {
            Rhs::Slot(r) => self.read(r, view, pc)?,
            Rhs::Constant(k) => self.constant(&k)?,
        };
        Ok((a, b))
    }

    fn binary(&mut self, op: ArithOp, dst: Reg, lhs: Reg, rhs: Rhs, view: &View, pc: u32) -> Result<(), AbortReason> {
        let (a, b) = self.operands(lhs, rhs, view, pc)?;
        if op == ArithOp::Add && self.ty(a) == Ty::Str && self.ty(b) == Ty::Str {
            let piece = match rhs {
                Rhs::Slot(r) => view.slots[r as usize],
                Rhs::Constant(k) => k,
            };
            return self.string_append(dst, lhs, a, b, piece, view, pc);
        }
        let result = self.arith(op, a, b, pc)?;
        self.write(dst, result);
        Ok(())
    }

    /// `dst := lhs + piece` on strings, the way the interpreter runs it (`runtime::ops`):
    /// in place when `dst` is `lhs` and the append may happen in place, which the trace
    /// then guards; otherwise a new string (`SConcat`).
    #[allow(clippy::too_many_arguments)]
    fn string_append(
        &mut self,
        dst: Reg,
        lhs: Reg,
        a: InstIdx,
        b: InstIdx,
        piece: Value,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let in_place = match (view.slots[lhs as usize], piece) {
            (Value::Str(x), Value::Str(y)) => dst == lhs && ops::can_append_in_place(x, y),
            _ => false,
        };
        if !in_place {
            let result = self.emit_guard(Op::SConcat(a, b), Ty::Str, pc);
            self.write(dst, result);
            return Ok(());
        }
        self.emit_guard(Op::SAppend { string: a, piece: b }, Ty::Void, pc);
        self.write(dst, a);
        Ok(())
    }

    fn comparison(
        &mut self,
        kind: Compare,
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let a = self.read(lhs, view, pc)?;
        let b = self.read(rhs, view, pc)?;
        let result = self.compare(kind, a, b)?;
        self.write(dst, result);
        Ok(())
    }

    fn test(&mut self, kind: Compare, lhs: Reg, rhs: Rhs, view: &View, pc: u32) -> Result<(), AbortReason> {
        let (a, b) = self.operands(lhs, rhs, view, pc)?;
        let condition = self.compare(kind, a, b)?;
        self.branch(condition, pc, pc + 2, test_false_target(view.program.proto(self.current().proto), pc));
        Ok(())
    }

    /// The loop trace to end the recording in at `pc`: a side trace or a function trace,
    /// in its own frame, that reaches the header of a loop with a trace of its own (other
    /// than the header a side trace of a loop closes at) jumps into that trace, whose exits
    /// grow side traces that continue after the loop (LuaJIT links to the inner loop's
    /// trace the same way). A root loop trace cannot (it is peeled and carries values in
    /// registers round its loop), nor can code inside an inlined call or a `try` block;
    /// they unroll the loop instead.
    fn loop_to_jump_into(&self, pc: u32) -> Option<u32> {
        let may_jump = self.side_of.is_some() || self.kind == TraceKind::Function;
        if !may_jump || self.inlined() || !self.handlers.is_empty() {
            return None;
        }
        if self.kind == TraceKind::Loop && pc == self.header {
            return None;
        }
        self.compiled.loops.get(&(self.current().proto, pc)).copied()
    }

    /// Records the test of a loop-advance instruction at `pc` that jumps back to `target`
    /// while `more` holds. The root trace's own loop must go on (an iteration that leaves
    /// it aborts); any other loop (an inner loop being unrolled, or for a side trace the
    /// loops enclosing its root's) gets a guard on the direction taken.
    fn loop_test(&mut self, more: InstIdx, pc: u32, view: &View) {
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
    fn range_prep(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
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
    fn range_next(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
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
    /// keys, which `ForPrep` made an array); strings are not traced yet.
    fn count_next(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let sequence = self.read(base, view, pc)?;
        let position = self.read(base + 1, view, pc)?;
        let Value::Int(at) = view.slots[base as usize + 1] else {
            return Err(AbortReason::NyiValueType("non-int iteration position"));
        };
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

    /// A struct literal: a sunk struct (see `ir.rs`) whose fields are set in the literal's
    /// order, while they hold values that need no shared-bit bookkeeping.
    fn new_struct(
        &mut self,
        proto: &Proto,
        dst: Reg,
        literal: u16,
        start: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let literal = &proto.struct_literals[literal as usize];
        let mut object = self.emit(Op::StructNew { type_index: literal.type_index }, Ty::Struct);
        for (k, field) in literal.fields.iter().enumerate() {
            // The field takes the value over, as `NewStruct` does (the `Move` into the
            // literal's operand already marked a copy shared).
            let value = self.read(start + k as Reg, view, pc)?;
            if !self.ty(value).is_field_value() {
                return Err(AbortReason::NyiInstruction("a struct literal holding an enum value or a builtin"));
            }
            object = self.emit(Op::StructSet { object, field: field.0, value }, Ty::Struct);
        }
        self.write(dst, object);
        Ok(())
    }

    /// Field `field` of sunk struct `object`: the value it was set to last.
    fn sunk_field(&mut self, object: InstIdx, field: u32) -> Result<InstIdx, AbortReason> {
        if self.ty(object) != Ty::Struct || !self.trace.inst(object).op.is_sunk() {
            return Err(AbortReason::NyiInstruction("field access on anything but a struct built in the loop"));
        }
        let mut at = object;
        while let Op::StructSet { object, field: set, value } = self.trace.inst(at).op {
            if set == field {
                return Ok(value);
            }
            at = object;
        }
        // The interpreter raises its missing-field error here.
        Err(AbortReason::ErrorRaised)
    }

    /// Field `field` of the struct object `object` (whose value now is `current`): a guard
    /// that the field's tag is the one it has now, then its value.
    fn field(
        &mut self,
        object: InstIdx,
        current: Value,
        field: u32,
        share: bool,
        pc: u32,
    ) -> Result<InstIdx, AbortReason> {
        let Value::Struct(s) = current else {
            return Err(AbortReason::NyiInstruction("field access on anything but a struct"));
        };
        let Some(position) = field_position(&s, field) else { return Err(AbortReason::ErrorRaised) };
        let value = s.fields[position as usize].1;
        let ty = match value_type(&value)? {
            Ty::Func | Ty::Tagged => return Err(AbortReason::NyiValueType(value.type_name())),
            ty => ty,
        };
        let read = self.emit_guard(Op::FieldLoad { object, field, position }, ty, pc);
        // An object read out of a field is shared with the struct, as `access::get_field`
        // marks it (`PeekField` does not).
        if share && matches!(ty, Ty::Str | Ty::Array | Ty::Dict | Ty::Struct) {
            self.emit(Op::MarkShared(read), Ty::Void);
        }
        Ok(read)
    }

    /// Guards that enum object `value` (now `current`) has `current`'s constructor.
    fn guard_constructor(&mut self, value: InstIdx, current: &TaggedObj, pc: u32) {
        let key = self.emit(Op::TagKey(value), Ty::Int);
        let constructor = (current.enum_name.0 as i64) << 32 | current.tag.0 as i64;
        let expected = self.emit(Op::KInt(constructor), Ty::Int);
        let same = self.emit(Op::EqInt(key, expected), Ty::Bool);
        self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
    }

    /// The payload of enum object `value` (now `current`): a guard on its type, then its
    /// value. Payloads on trace are ints, floats, bools, null and strings (which become
    /// shared, as `GetPayload` makes them).
    fn payload_of(&mut self, value: InstIdx, current: &TaggedObj, pc: u32) -> Result<InstIdx, AbortReason> {
        let payload = current.payload.first().copied().unwrap_or(Value::Null);
        let ty = match payload {
            Value::Str(_) => Ty::Str,
            other => element_type(&other).map_err(|_| {
                AbortReason::NyiInstruction("the payload of an enum value that holds an array, dict or struct")
            })?,
        };
        let tag = self.emit(Op::PayloadTag(value), Ty::Int);
        let expected = self.emit(Op::KInt(payload.tag() as i64), Ty::Int);
        let same = self.emit(Op::EqInt(tag, expected), Ty::Bool);
        self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
        Ok(match ty {
            Ty::Null => self.emit(Op::KNull, Ty::Null),
            Ty::Str => {
                let string = self.emit(Op::PayloadGet(value), ty);
                self.emit(Op::MarkShared(string), Ty::Void);
                string
            }
            _ => self.emit(Op::PayloadGet(value), ty),
        })
    }

    /// `receiver.name(args)` on a struct: the method of the receiver's type (known for a
    /// struct built in the loop, guarded otherwise) is inlined with the receiver as its
    /// slot 0.
    fn call_method(
        &mut self,
        base: Reg,
        name: u32,
        argc: u16,
        lent: bool,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let receiver = self.read_sunk(base + 1, view, pc)?;
        let (Value::Struct(s), true) = (view.slots[base as usize + 1], self.ty(receiver) == Ty::Struct) else {
            return Err(AbortReason::NyiCall("a method of anything but a struct".into()));
        };
        if !self.trace.inst(receiver).op.is_sunk() {
            let type_index = self.emit(Op::StructType(receiver), Ty::Int);
            let expected = self.emit(Op::KInt(s.type_index as i64), Ty::Int);
            let same = self.emit(Op::EqInt(type_index, expected), Ty::Bool);
            self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
        }
        let Some(&method) = view.program.struct_types[s.type_index as usize].methods.get(&Symbol(name)) else {
            return Err(AbortReason::NyiCall("a function stored in a struct field".into()));
        };
        let callee = view.program.proto(method);
        if callee.arity as usize != argc as usize {
            return Err(AbortReason::ErrorRaised);
        }
        // A lent receiver the method may keep or change is marked shared first, as the
        // interpreter does; the type guard above fixes the method, so the choice holds.
        if view.program.lent_receiver_to_share(method, lent) && !self.trace.inst(receiver).op.is_sunk() {
            self.emit(Op::MarkShared(receiver), Ty::Void);
        }
        self.write(base + 1, receiver);
        self.enter_inlined(method, None, base, argc + 1, view, pc)
    }

    /// One entry of a dict literal: the dict stays sunk (see `ir.rs`) while its keys are
    /// string constants and its values need no shared-bit bookkeeping.
    fn dict_insert(&mut self, dict: Reg, key: Reg, value: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let sunk = self.read_sunk(dict, view, pc)?;
        let key = self.read(key, view, pc)?;
        let value = self.read(value, view, pc)?;
        if !self.trace.inst(sunk).op.is_sunk() {
            return Err(AbortReason::NyiInstruction("dict construction begun before the traced loop"));
        }
        if !matches!(self.trace.inst(key).op, Op::KStr(_)) {
            return Err(AbortReason::NyiInstruction("a dict literal with a computed key"));
        }
        if !matches!(self.ty(value), Ty::Int | Ty::Float | Ty::Bool | Ty::Null) {
            return Err(AbortReason::NyiInstruction("a dict literal holding arrays, dicts or strings"));
        }
        let inserted = self.emit(Op::DIns { dict: sunk, key, value }, Ty::Dict);
        self.write(dict, inserted);
        Ok(())
    }

    /// `dst := dict[key]` on a sunk dict with a constant key: the value inserted last under
    /// that key, with no code at all.
    fn sunk_get(&mut self, dst: Reg, sunk: InstIdx, index: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let key = self.read(index, view, pc)?;
        let Op::KStr(wanted) = self.trace.inst(key).op else {
            return Err(AbortReason::NyiInstruction("reading a dict literal with a computed key"));
        };
        let wanted = access::dict_key(Value::Str(wanted)).expect("strings are dict keys");
        let mut at = sunk;
        while let Op::DIns { dict, key, value } = self.trace.inst(at).op {
            let Op::KStr(k) = self.trace.inst(key).op else { unreachable!("DIns keys are string constants") };
            if access::dict_key(Value::Str(k)).expect("strings are dict keys") == wanted {
                self.write(dst, value);
                return Ok(());
            }
            at = dict;
        }
        // The interpreter raises its missing-key error here.
        Err(AbortReason::ErrorRaised)
    }

    /// One more element of a sunk array literal (see `ir.rs`): scalars and string
    /// constants need no shared-bit bookkeeping.
    fn sunk_append(&mut self, array: InstIdx, value: InstIdx) -> Result<InstIdx, AbortReason> {
        let scalar = matches!(self.ty(value), Ty::Int | Ty::Float | Ty::Bool | Ty::Null);
        if !scalar && !matches!(self.trace.inst(value).op, Op::KStr(_)) {
            return Err(AbortReason::NyiInstruction("an array literal holding heap values"));
        }
        Ok(self.emit(Op::AIns { array, value }, Ty::Array))
    }

    /// `dst := obj[index]` for a nested write (`a[i][j] := v`) into an array element that
    /// is itself an array, dict or struct: `ALoadForWrite`, which guards that neither needs
    /// a copy, or, when one did while recording, `AUnique` and `ALoadUnique`, which copy
    /// on trace as `access::index_for_write` does.
    fn index_for_write(&mut self, dst: Reg, obj: Reg, index: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let (Value::Array(a), Value::Int(i)) = (view.slots[obj as usize], view.slots[index as usize]) else {
            return Err(AbortReason::NyiInstruction("a nested write into anything but an array element"));
        };
        let element = usize::try_from(i).ok().and_then(|i| a.items.get(i).copied());
        let ty = match element {
            Some(Value::Array(_)) => Ty::Array,
            Some(Value::Dict(_)) => Ty::Dict,
            Some(Value::Struct(_)) => Ty::Struct,
            _ => {
                return Err(AbortReason::NyiInstruction(
                    "a nested write into an element that is not an array, dict or struct",
                ))
            }
        };
        let array = self.read(obj, view, pc)?;
        let position = self.read(index, view, pc)?;
        let element = if a.is_shared() || element.is_some_and(|e| e.is_shared()) {
            // Copied on trace, by the interpreter's own copy-on-write.
            let private = self.private_array(obj, array, pc);
            self.emit_guard(Op::ALoadUnique(private, position), ty, pc)
        } else {
            self.emit_guard(Op::ALoadForWrite(array, position), ty, pc)
        };
        self.write(dst, element);
        Ok(())
    }

    /// The array in slot `holder` (IR value `array`), made private for a write there
    /// (`AUnique`: a copy when it is shared), written back into the slot as the
    /// interpreter's write path does.
    fn private_array(&mut self, holder: Reg, array: InstIdx, pc: u32) -> InstIdx {
        let private = self.emit_guard(Op::AUnique(array), Ty::Array, pc);
        self.write(holder, private);
        private
    }

    /// `dst := array[index]` on a sunk array with a constant index: the element put there.
    fn sunk_element(&mut self, dst: Reg, array: InstIdx, index: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let position = self.read(index, view, pc)?;
        let Op::KInt(i) = self.trace.inst(position).op else {
            return Err(AbortReason::NyiInstruction("indexing an array literal with a computed index"));
        };
        let elements = self.trace.sunk_elements(array);
        // The interpreter raises its out-of-bounds error here.
        let at = access::element_index(i, elements.len()).map_err(|_| AbortReason::ErrorRaised)?;
        self.write(dst, elements[at]);
        Ok(())
    }

    /// `dst := container[index]` for an array and a non-negative int index, a dict and an
    /// int or string key, or a sunk array, dict and a constant index or key. An object read
    /// out of an array is marked shared when `share` (not for `PeekIndex`).
    fn get_index(
        &mut self,
        dst: Reg,
        obj: Reg,
        index: Reg,
        share: bool,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let container = self.read_sunk(obj, view, pc)?;
        if matches!(self.trace.inst(container).op, Op::ANew | Op::AIns { .. }) {
            return self.sunk_element(dst, container, index, view, pc);
        }
        if self.trace.inst(container).op.is_sunk() {
            return self.sunk_get(dst, container, index, view, pc);
        }
        if let (Value::Dict(d), Some(key)) = (view.slots[obj as usize], trace_key(view.slots[index as usize])) {
            let Some(entry) = d.get(&key) else { return Err(AbortReason::ErrorRaised) };
            let ty = element_type(&entry)?;
            let dict = self.read(obj, view, pc)?;
            let key = self.read(index, view, pc)?;
            let tag = self.emit(Op::DTag(dict, key), Ty::Int);
            let expected = self.emit(Op::KInt(entry.tag() as i64), Ty::Int);
            let found = self.emit(Op::EqInt(tag, expected), Ty::Bool);
            self.emit_guard(Op::GuardTrue(found), Ty::Void, pc);
            let value = self.emit(Op::DGet(dict, key), ty);
            self.write(dst, value);
            return Ok(());
        }
        if let (Value::Str(_), Value::Int(_)) = (view.slots[obj as usize], view.slots[index as usize]) {
            let string = self.read(obj, view, pc)?;
            let position = self.read(index, view, pc)?;
            let character = self.emit_guard(Op::SChar(string, position), Ty::Str, pc);
            self.write(dst, character);
            return Ok(());
        }
        let (Value::Array(a), Value::Int(i)) = (view.slots[obj as usize], view.slots[index as usize]) else {
            return Err(AbortReason::NyiInstruction("indexing anything but an array or a string with an int"));
        };
        if i < 0 {
            return Err(AbortReason::NyiInstruction("negative array index"));
        }
        let Some(element) = a.items.get(i as usize) else { return Err(AbortReason::ErrorRaised) };
        let ty = read_element_type(element)?;
        let array = self.read(obj, view, pc)?;
        let position = self.read(index, view, pc)?;
        let value = self.emit_guard(Op::ALoad(array, position), ty, pc);
        if share {
            self.share_read_out(value);
        }
        self.write(dst, value);
        Ok(())
    }

    /// Marks an object read out of a container shared, as the interpreter's read does (the
    /// container still holds it).
    fn share_read_out(&mut self, value: InstIdx) {
        if matches!(self.ty(value), Ty::Str | Ty::Struct | Ty::Array | Ty::Dict | Ty::Tagged) {
            self.emit(Op::MarkShared(value), Ty::Void);
        }
    }

    /// `container[index] := value` into an array (copied on trace first when it is shared)
    /// or, with an int or string key, an unshared dict, in place.
    fn set_index(&mut self, obj: Reg, index: Reg, src: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        if let (Value::Dict(d), Some(_)) = (view.slots[obj as usize], trace_key(view.slots[index as usize])) {
            if d.is_shared() {
                return Err(AbortReason::NyiInstruction("writing a shared dict (it is copied first)"));
            }
            let dict = self.read(obj, view, pc)?;
            let key = self.read(index, view, pc)?;
            let value = self.read(src, view, pc)?;
            if !matches!(self.ty(value), Ty::Int | Ty::Float | Ty::Bool | Ty::Null) {
                return Err(AbortReason::NyiInstruction("storing an array, dict, string or struct into a dict"));
            }
            self.emit_guard(Op::DSet { dict, key, value }, Ty::Void, pc);
            return Ok(());
        }
        let (Value::Array(a), Value::Int(i)) = (view.slots[obj as usize], view.slots[index as usize]) else {
            return Err(AbortReason::NyiInstruction("index assignment to anything but an array with an int"));
        };
        if i < 0 {
            return Err(AbortReason::NyiInstruction("negative array index"));
        }
        let mut array = self.read(obj, view, pc)?;
        if a.is_shared() {
            array = self.private_array(obj, array, pc);
        }
        let position = self.read(index, view, pc)?;
        let value = self.read(src, view, pc)?;
        // The stored value is handed over, as `access::set_index` takes it.
        if matches!(self.ty(value), Ty::Builtin | Ty::Tagged) {
            return Err(AbortReason::NyiInstruction("storing a function or enum value into an array"));
        }
        self.emit_guard(Op::AStore { array, index: position, value }, Ty::Void, pc);
        Ok(())
    }

    /// Follows a call of `func` into its body: guards that the callee slot holds this very
    /// function, then stacks the callee's frame, its slots past the arguments null.
    fn inline_call(
        &mut self,
        func: Gc<FuncObj>,
        base: Reg,
        argc: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        self.guard_callee(func, base, argc, view, pc)?;
        self.enter_inlined(func.proto, Some(func), base, argc, view, pc)
    }

    /// Stacks the frame of a call of `proto` (with closure `func`) whose callee value is in
    /// slot `base` and whose first `filled` slots (arguments, or a receiver and arguments)
    /// follow it; the callee's other slots start null, as in a new interpreter frame.
    fn enter_inlined(
        &mut self,
        proto: ProtoId,
        func: Option<Gc<FuncObj>>,
        base: Reg,
        filled: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let callee = view.program.proto(proto);
        if let Some(repeated) = self.frames.iter().position(|f| f.proto == proto) {
            // The functions from the repeated one on form a cycle of calls: traces call
            // them natively from now on. The ones inlined from this recording's frame down
            // to the cycle get function traces, so that recording again calls natively
            // where it inlined (a function whose trace calls natively is not inlined).
            self.recursive.extend(self.frames[repeated..].iter().map(|f| f.proto));
            self.wanted_functions.extend(self.frames[1..].iter().take(repeated.max(1)).map(|f| f.proto));
            return Err(AbortReason::NyiCall(format!("`{}` recursively", callee.name)));
        }
        if self.frames.len() > MAX_INLINE_DEPTH {
            return Err(AbortReason::InlineTooDeep);
        }
        let callee_base = self.slot(base) + 1;
        let callee_slots = callee.num_slots as usize;
        if callee_base + callee_slots > u16::MAX as usize {
            return Err(AbortReason::InlineTooDeep);
        }
        // The filled slots become the callee's first slots. The exit clears an inlined frame
        // and restores only modified slots, so they count as written (and any the trace had
        // not touched is loaded from the caller's frame first).
        for r in base + 1..=base + filled {
            let argument = self.read_sunk(r, view, pc)?;
            self.write(r, argument);
        }
        let live =
            self.live_slots.entry(proto).or_insert_with(|| Rc::new(LiveSlots::compute(view.program, callee))).clone();
        self.frames.last_mut().expect("the root frame is never popped").call = Some((pc, base));
        self.frames.push(RecordedFrame {
            proto,
            func,
            base: callee_base,
            num_slots: callee_slots,
            live,
            call: None,
            in_memory: false,
        });
        self.max_inlined = self.max_inlined.max(self.frames.len() - 1);
        self.cover_slots(callee_base + callee_slots);
        let null = self.emit(Op::KNull, Ty::Null);
        for r in filled..callee.num_slots {
            self.write(r, null);
        }
        self.calls += 1;
        Ok(())
    }

    /// The inlined callee returns `result`: its frame is popped and the result replaces
    /// the callee value in the caller's frame, as `Vm::return_from_frame` does.
    fn return_to_caller(&mut self, result: InstIdx) {
        self.frames.pop();
        // A return inside a try block drops its handlers, as the interpreter's does.
        let depth = self.frames.len() as u16;
        self.handlers.retain(|h| h.frame < depth);
        let caller = self.frames.last_mut().expect("the root frame is never popped");
        let (_, callee_slot) = caller.call.take().expect("the caller is in a call");
        self.write(callee_slot, result);
    }

    /// The function values inlined calls were recorded with: the JIT keeps them alive
    /// while their identity guards may still compare against them.
    pub fn mark_roots(&self, marker: &mut Marker) {
        mark_trace_roots(&self.trace, marker);
    }

    /// A value as a string, as `to_string` and interpolation make it: a string as it is,
    /// a scalar formatted into a new string (`ToStr`).
    fn text_of(&mut self, value: InstIdx, pc: u32) -> Result<InstIdx, AbortReason> {
        match self.ty(value) {
            Ty::Str => Ok(value),
            Ty::Int | Ty::Float | Ty::Bool | Ty::Null => Ok(self.emit_guard(Op::ToStr(value), Ty::Str, pc)),
            _ => Err(AbortReason::NyiInstruction("to_string of arrays, dicts, structs or functions")),
        }
    }

    /// `has_key(d, k)` on a dict with an int or string key: whether the entry's tag
    /// (`DTag`) is not -1.
    fn has_key(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let dict = self.read(base + 1, view, pc)?;
        let key = self.read(base + 2, view, pc)?;
        let tag = self.emit(Op::DTag(dict, key), Ty::Int);
        let absent = self.emit(Op::KInt(-1), Ty::Int);
        let present = self.emit(Op::NeInt(tag, absent), Ty::Bool);
        self.write(base, present);
        Ok(())
    }

    /// `len(a)` and `a := push(a, v)` on an unshared array, and `len(s)` on a string.
    fn array_builtin(&mut self, name: &str, base: Reg, argc: u16, view: &View, pc: u32) -> Result<(), AbortReason> {
        if let ("len", 1) = (name, argc) {
            let argument = self.read_sunk(base + 1, view, pc)?;
            if matches!(self.trace.inst(argument).op, Op::ANew | Op::AIns { .. }) {
                let count = self.trace.sunk_elements(argument).len();
                let length = self.emit(Op::KInt(count as i64), Ty::Int);
                self.write(base, length);
                return Ok(());
            }
        }
        if let (Value::Str(_), "len", 1) = (view.slots[base as usize + 1], name, argc) {
            let string = self.read(base + 1, view, pc)?;
            let length = self.emit(Op::SLen(string), Ty::Int);
            self.write(base, length);
            return Ok(());
        }
        let Value::Array(a) = view.slots[base as usize + 1] else {
            return Err(AbortReason::NyiCall(name.to_string()));
        };
        let array = self.read(base + 1, view, pc)?;
        let result = match (name, argc) {
            ("len", 1) => self.emit(Op::ALen(array), Ty::Int),
            ("push" | "append", 2) => {
                let value = self.read(base + 2, view, pc)?;
                if matches!(self.ty(value), Ty::Builtin | Ty::Tagged) {
                    return Err(AbortReason::NyiCall(format!("{} of a {} value", name, self.ty(value).name())));
                }
                // A shared array is copied, as the builtin does; an unshared one grows.
                if a.is_shared() {
                    self.emit_guard(Op::PushCopy { array, value }, Ty::Array, pc)
                } else {
                    self.emit_guard(Op::APush { array, value }, Ty::Void, pc);
                    array
                }
            }
            _ => return Err(AbortReason::NyiCall(name.to_string())),
        };
        self.write(base, result);
        Ok(())
    }

    /// The traced function returns: the trace ends with `Ret`.
    fn function_return(&mut self, instr: Instr, view: &View, pc: u32) -> Result<Trace, AbortReason> {
        let result = match instr {
            Instr::Return { src } => self.read(src, view, pc)?,
            _ => self.emit(Op::KNull, Ty::Null),
        };
        self.emit(Op::Ret(result), Ty::Void);
        Ok(std::mem::take(&mut self.trace))
    }

    /// Whether a call of `callee` may be a native call of its function trace
    /// (`CallTrace`): only from the recording's own frame. A root loop trace calls natively
    /// only what it could not inline (a callee with a loop, or its own function): its
    /// trace is then not peeled, so nothing is carried in registers across the call.
    fn native_call_wanted(&self, callee: ProtoId, program: &Program) -> bool {
        if self.inlined() {
            return false;
        }
        if self.kind == TraceKind::Function || self.side_of.is_some() {
            return true;
        }
        let recursive = self.compiled.recursive.contains(&callee)
            || self.compiled.functions.get(&callee).is_some_and(|f| f.calls_natively);
        recursive || callee == self.frames[0].proto || contains_loop(program.proto(callee))
    }

    /// A call of `func` whose function trace is `trace` (`SELF_TRACE`: this recording's
    /// own function), in the recording's own frame: the frame's live values and the
    /// arguments go to memory, and `CallTrace` runs that trace natively on the callee's
    /// frame. While the interpreter runs the call, recording pauses; after it, every slot
    /// is read from memory again.
    fn native_call(
        &mut self,
        func: Gc<FuncObj>,
        trace: u32,
        base: Reg,
        argc: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        // An exit inside the native callee rebuilds no handlers of this frame.
        if !self.handlers.is_empty() {
            return Err(AbortReason::NyiCall("a function with a trace of its own inside a try block".into()));
        }
        let callee = self.guard_callee(func, base, argc, view, pc)?;
        for r in base + 1..=base + argc {
            let argument = self.read(r, view, pc)?;
            self.write(r, argument);
        }
        // The callee slot receives the result; the arguments start the callee's frame.
        let live = Rc::clone(&self.frames[0].live);
        let num_slots = self.frames[0].num_slots;
        let stored_slot = |s: usize| {
            let argument = s > base as usize && s <= (base + argc) as usize;
            s < num_slots && s != base as usize && (argument || live.live_after(pc, s as u16))
        };
        self.materialize_slots(pc, stored_slot)?;
        let snap = self.snapshot(pc);
        let stored: Vec<(u16, InstIdx)> = (0..num_slots)
            .filter(|&s| self.modified[s] && stored_slot(s))
            .map(|s| (s as u16, self.slots[s].expect("a modified slot holds a value")))
            .collect();
        for (slot, value) in stored {
            self.emit(Op::SStore { slot, value }, Ty::Void);
        }
        let call = Op::CallTrace {
            function: func,
            trace,
            base,
            filled: argc,
            callee_slots: callee.num_slots,
            return_pc: pc + 1,
        };
        self.trace.push(call, Ty::Void, Some(snap), self.line);
        // The backend counts the events so far, and this call, at the call.
        self.back_edges = 0;
        self.calls = 0;
        self.in_self_call = true;
        Ok(())
    }

    /// Checks a call of `func` with `argc` arguments as the interpreter would (a wrong
    /// count raises) and guards that the callee slot `base` holds this very function.
    fn guard_callee<'p>(
        &mut self,
        func: Gc<FuncObj>,
        base: Reg,
        argc: u16,
        view: &View<'p>,
        pc: u32,
    ) -> Result<&'p Proto, AbortReason> {
        let callee = view.program.proto(func.proto);
        if callee.arity as usize != argc as usize {
            return Err(AbortReason::ErrorRaised);
        }
        let value = self.read(base, view, pc)?;
        if self.trace.inst(value).op != Op::KFunc(func) {
            let expected = self.emit(Op::KFunc(func), Ty::Func);
            let same = self.emit(Op::EqRef(value, expected), Ty::Bool);
            self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
        }
        Ok(callee)
    }

    /// Ends a function trace or a side trace at the header of a loop with a trace of its
    /// own: the frame's values the loop may read go to memory, and `JumpTrace` runs the
    /// loop trace.
    fn jump_into_loop(&mut self, trace: u32, header: u32) -> Result<(), AbortReason> {
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

    /// After a native call every slot is in memory: the slot map starts over.
    fn forget_slots(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.modified.iter_mut().for_each(|m| *m = false);
        self.writes += 1;
    }

    /// Calls: Ruff functions are inlined (or called natively when they have traces of
    /// their own); `len`, `push`, `has_key`, `to_string` and the numeric builtins on numbers
    /// get instructions of their own; other builtins that can be called again are
    /// `CallBuiltin`; anything else aborts.
    fn call(&mut self, base: Reg, argc: u16, lent: u16, view: &View, pc: u32) -> Result<(), AbortReason> {
        // Lent arguments the callee may keep or change are marked shared first, as the
        // interpreter does; the callee is guarded below, so the choice holds.
        let share = view.program.lent_arguments_to_share(view.slots[base as usize], lent);
        for arg in (0..argc).filter(|i| share & (1 << i) != 0) {
            let value = self.read_sunk(base + 1 + arg, view, pc)?;
            if !self.trace.inst(value).op.is_sunk()
                && matches!(self.ty(value), Ty::Array | Ty::Dict | Ty::Str | Ty::Struct)
            {
                self.emit(Op::MarkShared(value), Ty::Void);
            }
        }
        let (id, name) = match view.slots[base as usize] {
            Value::Builtin(id) => {
                let builtin = &BUILTINS[id as usize];
                if !(builtin.min_args as u16..=builtin.max_args as u16).contains(&argc) {
                    // The interpreter raises the arity error.
                    return Err(AbortReason::ErrorRaised);
                }
                (id, builtin.name)
            }
            Value::Func(f) if self.native_call_wanted(f.proto, view.program) => {
                if self.kind == TraceKind::Function && Some(f) == self.function {
                    return self.native_call(f, SELF_TRACE, base, argc, view, pc);
                }
                match self.compiled.functions.get(&f.proto) {
                    Some(compiled) if compiled.function == f => {
                        return self.native_call(f, compiled.trace, base, argc, view, pc)
                    }
                    _ => {
                        // Without a trace of its own, a recursive callee cannot be followed:
                        // the trace is recorded again once the callee has one. A callee with
                        // a loop is inlined (up to its loop) while it has none.
                        // A loop calling its own function leaves that function to its own
                        // count: a call picked now would likely not be a leaf, and a trace
                        // of a non-leaf call needs this loop's trace first.
                        if self.compiled.recursive.contains(&f.proto) || f.proto == self.frames[0].proto {
                            if f.proto != self.frames[0].proto {
                                self.wanted_functions.push(f.proto);
                            }
                            let name = &view.program.proto(f.proto).name;
                            return Err(AbortReason::CalleeWithoutTrace(format!("`{}`", name)));
                        }
                        if contains_loop(view.program.proto(f.proto)) {
                            self.wanted_functions.push(f.proto);
                        }
                        return self.inline_call(f, base, argc, view, pc);
                    }
                }
            }
            Value::Func(f) => return self.inline_call(f, base, argc, view, pc),
            other => return Err(AbortReason::NyiCall(format!("a {} value", other.type_name()))),
        };
        // Only a callee loaded as a constant on this trace is known to stay this builtin.
        let known = self.slots[self.slot(base)].map(|v| self.trace.inst(v).op);
        if !matches!(known, Some(Op::KBuiltin(_))) {
            return Err(AbortReason::NyiCall(format!("{} through a variable", name)));
        }
        let argument = |n: u16| if n <= argc { view.slots[(base + n) as usize] } else { Value::Null };
        if matches!(name, "push" | "append")
            || (name == "len" && matches!(argument(1), Value::Array(_) | Value::Str(_)))
        {
            return self.array_builtin(name, base, argc, view, pc);
        }
        if name == "has_key" && matches!(argument(1), Value::Dict(_)) && trace_key(argument(2)).is_some() {
            return self.has_key(base, view, pc);
        }
        if name == "to_string"
            && matches!(argument(1), Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null | Value::Str(_))
        {
            let value = self.read(base + 1, view, pc)?;
            let text = self.text_of(value, pc)?;
            self.write(base, text);
            return Ok(());
        }
        let numbers = (1..=argc).all(|n| matches!(argument(n), Value::Int(_) | Value::Float(_)));
        if let (Some(function), true) = (math_function(name), numbers) {
            return self.math(function, base, argc, view, pc);
        }
        if builtins::is_repeatable(id) && argc as usize <= MAX_BUILTIN_ARGS {
            return self.call_builtin(id, base, argc, view, pc);
        }
        Err(AbortReason::NyiCall(name.to_string()))
    }

    /// A numeric builtin on numbers, as a float-valued `Math` instruction.
    fn math(&mut self, function: MathFn, base: Reg, argc: u16, view: &View, pc: u32) -> Result<(), AbortReason> {
        let mut args = Vec::with_capacity(argc as usize);
        for i in 0..argc {
            let v = self.read(base + 1 + i, view, pc)?;
            args.push(self.float_of(v));
        }
        let op = match args.as_slice() {
            [a] => Op::Math1(function, *a),
            [a, b] => Op::Math2(function, *a, *b),
            _ => unreachable!("math builtins take one or two arguments"),
        };
        let result = if op.is_guard() { self.emit_guard(op, Ty::Float, pc) } else { self.emit(op, Ty::Float) };
        self.write(base, result);
        Ok(())
    }

    /// Any other builtin that can be called again (`builtins::is_repeatable`): a
    /// `CallBuiltin`, emitted once the interpreter has made the call and its result's type
    /// is known ([`Recorder::resolve_pending_call`]), with a snapshot from before it.
    fn call_builtin(&mut self, builtin: u32, base: Reg, argc: u16, view: &View, pc: u32) -> Result<(), AbortReason> {
        let mut args = [InstIdx(0); MAX_BUILTIN_ARGS];
        for (n, arg) in args.iter_mut().enumerate().take(argc as usize) {
            let value = self.read(base + 1 + n as u16, view, pc)?;
            if matches!(self.ty(value), Ty::Builtin | Ty::Tagged) {
                let name = BUILTINS[builtin as usize].name;
                return Err(AbortReason::NyiCall(format!("{} with a {} argument", name, self.ty(value).name())));
            }
            *arg = value;
        }
        let snapshot = self.snapshot(pc);
        self.pending_call = Some(PendingCall { builtin, args, argc: argc as u8, base, snapshot, line: self.line });
        Ok(())
    }
}

/// Marks the function objects `trace` compares against or rebuilds frames for.
pub fn mark_trace_roots(trace: &Trace, marker: &mut Marker) {
    for inst in &trace.insts {
        if let Op::KFunc(func) | Op::CallTrace { function: func, .. } = inst.op {
            marker.mark(func);
        }
    }
    for snapshot in &trace.snapshots {
        for func in snapshot.frames.iter().filter_map(|frame| frame.func) {
            marker.mark(func);
        }
    }
}

/// The dict key a value denotes on trace, for the key types traces handle (ints and
/// strings, as `access::dict_key` keys them).
fn trace_key(key: Value) -> Option<DictKey> {
    match key {
        Value::Int(_) | Value::Str(_) => access::dict_key(key).ok(),
        _ => None,
    }
}

/// Whether `proto`'s code has a loop (a jump back to or before itself).
fn contains_loop(proto: &Proto) -> bool {
    proto.code.iter().enumerate().any(|(pc, instr)| jump_target(pc, instr).is_some_and(|target| target <= pc))
}

/// Where a test-and-jump pair at `pc` goes when its test is false.
fn test_false_target(proto: &Proto, pc: u32) -> u32 {
    let jump = (pc + 1) as usize;
    jump_target(jump, &proto.code[jump]).expect("a test is followed by a jump") as u32
}

/// The right operand of a two-operand instruction: a slot or a constant (`...K` forms).
#[derive(Clone, Copy)]
enum Rhs {
    Slot(Reg),
    Constant(Value),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compare {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// Where struct `s` holds field `field` (a symbol) in its field list, if it has it: the
/// position the trace's `FieldLoad`/`FieldStore` check and use.
fn field_position(s: &StructObj, field: u32) -> Option<u32> {
    s.fields.iter().position(|(name, _)| name.0 == field).and_then(|p| u32::try_from(p).ok())
}
