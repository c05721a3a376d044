//! Where the interpreter meets the JIT: at loops (a back-edge counted towards recording,
//! a recording started, a loop's trace run), handing a finished recording over, entering a
//! function's trace when its frame is pushed, and rebuilding the frames and handlers of
//! calls a trace had inlined when it exits.
//!
//! Everything here is out of line (`#[inline(never)]` where the dispatch loop calls it):
//! the loop only tests whether the JIT is on and acts on the [`AfterJit`] it gets back, so
//! the JIT's code takes no room in its handlers.

use std::rc::Rc;
use std::time::Instant;

use super::error::Uncaught;
use super::{Flow, Frame, Handler, Vm, WINDOW};
use crate::compile::bytecode::Program;
use crate::compile::bytecode::ProtoId;
use crate::jit::abort::AbortReason;
use crate::jit::ir::Trace;
use crate::jit::{BackEdge, FunctionEntry};
use crate::runtime::value::Value;

/// Where the dispatch loop stands when it meets the JIT at a loop: the running frame's
/// prototype, the first slot and the end of its slots, and the next pc.
pub(super) struct LoopSite {
    pub proto: ProtoId,
    pub base: usize,
    pub top: usize,
    pub pc: usize,
}

/// What the dispatch loop does next after the JIT had its say at a loop.
pub(super) enum AfterJit {
    /// Go on at the pc it had.
    Stay,
    /// A trace ran and exited into the same frame: go on at this pc.
    Resume(usize),
    /// The frames changed (a trace exited in a callee or returned): reload the top frame.
    Frames,
    /// Leave the dispatch loop (recording started or ended, or `<main>` returned).
    Return(Flow),
}

impl Vm {
    /// A taken loop back-edge to `header` (from the instruction at `from`), with the JIT
    /// on: counts it, starts recording the loop, or runs its trace.
    #[inline(never)]
    pub(super) fn jit_back_edge<const RECORDING: bool>(
        &mut self,
        program: &Rc<Program>,
        at: LoopSite,
        header: u32,
        from: u32,
    ) -> AfterJit {
        let Some(jit) = self.jit.as_deref_mut() else { return AfterJit::Stay };
        match jit.back_edge(at.proto, header) {
            BackEdge::Interpret => AfterJit::Stay,
            BackEdge::Record if !RECORDING => {
                let recorder = jit.start_recording(program, at.proto, header, from, self.frames.len());
                self.recording = Some((recorder, Instant::now()));
                self.frames.last_mut().expect("a frame is running").pc = at.pc;
                AfterJit::Return(Flow::SwitchMode)
            }
            BackEdge::Enter(trace) if !RECORDING => self.run_loop_trace(program, trace, at),
            BackEdge::Record | BackEdge::Enter(_) => AfterJit::Stay,
        }
    }

    /// `LoopEntry` with the JIT on (not recording): runs the loop's trace if it has one.
    #[inline(never)]
    pub(super) fn jit_loop_entry(&mut self, program: &Rc<Program>, at: LoopSite) -> AfterJit {
        match self.jit.as_deref().and_then(|jit| jit.loop_entry(at.proto, at.pc as u32)) {
            Some(trace) => self.run_loop_trace(program, trace, at),
            None => AfterJit::Stay,
        }
    }

    /// Runs compiled trace `trace` on the frame at `at` and resumes where it exits: in this
    /// frame, in frames of inlined calls the exit rebuilds, or recording a side trace. A
    /// trace whose exits could push frames past the depth limit is not entered: the
    /// interpreter raises the limit's error at the right call.
    fn run_loop_trace(&mut self, program: &Rc<Program>, trace: u32, at: LoopSite) -> AfterJit {
        let Some(jit) = self.jit.as_deref_mut() else { return AfterJit::Stay };
        let needs = jit.frame_needs(trace);
        let depth = self.frames.len();
        if depth + needs.inlined_frames > self.max_depth + 1 {
            return AfterJit::Stay;
        }
        // Native recursion (function traces) may stack frames up to the depth limit, each
        // `level_stride` slots above the last.
        let budget = (self.max_depth + 1 - depth - needs.inlined_frames).min(crate::jit::abi::MAX_NATIVE_DEPTH);
        let levels = if needs.level_stride > 0 { budget } else { 0 };
        let end = at.top.max(at.base + needs.extent + levels * needs.level_stride);
        if self.stack.len() < end {
            self.stack.resize(end, Value::Null);
        }
        let slots = &mut self.stack[at.base..end];
        let world = crate::jit::World { out: &mut *self.out, start_time: self.start_time };
        let resume = jit.enter(program, trace, depth, slots, &mut self.globals, &mut self.heap, budget, world);
        self.heap.note_native_growth(jit.take_heap_growth());
        if resume.returned {
            if self.pop_returned_frame() {
                return AfterJit::Return(Flow::Finished);
            }
            return AfterJit::Frames;
        }
        let pc = resume.pc as usize;
        let in_callee = !resume.frames.is_empty();
        self.rebuild_exit_frames(at.base, &resume, pc);
        if let Some(recorder) = resume.record_side {
            self.recording = Some((recorder, Instant::now()));
            self.frames.last_mut().expect("a frame is running").pc = pc;
            return AfterJit::Return(Flow::SwitchMode);
        }
        if in_callee {
            AfterJit::Frames
        } else {
            AfterJit::Resume(pc)
        }
    }

    /// Hands a finished or aborted recording to the JIT.
    pub(super) fn end_recording(&mut self, outcome: Result<Trace, AbortReason>) {
        if let (Some((recorder, started)), Some(jit)) = (self.recording.take(), self.jit.as_deref_mut()) {
            jit.finish_recording(&self.program, recorder, outcome, started.elapsed());
        }
    }

    /// A Ruff function's frame was just pushed: counts the call towards recording the
    /// function, starts recording it, or runs its trace (then continues with whatever
    /// frame is on top). `Some` when the dispatch loop must return.
    pub(super) fn function_entry(&mut self, program: &Rc<Program>) -> Option<Result<Flow, Uncaught>> {
        let jit = self.jit.as_deref_mut()?;
        let frame = self.frames.last().expect("a frame was pushed");
        let function = frame.closure?;
        match jit.function_entry(function) {
            FunctionEntry::Interpret => None,
            FunctionEntry::Record => {
                let recorder = jit.start_function_recording(program, function, self.frames.len());
                self.recording = Some((recorder, Instant::now()));
                Some(Ok(Flow::SwitchMode))
            }
            FunctionEntry::Enter(trace) => {
                let base = frame.base;
                let needs = jit.frame_needs(trace);
                let depth = self.frames.len();
                if depth + needs.inlined_frames > self.max_depth + 1 {
                    return None;
                }
                let budget = (self.max_depth + 1 - depth - needs.inlined_frames).min(crate::jit::abi::MAX_NATIVE_DEPTH);
                let top = base + program.proto(function.proto).num_slots as usize;
                let end = top.max(base + needs.extent + budget * needs.level_stride);
                if self.stack.len() < end {
                    self.stack.resize(end, Value::Null);
                }
                let slots = &mut self.stack[base..end];
                let world = crate::jit::World { out: &mut *self.out, start_time: self.start_time };
                let resume = jit.enter(program, trace, depth, slots, &mut self.globals, &mut self.heap, budget, world);
                self.heap.note_native_growth(jit.take_heap_growth());
                if resume.returned {
                    return self.pop_returned_frame().then_some(Ok(Flow::Finished));
                }
                self.rebuild_exit_frames(base, &resume, resume.pc as usize);
                if let Some(recorder) = resume.record_side {
                    self.recording = Some((recorder, Instant::now()));
                    return Some(Ok(Flow::SwitchMode));
                }
                None
            }
        }
    }

    /// Pushes the frames of calls a trace had inlined when it exited (each caller resumes
    /// after its call, and the innermost frame at `pc`), then the `try` handlers it had
    /// installed, after removing those it left that were installed before it. `base` is
    /// the trace's frame base; the exit has already written every
    /// slot of the new frames.
    pub(super) fn rebuild_exit_frames(&mut self, base: usize, resume: &crate::jit::Resume, pc: usize) {
        let entered = self.frames.len() - 1;
        for frame in &resume.frames {
            self.frames.last_mut().expect("a frame is running").pc = frame.return_pc as usize;
            self.frames.push(Frame { proto: frame.proto, closure: frame.closure, base: base + frame.base, pc: 0 });
            // The frame's window (`WINDOW`), which the dispatch loop takes when it resumes.
            if self.stack.len() < base + frame.base + WINDOW {
                self.stack.resize(base + frame.base + WINDOW, Value::Null);
            }
        }
        self.frames.last_mut().expect("a frame is running").pc = pc;
        self.handlers.truncate(self.handlers.len() - resume.handlers_left);
        for handler in &resume.handlers {
            self.handlers.push(Handler {
                frame: entered + handler.frame,
                pc: handler.pc,
                err_slot: base + handler.err_slot,
            });
        }
    }

    /// A trace returned from the current frame's function (the result is in the slot below
    /// the frame already): pops the frame and its handlers. True when that was `<main>`.
    pub(super) fn pop_returned_frame(&mut self) -> bool {
        let depth = self.frames.len() - 1;
        while self.handlers.last().is_some_and(|h| h.frame >= depth) {
            self.handlers.pop();
        }
        self.frames.pop();
        self.frames.is_empty()
    }
}
