//! x86-64 code emission with dynasm-rs: prologue, pre-roll, Phi moves, loop body,
//! back-edge, exit stubs and epilogue of one allocated trace, and the operand, move and
//! helper-call machinery the code of each instruction (`x64/lower.rs`) is built from. The
//! Rust functions the code calls live in `helpers.rs`.
//!
//! Terms:
//! - *Operand*: where an instruction reads a value: a register, a spill slot (as a
//!   displacement from the `ExitState` pointer) or the raw 64 bits of a constant.
//! - *Work register*: the register an instruction computes in: its destination register
//!   when it has one, otherwise a scratch register whose content is then stored.
//! - *Exit stub*: the code a failing guard jumps to; one per snapshot that some guard
//!   names. It saves rax, loads the exit number into eax and jumps to the shared tail,
//!   which saves the other registers, sets the stress flag and returns.
//! - *Helper*: a Rust function the code calls (`helpers.rs`): the math functions without
//!   an SSE instruction, float `%`, and whatever needs the runtime (allocation, dicts,
//!   strings, builtins).
//! - *Element*: a `Value` (16 bytes) in an array's buffer; `ALOAD` and `ASTORE` check
//!   `index < length` as unsigned (so a negative index fails too), then compute its
//!   address `items_ptr + 16 * index` in rdx and read or write it like a slot.
//!
//! Invariants:
//! - rbx, r12, r13 hold `slots`, `globals` and `state` from the prologue to the epilogue;
//!   rbp counts the arrivals at the loop head.
//! - rax, rdx, r11, xmm14 and xmm15 hold nothing between instructions; an instruction's
//!   code may clobber them freely (and the flags).
//! - When a call to a Rust helper is emitted, rsp is 16-byte aligned and every
//!   caller-saved register holding a value that lives past the call is saved in the frame's
//!   call save area around it. A guard's checks all come before its call, so its snapshot
//!   values need not survive the call.
//! - Array ops never keep an element pointer or length between instructions: `APUSH` may
//!   move the buffer, so each op reads them from the object again.

// dynasm expands `Rq(r)`/`Rx(x)` to `r.into()`, a no-op for our `u8` register numbers.
#![allow(clippy::useless_conversion)]

use dynasmrt::x64::Assembler;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, ExecutableBuffer};
use std::mem::offset_of;

use super::helpers::*;
use super::regalloc::{gpr::*, Allocation, ALLOCATABLE_GPRS, CALLEE_SAVED_ALLOCATABLE};
use super::{AssembleError, LinkedRebuild};
use crate::jit::abi::{
    ExitState, Location, BACK_TO_LOOP, COUNT_CALLS_MADE, COUNT_CALLS_RETURNED, COUNT_COMPLETIONS, COUNT_ENTRIES,
    COUNT_EXITS, FUNCTION_RETURNED,
};
use crate::jit::ir::{InstIdx, MathFn, Op, SnapIdx, Trace, Ty, MAX_BUILTIN_ARGS, SELF_TRACE};
use crate::runtime::heap::{Sharing, ASCII_CHAR_STRINGS_OFFSET, SHARED_FLAG_OFFSET, UNREMEMBERED_FLAG_OFFSET};
use crate::runtime::object::ObjectLayout;
use crate::runtime::value::Tag;

macro_rules! emit {
    ($ops:expr; $($t:tt)*) => {
        dynasm!($ops ; .arch x64 ; $($t)*)
    };
}

// After `emit!`, which it uses.
mod arrays;
mod dicts;
mod ints;
mod lower;
mod strings;

const SLOTS_BASE: u8 = RBX;
const GLOBALS_BASE: u8 = R12;
/// Counts arrivals at the loop head in a register: a counter in memory would make every
/// iteration wait for a store-to-load round trip.
const ITERATION_COUNTER: u8 = RBP;
/// xmm15: work register of float results headed for a spill slot, first operand of
/// compares, the 0.0 of the `sqrt`/`log` domain guards.
const XMM_WORK: u8 = 15;
/// xmm14 receives float constants used as second operands.
const XMM_CONST: u8 = 14;
/// Holds the address of the array element an `ALOAD` or `ASTORE` accesses (scratch).
const ELEMENT: u8 = RDX;

const GPR_SAVE: i32 = offset_of!(ExitState, gpr) as i32;
const XMM_SAVE: i32 = offset_of!(ExitState, xmm) as i32;
const SPILL_AREA: i32 = offset_of!(ExitState, spill) as i32;
const ENTRY_RSP: i32 = offset_of!(ExitState, entry_rsp) as i32;
const NATIVE_DEPTH: i32 = offset_of!(ExitState, native_depth) as i32;
const DEPTH_BUDGET: i32 = offset_of!(ExitState, depth_budget) as i32;
const NATIVE_FRAMES: i32 = offset_of!(ExitState, native_frames) as i32;
const MUST_EXIT: i32 = offset_of!(ExitState, must_exit) as i32;
const CALL_RESULT: i32 = offset_of!(ExitState, call_result) as i32;
const LOOP_ITERATIONS: i32 = offset_of!(ExitState, loop_iterations) as i32;
const BACK_EDGES: i32 = offset_of!(ExitState, back_edges) as i32;
const CALLS: i32 = offset_of!(ExitState, calls) as i32;
const EXITED_TRACE: i32 = offset_of!(ExitState, exited_trace) as i32;
const HEAP: i32 = offset_of!(ExitState, heap) as i32;
/// Where a function object (`GcBox<FuncObj>`) holds its prototype number (`FPROTO`).
const _: () = assert!(std::mem::size_of::<crate::compile::bytecode::ProtoId>() == 4);
const FUNC_PROTO_OFFSET: i32 = (crate::runtime::heap::value_offset::<crate::runtime::object::FuncObj>()
    + offset_of!(crate::runtime::object::FuncObj, proto)) as i32;

/// The stack pointer's hardware number (never saved or restored as an exit value).
const RSP: u8 = 4;
/// Every trace saves these in its prologue, whatever it uses, and reserves the same frame
/// (`FRAME_SIZE`), so that traces can jump into one another (`abi`, native links).
const SAVED_REGISTERS: [u8; 6] = [RBX, RBP, R12, R13, R14, R15];
/// The helper-call save area, plus 8 bytes to realign: the call into the trace left rsp
/// 8 below a 16-byte boundary and the six pushes keep it there.
const FRAME_SIZE: i32 = CALL_SAVE_AREA + 8;

/// Frame bytes where caller-saved registers are parked around helper calls, indexed by
/// hardware number: 16 general registers, then 16 XMMs.
const CALL_SAVE_AREA: i32 = 32 * 8;
const CALL_SAVE_XMM: i32 = 16 * 8;

/// The layout of Ruff's float equality tolerance, shifted left once (the sign bit
/// dropped) so that it compares as an unsigned integer with another shifted magnitude.
const EPSILON_BITS_SHIFTED: u64 = f64::EPSILON.to_bits() << 1;

const SIGN_BIT: i8 = 63;

pub struct Emitted {
    pub buffer: ExecutableBuffer,
    /// `None` for a side trace.
    pub loop_offset: Option<usize>,
    /// `(snapshot, offset of its exit stub)`, in snapshot order.
    pub exit_offsets: Vec<(SnapIdx, usize)>,
    /// `(snapshot, offset of the code that saves the registers and returns its number)`:
    /// the initial targets of the exit table.
    pub exit_returns: Vec<(SnapIdx, usize)>,
    /// The tail shared by the exit stubs: saves the registers and returns.
    pub common_exit_offset: usize,
    /// Where the pre-roll starts, past the prologue (a root trace's re-entry).
    pub reentry_offset: usize,
    /// For a side trace compiled with its parent exit: the linked entry.
    pub linked_entry_offset: Option<usize>,
}

/// `(snapshot, code offset)` pairs.
type CodeOffsets = Vec<(SnapIdx, usize)>;

/// How a trace links natively to others (`abi`, native links).
pub struct Linking<'a> {
    /// This trace's number, which its exits record in `state.exited_trace`.
    pub trace_id: u32,
    /// The exit table's address: one code address per snapshot, filled in after assembly.
    pub exit_table: *const usize,
    /// The stress flags' address: one byte per snapshot (read in deopt-stress mode).
    pub stress_flags: *mut u8,
    /// The trace's counters (`abi::COUNT_ENTRIES` and the rest), if it counts.
    pub counters: Option<*mut u64>,
    /// Back-edges and calls to add to `ExitState::back_edges` and `calls` at the end.
    pub end_events: (u32, u32),
    /// Unrolled back-edges and inlined calls per iteration of the tree's root loop (see
    /// `AssembleOptions`).
    pub iteration_events: (u32, u32),
    /// For a side trace of a function trace: its root's re-entry, which `CallTrace` calls;
    /// `None` calls this trace's own.
    pub self_call_target: Option<usize>,
    /// The re-entry address of every compiled trace, by number (for `CallTrace` of other
    /// functions' traces and `JumpTrace`).
    pub trace_entries: &'a [usize],
    /// For a side trace: where it continues when done, its root's re-entry; `None`
    /// returns `BACK_TO_LOOP` instead.
    pub root_reentry: Option<usize>,
    /// For a side trace: the exit it continues from, when the exit may jump to it.
    pub parent: Option<&'a ParentExit<'a>>,
    /// When that exit's snapshot holds sunk values: what the linked entry's helper
    /// rebuilds them from.
    pub linked_rebuild: Option<&'a LinkedRebuild>,
    /// An unpeeled root loop trace: its end counts an iteration and runs it again.
    pub repeats: bool,
}

/// A parent trace's exit, as a linked entry finds it: the parent's IR, where its register
/// allocation keeps each value, and the snapshot.
pub struct ParentExit<'a> {
    pub trace: &'a Trace,
    pub locations: &'a [Location],
    pub snap: SnapIdx,
    /// The parent's code that hands this exit to the exit handler
    /// (`CompiledTrace::exit_return`).
    pub exit_return: usize,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Operand {
    Gpr(u8),
    Xmm(u8),
    /// Displacement of a spill slot from the `ExitState` pointer (r13).
    Spill(i32),
    Bits(u64),
}

fn spill_displacement(slot: u16) -> i32 {
    SPILL_AREA + 8 * slot as i32
}

fn location_operand(location: Location) -> Option<Operand> {
    match location {
        Location::Gpr(r) => Some(Operand::Gpr(r)),
        Location::Xmm(x) => Some(Operand::Xmm(x)),
        Location::Spill(slot) => Some(Operand::Spill(spill_displacement(slot))),
        Location::Constant | Location::None => None,
    }
}

fn fits_i32(value: i64) -> bool {
    i32::try_from(value).is_ok()
}

/// A condition on the flags, named by what the emitted compare established.
#[derive(Clone, Copy)]
enum Cond {
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Equal,
    NotEqual,
    Above,
    AboveEq,
    Below,
    BelowEq,
}

impl Cond {
    fn negate(self) -> Cond {
        match self {
            Cond::Less => Cond::GreaterEq,
            Cond::LessEq => Cond::Greater,
            Cond::Greater => Cond::LessEq,
            Cond::GreaterEq => Cond::Less,
            Cond::Equal => Cond::NotEqual,
            Cond::NotEqual => Cond::Equal,
            Cond::Above => Cond::BelowEq,
            Cond::AboveEq => Cond::Below,
            Cond::Below => Cond::AboveEq,
            Cond::BelowEq => Cond::Above,
        }
    }
}

#[derive(Clone, Copy)]
enum IntAlu {
    Add,
    Sub,
    Imul,
    Cmp,
    And,
    Or,
    Xor,
}

#[derive(Clone, Copy)]
enum FloatAlu {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    Ucomi,
}

/// Where a helper's result goes: nowhere, from xmm0 (floats) or from rax.
enum HelperResult {
    Nothing,
    Xmm0(Option<Operand>),
    Rax(Option<Operand>),
}

fn value_tag(ty: Ty) -> Result<i8, AssembleError> {
    let tag = match ty {
        Ty::Null => Tag::Null,
        Ty::Bool => Tag::Bool,
        Ty::Int => Tag::Int,
        Ty::Float => Tag::Float,
        Ty::Dict => Tag::Dict,
        Ty::Str => Tag::Str,
        Ty::Array => Tag::Array,
        Ty::Builtin => Tag::Builtin,
        Ty::Func => Tag::Func,
        Ty::Struct => Tag::Struct,
        Ty::Tagged => Tag::Tagged,
        Ty::Void => return Err(AssembleError::Unsupported("a load or store of type void".into())),
    };
    Ok(tag as i8)
}

/// Byte offset of value `index` in a `Value` array.
fn value_offset(index: u64) -> Result<i32, AssembleError> {
    index
        .checked_mul(16)
        .and_then(|offset| i32::try_from(offset).ok())
        .filter(|offset| offset.checked_add(8).is_some())
        .ok_or_else(|| AssembleError::Unsupported(format!("slot or global index {} out of range", index)))
}

struct Emitter<'a> {
    ops: Assembler,
    trace: &'a Trace,
    alloc: &'a Allocation,
    /// `None` when `runtime::object::object_layout` could not determine it.
    object_layout: Option<ObjectLayout>,
    deopt_stress: bool,
    exit_labels: Vec<Option<DynamicLabel>>,
    common_exit: DynamicLabel,
    /// Restores the caller's registers and returns `eax`.
    epilogue: DynamicLabel,
    trace_id: u32,
    exit_table: *const usize,
    stress_flags: *mut u8,
    counters: Option<*mut u64>,
    end_events: (u32, u32),
    iteration_events: (u32, u32),
    /// Where `CallTrace` calls: the function trace's pre-roll.
    self_call: SelfCallTarget,
    trace_entries: &'a [usize],
    /// Whether the iteration counter can be other than zero in this trace's code: it
    /// belongs to a loop's tree (a root loop trace, or a side trace going back to one). In
    /// a function trace's tree it is zero at every entry (the prologue clears it and a
    /// native caller flushes its own first) and nothing adds to it, so flushing it is
    /// skipped.
    counts_iterations: bool,
}

#[derive(Clone, Copy)]
enum SelfCallTarget {
    Own(DynamicLabel),
    Address(usize),
}

/// Emits `trace`. `loop_pos` is the index of `Loop`; `None` marks a side trace, which runs
/// once and then jumps to its root's re-entry or returns `BACK_TO_LOOP`.
pub fn emit(
    trace: &Trace,
    loop_pos: Option<usize>,
    alloc: &Allocation,
    object_layout: Option<ObjectLayout>,
    deopt_stress: bool,
    linking: &Linking,
) -> Result<Emitted, AssembleError> {
    let mut ops = Assembler::new().map_err(|e| AssembleError::CodeMemory(e.to_string()))?;
    let common_exit = ops.new_dynamic_label();
    let epilogue = ops.new_dynamic_label();
    let mut emitter = Emitter {
        ops,
        trace,
        alloc,
        object_layout,
        deopt_stress,
        exit_labels: vec![None; trace.snapshots.len()],
        common_exit,
        epilogue,
        trace_id: linking.trace_id,
        exit_table: linking.exit_table,
        stress_flags: linking.stress_flags,
        counters: linking.counters,
        end_events: linking.end_events,
        iteration_events: linking.iteration_events,
        self_call: SelfCallTarget::Address(0),
        trace_entries: linking.trace_entries,
        counts_iterations: loop_pos.is_some() || linking.repeats || linking.root_reentry.is_some(),
    };
    emitter.prologue();
    let body_start = emitter.ops.new_dynamic_label();
    emitter.self_call = match linking.self_call_target {
        Some(address) => SelfCallTarget::Address(address),
        None => SelfCallTarget::Own(body_start),
    };
    let reentry_offset = emitter.ops.offset().0;
    emit!(emitter.ops; =>body_start);
    emitter.count(COUNT_ENTRIES);
    let loop_offset = match loop_pos {
        Some(loop_pos) => {
            for i in 0..loop_pos {
                emitter.instruction(i)?;
            }
            emitter.phi_moves(|first, _| first);
            let loop_label = emitter.ops.new_dynamic_label();
            let loop_offset = emitter.ops.offset().0;
            emit!(emitter.ops
                ; =>loop_label
                ; add Rq(ITERATION_COUNTER), 1
            );
            for i in loop_pos + 1..trace.insts.len() {
                emitter.instruction(i)?;
            }
            emitter.phi_moves(|_, second| second);
            emit!(emitter.ops; jmp =>loop_label);
            Some(loop_offset)
        }
        None => {
            for i in 0..trace.insts.len() {
                emitter.instruction(i)?;
            }
            let returns = trace.insts.last().is_some_and(|i| matches!(i.op, Op::Ret(_) | Op::JumpTrace { .. }));
            if !returns {
                emitter.count_completion();
            }
            match linking.root_reentry {
                _ if returns => {}
                Some(address) => emit!(emitter.ops
                    ; mov r11, QWORD address as i64
                    ; jmp r11
                ),
                None if linking.repeats => emit!(emitter.ops
                    ; add Rq(ITERATION_COUNTER), 1
                    ; jmp =>body_start
                ),
                None => emit!(emitter.ops
                    ; mov eax, BACK_TO_LOOP as i32
                    ; jmp =>emitter.epilogue
                ),
            }
            None
        }
    };
    let linked_entry_offset = match (linking.parent, linking.linked_rebuild) {
        (Some(parent), Some(rebuild)) => Some(emitter.rebuilding_linked_entry(parent, rebuild, body_start)),
        (Some(parent), None) => Some(emitter.linked_entry(parent, body_start)?),
        (None, _) => None,
    };
    let (exit_offsets, exit_returns, common_exit_offset) = emitter.exit_stubs();
    let mut ops = emitter.ops;
    ops.commit().map_err(|e| AssembleError::CodeMemory(e.to_string()))?;
    let buffer = ops.finalize().map_err(|_| AssembleError::CodeMemory("the code buffer is still shared".into()))?;
    Ok(Emitted {
        buffer,
        loop_offset,
        exit_offsets,
        exit_returns,
        common_exit_offset,
        reentry_offset,
        linked_entry_offset,
    })
}

impl Emitter<'_> {
    fn prologue(&mut self) {
        for r in SAVED_REGISTERS {
            emit!(self.ops; push Rq(r));
        }
        emit!(self.ops; sub rsp, FRAME_SIZE);
        emit!(self.ops
            ; mov Rq(SLOTS_BASE), rdi
            ; mov Rq(GLOBALS_BASE), rsi
            ; mov r13, rdx
            ; mov [r13 + ENTRY_RSP], rsp
            ; xor Rd(ITERATION_COUNTER), Rd(ITERATION_COUNTER)
        );
    }

    /// The linked entry of a side trace: the parent's exit jumps here with the parent's
    /// registers and spill slots as they were at the failed guard. It stores the exit's
    /// snapshot values into the frame, as `exit::restore` would, and runs the side trace
    /// from the start of its code (which loads what it needs from the frame). The slots of
    /// the snapshot's inlined frames that only the snapshot holds are cleared first (null
    /// tags), as the interpreter starts a frame: the side trace starts inside those calls
    /// with their slots in memory, and its own exits rebuild the frames from there.
    fn linked_entry(&mut self, parent: &ParentExit, body_start: DynamicLabel) -> Result<usize, AssembleError> {
        let offset = self.ops.offset().0;
        let snapshot = &parent.trace.snapshots[parent.snap.index()];
        let mut cleared: Vec<u16> = snapshot
            .frames
            .iter()
            .filter(|frame| !frame.slots_in_memory)
            .flat_map(|frame| frame.base..frame.base + frame.num_slots)
            .filter(|slot| Some(*slot) != snapshot.stored_slot)
            .filter(|slot| !snapshot.entries.iter().any(|&(written, _)| written == *slot))
            .collect();
        cleared.sort_unstable();
        cleared.dedup();
        for slot in cleared {
            emit!(self.ops; mov BYTE [Rq(SLOTS_BASE) + value_offset(slot as u64)?], Tag::Null as i8);
        }
        for &(slot, value) in snapshot.restored_entries() {
            let inst = parent.trace.inst(value);
            let displacement = value_offset(slot as u64)?;
            emit!(self.ops; mov BYTE [Rq(SLOTS_BASE) + displacement], value_tag(inst.ty)?);
            if inst.ty == Ty::Null {
                continue;
            }
            let payload = displacement + 8;
            match parent.locations[value.index()] {
                Location::Gpr(r) => emit!(self.ops; mov [Rq(SLOTS_BASE) + payload], Rq(r)),
                Location::Xmm(x) => emit!(self.ops; movsd [Rq(SLOTS_BASE) + payload], Rx(x)),
                Location::Spill(n) => emit!(self.ops
                    ; mov r11, [r13 + spill_displacement(n)]
                    ; mov [Rq(SLOTS_BASE) + payload], r11
                ),
                Location::Constant if fits_i32(constant_bits(&inst.op) as i64) => {
                    emit!(self.ops; mov QWORD [Rq(SLOTS_BASE) + payload], constant_bits(&inst.op) as i32)
                }
                Location::Constant => emit!(self.ops
                    ; mov r11, QWORD constant_bits(&inst.op) as i64
                    ; mov [Rq(SLOTS_BASE) + payload], r11
                ),
                Location::None => {
                    return Err(AssembleError::Unsupported(format!("parent snapshot value {} has no location", value)))
                }
            }
        }
        emit!(self.ops; jmp =>body_start);
        Ok(offset)
    }

    /// The linked entry of a side trace whose parent exit's snapshot holds sunk values:
    /// it saves the parent's registers into `ExitState` as an exit stub does, and
    /// `rebuild_linked_exit` rebuilds the snapshot into the frame through `exit::restore`
    /// (allocating the sunk objects, as the exit handler would), then the side trace runs.
    /// When the heap already wants a collection, the helper changes nothing and the exit
    /// goes to the exit handler with the parent's registers, so that the interpreter
    /// collects.
    fn rebuilding_linked_entry(
        &mut self,
        parent: &ParentExit,
        rebuild: &LinkedRebuild,
        body_start: DynamicLabel,
    ) -> usize {
        let offset = self.ops.offset().0;
        for r in (0..16u8).filter(|&r| r != RSP) {
            emit!(self.ops; mov [r13 + GPR_SAVE + 8 * r as i32], Rq(r));
        }
        for x in 0..16u8 {
            emit!(self.ops; movsd [r13 + XMM_SAVE + 8 * x as i32], Rx(x));
        }
        let to_handler = self.ops.new_dynamic_label();
        emit!(self.ops
            ; mov rdi, r13
            ; mov rsi, Rq(SLOTS_BASE)
            ; mov rdx, QWORD rebuild as *const LinkedRebuild as i64
            ; mov rax, QWORD rebuild_linked_exit as *const () as i64
            ; call rax
            ; test eax, eax
            ; jnz =>to_handler
            ; jmp =>body_start
            ; =>to_handler
        );
        // The call kept the callee-saved registers; the others come back from `ExitState`.
        for r in (0..16u8).filter(|r| !SAVED_REGISTERS.contains(r) && *r != RSP) {
            emit!(self.ops; mov Rq(r), [r13 + GPR_SAVE + 8 * r as i32]);
        }
        for x in 0..16u8 {
            emit!(self.ops; movsd Rx(x), [r13 + XMM_SAVE + 8 * x as i32]);
        }
        emit!(self.ops
            ; mov r11, QWORD parent.exit_return as i64
            ; jmp r11
        );
        offset
    }

    /// Stubs for the snapshots guards exit through (each jumps through the exit table),
    /// the code that saves the registers and returns each exit's number, then the shared
    /// tail and epilogue. Returns the stubs' offsets, the saving code's, and the tail's.
    fn exit_stubs(&mut self) -> (CodeOffsets, CodeOffsets, usize) {
        let mut offsets = Vec::new();
        let mut returns = Vec::new();
        for (snap, label) in self.exit_labels.clone().into_iter().enumerate() {
            let Some(label) = label else { continue };
            offsets.push((SnapIdx(snap as u32), self.ops.offset().0));
            let table_entry = self.exit_table as i64 + 8 * snap as i64;
            emit!(self.ops; =>label);
            // Counted here, before the exit table sends the exit to the interpreter or to
            // a linked side trace (flags are dead at an exit).
            self.count(COUNT_EXITS + snap);
            let snapshot = &self.trace.snapshots[snap];
            self.count_events(snapshot.back_edges, snapshot.calls);
            emit!(self.ops
                ; mov r11, QWORD table_entry
                ; jmp QWORD [r11]
            );
        }
        for (snap, label) in self.exit_labels.clone().into_iter().enumerate() {
            if label.is_none() {
                continue;
            }
            returns.push((SnapIdx(snap as u32), self.ops.offset().0));
            emit!(self.ops
                ; mov [r13 + GPR_SAVE], rax
                ; mov eax, snap as i32
                ; jmp =>self.common_exit
            );
        }
        let common_exit_offset = self.ops.offset().0;
        emit!(self.ops
            ; =>self.common_exit
            ; mov QWORD [r13 + EXITED_TRACE], self.trace_id as i32
        );
        for r in 1..16u8 {
            emit!(self.ops; mov [r13 + GPR_SAVE + 8 * r as i32], Rq(r));
        }
        for x in 0..16u8 {
            emit!(self.ops; movsd [r13 + XMM_SAVE + 8 * x as i32], Rx(x));
        }
        self.flush_iterations();
        if self.deopt_stress {
            emit!(self.ops
                ; mov r11, QWORD self.stress_flags as i64
                ; mov BYTE [r11 + rax], 1
            );
        }
        // An exit from inside native recursion leaves the native stack deeper than the
        // entry's frame.
        emit!(self.ops
            ; =>self.epilogue
            ; mov rsp, [r13 + ENTRY_RSP]
            ; add rsp, FRAME_SIZE
        );
        for r in SAVED_REGISTERS.into_iter().rev() {
            emit!(self.ops; pop Rq(r));
        }
        emit!(self.ops; ret);
        (offsets, returns, common_exit_offset)
    }

    /// Adds one to the trace's counter `index`, if it counts (clobbers r11 and the flags).
    fn count(&mut self, index: usize) {
        let Some(counters) = self.counters else { return };
        // SAFETY: only the address is computed; `index` is within the counters block
        // (`COUNT_EXITS` plus one per snapshot), which lives as long as the code.
        let address = unsafe { counters.add(index) } as i64;
        emit!(self.ops
            ; mov r11, QWORD address
            ; add QWORD [r11], 1
        );
    }

    /// Adds back-edges and calls to `ExitState`'s counts, if the trace counts (clobbers
    /// the flags). Only the report reads them.
    fn count_events(&mut self, back_edges: u32, calls: u32) {
        if self.counters.is_none() {
            return;
        }
        if back_edges > 0 {
            emit!(self.ops; add QWORD [r13 + BACK_EDGES], back_edges as i32);
        }
        if calls > 0 {
            emit!(self.ops; add QWORD [r13 + CALLS], calls as i32);
        }
    }

    /// Moves the iteration counter into `ExitState` (with the unrolled back-edges and
    /// inlined calls of those iterations, if the trace counts) and clears it: before code
    /// of another tree may run (a native call or jump, a return to a native caller), and at
    /// exits. The iterations are always moved: an exit after none retires a trace whose
    /// type checks keep failing. Clobbers r11 and the flags.
    fn flush_iterations(&mut self) {
        if !self.counts_iterations {
            return;
        }
        emit!(self.ops; add [r13 + LOOP_ITERATIONS], Rq(ITERATION_COUNTER));
        let (back_edges, calls) = if self.counters.is_some() { self.iteration_events } else { (0, 0) };
        if back_edges > 0 {
            emit!(self.ops
                ; imul r11, Rq(ITERATION_COUNTER), back_edges as i32
                ; add [r13 + BACK_EDGES], r11
            );
        }
        if calls > 0 {
            emit!(self.ops
                ; imul r11, Rq(ITERATION_COUNTER), calls as i32
                ; add [r13 + CALLS], r11
            );
        }
        emit!(self.ops; xor Rd(ITERATION_COUNTER), Rd(ITERATION_COUNTER));
    }

    /// The trace reached its end: counts it, with the events since its start (or last
    /// `CallTrace`), and flushes the iteration counter.
    fn count_completion(&mut self) {
        self.count(COUNT_COMPLETIONS);
        let (back_edges, calls) = self.end_events;
        self.count_events(back_edges, calls);
    }

    fn exit_label(&mut self, snap: SnapIdx) -> DynamicLabel {
        if let Some(label) = self.exit_labels[snap.index()] {
            return label;
        }
        let label = self.ops.new_dynamic_label();
        self.exit_labels[snap.index()] = Some(label);
        label
    }

    /// Moves each Phi's first (loop entry) or second (back-edge) operand into the Phi.
    fn phi_moves(&mut self, pick: impl Fn(InstIdx, InstIdx) -> InstIdx) {
        let mut moves = Vec::new();
        for (i, inst) in self.trace.insts.iter().enumerate() {
            if let Op::Phi(first, second) = inst.op {
                if let Some(destination) = location_operand(self.alloc.locations[i]) {
                    moves.push((destination, self.operand(pick(first, second))));
                }
            }
        }
        self.parallel_move(moves);
    }

    /// Performs `(destination, source)` moves as if all sources were read first.
    fn parallel_move(&mut self, mut moves: Vec<(Operand, Operand)>) {
        moves.retain(|(destination, source)| destination != source);
        while !moves.is_empty() {
            let ready =
                moves.iter().position(|(destination, _)| !moves.iter().any(|(_, source)| source == destination));
            match ready {
                Some(k) => {
                    let (destination, source) = moves.remove(k);
                    self.move_to(destination, source);
                }
                None => {
                    // Every remaining destination is still to be read: only cycles are
                    // left. Parking one destination's value in r11 turns its cycle into a
                    // chain. r11 holds raw bits, so this works for floats too.
                    let blocked = moves[0].0;
                    self.move_to(Operand::Gpr(R11), blocked);
                    for (_, source) in moves.iter_mut() {
                        if *source == blocked {
                            *source = Operand::Gpr(R11);
                        }
                    }
                }
            }
        }
    }

    fn operand(&self, value: InstIdx) -> Operand {
        match self.alloc.locations[value.index()] {
            Location::Constant => Operand::Bits(constant_bits(&self.trace.inst(value).op)),
            // Only Null values have no storage; their payload is never read.
            location => location_operand(location).unwrap_or(Operand::Bits(0)),
        }
    }

    fn destination(&self, i: usize) -> Option<Operand> {
        location_operand(self.alloc.locations[i])
    }

    /// Copies the 64 bits of `source` into `destination`, whatever the register classes.
    fn move_to(&mut self, destination: Operand, source: Operand) {
        match destination {
            Operand::Gpr(r) => self.load_gpr(r, source),
            Operand::Xmm(x) => self.load_xmm(x, source),
            Operand::Spill(to) => match source {
                Operand::Gpr(r) => emit!(self.ops; mov [r13 + to], Rq(r)),
                Operand::Xmm(x) => emit!(self.ops; movsd [r13 + to], Rx(x)),
                Operand::Bits(bits) if fits_i32(bits as i64) => {
                    emit!(self.ops; mov QWORD [r13 + to], bits as i32)
                }
                Operand::Spill(_) | Operand::Bits(_) => {
                    self.load_gpr(RAX, source);
                    emit!(self.ops; mov [r13 + to], rax);
                }
            },
            Operand::Bits(_) => unreachable!("a constant is never a destination"),
        }
    }

    fn load_gpr(&mut self, r: u8, source: Operand) {
        match source {
            Operand::Gpr(s) if s == r => {}
            Operand::Gpr(s) => emit!(self.ops; mov Rq(r), Rq(s)),
            Operand::Xmm(x) => emit!(self.ops; movq Rq(r), Rx(x)),
            Operand::Spill(from) => emit!(self.ops; mov Rq(r), [r13 + from]),
            Operand::Bits(bits) if fits_i32(bits as i64) => emit!(self.ops; mov Rq(r), bits as i32),
            Operand::Bits(bits) => emit!(self.ops; mov Rq(r), QWORD bits as i64),
        }
    }

    /// Clobbers rax when `source` is a nonzero constant.
    fn load_xmm(&mut self, x: u8, source: Operand) {
        match source {
            Operand::Xmm(s) if s == x => {}
            Operand::Xmm(s) => emit!(self.ops; movaps Rx(x), Rx(s)),
            Operand::Gpr(r) => emit!(self.ops; movq Rx(x), Rq(r)),
            Operand::Spill(from) => emit!(self.ops; movsd Rx(x), [r13 + from]),
            Operand::Bits(0) => emit!(self.ops; xorps Rx(x), Rx(x)),
            Operand::Bits(bits) => emit!(self.ops
                ; mov rax, QWORD bits as i64
                ; movq Rx(x), rax
            ),
        }
    }

    /// `r op= source` on 64-bit integers. Clobbers r11 for immediates beyond 32 bits.
    fn int_alu(&mut self, op: IntAlu, r: u8, source: Operand) {
        let source = match source {
            Operand::Bits(bits) if !fits_i32(bits as i64) => {
                self.load_gpr(R11, source);
                Operand::Gpr(R11)
            }
            Operand::Xmm(_) => {
                self.load_gpr(R11, source);
                Operand::Gpr(R11)
            }
            other => other,
        };
        match (op, source) {
            (IntAlu::Add, Operand::Gpr(s)) => emit!(self.ops; add Rq(r), Rq(s)),
            (IntAlu::Sub, Operand::Gpr(s)) => emit!(self.ops; sub Rq(r), Rq(s)),
            (IntAlu::Imul, Operand::Gpr(s)) => emit!(self.ops; imul Rq(r), Rq(s)),
            (IntAlu::Cmp, Operand::Gpr(s)) => emit!(self.ops; cmp Rq(r), Rq(s)),
            (IntAlu::And, Operand::Gpr(s)) => emit!(self.ops; and Rq(r), Rq(s)),
            (IntAlu::Or, Operand::Gpr(s)) => emit!(self.ops; or Rq(r), Rq(s)),
            (IntAlu::Xor, Operand::Gpr(s)) => emit!(self.ops; xor Rq(r), Rq(s)),
            (IntAlu::Add, Operand::Spill(m)) => emit!(self.ops; add Rq(r), [r13 + m]),
            (IntAlu::Sub, Operand::Spill(m)) => emit!(self.ops; sub Rq(r), [r13 + m]),
            (IntAlu::Imul, Operand::Spill(m)) => emit!(self.ops; imul Rq(r), [r13 + m]),
            (IntAlu::Cmp, Operand::Spill(m)) => emit!(self.ops; cmp Rq(r), [r13 + m]),
            (IntAlu::And, Operand::Spill(m)) => emit!(self.ops; and Rq(r), [r13 + m]),
            (IntAlu::Or, Operand::Spill(m)) => emit!(self.ops; or Rq(r), [r13 + m]),
            (IntAlu::Xor, Operand::Spill(m)) => emit!(self.ops; xor Rq(r), [r13 + m]),
            (IntAlu::Add, Operand::Bits(k)) => emit!(self.ops; add Rq(r), k as i32),
            (IntAlu::Sub, Operand::Bits(k)) => emit!(self.ops; sub Rq(r), k as i32),
            (IntAlu::Imul, Operand::Bits(k)) => emit!(self.ops; imul Rq(r), Rq(r), k as i32),
            (IntAlu::Cmp, Operand::Bits(k)) => emit!(self.ops; cmp Rq(r), k as i32),
            (IntAlu::And, Operand::Bits(k)) => emit!(self.ops; and Rq(r), k as i32),
            (IntAlu::Or, Operand::Bits(k)) => emit!(self.ops; or Rq(r), k as i32),
            (IntAlu::Xor, Operand::Bits(k)) => emit!(self.ops; xor Rq(r), k as i32),
            (_, Operand::Xmm(_)) => unreachable!("moved to r11 above"),
        }
    }

    /// An operand an SSE instruction can take second: constants and general registers
    /// are first moved into xmm14.
    fn sse_source(&mut self, source: Operand) -> Operand {
        match source {
            Operand::Bits(_) | Operand::Gpr(_) => {
                self.load_xmm(XMM_CONST, source);
                Operand::Xmm(XMM_CONST)
            }
            other => other,
        }
    }

    /// `x op= source` on doubles (`Sqrt`: `x = sqrt(source)`; `Ucomi`: compare `x` with it).
    fn float_alu(&mut self, op: FloatAlu, x: u8, source: Operand) {
        match (op, self.sse_source(source)) {
            (FloatAlu::Add, Operand::Xmm(s)) => emit!(self.ops; addsd Rx(x), Rx(s)),
            (FloatAlu::Sub, Operand::Xmm(s)) => emit!(self.ops; subsd Rx(x), Rx(s)),
            (FloatAlu::Mul, Operand::Xmm(s)) => emit!(self.ops; mulsd Rx(x), Rx(s)),
            (FloatAlu::Div, Operand::Xmm(s)) => emit!(self.ops; divsd Rx(x), Rx(s)),
            (FloatAlu::Sqrt, Operand::Xmm(s)) => emit!(self.ops; sqrtsd Rx(x), Rx(s)),
            (FloatAlu::Ucomi, Operand::Xmm(s)) => emit!(self.ops; ucomisd Rx(x), Rx(s)),
            (FloatAlu::Add, Operand::Spill(m)) => emit!(self.ops; addsd Rx(x), [r13 + m]),
            (FloatAlu::Sub, Operand::Spill(m)) => emit!(self.ops; subsd Rx(x), [r13 + m]),
            (FloatAlu::Mul, Operand::Spill(m)) => emit!(self.ops; mulsd Rx(x), [r13 + m]),
            (FloatAlu::Div, Operand::Spill(m)) => emit!(self.ops; divsd Rx(x), [r13 + m]),
            (FloatAlu::Sqrt, Operand::Spill(m)) => emit!(self.ops; sqrtsd Rx(x), [r13 + m]),
            (FloatAlu::Ucomi, Operand::Spill(m)) => emit!(self.ops; ucomisd Rx(x), [r13 + m]),
            (_, Operand::Gpr(_) | Operand::Bits(_)) => unreachable!("sse_source moved it to xmm14"),
        }
    }

    /// The XMM register holding `source`, loading it into `scratch` if needed.
    fn xmm_register(&mut self, source: Operand, scratch: u8) -> u8 {
        match source {
            Operand::Xmm(x) => x,
            other => {
                self.load_xmm(scratch, other);
                scratch
            }
        }
    }

    fn gpr_register(&mut self, source: Operand) -> u8 {
        match source {
            Operand::Gpr(r) => r,
            other => {
                self.load_gpr(RAX, other);
                RAX
            }
        }
    }

    fn gpr_work(destination: Option<Operand>) -> u8 {
        match destination {
            Some(Operand::Gpr(r)) => r,
            _ => RAX,
        }
    }

    fn xmm_work(destination: Option<Operand>) -> u8 {
        match destination {
            Some(Operand::Xmm(x)) => x,
            _ => XMM_WORK,
        }
    }

    fn store(&mut self, destination: Option<Operand>, work: Operand) {
        if let Some(destination) = destination {
            self.move_to(destination, work);
        }
    }

    fn jump_if(&mut self, cond: Cond, target: DynamicLabel) {
        match cond {
            Cond::Less => emit!(self.ops; jl =>target),
            Cond::LessEq => emit!(self.ops; jle =>target),
            Cond::Greater => emit!(self.ops; jg =>target),
            Cond::GreaterEq => emit!(self.ops; jge =>target),
            Cond::Equal => emit!(self.ops; je =>target),
            Cond::NotEqual => emit!(self.ops; jne =>target),
            Cond::Above => emit!(self.ops; ja =>target),
            Cond::AboveEq => emit!(self.ops; jae =>target),
            Cond::Below => emit!(self.ops; jb =>target),
            Cond::BelowEq => emit!(self.ops; jbe =>target),
        }
    }

    fn set_al_if(&mut self, cond: Cond) {
        match cond {
            Cond::Less => emit!(self.ops; setl al),
            Cond::LessEq => emit!(self.ops; setle al),
            Cond::Greater => emit!(self.ops; setg al),
            Cond::GreaterEq => emit!(self.ops; setge al),
            Cond::Equal => emit!(self.ops; sete al),
            Cond::NotEqual => emit!(self.ops; setne al),
            Cond::Above => emit!(self.ops; seta al),
            Cond::AboveEq => emit!(self.ops; setae al),
            Cond::Below => emit!(self.ops; setb al),
            Cond::BelowEq => emit!(self.ops; setbe al),
        }
    }

    /// Calls the float-valued Rust helper of instruction `i` with float `arguments`; the
    /// result goes from xmm0 to the instruction's destination.
    fn call_float_helper(&mut self, i: usize, arguments: &[InstIdx]) {
        // xmm0, xmm1, ... in order.
        let argument_moves =
            arguments.iter().enumerate().map(|(k, &a)| (Operand::Xmm(k as u8), self.operand(a))).collect();
        self.call_helper(i, argument_moves, HelperResult::Xmm0(self.destination(i)));
    }

    /// Calls the Rust helper of instruction `i` after the `(register, operand)` moves in
    /// `arguments`, then moves its result (if any) where `result` says.
    fn call_helper(&mut self, i: usize, arguments: Vec<(Operand, Operand)>, result: HelperResult) {
        let address = helper_address(self.trace, &self.trace.insts[i]).expect("only ops with a helper are called");
        let saved = self.caller_saved_live_across(i);
        for &location in &saved {
            match location {
                Location::Gpr(r) => emit!(self.ops; mov [rsp + 8 * r as i32], Rq(r)),
                Location::Xmm(x) => emit!(self.ops; movsd [rsp + CALL_SAVE_XMM + 8 * x as i32], Rx(x)),
                _ => {}
            }
        }
        // A parallel move, since an argument may sit in another's register.
        self.parallel_move(arguments);
        emit!(self.ops
            ; mov rax, QWORD address as i64
            ; call rax
        );
        // Before the restores: one of them may be xmm0's or rax's.
        match result {
            HelperResult::Nothing => {}
            HelperResult::Xmm0(destination) => self.store(destination, Operand::Xmm(0)),
            HelperResult::Rax(destination) => self.store(destination, Operand::Gpr(RAX)),
        }
        for &location in &saved {
            match location {
                Location::Gpr(r) => emit!(self.ops; mov Rq(r), [rsp + 8 * r as i32]),
                Location::Xmm(x) => emit!(self.ops; movsd Rx(x), [rsp + CALL_SAVE_XMM + 8 * x as i32]),
                _ => {}
            }
        }
    }

    /// Registers the callee may clobber that hold values still needed after position `i`.
    fn caller_saved_live_across(&self, i: usize) -> Vec<Location> {
        // A guard may check after its call (an allocation asking for a collection, a
        // failed append): it exits with its own snapshot's values, which must survive the
        // call too. Every guard that calls a helper is treated so.
        let checks_after_call = self.trace.insts[i].op.is_guard();
        (0..i)
            .filter(|&v| self.alloc.interval_end[v] > i || (checks_after_call && self.alloc.interval_end[v] == i))
            .map(|v| self.alloc.locations[v])
            .filter(|location| match *location {
                Location::Gpr(r) => ALLOCATABLE_GPRS.contains(&r) && !CALLEE_SAVED_ALLOCATABLE.contains(&r),
                Location::Xmm(_) => true,
                _ => false,
            })
            .collect()
    }
}

/// The 64 bits a constant occupies in a register.
pub fn constant_bits(op: &Op) -> u64 {
    match *op {
        Op::KInt(i) => i as u64,
        Op::KFloat(x) => x.to_bits(),
        Op::KBool(b) => b as u64,
        Op::KBuiltin(id) => id as u64,
        Op::KStr(s) => s.addr() as u64,
        Op::KFunc(f) => f.addr() as u64,
        _ => 0,
    }
}
