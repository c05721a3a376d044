//! Running native code for the interpreter and handing its exits back: entering a root
//! trace (and following native jumps into side traces and other trees), restoring the
//! interpreter's frames from an exit's snapshot (native recursion levels and inlined
//! frames included), and deciding at each exit whether to link it, record a side trace
//! from it, or retire the tree (the policies are in `tree.rs`).
//!
//! Terms: a *level* is a frame of native recursion (a function trace calling itself);
//! `Resume` is where the interpreter goes on.
//!
//! Invariant: every slot an exit hands to the interpreter holds a live value: snapshot
//! values are restored, and slots of native levels no instruction may read are cleared
//! (`clear_dead_slots`), since the collector scans whole frames.

use std::time::Instant;

use super::*;

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
    /// How many handlers installed before the trace (the innermost of the interpreter's)
    /// the trace removed: popped before `handlers` are pushed.
    pub handlers_left: usize,
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

/// The slots snapshot `exit` of `trace` gives constant values.
fn snapshot_constants(trace: &Trace, exit: SnapIdx) -> Vec<(u16, Op, Ty)> {
    trace.snapshots[exit.index()]
        .restored_entries()
        .map(|&(slot, value)| (slot, trace.inst(value)))
        .filter(|(_, inst)| inst.op.is_constant())
        .map(|(slot, inst)| (slot, inst.op, inst.ty))
        .collect()
}

impl Jit {
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
                return Resume {
                    pc: 0,
                    frames: Vec::new(),
                    handlers: Vec::new(),
                    handlers_left: 0,
                    record_side: None,
                    returned: true,
                };
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
            let left = native.trace.snapshots[exit.index()].handlers_left;
            let handlers_left = usize::from(left);
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
                    return Resume { pc, frames, handlers, handlers_left, record_side: None, returned: false };
                }
            }
            let tree_full = self.native(root).side_traces >= MAX_SIDE_TRACES;
            let iterations = self.exit_state.loop_iterations;
            if tree_full && self.covers_too_few_paths(root, current, exit, iterations) {
                self.retire_root(root, AbortReason::TooManyPaths, Retry::Pointless);
                return Resume { pc, frames, handlers, handlers_left, record_side: None, returned: false };
            }
            let unprofitable = current == root
                && self.function_exits_often(root, exit)
                && !matches!(self.functions[self.native(root).proto.0 as usize], LoopState::Blacklisted);
            let native = &mut self.traces[(current - self.first_trace) as usize];
            match native.side_exits[exit.index()] {
                SideState::Compiled(side) => {
                    if current == root && self.took_rare_path(root, exit) {
                        self.retire_root(root, AbortReason::RarePathRecorded, Retry::Allowed);
                        return Resume { pc, frames, handlers, handlers_left, record_side: None, returned: false };
                    }
                    if !self.rare_path_checked(root, current, exit)
                        || self.stats.traces[current as usize].handled_exits[exit.index()] >= LINK_AFTER_EXITS
                    {
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
                    let recorder =
                        Recorder::for_side_trace(side_of, base, &inlined, &installed, left, &constants, program);
                    return Resume {
                        pc,
                        frames,
                        handlers,
                        handlers_left,
                        record_side: Some(recorder),
                        returned: false,
                    };
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
            return Resume { pc, frames, handlers, handlers_left, record_side: None, returned: false };
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
}
