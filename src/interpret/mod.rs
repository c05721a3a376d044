//! The bytecode interpreter: one dispatch loop over a contiguous slot stack.
//!
//! Terms:
//! - The *slot stack* holds every frame's slots back to back. A call's frame starts just
//!   above its callee slot (`base + 1`), so arguments already sit in the callee's first
//!   slots; the result replaces the callee slot. Ruff calls never recurse in Rust, so the
//!   call depth is bounded only by `max_depth`.
//! - A *handler* is an installed `try`: the frame that installed it, where its `except`
//!   code starts, and the slot that receives the error value.
//! - A *safe point* follows every instruction that may allocate: all live values are in
//!   slots, globals or constants there, so the collector may run.
//!
//! Invariants:
//! - Every slot below the highest top of all active frames holds a value that has been a
//!   root at every collection since it was written (a new frame clears the slots its
//!   arguments do not fill), so the collector scans exactly that region. Slots above it
//!   are stale and never scanned: a callee's frame can end below its caller's, so the
//!   current frame's top is not enough.
//! - The operator, access and builtin semantics live in `runtime/` and `builtins/`; this
//!   loop only moves values between slots and calls them, so the JIT can share them.

mod caches;
mod calls;
pub mod error;
mod operands;
mod traces;

use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::compile::bytecode::{CaptureSource, Instr, Program, ProtoId};
use crate::jit::abort::AbortReason;
use crate::jit::record::{Recorder, Step, View};
use crate::jit::{profile, Jit, JitOptions};
use crate::parse::ast::Span;
use crate::runtime::access::{self, Mark};
use crate::runtime::heap::{Gc, Heap};
use crate::runtime::object::{new_struct, DictObj, FuncObj, TaggedObj};
use crate::runtime::ops::{ArithOp, CmpOp};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;
use crate::semantics::{self, Concrete};
use calls::MethodSite;
use error::{Raised, Uncaught};
use operands::error_text;
use traces::{AfterJit, LoopSite};

pub const DEFAULT_MAX_DEPTH: usize = 10_000;

/// Slots a frame's *window* spans: the stack always holds this many from the running
/// frame's base, so the window is a fixed-size array that any register (a `u16`) indexes
/// without a bounds check. A frame's own slots are at most `compile::function::MAX_SLOTS`.
const WINDOW: usize = 1 << 16;

/// The window of the frame whose slots start at `base` (the stack reaches that far).
#[inline(always)]
fn window(stack: &mut [Value], base: usize) -> &mut [Value; WINDOW] {
    stack[base..].first_chunk_mut().expect("the stack holds a window above every frame base")
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Ruff frames allowed at once, `<main>` not counted.
    pub max_depth: usize,
    /// Collect garbage at every safe point that follows an allocation.
    pub gc_stress: bool,
    /// `None` runs everything in the interpreter.
    pub jit: Option<JitOptions>,
}

impl Default for Options {
    fn default() -> Self {
        // Only x86-64 has a native backend; elsewhere the JIT stays off.
        let jit = cfg!(target_arch = "x86_64").then(JitOptions::default);
        Options { max_depth: DEFAULT_MAX_DEPTH, gc_stress: false, jit }
    }
}

/// Why `execute` returned.
enum Flow {
    Finished,
    /// Recording started or ended: run the other specialization of the dispatch loop.
    SwitchMode,
}

struct Frame {
    proto: ProtoId,
    /// `None` for methods, which are called without a closure.
    closure: Option<Gc<FuncObj>>,
    base: usize,
    /// The next instruction to run when this frame is resumed.
    pc: usize,
}

struct Handler {
    frame: usize,
    pc: usize,
    err_slot: usize,
}

pub struct Vm {
    program: Rc<Program>,
    heap: Heap,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    globals: Vec<Value>,
    handlers: Vec<Handler>,
    out: Box<dyn Write>,
    start_time: Instant,
    max_depth: usize,
    jit: Option<Box<Jit>>,
    recording: Option<(Recorder, Instant)>,
    /// What the interpreter itself ran (with or without the JIT), the reference the JIT's
    /// counters are checked against.
    counts: InterpreterCounts,
    /// With `--profile`: the samples taken so far.
    samples: Option<profile::Samples>,
}

/// Loop back-edges taken and Ruff function calls made by the interpreter. With
/// `--no-jit` they are all the program's; with the JIT, native code's are counted apart
/// (`jit::stats`), and the two must add up to the `--no-jit` numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterpreterCounts {
    pub back_edges: u64,
    pub calls: u64,
}

impl Vm {
    pub fn new(program: Program, heap: Heap, out: Box<dyn Write>, options: &Options) -> Vm {
        let mut heap = heap;
        heap.stress = options.gc_stress;
        // Constants are shared with every slot they are loaded into.
        for proto in &program.protos {
            for c in &proto.constants {
                c.mark_shared();
            }
        }
        let mut globals = vec![Value::Undef; program.globals.len()];
        for &(global, proto) in &program.initial_globals {
            globals[global as usize] = Value::Func(heap.alloc(FuncObj { proto, captures: Vec::new() }));
        }
        let mut program = program;
        program.reset_inline_caches();
        let program_for_jit = Rc::new(program);
        Vm {
            program: Rc::clone(&program_for_jit),
            heap,
            stack: Vec::new(),
            frames: Vec::new(),
            globals,
            handlers: Vec::new(),
            out,
            start_time: Instant::now(),
            max_depth: options.max_depth,
            jit: options.jit.clone().map(|o| Box::new(Jit::new(o, &program_for_jit))),
            recording: None,
            counts: InterpreterCounts::default(),
            samples: None,
        }
    }

    /// The JIT's statistics, brought up to date, if the JIT ran.
    pub fn jit_stats(&mut self) -> Option<&crate::jit::stats::Stats> {
        let jit = self.jit.as_deref_mut()?;
        jit.sync_counters();
        jit.stats.interpreted_calls = self.counts.calls;
        jit.stats.run_time = self.start_time.elapsed();
        Some(&jit.stats)
    }

    /// Starts the sampling profiler (`--profile`) for this run.
    pub fn start_profile(&mut self) -> std::io::Result<()> {
        profile::start()?;
        self.samples = Some(profile::Samples::default());
        Ok(())
    }

    /// Stops the profiler; the samples taken.
    pub fn finish_profile(&mut self) -> Option<profile::Samples> {
        profile::stop();
        let mut samples = self.samples.take()?;
        samples.collect();
        Some(samples)
    }

    /// The program being run.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// What the interpreter ran itself.
    pub fn interpreter_counts(&self) -> InterpreterCounts {
        self.counts
    }

    pub fn heap(&self) -> &Heap {
        &self.heap
    }

    /// The heap, for compiling more code into it (the REPL; no collection runs meanwhile).
    pub fn heap_mut(&mut self) -> &mut Heap {
        &mut self.heap
    }

    /// Runs `program`, which extends the one this VM ran so far (a REPL input: the same
    /// prototypes and globals plus new ones, `compile::session`), from its `<main>`, and
    /// returns the value that `<main>` returned. `new_functions` are the functions it
    /// declares. The JIT starts over on the new program (earlier traces are dropped).
    pub fn run_extension(&mut self, program: Program, new_functions: &[(u32, ProtoId)]) -> Result<Value, Uncaught> {
        for proto in &program.protos {
            for c in &proto.constants {
                c.mark_shared();
            }
        }
        self.globals.resize(program.globals.len(), Value::Undef);
        for &(global, proto) in new_functions {
            self.globals[global as usize] = Value::Func(self.heap.alloc(FuncObj { proto, captures: Vec::new() }));
        }
        let mut program = program;
        program.reset_inline_caches();
        let program = Rc::new(program);
        self.jit = self.jit.take().map(|jit| Box::new(Jit::new(jit.options().clone(), &program)));
        self.program = program;
        self.frames.clear();
        self.handlers.clear();
        self.recording = None;
        self.run()?;
        Ok(self.stack[0])
    }

    /// Runs `<main>` to completion.
    pub fn run(&mut self) -> Result<(), Uncaught> {
        let main = self.program.main;
        let closure = self.heap.alloc(FuncObj { proto: main, captures: Vec::new() });
        let slots = self.program.proto(main).num_slots as usize;
        // Room for the windows of the first frames, so that their calls do not grow the
        // stack (a window is 1 MiB, resident only as far as frames reach into it).
        self.stack = crate::runtime::heap::untouched_nulls((1 + WINDOW.max(slots)).max(2 * WINDOW));
        self.stack[0] = Value::Func(closure);
        self.frames.push(Frame { proto: main, closure: Some(closure), base: 1, pc: 0 });
        let result = self.run_frames();
        let flushed = self.out.flush();
        result?;
        flushed.map_err(|e| Uncaught {
            message: format!("Cannot write output: {}", e),
            file: 0,
            span: Span::default(),
            stack: Vec::new(),
        })
    }

    /// The end of the stack region active frames use. A callee's frame may end below its
    /// caller's, so this is the highest top of all frames, not the current one's.
    fn active_stack_top(&self) -> usize {
        let top = self.frames.iter().map(|f| f.base + self.program.proto(f.proto).num_slots as usize).max();
        top.unwrap_or(0).min(self.stack.len())
    }

    fn mark_roots(&self, marker: &mut crate::runtime::heap::Marker) {
        marker.mark_values(&self.stack[..self.active_stack_top()]);
        marker.mark_values(&self.globals);
        for proto in &self.program.protos {
            marker.mark_values(&proto.constants);
        }
        for frame in &self.frames {
            if let Some(c) = frame.closure {
                marker.mark(c);
            }
        }
        if let Some(jit) = self.jit.as_deref() {
            jit.mark_roots(marker);
        }
        if let Some((recorder, _)) = &self.recording {
            recorder.mark_roots(marker);
        }
    }

    fn collect_garbage(&mut self) {
        let mut heap = std::mem::take(&mut self.heap);
        heap.collect(|marker| self.mark_roots(marker));
        self.heap = heap;
    }

    /// Runs until `<main>` returns, switching between normal and recording dispatch.
    fn run_frames(&mut self) -> Result<(), Uncaught> {
        loop {
            let flow = match (self.recording.is_some(), self.samples.is_some()) {
                (true, _) => self.execute::<true, false>(),
                (false, true) => self.execute::<false, true>(),
                (false, false) => self.execute::<false, false>(),
            };
            if let Some(samples) = self.samples.as_mut() {
                samples.collect();
            }
            match flow {
                Ok(Flow::Finished) => return Ok(()),
                Ok(Flow::SwitchMode) => {}
                Err(uncaught) => {
                    self.end_recording(Err(AbortReason::ErrorRaised));
                    return Err(uncaught);
                }
            }
        }
    }

    /// The dispatch loop. `RECORDING` selects the specialization that shows every
    /// instruction to the trace recorder before executing it; the other one pays nothing
    /// for the JIT but a check at loop back-edges.
    ///
    /// `PROFILING` (`--profile`) stores the location of each instruction for the sampling
    /// profiler (`jit::profile`) before running it.
    fn execute<const RECORDING: bool, const PROFILING: bool>(&mut self) -> Result<Flow, Uncaught> {
        let program = Rc::clone(&self.program);
        'frames: loop {
            let frame = self.frames.last().expect("a frame is running");
            let proto_id = frame.proto;
            let proto = program.proto(proto_id);
            let code = &proto.code[..];
            let constants = &proto.constants[..];
            let base = frame.base;
            let mut pc = frame.pc;
            // The running frame's window of the slot stack (see `WINDOW`; whatever pushed
            // the frame made the stack reach that far). Taken again after anything that may
            // grow the stack (every call of a `&mut self` method).
            let mut slots = window(&mut self.stack, base);
            macro_rules! reload_slots {
                () => {
                    slots = window(&mut self.stack, base)
                };
            }

            let raised: Raised = 'dispatch: loop {
                // What the dispatch loop does after the JIT had its say at a loop (out of
                // line in `traces.rs`: keeping the JIT's code out of this loop keeps its
                // handlers short).
                macro_rules! after_jit {
                    ($after:expr) => {
                        match $after {
                            AfterJit::Stay => reload_slots!(),
                            AfterJit::Resume(at) => {
                                pc = at;
                                reload_slots!();
                            }
                            AfterJit::Frames => continue 'frames,
                            AfterJit::Return(flow) => return Ok(flow),
                        }
                    };
                }
                // A taken loop back-edge to `header`, from the instruction at `from`: count
                // it, start recording, or run the loop's trace.
                macro_rules! back_edge {
                    ($header:expr, $from:expr) => {
                        self.counts.back_edges += 1;
                        if PROFILING && profile::wants_drain() {
                            if let Some(samples) = self.samples.as_mut() {
                                samples.collect();
                            }
                        }
                        if self.jit.is_some() {
                            let at = LoopSite { proto: proto_id, base, top: base + proto.num_slots as usize, pc };
                            after_jit!(self.jit_back_edge::<RECORDING>(&program, at, $header as u32, $from as u32));
                        }
                    };
                }
                if RECORDING {
                    let (recorder, _) = self.recording.as_mut().expect("recording mode has a recorder");
                    let view = View {
                        program: &program,
                        slots: &slots[..proto.num_slots as usize],
                        globals: &self.globals,
                        frame_depth: self.frames.len(),
                        closure: self.frames.last().and_then(|f| f.closure),
                    };
                    let outcome = match recorder.step(pc as u32, &view) {
                        Step::Continue => None,
                        Step::Closed(trace) => Some(Ok(trace)),
                        Step::Abort(reason) => Some(Err(reason)),
                    };
                    if let Some(outcome) = outcome {
                        self.end_recording(outcome);
                        self.frames.last_mut().expect("a frame is running").pc = pc;
                        return Ok(Flow::SwitchMode);
                    }
                }
                macro_rules! slot {
                    ($r:expr) => {
                        slots[<usize as From<u16>>::from($r)]
                    };
                }
                // Leaves the dispatch loop with the error; it is handled once, below it.
                macro_rules! fail {
                    ($raised:expr) => {
                        break 'dispatch $raised
                    };
                }
                macro_rules! check {
                    ($result:expr) => {
                        match $result {
                            Ok(v) => v,
                            Err(m) => fail!(Raised::Message(error_text(m))),
                        }
                    };
                }
                macro_rules! safepoint {
                    () => {
                        if self.heap.wants_collection() {
                            self.collect_garbage();
                            reload_slots!();
                        }
                    };
                }
                // Two ints or two floats are computed inline (`semantics::arith_numbers`,
                // monomorphized for concrete values); everything else (mixed types,
                // strings) and every error (computed again there, to raise it) goes
                // through the out-of-line `arith_slow`, which may allocate.
                macro_rules! arith {
                    ($op:expr, $dst:expr, $lhs:expr, $b:expr) => {{
                        let a = slot!($lhs);
                        let b = $b;
                        match semantics::arith_numbers(&mut Concrete::pure(), $op, a, b) {
                            Ok(Some(v)) => slot!($dst) = v,
                            _ => {
                                let reuse = $op == ArithOp::Add && $dst == $lhs;
                                check!(operands::arith_slow(&mut self.heap, $op, a, b, reuse))
                                    .relay()
                                    .store(&mut slot!($dst));
                                safepoint!();
                            }
                        }
                    }};
                }
                // An element or field read, one handler per way of marking the result
                // (`access::Mark`), so that each handler's marking is known when compiled.
                macro_rules! index_into {
                    ($dst:expr, $obj:expr, $index:expr, $mark:expr) => {{
                        let (container, key) = (slot!($obj).relay_copy(), slot!($index).relay_copy());
                        let domain = &mut Concrete::with_heap(&mut self.heap);
                        check!(semantics::index_into(domain, container, key, $mark, &mut slot!($dst)));
                        // Indexing a string allocates its character; an array's element is
                        // read in place, with no safe point needed.
                        if !matches!(container, Value::Array(_)) {
                            safepoint!();
                        }
                    }};
                }
                macro_rules! field_into {
                    ($dst:expr, $obj:expr, $name:expr, $mark:expr) => {{
                        let (name, holder, site) =
                            (Symbol($name as u32), slot!($obj).relay_copy(), &proto.inline_caches[pc - 1]);
                        let position = check!(semantics::field_into(
                            &mut Concrete::with_heap(&mut self.heap),
                            holder,
                            name,
                            caches::field_guess(site),
                            || program.symbols.name(name),
                            $mark,
                            &mut slot!($dst)
                        ));
                        caches::remember_field(site, position);
                    }};
                }
                macro_rules! jump {
                    ($offset:expr) => {
                        pc = (pc as i64 + $offset as i64) as usize
                    };
                }
                macro_rules! test {
                    ($cond:expr) => {{
                        if $cond {
                            pc += 1;
                        } else {
                            let Instr::Jump { offset } = code[pc] else { unreachable!("a test is followed by a jump") };
                            pc += 1;
                            jump!(offset);
                        }
                    }};
                }
                // Operands are read as tag and payload (`Value::relay_copy`): often one
                // was written just before.
                macro_rules! compare {
                    ($op:expr, $a:expr, $b:expr) => {
                        check!(semantics::compare(&mut Concrete::pure(), $op, $a.relay_copy(), $b.relay_copy()))
                    };
                }
                macro_rules! equal {
                    ($a:expr, $b:expr) => {
                        check!(semantics::equal(&mut Concrete::pure(), $a.relay_copy(), $b.relay_copy()))
                    };
                }
                macro_rules! not_equal {
                    ($a:expr, $b:expr) => {
                        check!(semantics::not_equal(&mut Concrete::pure(), $a.relay_copy(), $b.relay_copy()))
                    };
                }

                if PROFILING {
                    profile::LOCATION.store((proto_id.0 as u64) << 32 | pc as u64, Ordering::Relaxed);
                }
                let instr = code[pc];
                pc += 1;
                match instr {
                    // A marking move copies the value whole: relaying it too (`Relay`) made a
                    // loop of moves 1.5x slower (fib_iter --no-jit, AMD EPYC). A move that
                    // does not mark is relayed: its source is often a result written just
                    // before as tag and payload (fib_iter --no-jit 0.85 of the CPU).
                    Instr::Move { dst, src } => {
                        slot!(src).mark_shared();
                        slot!(dst) = slot!(src);
                    }
                    Instr::MoveOwned { dst, src } | Instr::Borrow { dst, src } => {
                        let value = slot!(src).relay();
                        value.store(&mut slot!(dst));
                    }
                    Instr::LoadConst { dst, index } => slot!(dst) = constants[index as usize],
                    Instr::LoadInt { dst, value } => slot!(dst) = Value::Int(value as i64),
                    Instr::LoadNull { dst } => slot!(dst) = Value::Null,
                    Instr::LoadBool { dst, value } => slot!(dst) = Value::Bool(value),
                    Instr::LoadSelfFunc { dst } => {
                        let closure = self.frames.last().and_then(|f| f.closure);
                        slot!(dst) = closure.map_or(Value::Null, Value::Func);
                    }
                    // The tag is tested through a reference and the value copied whole:
                    // testing a copied value made the compiler split it into its tag and
                    // the other 15 bytes, spilled with overlapping stores, a
                    // store-forwarding stall on every read of a global.
                    Instr::GetGlobal { dst, global } => {
                        let source = &self.globals[global as usize];
                        if matches!(source, Value::Undef) {
                            fail!(self.undefined_global(global));
                        }
                        source.mark_shared();
                        slot!(dst) = *source;
                    }
                    Instr::TakeGlobal { dst, global } => {
                        let source = &self.globals[global as usize];
                        if matches!(source, Value::Undef) {
                            fail!(self.undefined_global(global));
                        }
                        slot!(dst) = *source;
                    }
                    Instr::SetGlobal { global, src } => slot!(src).relay().store(&mut self.globals[global as usize]),
                    Instr::GetCapture { dst, index } | Instr::TakeCapture { dst, index } => {
                        let closure = self.frames.last().and_then(|f| f.closure).expect("only closures capture");
                        let v = closure.captures[index as usize];
                        if matches!(instr, Instr::GetCapture { .. }) {
                            v.mark_shared();
                        }
                        slot!(dst) = v;
                    }
                    Instr::Lend { src } => slot!(src).lend(),
                    Instr::EndLoan { src } => slot!(src).end_loan(),
                    Instr::SetCapture { index, src } => {
                        let closure = self.frames.last().and_then(|f| f.closure).expect("only closures capture");
                        slot!(src).relay().store(&mut closure.get_mut(&mut self.heap).captures[index as usize]);
                    }

                    Instr::Add { dst, lhs, rhs } => arith!(ArithOp::Add, dst, lhs, slot!(rhs)),
                    Instr::Sub { dst, lhs, rhs } => arith!(ArithOp::Sub, dst, lhs, slot!(rhs)),
                    Instr::Mul { dst, lhs, rhs } => arith!(ArithOp::Mul, dst, lhs, slot!(rhs)),
                    Instr::Div { dst, lhs, rhs } => arith!(ArithOp::Div, dst, lhs, slot!(rhs)),
                    Instr::Mod { dst, lhs, rhs } => arith!(ArithOp::Mod, dst, lhs, slot!(rhs)),
                    Instr::AddK { dst, lhs, index } => {
                        arith!(ArithOp::Add, dst, lhs, constants[index as usize])
                    }
                    Instr::SubK { dst, lhs, index } => {
                        arith!(ArithOp::Sub, dst, lhs, constants[index as usize])
                    }
                    Instr::MulK { dst, lhs, index } => {
                        arith!(ArithOp::Mul, dst, lhs, constants[index as usize])
                    }
                    Instr::DivK { dst, lhs, index } => {
                        arith!(ArithOp::Div, dst, lhs, constants[index as usize])
                    }
                    Instr::ModK { dst, lhs, index } => {
                        arith!(ArithOp::Mod, dst, lhs, constants[index as usize])
                    }
                    Instr::Neg { dst, src } => {
                        slot!(dst) = check!(semantics::negate(&mut Concrete::pure(), slot!(src)))
                    }
                    Instr::Not { dst, src } => slot!(dst) = check!(semantics::not(&mut Concrete::pure(), slot!(src))),
                    Instr::Eq { dst, lhs, rhs } => slot!(dst) = Value::Bool(equal!(slot!(lhs), slot!(rhs))),
                    Instr::Ne { dst, lhs, rhs } => slot!(dst) = Value::Bool(not_equal!(slot!(lhs), slot!(rhs))),
                    Instr::Lt { dst, lhs, rhs } => {
                        slot!(dst) = Value::Bool(compare!(CmpOp::Lt, slot!(lhs), slot!(rhs)))
                    }
                    Instr::Le { dst, lhs, rhs } => {
                        slot!(dst) = Value::Bool(compare!(CmpOp::Le, slot!(lhs), slot!(rhs)))
                    }
                    Instr::Gt { dst, lhs, rhs } => {
                        slot!(dst) = Value::Bool(compare!(CmpOp::Gt, slot!(lhs), slot!(rhs)))
                    }
                    Instr::Ge { dst, lhs, rhs } => {
                        slot!(dst) = Value::Bool(compare!(CmpOp::Ge, slot!(lhs), slot!(rhs)))
                    }
                    Instr::ToBool { dst, src } => slot!(dst) = Value::Bool(slot!(src).is_truthy()),

                    Instr::TestLt { lhs, rhs } => {
                        test!(compare!(CmpOp::Lt, slot!(lhs), slot!(rhs)))
                    }
                    Instr::TestLe { lhs, rhs } => {
                        test!(compare!(CmpOp::Le, slot!(lhs), slot!(rhs)))
                    }
                    Instr::TestGt { lhs, rhs } => {
                        test!(compare!(CmpOp::Gt, slot!(lhs), slot!(rhs)))
                    }
                    Instr::TestGe { lhs, rhs } => {
                        test!(compare!(CmpOp::Ge, slot!(lhs), slot!(rhs)))
                    }
                    Instr::TestEq { lhs, rhs } => test!(equal!(slot!(lhs), slot!(rhs))),
                    Instr::TestNe { lhs, rhs } => test!(not_equal!(slot!(lhs), slot!(rhs))),
                    Instr::TestLtK { lhs, index } => {
                        test!(compare!(CmpOp::Lt, slot!(lhs), constants[index as usize]))
                    }
                    Instr::TestLeK { lhs, index } => {
                        test!(compare!(CmpOp::Le, slot!(lhs), constants[index as usize]))
                    }
                    Instr::TestGtK { lhs, index } => {
                        test!(compare!(CmpOp::Gt, slot!(lhs), constants[index as usize]))
                    }
                    Instr::TestGeK { lhs, index } => {
                        test!(compare!(CmpOp::Ge, slot!(lhs), constants[index as usize]))
                    }
                    Instr::TestEqK { lhs, index } => {
                        test!(equal!(slot!(lhs), constants[index as usize]))
                    }
                    Instr::TestNeK { lhs, index } => {
                        test!(not_equal!(slot!(lhs), constants[index as usize]))
                    }
                    // `==` with a constant null operand: inlined, it tests the tag alone.
                    Instr::TestNull { src } => test!(equal!(slot!(src), Value::Null)),
                    Instr::TestNotNull { src } => test!(not_equal!(slot!(src), Value::Null)),
                    Instr::Test { src } => test!(slot!(src).is_truthy()),
                    Instr::TestTag { src, pattern } => {
                        let pattern = &proto.tag_patterns[pattern as usize];
                        let matched = match slot!(src) {
                            Value::Tagged(t) => {
                                t.tag == pattern.tag && pattern.enum_name.is_none_or(|e| e == t.enum_name)
                            }
                            _ => false,
                        };
                        test!(matched)
                    }

                    Instr::LoopEntry => {
                        if !RECORDING && self.jit.is_some() {
                            let at = LoopSite { proto: proto_id, base, top: base + proto.num_slots as usize, pc };
                            after_jit!(self.jit_loop_entry(&program, at));
                        }
                    }
                    Instr::Jump { offset } => {
                        jump!(offset);
                        if offset < 0 {
                            back_edge!(pc, pc as i64 - 1 - offset as i64);
                        }
                    }
                    Instr::JumpIfFalse { src, offset } => {
                        if !slot!(src).is_truthy() {
                            jump!(offset)
                        }
                    }
                    Instr::JumpIfTrue { src, offset } => {
                        if slot!(src).is_truthy() {
                            jump!(offset)
                        }
                    }
                    Instr::JumpIfNotNull { src, offset } => {
                        if !matches!(slot!(src), Value::Null) {
                            jump!(offset)
                        }
                    }

                    Instr::Call { base: callee, argc, lent } => {
                        self.frames.last_mut().expect("a frame is running").pc = pc;
                        let first = usize::from(callee);
                        if lent != 0 {
                            // Only the arguments to share are visited (one bit each).
                            let mut share = program.lent_arguments_to_share(slots[first], lent);
                            while share != 0 {
                                slots[first + 1 + share.trailing_zeros() as usize].mark_shared();
                                share &= share - 1;
                            }
                        }
                        // The callee's tag is tested in its slot: a copy of the value was
                        // spilled to the stack and its tag read back from there. (The `&`
                        // patterns are the form measured; clippy prefers matching the place.)
                        #[allow(clippy::match_ref_pats)]
                        let pushed = match &slots[first] {
                            &Value::Func(f) => {
                                check!(self.call_function(&program, f, base + first, argc as usize));
                                true
                            }
                            &other => check!(self.call_other(other, base + first, argc as usize)),
                        };
                        if pushed {
                            // Tested here so that a run without the JIT makes no call.
                            if !RECORDING && self.jit.is_some() {
                                if let Some(flow) = self.function_entry(&program) {
                                    return flow;
                                }
                            }
                            continue 'frames;
                        }
                        reload_slots!();
                        safepoint!();
                    }
                    Instr::CallMethod { base: callee, name, argc }
                    | Instr::CallMethodLent { base: callee, name, argc } => {
                        let lent = matches!(instr, Instr::CallMethodLent { .. });
                        self.frames.last_mut().expect("a frame is running").pc = pc;
                        let (name, site) = (Symbol(name as u32), &proto.inline_caches[pc - 1]);
                        let receiver_type = match &slots[usize::from(callee) + 1] {
                            Value::Struct(receiver) => Some(receiver.type_index),
                            _ => None,
                        };
                        let (at, argc) = (base + callee as usize, argc as usize);
                        if check!(self.call_method(
                            &program,
                            receiver_type,
                            at,
                            MethodSite { name, cache: site },
                            argc,
                            lent
                        )) {
                            continue 'frames;
                        }
                        reload_slots!();
                        safepoint!();
                    }
                    Instr::Return { src } => {
                        // Often a result computed just before (`return a + b`): see `Relay`.
                        let result = slot!(src).relay();
                        self.return_from_frame(result);
                        if self.frames.is_empty() {
                            return Ok(Flow::Finished);
                        }
                        continue 'frames;
                    }
                    Instr::ReturnNull => {
                        self.return_from_frame(Value::Null.relay());
                        if self.frames.is_empty() {
                            return Ok(Flow::Finished);
                        }
                        continue 'frames;
                    }
                    Instr::Closure { dst, proto: child } => {
                        let current = self.frames.last().and_then(|f| f.closure);
                        let captures = program
                            .proto(ProtoId(child))
                            .captures
                            .iter()
                            .map(|source| {
                                let v = match *source {
                                    CaptureSource::Slot(s) => slot!(s),
                                    CaptureSource::Capture(i) => {
                                        current.map_or(Value::Null, |c| c.captures[i as usize])
                                    }
                                    CaptureSource::CurrentClosure => current.map_or(Value::Null, Value::Func),
                                };
                                v.mark_shared();
                                v
                            })
                            .collect();
                        let f = self.heap.alloc(FuncObj { proto: ProtoId(child), captures });
                        slot!(dst) = Value::Func(f);
                        safepoint!();
                    }

                    Instr::NewArray { dst, start, count } => {
                        let first = usize::from(start);
                        let items = slots[first..first + count as usize].to_vec();
                        slot!(dst) = access::new_array(&mut self.heap, items);
                        safepoint!();
                    }
                    Instr::ArrayAppend { array, src } => {
                        let value = slot!(src);
                        let mut holder = slot!(array);
                        access::array_push(&mut self.heap, &mut holder, value).expect("literal arrays are arrays");
                        slot!(array) = holder;
                        safepoint!();
                    }
                    Instr::ArraySpread { array, src } => {
                        let Value::Array(target) = slot!(array) else { unreachable!("literal arrays are arrays") };
                        if let Err(message) = access::spread_into_array(&mut self.heap, target, slot!(src)) {
                            fail!(Raised::Message(message));
                        }
                        safepoint!();
                    }
                    Instr::NewDict { dst } => {
                        slot!(dst) = Value::Dict(self.heap.alloc(DictObj::default()));
                        safepoint!();
                    }
                    Instr::DictInsert { dict, key, value } => {
                        if !matches!(slot!(key), Value::Str(_)) {
                            fail!(Raised::Message("Dict keys must be strings".into()));
                        }
                        let (key, value) = (slot!(key), slot!(value));
                        let mut holder = slot!(dict);
                        check!(semantics::set_index(&mut Concrete::with_heap(&mut self.heap), &mut holder, key, value));
                        slot!(dict) = holder;
                        safepoint!();
                    }
                    Instr::DictSpread { dict, src } => {
                        let Value::Dict(target) = slot!(dict) else { unreachable!("literal dicts are dicts") };
                        if let Err(message) = access::spread_into_dict(&mut self.heap, target, slot!(src)) {
                            fail!(Raised::Message(message));
                        }
                        safepoint!();
                    }
                    Instr::NewStruct { dst, literal, start } => {
                        let literal = &proto.struct_literals[literal as usize];
                        let first = usize::from(start);
                        let fields = literal.fields.iter().copied().zip(slots[first..].iter().copied());
                        let s = new_struct(&mut self.heap, literal.type_index, fields);
                        slot!(dst) = Value::Struct(s);
                        safepoint!();
                    }
                    Instr::NewTagged { dst, ctor, start } => {
                        let ctor = &proto.tag_ctors[ctor as usize];
                        let first = usize::from(start);
                        let payload = slots[first..first + ctor.arity as usize].to_vec();
                        let t = self.heap.alloc(TaggedObj { enum_name: ctor.enum_name, tag: ctor.tag, payload });
                        slot!(dst) = Value::Tagged(t);
                        safepoint!();
                    }
                    Instr::GetPayload { dst, src } => {
                        let v = match slot!(src) {
                            Value::Tagged(t) => t.payload.first().copied().unwrap_or(Value::Null),
                            _ => Value::Null,
                        };
                        v.mark_shared();
                        slot!(dst) = v;
                    }

                    Instr::GetIndex { dst, obj, index } => index_into!(dst, obj, index, Mark::Shared),
                    Instr::PeekIndex { dst, obj, index } => index_into!(dst, obj, index, Mark::Unmarked),
                    Instr::GetIndexForWrite { dst, obj, index } => {
                        // The holder is updated in its slot (see `access::Mark` for why);
                        // the write functions change it only once nothing can fail.
                        let index = slot!(index);
                        // Any value will do: `index_for_write` overwrites it (a constant
                        // here cost every instruction's dispatch a register zeroing).
                        let mut element = index;
                        let domain = &mut Concrete::with_heap(&mut self.heap);
                        check!(semantics::index_for_write(domain, &mut slot!(obj), index, &mut element));
                        element.relay().store(&mut slot!(dst));
                        safepoint!();
                    }
                    Instr::SetIndex { obj, index, src } => {
                        let (index, value) = (slot!(index).relay_copy(), slot!(src).relay_copy());
                        let domain = &mut Concrete::with_heap(&mut self.heap);
                        check!(semantics::set_index(domain, &mut slot!(obj), index, value));
                        safepoint!();
                    }
                    Instr::GetField { dst, obj, name } => field_into!(dst, obj, name, Mark::Shared),
                    Instr::TakeField { dst, obj, name } => field_into!(dst, obj, name, Mark::IfHolderShared),
                    Instr::PeekField { dst, obj, name } => field_into!(dst, obj, name, Mark::Unmarked),
                    Instr::GetFieldForWrite { dst, obj, name } => {
                        let name = Symbol(name as u32);
                        let mut element = slot!(obj);
                        let domain = &mut Concrete::with_heap(&mut self.heap);
                        let name_text = || program.symbols.name(name);
                        check!(semantics::field_for_write(domain, &mut slot!(obj), name, name_text, &mut element));
                        element.relay().store(&mut slot!(dst));
                        safepoint!();
                    }
                    Instr::SetField { obj, name, src } => {
                        let (name, value, site) =
                            (Symbol(name as u32), slot!(src).relay_copy(), &proto.inline_caches[pc - 1]);
                        let position = check!(semantics::set_field(
                            &mut Concrete::with_heap(&mut self.heap),
                            &mut slot!(obj),
                            name,
                            caches::field_guess(site),
                            || program.symbols.name(name),
                            value
                        ));
                        caches::remember_field(site, position);
                        safepoint!();
                    }

                    Instr::ToStr { dst, src } => {
                        let v = slot!(src);
                        slot!(dst) = check!(semantics::text_of(&mut Concrete::with_heap(&mut self.heap), &program, v));
                        safepoint!();
                    }
                    Instr::Concat { dst, start, count } => {
                        let first = usize::from(start);
                        let parts = &slots[first..first + count as usize];
                        slot!(dst) = check!(semantics::join(&mut Concrete::with_heap(&mut self.heap), parts));
                        safepoint!();
                    }

                    Instr::ForPrep { base: b, offset } => {
                        let source =
                            check!(semantics::iteration_source(&mut Concrete::with_heap(&mut self.heap), slot!(b)));
                        slot!(b) = source;
                        slot!(b + 1) = Value::Int(0);
                        jump!(offset);
                        safepoint!();
                    }
                    Instr::ForNext { base: b, offset } => {
                        let &Value::Int(position) = &slot!(b + 1) else { unreachable!("ForPrep set the position") };
                        let (source, domain) = (slot!(b), &mut Concrete::with_heap(&mut self.heap));
                        if let Some(next) = check!(semantics::next_item(domain, source, position, &mut slot!(b + 2))) {
                            slot!(b + 1) = Value::Int(next);
                            let from = pc - 1;
                            jump!(offset);
                            safepoint!();
                            back_edge!(pc, from);
                        }
                    }
                    Instr::ForRangePrep { base: b, offset } => {
                        let bounds = [slot!(b), slot!(b + 1), slot!(b + 2)];
                        let [start, stop, step] = check!(semantics::range_bounds(&mut Concrete::pure(), bounds));
                        slot!(b) = Value::Int(start);
                        slot!(b + 1) = Value::Int(stop);
                        slot!(b + 2) = Value::Int(step);
                        jump!(offset);
                    }
                    Instr::ForRangeNext { base: b, offset } => {
                        // Read through references: slots copied whole made the compiler carry
                        // the padding bytes of `b`'s slot into the loop variable's (four more
                        // moves, through the stack, per iteration).
                        let (&Value::Int(current), &Value::Int(stop), &Value::Int(step)) =
                            (&slot!(b), &slot!(b + 1), &slot!(b + 2))
                        else {
                            unreachable!("ForRangePrep set ints")
                        };
                        let domain = &mut Concrete::with_heap(&mut self.heap);
                        if let Some(next) = check!(semantics::range_next(domain, current, stop, step)) {
                            slot!(b + 3) = Value::Int(current);
                            slot!(b) = Value::Int(next);
                            let from = pc - 1;
                            jump!(offset);
                            back_edge!(pc, from);
                        }
                    }

                    Instr::Throw { src } => fail!(Raised::Thrown(slot!(src))),
                    Instr::TryBegin { err, offset } => {
                        let handler_pc = (pc as i64 + offset as i64) as usize;
                        self.handlers.push(Handler {
                            frame: self.frames.len() - 1,
                            pc: handler_pc,
                            err_slot: base + err as usize,
                        });
                    }
                    Instr::TryEnd => {
                        self.handlers.pop();
                    }
                    Instr::Raise { message } => {
                        let Value::Str(text) = constants[message as usize] else {
                            unreachable!("Raise names a string constant")
                        };
                        fail!(Raised::Message(text.text.clone()));
                    }
                }
            };
            self.frames.last_mut().expect("a frame is running").pc = pc;
            self.unwind(raised)?;
            if RECORDING {
                self.end_recording(Err(AbortReason::ErrorRaised));
                return Ok(Flow::SwitchMode);
            }
        }
    }
}
