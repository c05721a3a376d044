//! The tracing JIT: hot loops are recorded as typed IR, optimized, compiled to x86-64 and
//! run natively until a guard fails, when the interpreter resumes from a snapshot.
//!
//! Phases, one module each: [`record`] (interpreter execution -> IR), [`opt`] (IR ->
//! IR passes), [`assemble`] (IR -> machine code), [`exit`] (snapshot -> interpreter
//! frame), [`dump`] (trace dumps), [`stats`] (the `--jit-stats` report), [`log`] (the
//! `--jit-log` events), [`profile`] (the `--profile` sampler and report), [`report`] (the
//! `--jit-report` HTML page), `inspect` (counters, aborts and retirements as `Jit`
//! records them); [`abort`] names every reason a trace is not compiled; [`ir`] and
//! [`abi`] are the contracts between them. `Jit` itself is split along its jobs: this
//! file counts loops and functions to the recording threshold and starts and ends
//! recordings; `install` turns a recording into a native trace; `entry` runs native code
//! and handles its exits; `tree` holds the policies that give loops up and retire trees.
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
pub mod perf_map;
pub mod profile;
pub mod record;
pub mod report;
pub mod residual;
pub mod stats;

use std::rc::Rc;

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
/// Times an exit that may show a root recorded the rare side of a branch
/// (`Jit::rare_path_checked`) reaches its side trace through the exit handler before it
/// is linked to jump there natively; until then the handler can still retire the root
/// (`RARE_PATH_DISPATCHES`). Every other exit is linked at its first pass.
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
    /// Name each trace's machine code for `perf` (`--jit-perf-map`, `perf_map`).
    pub perf_map: bool,
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
            perf_map: false,
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
    perf_map: Option<perf_map::PerfMap>,
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

mod entry;
mod inspect;
mod install;
mod tree;
pub use entry::{Resume, ResumeHandler, World};
use inspect::snapshot_chain;
use install::ends_in_jump;
use tree::abort_limit;

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
            perf_map: options.perf_map.then(perf_map::PerfMap::create).flatten(),
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
}
