//! Installing a recording: the recorded trace is optimized and assembled, and becomes a
//! [`NativeTrace`] with what its exits need (which are type checks, what each checks, the
//! frame extent and inlined frames they may restore) and its entry in the statistics.
//!
//! Terms: a trace's *id* counts on across flushes (`Jit::native`); statistics number
//! traces from 1 (`id + 1`). A side trace is assembled against its parent exit (a linked
//! entry rebuilding the exit's snapshot), unless deopt stress is on.
//!
//! Invariant: a trace is filed only once it assembled; an error anywhere before files
//! nothing and becomes the recording's abort reason.

use std::time::Instant;

use super::*;

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
pub(super) fn ends_in_jump(trace: &Trace) -> bool {
    trace.insts.last().is_some_and(|inst| matches!(inst.op, Op::JumpTrace { .. }))
}

impl Jit {
    pub(super) fn compile(
        &mut self,
        program: &Program,
        recorder: &Recorder,
        recorded: Trace,
    ) -> Result<u32, AbortReason> {
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
        if let Some(map) = self.perf_map.as_mut() {
            let (start, size) = compiled.code_range();
            map.name(
                start,
                size,
                &format!("ruff trace {}: {}", id + 1, compiled_trace.describe(&self.options.source_name)),
            );
        }
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
}
