//! The recorder: turns one iteration of a hot loop, as the interpreter executes it, into
//! trace IR.
//!
//! Terms:
//! - The interpreter calls [`Recorder::step`] before executing each instruction and then
//!   executes it as usual. The recorder never decides control flow: a branch's direction
//!   is read off the pc of the next step, and the recorder only looks at the operand
//!   values to choose typed IR. The operators on values (arithmetic, comparisons,
//!   equality, truthiness, negation) are `semantics`'s, the functions the interpreter
//!   runs, here run in the tracing domain (`tracing`), which records their primitive steps.
//! - The *slot map* says, for each slot the iteration has touched, which IR value it
//!   holds now. A slot read for the first time is loaded with a type-guarded `SLoad`.
//!   Slots written by the iteration are *modified*; a snapshot lists those the
//!   interpreter may still read.
//! - *Inlining*: a call to a Ruff function is followed into the callee, whose frame the
//!   recorder stacks above the trace's own (the *root frame*), as the interpreter does:
//!   slots are numbered from the root frame's base, so the callee's slot 0 is the slot
//!   after the callee value. The callee's prototype is guarded (`FPROTO`), not its
//!   identity, and the callee value becomes the frame's closure (`closures.rs`); its slots
//!   past the arguments start as null, as in a new interpreter frame; its `Return` writes
//!   the result into the caller's callee slot and pops the frame. A snapshot taken inside
//!   a callee lists its frames and the callee slot below each, which holds its closure, so
//!   an exit rebuilds them with the closures that arrived.
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
//!
//! Files: this one holds the recorder's state and the per-instruction dispatch (`step`,
//! `record`); `slots` the slot map and snapshots, `tracing` the tracing domain of
//! `semantics`, `values` the operations on values,
//! `control` branches and loops, `objects` containers, `calls` calls of every kind,
//! `closures` frames' closures and captured variables.

use crate::compile::bytecode::{Instr, Program, Proto, ProtoId, Reg};
use crate::compile::listing::jump_target;
use crate::compile::liveness::LiveSlots;
use crate::runtime::access::Mark;
use crate::runtime::heap::{Gc, Marker};
use crate::runtime::object::DictKey;
use crate::runtime::object::{FuncObj, StructObj};
use crate::runtime::ops::{ArithOp, CmpOp};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;
use crate::semantics::{self, Comparison};

use std::rc::Rc;

mod calls;
mod closures;
mod control;
mod objects;
mod residual;
mod slots;
mod tracing;
use tracing::{TracedValue, Tracing};
mod values;

use super::abort::AbortReason;
use super::ir::{BuiltinArgs, InlinedFrame, InstIdx, Op, SnapIdx, Snapshot, Trace, TraceHandler, Ty};
use super::residual::Residual;

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
    /// Loop headers (prototype, pc) where unrolling ran past [`MAX_UNROLLED_ITERATIONS`]
    /// (see `Recorder::too_long_loop`): a root loop trace reaching one of them in its own
    /// frame, when it has a trace, jumps into that trace instead of unrolling it.
    pub long_loops: rustc_hash::FxHashSet<(ProtoId, u32)>,
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
    /// The closure of the interpreter's current frame (`None` for a method or `<main>`).
    pub closure: Option<Gc<FuncObj>>,
}

/// A frame's closure (the interpreter's `Frame::closure`) as the recording knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameClosure {
    /// A method's frame: methods are called without a closure.
    Method,
    /// A loop trace's own frame, whose closure the trace does not know.
    Unknown,
    /// This IR value: the callee value of an inlined call (guarded on its prototype only,
    /// so whichever closure of it arrives), or a function trace's own closure (a constant:
    /// the trace is entered only for it).
    Value(InstIdx),
    /// A frame a side trace started in: the callee slot just below the frame holds the
    /// closure (the parent's exit wrote it there); loaded on first use.
    InCalleeSlot,
}

/// A frame of the recorded iteration: the root frame, or an inlined call.
struct RecordedFrame {
    proto: ProtoId,
    closure: FrameClosure,
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

/// A builtin call recorded as `CallBuiltin` (or `CallEffect`) once the interpreter has
/// made it: the instruction's type is its result's type.
#[derive(Clone, Copy)]
struct PendingCall {
    builtin: u32,
    /// The builtin has an effect (`OnTrace::Effect`): `CallEffect` and `EffectCheck`.
    effect: bool,
    args: BuiltinArgs,
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
    /// A native call is running (a recursive one in the interpreter); recording resumes
    /// when it returns. Holds the call's base slot: the call changes that slot and the
    /// ones above it, and none below.
    in_self_call: Option<usize>,
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
    /// How many handlers installed before the trace the trace has removed (see
    /// [`Snapshot::handlers_left`]).
    handlers_left: u16,
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
    /// Where the recording gave up unrolling (`InnerLoop`): the header (prototype, pc) of
    /// the loop whose back-edge went past the bound. The JIT notes it in
    /// [`CompiledTraces::long_loops`].
    pub too_long_loop: Option<(ProtoId, u32)>,
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
            closure: FrameClosure::Unknown,
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
            in_self_call: None,
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
            handlers_left: 0,
            bytecode: Vec::new(),
            last_snapshot: None,
            writes: 0,
            line: 0,
            back_edges: 0,
            calls: 0,
            unrolled: 0,
            too_long_loop: None,
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
        let closure = recorder.emit(Op::KFunc(function), Ty::Func);
        recorder.frames[0].closure = FrameClosure::Value(closure);
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

    /// Whether the trace installed or removed `try` handlers: native code it hands control
    /// to (a native call, a jump into a loop's trace) exits with the handlers of its own
    /// snapshots only, which would lose the change.
    fn changed_handlers(&self) -> bool {
        !self.handlers.is_empty() || self.handlers_left > 0
    }

    /// Whether `pc` is the header of the root loop trace's own loop, in its own frame.
    fn at_own_header(&self, pc: u32) -> bool {
        self.side_of.is_none() && self.kind == TraceKind::Loop && !self.inlined() && pc == self.header
    }

    /// A recorder for a side trace: from the exit `side_of` back to the root's loop header
    /// (`base` records that loop). `frames` are the inlined calls the exit was in; the side
    /// trace starts in the innermost, with the exit's `handlers` installed and its
    /// `handlers_left` handlers from before the root trace removed. `constants` are
    /// the slots the exit's snapshot gives constant values: every entry into the side trace
    /// comes through that exit, so the side trace knows them as constants (a builtin callee
    /// stays a known builtin).
    pub fn for_side_trace(
        side_of: SideOf,
        base: Recorder,
        frames: &[InlinedFrame],
        handlers: &[TraceHandler],
        handlers_left: u16,
        constants: &[(u16, Op, Ty)],
        program: &Program,
    ) -> Recorder {
        let mut recorder = Recorder { side_of: Some(side_of), handlers: handlers.to_vec(), handlers_left, ..base };
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
                closure: if frame.closure { FrameClosure::InCalleeSlot } else { FrameClosure::Method },
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
            // Written, so the side trace's snapshots list it and its own side traces
            // inherit it in turn.
            recorder.modified[slot as usize] = true;
        }
        recorder
    }

    /// Finishes the trace. A root trace keeps the slot map as its loop-end state (for
    /// peeling); otherwise the changed slots are stored.
    fn close(&mut self) -> Result<Trace, AbortReason> {
        // The header's pc decides which try blocks of its frame enclose it, so a trace that
        // removed handlers from before it and installed as many again in its own frame
        // (a side trace leaving a try block and entering it again on the next round of an
        // outer loop) reaches the header with the handlers it started with: nothing to do.
        let reinstalled =
            self.handlers.len() == usize::from(self.handlers_left) && self.handlers.iter().all(|h| h.frame == 0);
        if !reinstalled {
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
        if let Some(call_base) = self.in_self_call {
            // The recursive call runs in the interpreter; its trace is this one.
            if view.frame_depth > depth {
                return Step::Continue;
            }
            self.in_self_call = None;
            self.forget_slots(call_base);
        }
        if self.jumped_into_loop {
            return Step::Closed(std::mem::take(&mut self.trace));
        }
        if let Err(reason) = self.resolve_pending_call(view, pc).and_then(|()| self.resolve_pending_branch(pc)) {
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
                    self.too_long_loop = Some((self.current().proto, pc));
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
                let op = &self.trace.inst(v).op;
                let sunk_or_shared = op.is_sunk() || op.result_is_shared();
                if !sunk_or_shared && matches!(self.ty(v), Ty::Array | Ty::Dict | Ty::Str | Ty::Struct) {
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
                if let Value::Builtin(builtin) = *current {
                    // As a slot holding a builtin (`Recorder::read_sunk`).
                    self.type_checked_load(Op::GBuiltin { global, builtin }, Ty::Void, pc);
                    let v = self.emit(Op::KBuiltin(builtin), Ty::Builtin);
                    self.write(dst, v);
                    return Ok(());
                }
                let ty = match current {
                    Value::Undef => return Err(AbortReason::ErrorRaised),
                    // A function read from a global is called next; the call guards which.
                    other => value_type(other)?,
                };
                let v = self.type_checked_load(Op::GLoad { global }, ty, pc);
                // A copy of a global's object makes it shared, as in the interpreter; a
                // `TakeGlobal` hands the object over to a statement that stores it back.
                if matches!(instr, Instr::GetGlobal { .. })
                    && matches!(ty, Ty::Str | Ty::Array | Ty::Dict | Ty::Struct | Ty::Tagged)
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
            Instr::Neg { dst, src } => self.unary(true, dst, src, view, pc)?,
            Instr::Not { dst, src } => self.unary(false, dst, src, view, pc)?,
            Instr::Eq { dst, lhs, rhs } => self.comparison(Comparison::Equal, dst, lhs, rhs, view, pc)?,
            Instr::Ne { dst, lhs, rhs } => self.comparison(Comparison::NotEqual, dst, lhs, rhs, view, pc)?,
            Instr::Lt { dst, lhs, rhs } => self.comparison(Comparison::Order(CmpOp::Lt), dst, lhs, rhs, view, pc)?,
            Instr::Le { dst, lhs, rhs } => self.comparison(Comparison::Order(CmpOp::Le), dst, lhs, rhs, view, pc)?,
            Instr::Gt { dst, lhs, rhs } => self.comparison(Comparison::Order(CmpOp::Gt), dst, lhs, rhs, view, pc)?,
            Instr::Ge { dst, lhs, rhs } => self.comparison(Comparison::Order(CmpOp::Ge), dst, lhs, rhs, view, pc)?,
            Instr::ToBool { dst, src } => {
                let v = self.read(src, view, pc)?;
                let truth = self.truthiness(v, view.slots[src as usize], pc)?;
                self.write(dst, truth);
            }
            Instr::TestLt { lhs, rhs } => self.test(Comparison::Order(CmpOp::Lt), lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestLe { lhs, rhs } => self.test(Comparison::Order(CmpOp::Le), lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestGt { lhs, rhs } => self.test(Comparison::Order(CmpOp::Gt), lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestGe { lhs, rhs } => self.test(Comparison::Order(CmpOp::Ge), lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestEq { lhs, rhs } => self.test(Comparison::Equal, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestNe { lhs, rhs } => self.test(Comparison::NotEqual, lhs, Rhs::Slot(rhs), view, pc)?,
            Instr::TestLtK { lhs, index } => {
                self.test(Comparison::Order(CmpOp::Lt), lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::TestLeK { lhs, index } => {
                self.test(Comparison::Order(CmpOp::Le), lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::TestGtK { lhs, index } => {
                self.test(Comparison::Order(CmpOp::Gt), lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::TestGeK { lhs, index } => {
                self.test(Comparison::Order(CmpOp::Ge), lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::TestEqK { lhs, index } => {
                self.test(Comparison::Equal, lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::TestNeK { lhs, index } => {
                self.test(Comparison::NotEqual, lhs, Rhs::Constant(constant(index)), view, pc)?
            }
            Instr::TestNull { src } => self.test(Comparison::Equal, src, Rhs::Constant(Value::Null), view, pc)?,
            Instr::TestNotNull { src } => self.test(Comparison::NotEqual, src, Rhs::Constant(Value::Null), view, pc)?,
            Instr::Test { src } => {
                let v = self.read(src, view, pc)?;
                let truth = self.truthiness(v, view.slots[src as usize], pc)?;
                self.branch(truth, pc, pc + 2, test_false_target(proto, pc));
            }
            // Control flow is read off the next pc; a back-edge is counted there.
            Instr::Jump { .. } => {}
            Instr::JumpIfFalse { src, .. } | Instr::JumpIfTrue { src, .. } => {
                let v = self.read(src, view, pc)?;
                let truth = self.truthiness(v, view.slots[src as usize], pc)?;
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
            Instr::ForPrep { base, .. } => self.for_prep(base, view, pc)?,
            Instr::ForRangePrep { base, .. } => self.range_prep(base, view, pc)?,
            Instr::ForRangeNext { base, .. } => self.range_next(base, view, pc)?,
            Instr::ForNext { base, .. } => self.for_next(base, view, pc)?,
            Instr::Call { base, argc, lent } => self.call(base, argc, lent, view, pc)?,
            Instr::NewStruct { dst, literal, start } => self.new_struct(proto, dst, literal, start, view, pc)?,
            Instr::NewArray { dst, start, count } => {
                let mut values = Vec::with_capacity(count as usize);
                for r in start..start + count {
                    values.push(self.read(r, view, pc)?);
                }
                let array = self.array_literal(&values, pc)?;
                self.write(dst, array);
            }
            Instr::ArrayAppend { array, src } => self.array_append(array, src, view, pc)?,
            Instr::ArraySpread { array, src } => self.spread(Residual::ArraySpread, array, src, Ty::Array, view, pc)?,
            Instr::DictSpread { dict, src } => self.spread(Residual::DictSpread, dict, src, Ty::Dict, view, pc)?,
            Instr::NewTagged { dst, ctor, start } => {
                let ctor = &proto.tag_ctors[ctor as usize];
                let payload = match ctor.arity {
                    0 => None,
                    1 => {
                        let p = self.read(start, view, pc)?;
                        let scalar = matches!(self.ty(p), Ty::Int | Ty::Float | Ty::Bool | Ty::Null);
                        if !scalar && !matches!(self.trace.inst(p).op, Op::KStr(_)) {
                            // Only scalars sink: an enum value holding an object is built.
                            let value = self.new_tagged_object(ctor.enum_name.0, ctor.tag.0, &[p], pc)?;
                            self.write(dst, value);
                            return Ok(());
                        }
                        Some(p)
                    }
                    // Several payloads: the value is built as an object, by the interpreter's
                    // own `NewTagged` (a residual call), and read as one from then on.
                    arity => {
                        let mut payload = Vec::with_capacity(usize::from(arity));
                        for r in start..start + arity {
                            payload.push(self.read(r, view, pc)?);
                        }
                        let value = self.new_tagged_object(ctor.enum_name.0, ctor.tag.0, &payload, pc)?;
                        self.write(dst, value);
                        return Ok(());
                    }
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
                let value = TracedValue::of(self.read(src, view, pc)?, view.slots[src as usize]);
                let text = semantics::text_of(&mut Tracing::new(self, pc), view.program, value)?;
                self.write(dst, text.ir);
            }
            Instr::Concat { dst, start, count } => {
                let mut parts = Vec::with_capacity(count as usize);
                for part in start..start + count {
                    parts.push(TracedValue::of(self.read(part, view, pc)?, view.slots[part as usize]));
                }
                let text = semantics::join(&mut Tracing::new(self, pc), &parts)?;
                self.write(dst, text.ir);
            }
            Instr::GetField { dst, obj, name } => {
                self.get_field(dst, obj, Symbol(name as u32), Mark::Shared, view, pc)?
            }
            Instr::PeekField { dst, obj, name } => {
                self.get_field(dst, obj, Symbol(name as u32), Mark::Unmarked, view, pc)?
            }
            Instr::TakeField { dst, obj, name } => {
                self.get_field(dst, obj, Symbol(name as u32), Mark::IfHolderShared, view, pc)?
            }
            Instr::GetFieldForWrite { dst, obj, name } => {
                self.field_for_write(dst, obj, Symbol(name as u32), view, pc)?
            }
            Instr::SetField { obj, name, src } => self.set_field(obj, Symbol(name as u32), src, view, pc)?,
            Instr::CallMethod { base, name, argc } => self.call_method(base, name as u32, argc, false, view, pc)?,
            Instr::CallMethodLent { base, name, argc } => self.call_method(base, name as u32, argc, true, view, pc)?,
            Instr::GetCapture { dst, index } | Instr::TakeCapture { dst, index } => {
                let value = self.capture(index, matches!(instr, Instr::GetCapture { .. }), view, pc)?;
                self.write(dst, value);
            }
            Instr::SetCapture { index, src } => self.set_capture(index, src, view, pc)?,
            Instr::Lend { src } | Instr::EndLoan { src } => {
                let object = self.read(src, view, pc)?;
                if matches!(self.ty(object), Ty::Str | Ty::Array | Ty::Dict | Ty::Struct) {
                    let op = if matches!(instr, Instr::Lend { .. }) { Op::Lend(object) } else { Op::EndLoan(object) };
                    self.emit(op, Ty::Void);
                }
            }

            Instr::Closure { dst, proto: child } => self.new_closure(dst, ProtoId(child), view, pc)?,
            Instr::LoadSelfFunc { dst } => {
                let closure = match self.current().closure {
                    FrameClosure::Method => self.emit(Op::KNull, Ty::Null),
                    _ => self.closure(pc)?,
                };
                self.write(dst, closure);
            }
            Instr::NewDict { dst } => {
                let dict = self.emit(Op::DNew, Ty::Dict);
                self.write(dst, dict);
            }
            Instr::DictInsert { dict, key, value } => self.dict_insert(dict, key, value, view, pc)?,
            Instr::GetIndex { dst, obj, index } => self.get_index(dst, obj, index, Mark::Shared, view, pc)?,
            Instr::PeekIndex { dst, obj, index } => self.get_index(dst, obj, index, Mark::Unmarked, view, pc)?,
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
                match self.handlers.last() {
                    Some(h) if h.frame == frame => {
                        self.handlers.pop();
                    }
                    // A try block entered before the trace, in its own frame (an inlined
                    // frame's blocks were all entered on trace): exits remove its handler.
                    None if frame == 0 => self.handlers_left += 1,
                    _ => return Err(AbortReason::NyiInstruction("leaving a try block entered before the trace")),
                }
                self.writes += 1;
            }
            // Both always raise, and the interpreter raises the error; a trace never follows
            // an error into its handler (an exit hands the handlers over instead).
            Instr::Throw { .. } | Instr::Raise { .. } => return Err(AbortReason::ErrorRaised),
        }
        Ok(())
    }

    /// The function values inlined calls were recorded with: the JIT keeps them alive
    /// while their identity guards may still compare against them.
    pub fn mark_roots(&self, marker: &mut Marker) {
        mark_trace_roots(&self.trace, marker);
    }
}

/// Marks the function objects `trace` compares against or calls natively (the closures
/// of inlined frames are IR values in its snapshots, held by the frames they came from).
pub fn mark_trace_roots(trace: &Trace, marker: &mut Marker) {
    for inst in &trace.insts {
        if let Op::KFunc(func) | Op::CallTrace { function: func, .. } = inst.op {
            marker.mark(func);
        }
    }
}

/// The dict key a string or an int denotes, as the interpreter keys it (a string spelling
/// a canonical int is that int); `None` for other values.
fn trace_key(key: Value) -> Option<DictKey> {
    match key {
        Value::Str(s) => Some(DictKey::of_string(s)),
        Value::Int(i) => Some(DictKey::Int(i)),
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

/// Where struct `s` holds field `field` (a symbol) in its field list, if it has it: the
/// position the trace's `FieldLoad`/`FieldStore` check and use.
fn field_position(s: &StructObj, field: u32) -> Option<u32> {
    s.fields.iter().position(|(name, _)| name.0 == field).and_then(|p| u32::try_from(p).ok())
}
