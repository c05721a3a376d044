//! The x86-64 backend: turns an optimized, peeled trace into a native loop.
//!
//! It owns register allocation (`regalloc.rs`), machine-code emission (`x64.rs`, with
//! dynasm-rs) and the executable memory of each compiled trace ([`CompiledTrace`]). The
//! calling convention and exit protocol are in [`crate::jit::abi`]; the IR in
//! [`crate::jit::ir`].
//!
//! Terms:
//! - *Pre-roll*: the instructions before `Loop`, run once. *Body*: the instructions after
//!   the Phis, run once per iteration; its end jumps back to just after `Loop`.
//! - *Exit n*: leaving through snapshot n; the trace returns n.
//! - *Fused comparison*: a comparison emitted as the compare-and-branch of the guard that
//!   is its only use (it has no location).
//! - *Object layout*: the byte offsets of an object's shared flag, an array's element
//!   pointer and length and a struct's field list ([`object_layout`]), probed once per
//!   `assemble` and emitted as displacements. When it cannot be determined, traces with
//!   array or field ops (`ALEN`, `ALOAD`, `ASTORE`, `APUSH`, `FLOAD`, `FSTORE`) are
//!   refused; array and struct values alone (loads, stores, Phis) need no layout.
//!
//! Register conventions (details in `regalloc.rs`):
//! - pinned: rbx = `slots`, r12 = `globals`, r13 = `state` (`ExitState`); spill slot n is
//!   `[r13 + offset_of(spill) + 8n]`;
//! - rbp counts arrivals at the loop head (the pre-roll is the first iteration); the exit
//!   adds it to `state.loop_iterations`;
//! - scratch, never allocated: rax, rdx (idiv, call results), r11, xmm14, xmm15;
//! - allocated: rcx, rsi, rdi, r8, r9, r10, r14, r15 and xmm0..xmm13.
//!
//! What `locations` holds: `Gpr`/`Xmm`/`Spill` for every value something reads (bools as
//! 0/1 in the whole register, arrays as the address of their `GcBox`); `Constant` for
//! constants (rematerialized, never allocated); `None` for `Null`/`Void` values, fused
//! comparisons and values nothing reads. (`Builtin` values are constants only, see
//! `check_compilable`.)
//!
//! Invariants:
//! - Every value keeps the location in [`CompiledTrace::locations`] from its definition to
//!   its last use, so at any guard every snapshot value is where `locations` says, in the
//!   registers the exit stub stored into `ExitState` or in `state.spill`.
//! - Generated code is never writable and executable at once: it is assembled into a
//!   dynasmrt `Assembler` and only the finalized, read-execute `ExecutableBuffer` is kept.
//! - In deopt-stress mode, each guard first checks `stress_flags[snapshot]` and exits if it
//!   is 0; the exit sets it to 1, so every snapshot's exit is taken once.

mod helpers;
mod regalloc;
mod x64;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use dynasmrt::{AssemblyOffset, ExecutableBuffer};
use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, NasmFormatter, SymbolResolver, SymbolResult};

use crate::jit::abi::{Location, TraceEntry, COUNT_EXITS};
use crate::jit::ir::verify::verify;
use crate::jit::ir::{InstIdx, Op, SnapIdx, Trace, Ty};
use crate::runtime::object::object_layout;

pub use x64::ParentExit;

pub struct AssembleOptions<'a> {
    /// Make every guard exit the first time its snapshot is reached (tests the exits).
    pub deopt_stress: bool,
    /// The trace's number, which its exits report (`ExitState::exited_trace`).
    pub trace_id: u32,
    /// For a side trace: its root trace's re-entry address, to jump to when done instead
    /// of returning `BACK_TO_LOOP` (`CompiledTrace::reentry`).
    pub root_reentry: Option<usize>,
    /// For a side trace: the parent exit it continues, to compile a linked entry for.
    pub parent: Option<ParentExit<'a>>,
    /// For a side trace of a function trace: the root's re-entry, which its recursive
    /// calls call (`CallTrace`).
    pub self_call_target: Option<usize>,
    /// The re-entry address of every compiled trace, by number.
    pub trace_entries: &'a [usize],
    /// A root loop trace: when it has no `Loop` (it was not peeled), its end counts an
    /// iteration and runs it again from its re-entry.
    pub repeats: bool,
    /// Loop back-edges and inlined calls from the trace's start (or last `CallTrace`) to
    /// its end, other than a root's own back-edge (`Recorder::events_at_end`): its end
    /// adds them to `ExitState::back_edges` and `calls`.
    pub end_events: (u32, u32),
    /// Back-edges of unrolled inner loops and inlined calls per iteration of the root loop
    /// trace of the tree (after its last `CallTrace`), which every flush of the iteration
    /// counter multiplies it by.
    pub iteration_events: (u32, u32),
    /// Count entries, completions, native calls and exits in the trace's counters (a
    /// memory increment each; only the report reads them).
    pub count_native: bool,
}

impl AssembleOptions<'_> {
    /// A trace that links to nothing: it returns at every exit (and, as a side trace, with
    /// `BACK_TO_LOOP`).
    pub fn unlinked(trace_id: u32, deopt_stress: bool) -> AssembleOptions<'static> {
        AssembleOptions {
            deopt_stress,
            trace_id,
            root_reentry: None,
            parent: None,
            self_call_target: None,
            trace_entries: &[],
            repeats: false,
            end_events: (0, 0),
            iteration_events: (0, 0),
            count_native: true,
        }
    }
}

pub struct CompiledTrace {
    /// The code `entry` points into; dropping it unmaps the code.
    buffer: ExecutableBuffer,
    pub entry: TraceEntry,
    /// Where each IR value lives, indexed by `InstIdx`.
    pub locations: Vec<Location>,
    pub code_size: usize,
    /// One byte per snapshot, zeroed; in deopt-stress mode a guard exits while its byte
    /// is 0. Boxed: its address is compiled into the code.
    pub stress_flags: Box<[u8]>,
    /// What the trace's code counts (`abi::COUNT_ENTRIES` and the rest). Boxed: its
    /// address is compiled into the code.
    pub counters: Box<[u64]>,
    /// How many `state.spill` slots the trace uses.
    pub spill_slots_used: usize,
    /// The address of the pre-roll, past the prologue: where side traces of this trace
    /// jump when done (only meaningful for a root trace).
    pub reentry: usize,
    /// For a side trace compiled with its parent exit: the address its parent's exit
    /// table may point at.
    pub linked_entry: Option<usize>,
    /// One code address per snapshot, read by the exit stubs (`abi`, native links). Boxed
    /// so that its address, compiled into the stubs, never changes.
    exit_table: Box<[usize]>,
    /// Per snapshot: the code that saves the registers and returns the exit to the exit
    /// handler (the exit table's first entries, kept after linking).
    exit_returns: Box<[usize]>,
    /// For a linked entry whose parent snapshot holds sunk values: what its helper
    /// rebuilds them from. Boxed: its address is compiled into the code, which is the
    /// only reader.
    #[allow(dead_code)]
    linked_rebuild: Option<Box<LinkedRebuild>>,
    loop_offset: Option<usize>,
    exit_offsets: Vec<(SnapIdx, usize)>,
    common_exit_offset: usize,
}

impl CompiledTrace {
    /// Where the trace's machine code starts and how many bytes it has (exit stubs and
    /// linked entries included): what `--jit-perf-map` names.
    pub fn code_range(&self) -> (usize, usize) {
        (self.buffer.as_ptr() as usize, self.buffer.len())
    }

    /// Makes exit `snap` jump straight to `entry`, a side trace's linked entry.
    ///
    /// # Safety
    /// `entry` must be the linked entry of a side trace compiled with this trace's exit
    /// `snap` as its parent exit (so it reads this trace's registers as they are at that
    /// exit), and that side trace must stay alive as long as this trace can run.
    pub unsafe fn link_exit(&mut self, snap: SnapIdx, entry: usize) {
        self.exit_table[snap.index()] = entry;
    }

    /// The address of the code that hands exit `snap` to the exit handler.
    pub fn exit_return(&self, snap: SnapIdx) -> usize {
        self.exit_returns[snap.index()]
    }
}

/// What a linked entry needs to rebuild its parent exit's snapshot through
/// `exit::restore` (when the snapshot holds sunk values, which need allocating): a copy
/// of the parent's IR and register allocation, the snapshot, and how many slots from the
/// frame base it may write.
pub struct LinkedRebuild {
    pub trace: Trace,
    pub locations: Vec<Location>,
    pub snap: SnapIdx,
    pub extent: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssembleError {
    /// The trace breaks an IR invariant (`ir::verify`).
    InvalidIr(String),
    /// The trace still has its loop-end state: it was not peeled into
    /// `pre-roll; Loop; Phi...; body` (a trace without `Loop` is a side trace).
    NotPeeled,
    /// More values live at once than registers plus `abi::MAX_SPILL_SLOTS`.
    TooManySpillSlots,
    /// Valid IR the backend cannot compile (a Phi of a builtin function, a slot or global
    /// index beyond 32-bit displacements, array ops when the array layout is unknown).
    Unsupported(String),
    /// Executable memory could not be mapped or finalized.
    CodeMemory(String),
}

impl fmt::Display for AssembleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssembleError::InvalidIr(why) => write!(f, "invalid IR: {}", why),
            AssembleError::NotPeeled => write!(f, "trace is not peeled (it still has its loop-end state)"),
            AssembleError::TooManySpillSlots => write!(f, "too many live values (out of spill slots)"),
            AssembleError::Unsupported(what) => write!(f, "unsupported in the backend: {}", what),
            AssembleError::CodeMemory(why) => write!(f, "executable memory: {}", why),
        }
    }
}

impl std::error::Error for AssembleError {}

pub fn assemble(trace: &Trace, options: &AssembleOptions) -> Result<CompiledTrace, AssembleError> {
    let loop_pos = check_compilable(trace)?;
    let allocation = regalloc::allocate(trace, loop_pos.unwrap_or(trace.insts.len()))?;
    let mut exit_table = vec![0usize; trace.snapshots.len()].into_boxed_slice();
    let mut stress_flags = vec![0u8; trace.snapshots.len()].into_boxed_slice();
    let mut counters = vec![0u64; COUNT_EXITS + trace.snapshots.len()].into_boxed_slice();
    let linked_rebuild = options.parent.as_ref().and_then(|parent| {
        let snapshot = &parent.trace.snapshots[parent.snap.index()];
        let sunk = snapshot.restored_entries().any(|&(_, v)| parent.trace.inst(v).op.is_sunk());
        let slots_end = snapshot.entries.iter().map(|&(slot, _)| slot as usize + 1);
        let frames_end = snapshot.frames.iter().map(|f| f.base as usize + f.num_slots as usize);
        sunk.then(|| {
            Box::new(LinkedRebuild {
                trace: parent.trace.clone(),
                locations: parent.locations.to_vec(),
                snap: parent.snap,
                extent: slots_end.chain(frames_end).max().unwrap_or(0),
            })
        })
    });
    let linking = x64::Linking {
        trace_id: options.trace_id,
        exit_table: exit_table.as_ptr(),
        stress_flags: stress_flags.as_mut_ptr(),
        counters: options.count_native.then_some(counters.as_mut_ptr()),
        end_events: options.end_events,
        iteration_events: options.iteration_events,
        self_call_target: options.self_call_target,
        trace_entries: options.trace_entries,
        root_reentry: options.root_reentry,
        repeats: options.repeats,
        parent: options.parent.as_ref(),
        linked_rebuild: linked_rebuild.as_deref(),
    };
    let emitted = x64::emit(trace, loop_pos, &allocation, object_layout(), options.deopt_stress, &linking)?;
    for &(snap, offset) in &emitted.exit_returns {
        exit_table[snap.index()] = emitted.buffer.ptr(AssemblyOffset(offset)) as usize;
    }
    let exit_returns = exit_table.clone();
    let code = emitted.buffer.ptr(AssemblyOffset(0));
    let reentry = emitted.buffer.ptr(AssemblyOffset(emitted.reentry_offset)) as usize;
    let linked_entry = emitted.linked_entry_offset.map(|o| emitted.buffer.ptr(AssemblyOffset(o)) as usize);
    // SAFETY: offset 0 of the buffer is the prologue of a function emitted to follow the
    // System V convention with exactly `TraceEntry`'s signature; the pointer stays valid
    // as long as `buffer`, which `CompiledTrace` owns next to `entry`.
    let entry = unsafe { std::mem::transmute::<*const u8, TraceEntry>(code) };
    Ok(CompiledTrace {
        code_size: emitted.buffer.len(),
        buffer: emitted.buffer,
        entry,
        locations: allocation.locations,
        stress_flags,
        counters,
        spill_slots_used: allocation.spill_slots_used,
        reentry,
        linked_entry,
        exit_table,
        exit_returns,
        linked_rebuild,
        loop_offset: emitted.loop_offset,
        exit_offsets: emitted.exit_offsets,
        common_exit_offset: emitted.common_exit_offset,
    })
}

/// The position of `Loop` in a verified trace (`None` for a side trace), after the checks
/// this backend adds.
fn check_compilable(trace: &Trace) -> Result<Option<usize>, AssembleError> {
    verify(trace).map_err(|e| AssembleError::InvalidIr(e.to_string()))?;
    if trace.loop_end.is_some() {
        return Err(AssembleError::NotPeeled);
    }
    let loop_pos = trace.loop_start().map(InstIdx::index);
    // A builtin function value exists only as a constant; a Phi of one would need a
    // location the exit handler cannot box.
    if let Some(phi) = trace.insts.iter().position(|i| matches!(i.op, Op::Phi(..)) && i.ty == Ty::Builtin) {
        return Err(AssembleError::Unsupported(format!("PHI {} of a builtin function value", InstIdx(phi as u32))));
    }
    Ok(loop_pos)
}

/// Names the loop head and the exit stubs for iced's formatter.
struct TraceLabels(HashMap<u64, String>);

impl SymbolResolver for TraceLabels {
    fn symbol(
        &mut self,
        _instruction: &Instruction,
        _operand: u32,
        _instruction_operand: Option<u32>,
        address: u64,
        _address_size: u32,
    ) -> Option<SymbolResult<'_>> {
        self.0.get(&address).map(|name| SymbolResult::with_str(address, name))
    }
}

/// The trace's machine code in NASM syntax (the syntax the emitter is written in), one
/// instruction per line prefixed by its offset; `->LOOP:`, `->EXIT n:` and
/// `->SAVE_REGISTERS_AND_RETURN:` lines mark the loop head, the exit stubs and their shared
/// tail, and jumps to them name them.
pub fn disassemble(compiled: &CompiledTrace) -> String {
    use std::fmt::Write;
    let base = compiled.buffer.ptr(AssemblyOffset(0)) as u64;
    let mut labels = HashMap::new();
    if let Some(loop_offset) = compiled.loop_offset {
        labels.insert(base + loop_offset as u64, "->LOOP".to_string());
    }
    for &(snap, offset) in &compiled.exit_offsets {
        labels.insert(base + offset as u64, format!("->EXIT {}", snap.0));
    }
    labels.insert(base + compiled.common_exit_offset as u64, "->SAVE_REGISTERS_AND_RETURN".to_string());
    let mut formatter = NasmFormatter::with_options(Some(Box::new(TraceLabels(labels.clone()))), None);
    formatter.options_mut().set_show_branch_size(false);
    let mut decoder = Decoder::with_ip(64, &compiled.buffer, base, DecoderOptions::NONE);
    let mut out = String::new();
    let mut text = String::new();
    let mut instruction = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut instruction);
        if let Some(label) = labels.get(&instruction.ip()) {
            let _ = writeln!(out, "{}:", label);
        }
        text.clear();
        formatter.format(&instruction, &mut text);
        let _ = writeln!(out, "{:5x}  {}", instruction.ip() - base, text);
    }
    out
}
