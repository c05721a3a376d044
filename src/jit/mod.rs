//! The tracing JIT: hot loops are recorded as typed IR, optimized, compiled to x86-64 and
//! run natively until a guard fails, when the interpreter resumes from a snapshot.
//!
//! Phases, one module each: [`record`] (interpreter execution -> IR), [`opt`] (IR ->
//! IR passes), [`assemble`] (IR -> machine code), [`exit`] (snapshot -> interpreter
//! frame), [`dump`] (trace dumps), [`stats`] (the `--jit-stats` report), [`log`] (the
//! `--jit-log` events), [`profile`] (the `--profile` sampler and report), [`report`] (the
//! `--jit-report` HTML page), `inspect` (counters, aborts and retirements as `Jit`
//! records them); [`abort`] names every reason a trace is not compiled; [`ir`] and
//! [`abi`] are the contracts between them.
//!
//! Terms:
//! - A *loop header* is the target of a loop back-edge (a backward `Jump`, or the jump of
//!   `ForNext`/`ForRangeNext`). Each header has a [`LoopState`]: counting down to the
//!   recording threshold, compiled, or blacklisted after repeated aborts.
//! - A trace is entered at a back-edge to its header, in the frame it was recorded in.
//!
//! Invariants: no collection happens while native code runs (helpers that allocate never
//! collect; their guards leave the trace when one is due), and native code calls Ruff code
//! only as a function trace calling itself; it reads and writes only the frame slots and
//! globals its IR names, which exist (they come from the bytecode of the frame's own
//! prototype, or frames it stacked above it).

pub mod abi;
pub mod abort;
#[cfg(target_arch = "x86_64")]
pub mod assemble;
#[cfg(not(target_arch = "x86_64"))]
#[path = "no_backend.rs"]
pub mod assemble;
pub mod dump;
pub mod exit;
pub mod ir;
pub mod log;
pub mod opt;
pub mod profile;
pub mod record;
pub mod report;
pub mod residual;
pub mod stats;

use std::rc::Rc;
use std::time::Instant;

use crate::builtins::BUILTINS;
use crate::compile::bytecode::{Program, ProtoId};
use crate::compile::liveness::LiveSlots;
use crate::runtime::heap::Gc;
use crate::runtime::heap::Heap;
use crate::runtime::object::FuncObj;
use crate::runtime::value::Value;
use abi::ExitState;
use abort::AbortReason;
use assemble::{AssembleOptions, CompiledTrace};
use exit::ResumeFrame;
use ir::{Op, SnapIdx, Trace, Ty};
use record::{CompiledTraces, Recorder, SideOf, TraceKind};
use stats::{AbortSite, ExitKind, NativeCounts, Site, Stats, TraceStats};

pub const DEFAULT_THRESHOLD: u32 = 50;
/// Aborts at one loop header before it is blacklisted.
const MAX_ABORTS: u32 = 4;
/// A root trace is retired when, after this many passes through one of its exits into a
/// side trace, those outnumber its own iterations and other exits `RARE_PATH_RATIO` to
/// one: it recorded the rarer side of that branch.
const RARE_PATH_DISPATCHES: u64 = 256;
const RARE_PATH_RATIO: u64 = 4;

/// Times a root trace's exit is taken before a side trace is recorded from it.
const HOT_EXIT: u32 = 10;
/// The key under which `Jit::aborts` counts a function's failed recordings (loops are
/// keyed by their header pc).
const FUNCTION_ABORTS: u32 = u32::MAX;

/// Exits through one refused exit of a function trace before `function_exits_often`
/// judges whether the trace pays.
const FUNCTION_EXITS_CHECKED: u64 = 1024;

/// Failed recordings of a side trace from one exit before the exit stays an exit.
const MAX_SIDE_ATTEMPTS: u32 = 3;

/// Exits into the interpreter after which a full trace tree is judged (see
/// `Jit::covers_too_few_paths`), and the share of them (in tenths) that came before one
/// native iteration was done that retires it.
const PATH_CHECK_EXITS: u64 = 4096;
const QUICK_EXIT_TENTHS: u64 = 9;
/// Side traces one root trace may have, side traces of side traces included.
const MAX_SIDE_TRACES: u32 = 64;
/// Machine code all compiled traces may hold by default; reaching it flushes every trace
/// (`Jit::flush`).
pub const MAX_MACHINE_CODE: usize = 64 << 20;
/// Times an exit reaches its side trace through the exit handler before it is linked to
/// jump there natively; until then the handler can still retire a root that recorded
/// the rare side of a branch (`RARE_PATH_DISPATCHES`).
const LINK_AFTER_EXITS: u64 = RARE_PATH_DISPATCHES;

/// Consecutive entries that fail a type check before finishing an iteration (a value
/// changed type since recording) before the trace is retired and the loop recorded anew.
/// Branch guards do not count: a loop that often exits early is normal.
const MAX_FRUITLESS_ENTRIES: u32 = 8;

#[derive(Clone, Debug)]
pub struct JitOptions {
    /// Back-edges taken before a loop is recorded.
    pub threshold: u32,
    /// Make every guard fail the first time it runs (tests every snapshot).
    pub deopt_stress: bool,
    pub dump: Option<dump::DumpTarget>,
    /// Bytes of machine code the JIT may hold; reaching it flushes every trace.
    pub max_machine_code: usize,
    /// Keep each trace's dump text in the statistics (for the HTML report).
    pub keep_dumps: bool,
    /// Where `--jit-log` writes its events, if anywhere.
    pub log: Option<log::LogTarget>,
    /// The program's file name, as the log shows locations.
    pub source_name: String,
    /// Measure native code for the report (`--jit-stats`, the HTML report): the time
    /// spent in it (two clock reads per entry from the interpreter or exit handler) and
    /// what each trace's machine code counts (entries, completions, calls, exits: a
    /// memory increment each, which a run without a report does not pay for).
    pub measure_native: bool,
    /// Treat a trace the assembler rejects as invalid IR as the bug it is (a panic, exit
    /// 70) rather than an abort (`RUFF_JIT_STRICT=1`; the test suites set it).
    pub strict: bool,
}

impl Default for JitOptions {
    fn default() -> Self {
        JitOptions {
            threshold: DEFAULT_THRESHOLD,
            deopt_stress: false,
            dump: None,
            max_machine_code: MAX_MACHINE_CODE,
            keep_dumps: false,
            log: None,
            source_name: String::new(),
            measure_native: false,
            strict: false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum LoopState {
    Counting(u32),
    Compiled(u32),
    Blacklisted,
}

/// The side trace of one exit of a root trace.
#[derive(Clone, Copy, Debug)]
enum SideState {
    /// Times the exit may still be taken before a side trace is recorded.
    Counting(u32),
    Recording,
    Compiled(u32),
    /// Recording failed or the root has too many side traces: exits stay exits.
    Refused,
}

/// Whether recording a retired loop again could give a better trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// The types or the hot path may have changed since the trace was recorded.
    Allowed,
    /// Recording again would only rebuild the same tree (too many paths for any tree).
    Pointless,
}

/// Where a type-checked value comes from.
#[derive(Clone, Copy, Debug)]
enum TypeSource {
    Slot(u16),
    Global(u32),
}

/// What each exit of `trace` checks, in the program's terms (for the report).
fn exit_kinds(program: &Program, recorder: &Recorder, trace: &Trace) -> Vec<ExitKind> {
    let proto = program.proto(recorder.proto);
    let while_loop = matches!(proto.code[recorder.back_edge as usize], crate::compile::bytecode::Instr::Jump { .. });
    let mut kinds = vec![ExitKind::Branch; trace.snapshots.len()];
    for inst in trace.insts.iter().rev() {
        let Some(snap) = inst.snap else { continue };
        let pc = trace.snapshots[snap.index()].pc;
        let expected = match inst.ty {
            ir::Ty::Int => "int",
            ir::Ty::Float => "float",
            ir::Ty::Bool => "bool",
            ir::Ty::Null => "null",
            ir::Ty::Array => "array",
            ir::Ty::Dict => "dict",
            ir::Ty::Str => "string",
            ir::Ty::Func => "function",
            ir::Ty::Struct => "struct",
            ir::Ty::Tagged => "enum value",
            ir::Ty::Builtin | ir::Ty::Void => "value",
        };
        kinds[snap.index()] = match inst.op {
            Op::SLoad { slot } => {
                // A side trace may start inside an inlined call and load that frame's slots.
                let (owner, slot) = match trace.snapshots[snap.index()].frames.last() {
                    Some(frame) if slot >= frame.base => (program.proto(frame.proto), slot - frame.base),
                    _ => (proto, slot),
                };
                ExitKind::TypeCheck {
                    what: owner.slot_name(slot, pc).map_or("a temporary value".to_string(), |n| format!("`{}`", n)),
                    expected,
                }
            }
            Op::GLoad { global } => {
                ExitKind::TypeCheck { what: format!("global `{}`", program.globals[global as usize].name), expected }
            }
            Op::GuardTrue(_) | Op::GuardFalse(_) => {
                let in_own_frame = trace.snapshots[snap.index()].frames.is_empty();
                let loop_test = in_own_frame && (pc == recorder.back_edge || (while_loop && pc == recorder.header));
                if loop_test && recorder.side_of.is_none() && recorder.kind == TraceKind::Loop {
                    ExitKind::LoopEnd
                } else {
                    ExitKind::Branch
                }
            }
            // The loop test shares its snapshot with the loop counter's overflow check;
            // leaving the loop is what such an exit nearly always means.
            _ if kinds[snap.index()] == ExitKind::LoopEnd => ExitKind::LoopEnd,
            Op::AddInt(..) | Op::SubInt(..) | Op::MulInt(..) | Op::NegInt(_) => ExitKind::Overflow,
            Op::DivInt(..) | Op::ModInt(..) | Op::DivFloat(..) | Op::ModFloat(..) => ExitKind::Division,
            Op::ALoad(..) => ExitKind::ArrayRead,
            Op::ALoadForWrite(..) | Op::ALoadUnique(..) => ExitKind::ArrayWrite,
            Op::AUnique(_) | Op::SUnique(_) => ExitKind::CollectionDue,
            Op::GuardUnshared(_) => ExitKind::SharedStruct,
            Op::AStore { .. } | Op::APush { .. } | Op::DSet { .. } => ExitKind::ArrayWrite,
            Op::SAppend { .. } => ExitKind::StringAppend,
            Op::Math1(..) | Op::Math2(..) | Op::ShiftLeft(..) | Op::ShiftRight(..) => ExitKind::MathDomain,
            Op::CallTrace { .. } => ExitKind::RecursionDepth,
            Op::SConcat(..) | Op::ToStr(_) | Op::FieldSet { .. } | Op::DictKeys(_) | Op::Alloc(_) => {
                ExitKind::CollectionDue
            }
            Op::SChar(..) => ExitKind::StringIndex,
            Op::SNextChar(..) => ExitKind::CollectionDue,
            Op::PushCopy { .. } => ExitKind::SharedPush,
            Op::CallBuiltin { builtin, .. } | Op::CallEffect { builtin, .. } => {
                ExitKind::BuiltinCall(BUILTINS[builtin as usize].name)
            }
            Op::EffectCheck(call) => match trace.inst(call).op {
                Op::CallEffect { builtin, .. } => ExitKind::BuiltinCall(BUILTINS[builtin as usize].name),
                _ => kinds[snap.index()].clone(),
            },
            Op::CallResidual { function, .. } => ExitKind::ResidualCall(function.name()),
            _ => kinds[snap.index()].clone(),
        };
    }
    kinds
}

/// Whether `trace` ends in a jump into another loop's trace (`JumpTrace`).
fn ends_in_jump(trace: &Trace) -> bool {
    trace.insts.last().is_some_and(|inst| matches!(inst.op, Op::JumpTrace { .. }))
}

/// Aborts of one loop or function for `reason` before it is blacklisted. Leaving the loop
/// during the recorded iteration depends on the data (the iteration may have been the
/// last one), and a recursive callee without a trace gets one soon: both are retried for
/// longer.
fn abort_limit(reason: &AbortReason) -> u32 {
    match reason {
        AbortReason::LoopExited | AbortReason::CalleeWithoutTrace(_) => MAX_ABORTS * 4,
        _ => MAX_ABORTS,
    }
}

/// The slots snapshot `exit` of `trace` gives constant values.
fn snapshot_constants(trace: &Trace, exit: SnapIdx) -> Vec<(u16, Op, Ty)> {
    trace.snapshots[exit.index()]
        .restored_entries()
        .map(|&(slot, value)| (slot, trace.inst(value)))
        .filter(|(_, inst)| inst.op.is_constant())
        .map(|(slot, inst)| (slot, inst.op, inst.ty))
        .collect()
}

/// What native code reaches of the world through the interpreter: its output and the
/// instant it started, which builtins with an effect called on trace use (`CallEffect`).
pub struct World<'a> {
    pub out: &'a mut (dyn std::io::Write + 'static),
    pub start_time: Instant,
}

/// Where the interpreter resumes after native code, and whether it should record a side
/// trace from there.
pub struct Resume {
    /// The function trace returned from the function: the interpreter pops its frame (the
    /// result is in the slot below it). Nothing else in this `Resume` applies.
    pub returned: bool,
    /// The pc to resume at, in the innermost of `frames` if there are any.
    pub pc: u32,
    /// Frames of native recursion levels and inlined calls to push above the trace's
    /// frame, outermost first.
    pub frames: Vec<ResumeFrame>,
    /// `try` handlers installed on trace, to push after `frames`, in order.
    pub handlers: Vec<ResumeHandler>,
    pub record_side: Option<Recorder>,
}

/// A `try` handler an exit hands to the interpreter: `frame` counts frames above the one
/// the trace was entered in (0: that frame), `err_slot` slots from that frame's base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumeHandler {
    pub frame: usize,
    pub pc: usize,
    pub err_slot: usize,
}

/// What entering a root trace (or any of its side traces) needs of the interpreter.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameNeeds {
    /// Slots from the frame base that an exit may write (inlined frames included).
    pub extent: usize,
    /// Frames an exit may push.
    pub inlined_frames: usize,
    /// For a function trace: how far up the slot stack each native recursion level's
    /// frame starts (the largest over its recursive calls), 0 when it makes none.
    pub level_stride: usize,
}

/// What the interpreter does when a Ruff function is called.
pub enum FunctionEntry {
    Interpret,
    Record,
    Enter(u32),
}

/// What the interpreter does at a taken back-edge.
pub enum BackEdge {
    Interpret,
    Record,
    Enter(u32),
}

/// A compiled trace with what its exits need.
struct NativeTrace {
    trace: Trace,
    compiled: CompiledTrace,
    proto: ProtoId,
    header: u32,
    back_edge: u32,
    /// Per snapshot: whether only type checks (`SLoad`/`GLoad`, `CallBuiltin`) exit
    /// through it.
    type_check_exits: Vec<bool>,
    /// Per snapshot: the slot or global its first type check reads, for the report.
    type_check_sources: Vec<Option<TypeSource>>,
    /// Per snapshot: its side trace, and how many recordings of one failed.
    side_exits: Vec<SideState>,
    side_attempts: Vec<u32>,
    side_traces: u32,
    /// The loop iterations a root trace ran itself.
    own_iterations: u64,
    /// Consecutive entries that failed a type check before finishing one iteration.
    fruitless_entries: u32,
    /// For a root loop trace whose tree is full: exits into the interpreter, and those of
    /// them after less than one full native iteration (see `covers_too_few_paths`).
    full_tree_exits: u64,
    quick_full_tree_exits: u64,
    /// For a root trace: what it and its side traces need.
    needs: FrameNeeds,
    kind: TraceKind,
    /// For a function trace: the function (closure) it was recorded for.
    function: Option<Gc<FuncObj>>,
    /// The root trace of its tree (itself, for a root).
    tree_root: u32,
    /// For a root loop trace: the back-edges of inner loops it unrolls and the calls it
    /// inlines per iteration (after its last native call), which the backend multiplies
    /// its iteration counter by.
    iteration_events: (u32, u32),
}

pub struct Jit {
    options: JitOptions,
    /// Per prototype, per pc: the state of the loop whose header is at that pc.
    loops: Vec<Vec<LoopState>>,
    /// Per prototype: the state of its function trace.
    functions: Vec<LoopState>,
    aborts: rustc_hash::FxHashMap<(ProtoId, u32), u32>,
    /// Slot liveness of each prototype that had a loop recorded.
    live_slots: rustc_hash::FxHashMap<ProtoId, Rc<LiveSlots>>,
    /// The traces compiled since the last flush; `traces[0]` is trace `first_trace`.
    traces: Vec<NativeTrace>,
    first_trace: u32,
    /// Bytes of machine code in `traces`.
    machine_code: usize,
    /// The largest needs of any compiled trace (see `frame_needs`).
    all_needs: FrameNeeds,
    exit_state: Box<ExitState>,
    /// Functions recordings found on cycles of calls (`Recorder::recursive`); kept across
    /// flushes, since they describe the program.
    recursive: rustc_hash::FxHashSet<ProtoId>,
    /// Loops recordings found too long to unroll (`Recorder::too_long_loop`): root loop
    /// traces jump into their traces (`CompiledTraces::long_loops`); kept across flushes.
    long_loops: rustc_hash::FxHashSet<(ProtoId, u32)>,
    /// Where native recursion records its levels (`ExitState::native_frames` points here).
    native_frames: Box<[[u64; 3]]>,
    pub stats: Stats,
    log: Option<log::EventLog>,
}

/// Writes an event to the JIT's log, if there is one (the arguments are not evaluated
/// otherwise).
macro_rules! log_event {
    ($jit:expr, $($arg:tt)*) => {
        if let Some(log) = $jit.log.as_mut() {
            log.event(format_args!($($arg)*));
        }
    };
}

mod inspect;
use inspect::snapshot_chain;

impl Jit {
    pub fn options(&self) -> &JitOptions {
        &self.options
    }

    pub fn new(options: JitOptions, program: &Program) -> Jit {
        let threshold = options.threshold.max(1);
        let loops = program.protos.iter().map(|p| vec![LoopState::Counting(threshold); p.code.len()]).collect();
        let mut native_frames = vec![[0u64; 3]; abi::MAX_NATIVE_DEPTH].into_boxed_slice();
        let mut exit_state = Box::<ExitState>::default();
        exit_state.native_frames = native_frames.as_mut_ptr();
        Jit {
            loops,
            functions: vec![LoopState::Counting(threshold); program.protos.len()],
            aborts: Default::default(),
            live_slots: Default::default(),
            traces: Vec::new(),
            first_trace: 0,
            machine_code: 0,
            all_needs: FrameNeeds::default(),
            exit_state,
            recursive: Default::default(),
            long_loops: Default::default(),
            native_frames,
            stats: Stats::default(),
            log: options.log.as_ref().and_then(|target| log::EventLog::open(target).ok()),
            options,
        }
    }

    /// Compiled trace `id` (trace ids count on across flushes; `traces` holds the ones
    /// since the last).
    fn native(&self, id: u32) -> &NativeTrace {
        &self.traces[(id - self.first_trace) as usize]
    }

    fn native_mut(&mut self, id: u32) -> &mut NativeTrace {
        &mut self.traces[(id - self.first_trace) as usize]
    }

    /// Drops every compiled trace (their machine code goes with them) once the machine
    /// code limit is reached: compiled loops and functions count towards recording again,
    /// and the traces compiled from then on fit the program's current hot paths.
    fn flush(&mut self) {
        self.sync_counters();
        log_event!(
            self,
            "flush: the machine code limit ({} KiB) is reached; {} traces dropped, hot code compiles again",
            self.options.max_machine_code >> 10,
            self.traces.len()
        );
        self.stats.flushes += 1;
        // Each flush makes recording less eager, so a program whose hot code does not fit
        // settles in the interpreter instead of recompiling without end.
        let backoff = 1u32 << self.stats.flushes.min(16);
        let threshold = self.options.threshold.max(1).saturating_mul(backoff);
        self.first_trace += self.traces.len() as u32;
        self.traces.clear();
        for state in self.loops.iter_mut().flatten().chain(self.functions.iter_mut()) {
            if let LoopState::Compiled(_) = state {
                *state = LoopState::Counting(threshold);
            }
        }
        self.machine_code = 0;
        self.all_needs = FrameNeeds::default();
    }

    /// Called when a Ruff function's frame has been pushed for a call of `function`.
    pub fn function_entry(&mut self, function: Gc<FuncObj>) -> FunctionEntry {
        match &mut self.functions[function.proto.0 as usize] {
            LoopState::Counting(remaining) if *remaining > 1 => {
                *remaining -= 1;
                FunctionEntry::Interpret
            }
            LoopState::Counting(_) => FunctionEntry::Record,
            &mut LoopState::Compiled(trace)
                if self.traces[(trace - self.first_trace) as usize].function == Some(function) =>
            {
                FunctionEntry::Enter(trace)
            }
            LoopState::Compiled(_) | LoopState::Blacklisted => FunctionEntry::Interpret,
        }
    }

    /// Starts recording the call of `function` whose frame (at depth `frame_depth`) is
    /// about to run.
    pub fn start_function_recording(
        &mut self,
        program: &Program,
        function: Gc<FuncObj>,
        frame_depth: usize,
    ) -> Recorder {
        let proto = program.proto(function.proto);
        log_event!(self, "record function {} at {}:{}", proto.name, self.options.source_name, proto.spans[0].line);
        self.recorder_for_function(program, function, frame_depth)
    }

    /// A recorder for a call of `function` (of a function trace, or the base of a side
    /// trace's).
    fn recorder_for_function(&mut self, program: &Program, function: Gc<FuncObj>, frame_depth: usize) -> Recorder {
        self.stats.recordings_started += 1;
        let proto = function.proto;
        let live = self
            .live_slots
            .entry(proto)
            .or_insert_with(|| Rc::new(LiveSlots::compute(program, program.proto(proto))))
            .clone();
        Recorder::for_function(proto, function, frame_depth, program.proto(proto).num_slots as usize, live)
            .with_compiled_traces(self.compiled_traces())
    }

    /// Called at every taken back-edge to `header`.
    #[inline]
    pub fn back_edge(&mut self, proto: ProtoId, header: u32) -> BackEdge {
        self.stats.interpreted_iterations += 1;
        let state = &mut self.loops[proto.0 as usize][header as usize];
        match state {
            LoopState::Counting(remaining) if *remaining > 1 => {
                *remaining -= 1;
                BackEdge::Interpret
            }
            LoopState::Counting(_) => BackEdge::Record,
            LoopState::Compiled(trace) => BackEdge::Enter(*trace),
            LoopState::Blacklisted => BackEdge::Interpret,
        }
    }

    /// The trace to run for a loop being entered at `header`, if one is compiled. Entering
    /// a loop is not a back-edge: it neither counts towards recording nor starts it.
    pub fn loop_entry(&self, proto: ProtoId, header: u32) -> Option<u32> {
        match self.loops[proto.0 as usize][header as usize] {
            LoopState::Compiled(trace) => Some(trace),
            LoopState::Counting(_) | LoopState::Blacklisted => None,
        }
    }

    pub fn start_recording(
        &mut self,
        program: &Program,
        proto: ProtoId,
        header: u32,
        back_edge: u32,
        frame_depth: usize,
    ) -> Recorder {
        let recorder = self.recorder_for_loop(program, proto, header, back_edge, frame_depth);
        let line = program.proto(proto).spans[back_edge as usize].line;
        log_event!(self, "record loop at {}:{} in {}", self.options.source_name, line, program.proto(proto).name);
        recorder
    }

    /// A recorder for the loop at `header` (of a root trace, or the base of a side trace's).
    fn recorder_for_loop(
        &mut self,
        program: &Program,
        proto: ProtoId,
        header: u32,
        back_edge: u32,
        frame_depth: usize,
    ) -> Recorder {
        self.stats.recordings_started += 1;
        let live = self
            .live_slots
            .entry(proto)
            .or_insert_with(|| Rc::new(LiveSlots::compute(program, program.proto(proto))))
            .clone();
        let num_slots = program.proto(proto).num_slots as usize;
        Recorder::new(proto, header, back_edge, frame_depth, num_slots, live)
            .with_compiled_traces(self.compiled_traces())
    }

    /// The compiled function and loop traces a recording may call or jump into.
    fn compiled_traces(&self) -> Rc<CompiledTraces> {
        let mut compiled = CompiledTraces {
            recursive: self.recursive.clone(),
            long_loops: self.long_loops.clone(),
            ..CompiledTraces::default()
        };
        for (proto, state) in self.functions.iter().enumerate() {
            if let LoopState::Compiled(id) = *state {
                let native = self.native(id);
                if let Some(function) = native.function {
                    let calls_natively = native.trace.insts.iter().any(|inst| matches!(inst.op, Op::CallTrace { .. }));
                    compiled.functions.insert(
                        ProtoId(proto as u32),
                        record::CompiledFunction { trace: id, function, calls_natively },
                    );
                }
            }
        }
        for (proto, loops) in self.loops.iter().enumerate() {
            for (header, state) in loops.iter().enumerate() {
                if let LoopState::Compiled(id) = *state {
                    compiled.loops.insert((ProtoId(proto as u32), header as u32), id);
                }
            }
        }
        Rc::new(compiled)
    }

    /// Ends a recording: compiles the closed trace, or files the abort.
    pub fn finish_recording(
        &mut self,
        program: &Program,
        recorder: Recorder,
        outcome: Result<Trace, AbortReason>,
        recording_time: std::time::Duration,
    ) {
        self.stats.record_time += recording_time;
        if self.machine_code >= self.options.max_machine_code {
            // The recording (whose parent trace may be among them) goes with the traces.
            self.flush();
            return;
        }
        let (proto, header) = (recorder.proto, recorder.header);
        self.note_calls_wanted(&recorder);
        let compiled = outcome.and_then(|recorded| self.compile(program, &recorder, recorded));
        if let Some(SideOf { parent, exit, .. }) = recorder.side_of {
            let state = match compiled {
                Ok(id) => {
                    self.stats.traces[parent as usize].exit_side_trace[exit.index()] = Some(id + 1);
                    SideState::Compiled(id)
                }
                Err(reason) => {
                    self.abort(program, &recorder, AbortSite::SideTrace(reason));
                    // What stopped it may change (a function called there may get its own
                    // trace), so the exit tries again, less and less eagerly.
                    let attempts = &mut self.native_mut(parent).side_attempts[exit.index()];
                    *attempts += 1;
                    if *attempts >= MAX_SIDE_ATTEMPTS {
                        SideState::Refused
                    } else {
                        SideState::Counting(HOT_EXIT << (3 * *attempts))
                    }
                }
            };
            self.native_mut(parent).side_exits[exit.index()] = state;
            return;
        }
        if recorder.kind == TraceKind::Function {
            let state = match compiled {
                Ok(id) => LoopState::Compiled(id),
                Err(reason) => {
                    let limit = abort_limit(&reason);
                    self.abort(program, &recorder, AbortSite::Function(reason));
                    let aborts = self.aborts.entry((proto, FUNCTION_ABORTS)).or_insert(0);
                    *aborts += 1;
                    if *aborts >= limit {
                        self.stats.blacklisted += 1;
                        LoopState::Blacklisted
                    } else {
                        LoopState::Counting(self.options.threshold.max(1).saturating_mul(1 << (*aborts).min(16)))
                    }
                }
            };
            self.functions[proto.0 as usize] = state;
            return;
        }
        match compiled {
            Ok(id) => self.loops[proto.0 as usize][header as usize] = LoopState::Compiled(id),
            Err(reason) => {
                let limit = abort_limit(&reason);
                // An inner loop of the loop's own frame too long to unroll that has a trace
                // already: the next recording jumps into it (`Recorder::loop_to_jump_into`),
                // so it starts at the next iteration the interpreter runs.
                let jump_next_time = reason == AbortReason::InnerLoop
                    && recorder.too_long_loop.is_some_and(|(inner, at)| {
                        inner == proto && matches!(self.loops[inner.0 as usize][at as usize], LoopState::Compiled(_))
                    });
                self.abort(program, &recorder, AbortSite::Loop(reason));
                let aborts = self.aborts.entry((proto, header)).or_insert(0);
                *aborts += 1;
                self.loops[proto.0 as usize][header as usize] = if *aborts >= limit {
                    self.stats.blacklisted += 1;
                    LoopState::Blacklisted
                } else if jump_next_time {
                    LoopState::Counting(1)
                } else {
                    LoopState::Counting(self.options.threshold.max(1).saturating_mul(1 << (*aborts).min(16)))
                };
            }
        }
    }

    /// Learns what a recording found out about calls: the functions on cycles of calls
    /// (traces call them natively from now on), and the functions whose traces it needed,
    /// which are recorded at their next call (unless they are compiled or blacklisted).
    fn note_calls_wanted(&mut self, recorder: &Recorder) {
        self.recursive.extend(recorder.recursive.iter().copied());
        self.long_loops.extend(recorder.too_long_loop);
        for proto in &recorder.wanted_functions {
            if let LoopState::Counting(remaining) = &mut self.functions[proto.0 as usize] {
                *remaining = 1;
            }
        }
    }

    fn compile(&mut self, program: &Program, recorder: &Recorder, recorded: Trace) -> Result<u32, AbortReason> {
        let started = Instant::now();
        let optimized = opt::optimize(&recorded).map_err(|e| AbortReason::Optimizer(e.to_string()))?;
        let id = self.first_trace + self.traces.len() as u32;
        let (end_back_edges, end_calls) = recorder.events_at_end();
        let (end_events, iteration_events) = match (recorder.side_of, recorder.kind) {
            (Some(side_of), _) => ((end_back_edges, end_calls), self.native(side_of.root).iteration_events),
            (None, TraceKind::Function) => ((end_back_edges, end_calls), (0, 0)),
            // A root loop trace ending in a jump into an inner loop's trace never goes round
            // its own loop: its end counts its events, as a side trace's does.
            (None, TraceKind::Loop) if ends_in_jump(&recorded) => ((end_back_edges, end_calls), (0, 0)),
            // The recorder counted the loop's own back-edge too (exits after it resume at the
            // header); the iteration counter counts that one.
            (None, TraceKind::Loop) => ((0, 0), (end_back_edges - 1, end_calls)),
        };
        let compiled = self.assemble(&optimized, id, recorder.side_of, recorder.kind, end_events, iteration_events)?;
        let compile_time = started.elapsed();
        self.stats.compile_time += compile_time;
        self.machine_code += compiled.code_size;
        let proto = program.proto(recorder.proto);
        let exits = optimized.snapshots.len();
        let exit_sites =
            optimized.snapshots.iter().map(|s| Site::of(program, &snapshot_chain(recorder.proto, s))).collect();
        let dump_text = (self.options.dump.is_some() || self.options.keep_dumps)
            .then(|| dump::trace_dump(id + 1, program, recorder, &recorded, &optimized, &compiled));
        if let (Some(target), Some(text)) = (&self.options.dump, &dump_text) {
            target.write(id + 1, text);
        }
        let mut line_weights: Vec<(u32, u32)> = Vec::new();
        for &(p, pc) in recorder.bytecode.iter().filter(|&&(p, _)| !program.proto(p).is_library) {
            let line = program.proto(p).spans[pc as usize].line;
            match line_weights.iter_mut().find(|(l, _)| *l == line) {
                Some((_, weight)) => *weight += 1,
                None => line_weights.push((line, 1)),
            }
        }
        line_weights.sort_unstable();
        self.stats.traces.push(TraceStats {
            id: id + 1,
            function: proto.name.clone(),
            line: proto.spans[recorder.back_edge as usize].line,
            library: proto.is_library,
            recorded_size: recorded.insts.len(),
            ir_size: optimized.insts.len(),
            mcode_size: compiled.code_size,
            handled_exits: vec![0; exits],
            exit_sites,
            interpreter_entries: 0,
            native: NativeCounts { exits: vec![0; exits], ..NativeCounts::default() },
            parent: recorder.side_of.map(|s| (s.parent + 1, s.exit.0)),
            function_trace: recorder.kind == TraceKind::Function,
            exit_kinds: exit_kinds(program, recorder, &optimized),
            exit_observed: vec![None; exits],
            exit_side_trace: vec![None; exits],
            exit_linked: vec![false; exits],
            dump: dump_text.filter(|_| self.options.keep_dumps),
            line_weights,
        });
        let compiled_trace = &self.stats.traces[id as usize];
        let attached = if recorder.side_of.is_some() { ", attached to that exit" } else { "" };
        log_event!(
            self,
            "trace {} compiled: {}{}, IR {} instructions (recorded {}), {} bytes of machine code, {:.3} ms",
            id + 1,
            compiled_trace.describe(&self.options.source_name),
            attached,
            compiled_trace.ir_size,
            compiled_trace.recorded_size,
            compiled_trace.mcode_size,
            compile_time.as_secs_f64() * 1e3
        );
        // Guards may share a snapshot, and an exit only names the snapshot: it is a type
        // check's exit only when every guard using that snapshot is a type check. A
        // builtin call's result type is checked too (its exit may also be an error, which
        // recording the loop again runs into and reports).
        let mut type_check_exits = vec![true; optimized.snapshots.len()];
        for inst in &optimized.insts {
            if let Some(snap) = inst.snap {
                type_check_exits[snap.index()] &= inst.op.is_type_check();
            }
        }
        // Inlined calls push no frames, but the interpreter would have checked each against
        // the depth limit: entries must leave room for them at every native level.
        let mut needs = FrameNeeds { inlined_frames: recorder.max_inlined(), ..FrameNeeds::default() };
        for snapshot in &optimized.snapshots {
            needs.inlined_frames = needs.inlined_frames.max(snapshot.frames.len());
            for frame in &snapshot.frames {
                needs.extent = needs.extent.max(frame.base as usize + frame.num_slots as usize);
            }
        }
        for inst in &optimized.insts {
            if let Op::CallTrace { base, callee_slots, .. } = inst.op {
                needs.level_stride = needs.level_stride.max(base as usize + 1);
                needs.extent = needs.extent.max(base as usize + 1 + callee_slots as usize);
            }
        }
        let side_exits = vec![SideState::Counting(HOT_EXIT); optimized.snapshots.len()];
        self.all_needs.extent = self.all_needs.extent.max(needs.extent);
        self.all_needs.inlined_frames = self.all_needs.inlined_frames.max(needs.inlined_frames);
        self.all_needs.level_stride = self.all_needs.level_stride.max(needs.level_stride);
        if let Some(SideOf { root, .. }) = recorder.side_of {
            let root = self.native_mut(root);
            root.side_traces += 1;
            root.needs.extent = root.needs.extent.max(needs.extent);
            root.needs.inlined_frames = root.needs.inlined_frames.max(needs.inlined_frames);
            root.needs.level_stride = root.needs.level_stride.max(needs.level_stride);
        }
        let mut type_check_sources = vec![None; optimized.snapshots.len()];
        for inst in optimized.insts.iter().rev() {
            let source = match inst.op {
                Op::SLoad { slot } => TypeSource::Slot(slot),
                Op::GLoad { global } => TypeSource::Global(global),
                _ => continue,
            };
            if let Some(snap) = inst.snap {
                type_check_sources[snap.index()] = Some(source);
            }
        }
        self.traces.push(NativeTrace {
            trace: optimized,
            compiled,
            proto: recorder.proto,
            header: recorder.header,
            back_edge: recorder.back_edge,
            type_check_exits,
            type_check_sources,
            side_attempts: vec![0; side_exits.len()],
            side_exits,
            side_traces: 0,
            own_iterations: 0,
            fruitless_entries: 0,
            full_tree_exits: 0,
            quick_full_tree_exits: 0,
            needs,
            kind: recorder.kind,
            function: recorder.function(),
            tree_root: recorder.side_of.map_or(id, |s| s.root),
            iteration_events,
        });
        Ok(id)
    }

    /// Compiles trace `id`. A side trace jumps back into its root natively when done, and
    /// gets a linked entry, which rebuilds its parent exit's snapshot in the frame (inlined
    /// frames' slots included; sunk values through a helper). Deopt stress links nothing:
    /// each trace reads its own stress flags.
    fn assemble(
        &self,
        optimized: &Trace,
        id: u32,
        side_of: Option<SideOf>,
        kind: TraceKind,
        end_events: (u32, u32),
        iteration_events: (u32, u32),
    ) -> Result<CompiledTrace, AbortReason> {
        let deopt_stress = self.options.deopt_stress;
        // Indexed by trace id: flushed traces have no entry (no live trace names one).
        let flushed = std::iter::repeat_n(0, self.first_trace as usize);
        let trace_entries: Vec<usize> = flushed.chain(self.traces.iter().map(|t| t.compiled.reentry)).collect();
        let mut options = AssembleOptions::unlinked(id, deopt_stress);
        options.trace_entries = &trace_entries;
        options.end_events = end_events;
        options.iteration_events = iteration_events;
        options.count_native = self.options.measure_native;
        // A side trace always continues natively (into its root, or by returning): it may
        // run inside a native call, where returning to the exit handler is impossible.
        match (side_of, kind) {
            (Some(SideOf { root, .. }), TraceKind::Function) => {
                options.self_call_target = Some(self.native(root).compiled.reentry);
            }
            (Some(SideOf { root, .. }), TraceKind::Loop) => {
                options.root_reentry = Some(self.native(root).compiled.reentry);
            }
            (None, TraceKind::Loop) => options.repeats = true,
            (None, TraceKind::Function) => {}
        }
        if let (Some(SideOf { parent, exit, .. }), false) = (side_of, deopt_stress) {
            let parent = self.native(parent);
            options.parent = Some(assemble::ParentExit {
                trace: &parent.trace,
                locations: &parent.compiled.locations,
                snap: exit,
                exit_return: parent.compiled.exit_return(exit),
            });
        }
        assemble::assemble(optimized, &options).map_err(|e| {
            // The recorder and the passes must only produce valid IR: a rejected trace is a
            // JIT bug, which strict runs (the test suites) must not let pass as an abort.
            if let (assemble::AssembleError::InvalidIr(why), true) = (&e, self.options.strict) {
                panic!("RUFF_JIT_STRICT: the assembler rejected invalid IR: {}", why);
            }
            AbortReason::Assembler(e.to_string())
        })
    }

    /// Bytes by which traces grew array buffers since the last call; the interpreter
    /// reports them to the heap so collections stay paced.
    pub fn take_heap_growth(&mut self) -> usize {
        std::mem::take(&mut self.exit_state.heap_growth) as usize
    }

    /// What root trace `root` and its side traces need of the frame they run on.
    ///
    /// Native calls and jumps cross from one trace tree into another, so a tree's own
    /// needs are not enough: entries use the largest needs of all compiled traces.
    pub fn frame_needs(&self, root: u32) -> FrameNeeds {
        let own = self.native(root).needs;
        FrameNeeds {
            extent: own.extent.max(self.all_needs.extent),
            inlined_frames: own.inlined_frames.max(self.all_needs.inlined_frames),
            level_stride: own.level_stride.max(self.all_needs.level_stride),
        }
    }

    /// Marks the function objects that compiled traces and a recording in progress
    /// compare against or rebuild frames for, so none is freed and its address reused.
    pub fn mark_roots(&self, marker: &mut crate::runtime::heap::Marker) {
        for native in &self.traces {
            record::mark_trace_roots(&native.trace, marker);
        }
    }

    /// Runs one trace on the frame; returns its raw exit number.
    fn run(&mut self, id: u32, slots: &mut [Value], globals: &mut [Value]) -> u32 {
        let native = &mut self.traces[(id - self.first_trace) as usize];
        let state = &mut *self.exit_state;
        state.start_run();
        self.stats.traces[id as usize].interpreter_entries += 1;
        if profile::ACTIVE.load(std::sync::atomic::Ordering::Relaxed) {
            profile::LOCATION.store(profile::NATIVE | id as u64, std::sync::atomic::Ordering::Relaxed);
        }
        // SAFETY: the trace was compiled from this prototype's bytecode, so every slot and
        // global it touches is inside `slots` and `globals`; it allocates nothing (a push
        // only grows an array's element buffer), calls no Ruff code, and writes only the
        // frame, globals, arrays the IR names, its exit state, spill area and stress flags.
        let started = self.options.measure_native.then(Instant::now);
        let exit = unsafe { (native.compiled.entry)(slots.as_mut_ptr(), globals.as_mut_ptr(), state) };
        if let Some(started) = started {
            self.stats.native_time += started.elapsed();
        }
        self.stats.native_iterations += std::mem::take(&mut state.back_edges);
        self.stats.native_calls += std::mem::take(&mut state.calls);
        exit
    }

    /// Runs root trace `root` on the frame `slots` (recorded in prototype `proto` at depth
    /// `frame_depth`) until native code leaves it: through an exit with no side trace, or a
    /// side trace's exit. A side trace that completes its iteration hands back to the root
    /// trace. Restores the frame from the exit's snapshot and says where to resume, and
    /// whether to record a side trace from there.
    #[allow(clippy::too_many_arguments)]
    pub fn enter(
        &mut self,
        program: &Program,
        root: u32,
        frame_depth: usize,
        slots: &mut [Value],
        globals: &mut [Value],
        heap: &mut Heap,
        depth_budget: usize,
        world: World,
    ) -> Resume {
        self.exit_state.native_depth = 0;
        self.exit_state.depth_budget = depth_budget.min(abi::MAX_NATIVE_DEPTH) as u64;
        self.exit_state.heap = heap;
        self.exit_state.program = program;
        self.exit_state.out = world.out;
        self.exit_state.start_time = world.start_time;
        self.exit_state.must_exit = 0;
        let mut current = root;
        loop {
            let exit = self.run(current, slots, globals);
            if exit == abi::BACK_TO_LOOP {
                current = root;
                continue;
            }
            if exit == abi::FUNCTION_RETURNED {
                let iterations = self.exit_state.loop_iterations;
                self.stats.native_iterations += iterations;
                self.native_mut(root).own_iterations += iterations;
                return Resume { pc: 0, frames: Vec::new(), handlers: Vec::new(), record_side: None, returned: true };
            }
            let exit = SnapIdx(exit);
            // Side traces jump back into the root natively, linked exits into side traces,
            // and native calls into other trees: the trace that exited reports itself.
            current = self.exit_state.exited_trace as u32;
            let root = self.native(current).tree_root;
            let (level_base, mut frames) = self.native_levels(slots);
            let levels = frames.len();
            if levels > 0 {
                let snapshot = &self.native(current).trace.snapshots[exit.index()];
                let (pc, inlined) = (snapshot.pc, snapshot.frames.first().map(|f| (f.base as usize, f.return_pc)));
                self.clear_dead_slots(program, slots, &frames, pc, inlined);
            }
            let native = &mut self.traces[(current - self.first_trace) as usize];
            let state = &*self.exit_state;
            let level_slots = &mut slots[level_base..];
            let pc = exit::restore(&native.trace, &native.compiled.locations, state, exit, level_slots, heap);
            let inlined = native.trace.snapshots[exit.index()].frames.clone();
            frames.extend(exit::inlined_frames(&inlined, level_slots, level_base));
            let installed = native.trace.snapshots[exit.index()].handlers.clone();
            let handlers = installed
                .iter()
                .map(|h| ResumeHandler {
                    frame: levels + h.frame as usize,
                    pc: h.pc as usize,
                    err_slot: level_base + h.err_slot as usize,
                })
                .collect();
            self.stats.traces[current as usize].handled_exits[exit.index()] += 1;
            if let Some(source) = native.type_check_sources[exit.index()] {
                let found = match source {
                    TypeSource::Slot(slot) => level_slots[slot as usize].type_name(),
                    TypeSource::Global(global) => globals[global as usize].type_name(),
                };
                self.stats.traces[current as usize].exit_observed[exit.index()] = Some(found);
            }
            self.stats.native_iterations += state.loop_iterations;
            self.stats.exits += 1;
            if current == root {
                native.own_iterations += state.loop_iterations;
                let fruitless = state.loop_iterations == 0 && native.type_check_exits[exit.index()];
                native.fruitless_entries = if fruitless { native.fruitless_entries + 1 } else { 0 };
                if native.fruitless_entries >= MAX_FRUITLESS_ENTRIES && native.kind == TraceKind::Loop {
                    self.retire_root(root, AbortReason::TraceRetired, Retry::Allowed);
                    return Resume { pc, frames, handlers, record_side: None, returned: false };
                }
            }
            let tree_full = self.native(root).side_traces >= MAX_SIDE_TRACES;
            let iterations = self.exit_state.loop_iterations;
            if tree_full && self.covers_too_few_paths(root, current, exit, iterations) {
                self.retire_root(root, AbortReason::TooManyPaths, Retry::Pointless);
                return Resume { pc, frames, handlers, record_side: None, returned: false };
            }
            let unprofitable = current == root
                && self.function_exits_often(root, exit)
                && !matches!(self.functions[self.native(root).proto.0 as usize], LoopState::Blacklisted);
            let native = &mut self.traces[(current - self.first_trace) as usize];
            match native.side_exits[exit.index()] {
                SideState::Compiled(side) => {
                    if current == root && native.kind == TraceKind::Loop && self.took_rare_path(root, exit) {
                        self.retire_root(root, AbortReason::RarePathRecorded, Retry::Allowed);
                        return Resume { pc, frames, handlers, record_side: None, returned: false };
                    }
                    if self.stats.traces[current as usize].handled_exits[exit.index()] >= LINK_AFTER_EXITS {
                        if let Some(entry) = self.native(side).compiled.linked_entry {
                            // SAFETY: `side` was compiled with this exit of `current` as its
                            // parent exit (`Jit::assemble`), and no compiled trace is ever
                            // dropped while the JIT lives.
                            unsafe { self.native_mut(current).compiled.link_exit(exit, entry) };
                            self.stats.traces[current as usize].exit_linked[exit.index()] = true;
                            log_event!(
                                self,
                                "link trace {} exit {} to side trace {}: its exits now jump there natively",
                                current + 1,
                                exit.0,
                                side + 1
                            );
                        }
                    }
                    // From inside native recursion the handler cannot go on natively: the
                    // native stack is unwound, and the interpreter takes over. So it does
                    // when the heap wants a collection (the exit may have allocated sunk
                    // values), which only the interpreter runs.
                    if levels == 0 && !heap.wants_collection() {
                        current = side;
                        continue;
                    }
                }
                // The interpreter runs the call that went too deep; a side trace from
                // there would call the same trace again and is never entered from inside
                // native recursion anyway. An exit taken because a collection is due says
                // nothing about the path: a side trace from it would only repeat its
                // parent's code up to the same allocation, and exit there again at the
                // next collection (growing a chain of identical side traces).
                SideState::Counting(_)
                    if matches!(
                        self.stats.traces[current as usize].exit_kinds[exit.index()],
                        ExitKind::RecursionDepth | ExitKind::CollectionDue
                    ) =>
                {
                    native.side_exits[exit.index()] = SideState::Refused;
                }
                SideState::Counting(remaining) if remaining > 1 => {
                    native.side_exits[exit.index()] = SideState::Counting(remaining - 1);
                }
                SideState::Counting(_) if tree_full => {
                    native.side_exits[exit.index()] = SideState::Refused;
                    self.retirement(current, AbortReason::TooManySideTraces);
                }
                SideState::Counting(_) => {
                    native.side_exits[exit.index()] = SideState::Recording;
                    let (proto, header, back_edge) = (native.proto, native.header, native.back_edge);
                    let constants = snapshot_constants(&native.trace, exit);
                    let depth = frame_depth + levels;
                    let base = match self.native(root).function {
                        Some(function) => self.recorder_for_function(program, function, depth),
                        None => self.recorder_for_loop(program, proto, header, back_edge, depth),
                    };
                    let at = self.stats.traces[current as usize].exit_sites[exit.index()]
                        .describe(&self.options.source_name);
                    log_event!(self, "record side trace of trace {} exit {} at {}", current + 1, exit.0, at);
                    let side_of = SideOf { root, parent: current, exit };
                    let recorder = Recorder::for_side_trace(side_of, base, &inlined, &installed, &constants, program);
                    return Resume { pc, frames, handlers, record_side: Some(recorder), returned: false };
                }
                // Other traces may still call the retired trace natively: it is retired once.
                SideState::Refused if unprofitable => {
                    let proto = self.native(root).proto;
                    self.retirement(root, AbortReason::FunctionExitsOften);
                    self.stats.blacklisted += 1;
                    self.functions[proto.0 as usize] = LoopState::Blacklisted;
                }
                SideState::Recording | SideState::Refused => {}
            }
            return Resume { pc, frames, handlers, record_side: None, returned: false };
        }
    }

    /// After an exit of a function trace from inside native recursion: where the exiting
    /// level's frame starts (slots from the entered frame's base), and the levels as
    /// interpreter frames to push, outermost first. Resets the recursion depth.
    fn native_levels(&mut self, slots: &[Value]) -> (usize, Vec<ResumeFrame>) {
        let depth = std::mem::take(&mut self.exit_state.native_depth) as usize;
        if depth == 0 {
            return (0, Vec::new());
        }
        let slots_start = slots.as_ptr() as u64;
        let base_of = |address: u64| ((address - slots_start) / std::mem::size_of::<Value>() as u64) as usize;
        let frames = self.native_frames[..depth]
            .iter()
            .map(|&[address, return_pc, function]| {
                // SAFETY: `function` is the `CallTrace` function constant that pushed this
                // level, which the JIT keeps alive (`Jit::mark_roots`).
                let function = unsafe { Gc::<FuncObj>::from_address(function as usize) };
                ResumeFrame {
                    proto: function.proto,
                    closure: Some(function),
                    base: base_of(address),
                    return_pc: return_pc as u32,
                }
            })
            .collect();
        (base_of(self.native_frames[depth - 1][0]), frames)
    }

    /// Sets to null, in the frames of the native levels an exit is about to hand to the
    /// interpreter (`levels`, outermost first), every slot no instruction may read before
    /// writing it: `CallTrace` clears only the callee's slots that may be (`cleared`), so
    /// the others still hold what earlier frames left there, objects the collector may
    /// since have freed, and the interpreter's collector scans whole frames. A caller level
    /// keeps the slots live after its call (the trace stored them, or they are its
    /// arguments, or slots cleared at its own call), and its callee slot, which the call's
    /// return writes, is cleared; the exiting level keeps the slots live at the exit's `pc`
    /// (or, with `inlined` calls on its snapshot, first of which at slot `base` returns to
    /// `return_pc`, those live after that call, below its callee slot), where the
    /// snapshot's values then go. Slots live at a pc were written on every path there
    /// unless they are live at the function's start, so they hold the trace's values.
    fn clear_dead_slots(
        &mut self,
        program: &Program,
        slots: &mut [Value],
        levels: &[ResumeFrame],
        pc: u32,
        inlined: Option<(usize, u32)>,
    ) {
        for (n, level) in levels.iter().enumerate() {
            let proto = program.proto(level.proto);
            let live = self
                .live_slots
                .entry(level.proto)
                .or_insert_with(|| Rc::new(LiveSlots::compute(program, proto)))
                .clone();
            // The slots this level owns (the next frame starts above its callee slot), and
            // whether each is read later.
            let (end, kept): (usize, Box<dyn Fn(u16) -> bool>) = match levels.get(n + 1) {
                Some(callee) => {
                    let call = callee.return_pc - 1;
                    (callee.base - 1 - level.base, Box::new(move |s| live.live_after(call, s)))
                }
                None => match inlined {
                    Some((base, return_pc)) => (base - 1, Box::new(move |s| live.live_after(return_pc - 1, s))),
                    None => (proto.num_slots as usize, Box::new(move |s| live.live_at(pc, s))),
                },
            };
            for s in 0..end.min(proto.num_slots as usize) {
                if !kept(s as u16) {
                    slots[level.base + s] = Value::Null;
                }
            }
            if levels.get(n + 1).is_some() {
                slots[level.base + end] = Value::Null;
            }
        }
    }

    /// Whether function trace `root`'s exit `exit`, which no side trace continues, takes a
    /// large share of its entries: leaving native code at once costs more than the
    /// interpreter would.
    fn function_exits_often(&self, root: u32, exit: SnapIdx) -> bool {
        let stats = &self.stats.traces[root as usize];
        let exits = stats.handled_exits[exit.index()];
        stats.function_trace && exits >= FUNCTION_EXITS_CHECKED && exits * 4 >= stats.interpreter_entries
    }

    /// Whether the passes from root trace `root` through its exit `exit` into a side
    /// trace far outnumber every other way the root's iterations went (its own iterations
    /// and its other exits): the root recorded the rarer side of that branch. Leaving the
    /// loop through its own test is no sign of that, and neither are exits spread over the
    /// many branches of a branchy loop.
    fn took_rare_path(&self, root: u32, exit: SnapIdx) -> bool {
        let stats = &self.stats.traces[root as usize];
        let passes = stats.handled_exits[exit.index()];
        // A root ending in a jump into an inner loop's trace has no iterations of its own:
        // its runs that got to the jump went the recorded way.
        let native = self.native(root);
        let jumps = if ends_in_jump(&native.trace) { native.compiled.counters[abi::COUNT_COMPLETIONS] } else { 0 };
        let others = stats.handled_exits.iter().sum::<u64>() - passes + native.own_iterations + jumps;
        stats.exit_kinds[exit.index()] != ExitKind::LoopEnd
            && passes >= RARE_PATH_DISPATCHES
            && passes > RARE_PATH_RATIO * others
    }

    /// Whether root loop trace `root`, whose tree can grow no more side traces, leaves
    /// native code (here through `exit` of `current`, after `iterations` native
    /// iterations) nearly every time it is entered, before one iteration is done: its
    /// loop has more paths than the tree covers, and each round trip through the exit
    /// handler costs more than interpreting the iteration would.
    fn covers_too_few_paths(&mut self, root: u32, current: u32, exit: SnapIdx, iterations: u64) -> bool {
        if self.native(root).kind != TraceKind::Loop
            || self.stats.traces[current as usize].exit_kinds[exit.index()] == ExitKind::LoopEnd
        {
            return false;
        }
        let native = self.native_mut(root);
        native.full_tree_exits += 1;
        native.quick_full_tree_exits += (iterations < 1) as u64;
        native.full_tree_exits >= PATH_CHECK_EXITS
            && native.quick_full_tree_exits * 10 >= native.full_tree_exits * QUICK_EXIT_TENTHS
    }

    /// Stops entering a loop trace that keeps exiting at once: the loop is recorded again
    /// (with the types it has now) when `retry` allows it, or blacklisted, as it is after
    /// repeated trouble.
    fn retire_root(&mut self, root: u32, reason: AbortReason, retry: Retry) {
        let native = self.native(root);
        let (proto, header) = (native.proto, native.header);
        self.retirement(root, reason);
        let troubles = self.aborts.entry((proto, header)).or_insert(0);
        *troubles += 1;
        self.loops[proto.0 as usize][header as usize] = if *troubles >= MAX_ABORTS || retry == Retry::Pointless {
            self.stats.blacklisted += 1;
            LoopState::Blacklisted
        } else {
            LoopState::Counting(self.options.threshold.max(1))
        };
    }
}
