//! The contract between the interpreter and native trace code: how a trace is called,
//! how it reports an exit, and where each IR value is found when it does.
//!
//! A compiled trace is called as
//! `entry(slots, globals, state) -> exit number` (System V ABI):
//! - `slots` points at slot 0 of the interpreter frame the trace was recorded in (an
//!   array of `Value`, 16 bytes each: tag byte at offset 0, payload at offset 8);
//! - `globals` points at global 0 (same layout);
//! - `state` points at an [`ExitState`] owned by the caller.
//!
//! The trace loops until a guard fails. The failing guard's exit stub saves every general
//! register and the low 64 bits of every XMM register into `state`, and the trace returns
//! the guard's snapshot number. Values the register allocator spilled live in
//! `state.spill` for the whole run, so they are still there after the return. The exit
//! handler then finds each snapshot value through [`Location`].
//!
//! In deopt-stress mode every guard exits the first time it runs: each trace has one byte
//! per snapshot (`CompiledTrace::stress_flags`, its address compiled into the code), 0
//! until that snapshot's exit has been taken once.
//!
//! Function traces call themselves natively (`ir::Op::CallTrace`): each level runs on its
//! own interpreter-layout frame further up the slot stack, recorded in
//! `state.native_frames`; an exit at any depth unwinds the native stack to
//! `state.entry_rsp`, and the exit handler turns the recorded levels into interpreter
//! frames.
//!
//! Native links between traces (not in deopt-stress mode): every exit stub jumps through
//! its trace's *exit table*, one code address per snapshot, which starts out pointing at
//! the stub's own register-saving tail. Linking an exit to its side trace replaces that
//! address with the side trace's *linked entry*, which stores the exit's snapshot values
//! from the parent's registers into the frame itself and runs the side trace; a side
//! trace ends by jumping to its root's *re-entry* (the pre-roll, past the prologue) rather
//! than returning `BACK_TO_LOOP`. Every trace pushes the same registers and reserves the
//! same frame, so any trace's epilogue can return for any other, and the exit tail
//! records which trace exited in `state.exited_trace`.

use crate::compile::bytecode::Program;
use crate::runtime::heap::Heap;
use crate::runtime::value::Value;
use std::io::Write;
use std::time::Instant;

/// What a side trace returns when it reached its root trace's loop header, having stored
/// every slot it changed: the caller enters the root trace again.
pub const BACK_TO_LOOP: u32 = u32::MAX;

/// What a function trace returns when the function returned to the interpreter: the
/// result is in the slot below the frame.
pub const FUNCTION_RETURNED: u32 = u32::MAX - 1;

/// Native recursion levels one entry of a function trace may stack (each takes a few
/// hundred bytes of native stack; deeper calls exit to the interpreter).
pub const MAX_NATIVE_DEPTH: usize = 1000;

/// Spill slots a trace may use; a trace that needs more is not compiled.
pub const MAX_SPILL_SLOTS: usize = 256;

#[repr(C)]
pub struct ExitState {
    /// rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15 (hardware encoding order).
    pub gpr: [u64; 16],
    /// Low 64 bits of xmm0..xmm15.
    pub xmm: [u64; 16],
    pub spill: [u64; MAX_SPILL_SLOTS],
    /// Iterations of the loop body run natively (counted for `--jit-stats`).
    pub loop_iterations: u64,
    /// Other loop back-edges taken natively: those side traces go through (added at each
    /// exit and end from `Snapshot::back_edges`); never reset by native code.
    pub back_edges: u64,
    /// Ruff calls made natively: inlined calls (added at exits and ends from
    /// `Snapshot::calls`, and per iteration of a root loop trace) and `CallTrace`s.
    pub calls: u64,
    /// Bytes by which pushes on trace grew array buffers, for the collector's pacing.
    pub heap_growth: u64,
    /// The number of the trace whose exit was taken: traces jump into one another
    /// natively, so it need not be the trace that was entered.
    pub exited_trace: u64,
    /// The stack pointer just after the entered trace's prologue: an exit from inside
    /// native recursion unwinds to it.
    pub entry_rsp: u64,
    /// Native recursion levels in progress (`CallTrace`), and how many more are allowed.
    pub native_depth: u64,
    pub depth_budget: u64,
    /// Per native call level: the address of its frame's slot 0, the pc its caller
    /// resumes at, and the function's address. `MAX_NATIVE_DEPTH` entries.
    pub native_frames: *mut [u64; 3],
    /// The heap and program, for helpers that allocate (never collecting) or format.
    pub heap: *mut Heap,
    pub program: *const Program,
    /// Set by a helper whose guard must leave the trace, for the interpreter to redo the
    /// operation: an allocation after which the heap wants a collection (the interpreter
    /// collects at its next safe point), or a builtin call that failed or returned a value
    /// of another type than the trace was recorded with.
    pub must_exit: u64,
    /// The `start_time` helpers hand to builtins (`builtins::Ctx`): the interpreter's, set
    /// at every entry, which `performance_now` on trace (`CallEffect`) reads. Kept here, it
    /// spares each call a `clock_gettime` (7% of bounce's time, whose `bit_and` is a
    /// `CALLB`).
    pub start_time: Instant,
    /// The program's output, set at every entry from the interpreter: `CallEffect` (`print`
    /// on trace) writes through it, in order with the interpreter's own writes.
    pub out: *mut (dyn Write + 'static),
    /// The result of the last `CallEffect`, which the emitted code copies into the call's
    /// slot (whatever its type) before `EffectCheck` decides whether to leave the trace.
    pub call_result: Value,
    /// The dict entry the last lookup of `DTAG`, `DGET` or `DSET` found, for the next one
    /// of the same dict and key operand (`counts[c] := counts[c] + 1` is three lookups).
    /// Valid for one native run: cleared at every entry from the interpreter, since within
    /// a run no collection frees a key or dict whose address could be reused and no entry
    /// moves (dicts never delete, and inserting appends). A string key operand is known by
    /// its address, so `SAPPEND`, the one op that changes a string's text in place, clears
    /// a hint about the string it appends to.
    pub dict_hint: DictHint,
}

impl ExitState {
    /// Resets what holds for one native run only, before a trace is entered from Rust.
    pub fn start_run(&mut self) {
        self.loop_iterations = 0;
        self.dict_hint = DictHint::default();
    }
}

/// See `ExitState::dict_hint`.
#[derive(Clone, Copy, Default)]
pub struct DictHint {
    /// The dict's address and the key operand's bits (an int, or a string's address).
    pub dict: u64,
    pub key: u64,
    /// The entry's position plus one; 0 when there is no hint.
    pub position: u64,
    /// Whether the key operand is a string, and whether that string is a text key (not
    /// the spelling of an int key), which a write marks shared.
    pub string_operand: bool,
    pub text_key: bool,
}

impl DictHint {
    /// The position of the entry under the key operand `key` (a string's address when
    /// `string_operand`) in the dict at address `dict`, if this hint is about them.
    pub fn position(&self, dict: u64, key: u64, string_operand: bool) -> Option<usize> {
        let about = self.position != 0 && self.dict == dict && self.key == key && self.string_operand == string_operand;
        about.then(|| self.position as usize - 1)
    }
}

impl Default for ExitState {
    fn default() -> Self {
        ExitState {
            gpr: [0; 16],
            xmm: [0; 16],
            spill: [0; MAX_SPILL_SLOTS],
            loop_iterations: 0,
            back_edges: 0,
            calls: 0,
            heap_growth: 0,
            exited_trace: 0,
            entry_rsp: 0,
            native_depth: 0,
            depth_budget: 0,
            native_frames: std::ptr::null_mut(),
            heap: std::ptr::null_mut(),
            program: std::ptr::null(),
            must_exit: 0,
            start_time: Instant::now(),
            out: std::ptr::null_mut::<std::io::Sink>() as *mut dyn Write,
            call_result: Value::Null,
            dict_hint: DictHint::default(),
        }
    }
}

/// Every compiled trace counts what happens to it in a block of `u64`s of its own
/// (`CompiledTrace::counters`), written by its machine code, for `--jit-stats`:
/// arrivals at its start from anywhere (the interpreter, a linked exit, a side trace
/// going back to its root, a native call or jump) ...
pub const COUNT_ENTRIES: usize = 0;
/// ... times it ran to its end (a side trace back at its loop's header, a function
/// returning, a jump into a loop trace, an unpeeled loop trace starting over) ...
pub const COUNT_COMPLETIONS: usize = 1;
/// ... native calls it made (`CallTrace`) and calls that returned to it (the others were
/// abandoned by an exit deeper down, which unwinds the native stack) ...
pub const COUNT_CALLS_MADE: usize = 2;
pub const COUNT_CALLS_RETURNED: usize = 3;
/// ... and, from here on, one counter per snapshot: times its exit was taken, whether it
/// went to the interpreter or to a linked side trace.
pub const COUNT_EXITS: usize = 4;

pub type TraceEntry = unsafe extern "sysv64" fn(slots: *mut Value, globals: *mut Value, state: *mut ExitState) -> u32;

/// Where an IR value lives while the trace runs (one place for its whole lifetime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A general register, hardware number (0 = rax ... 15 = r15).
    Gpr(u8),
    /// An XMM register (floats).
    Xmm(u8),
    /// `state.spill[n]`.
    Spill(u16),
    /// A constant: the exit handler takes its value from the IR.
    Constant,
    /// No value (void instructions, dead values).
    None,
}

/// What `CTAG` answers for a captured value: its tag, and for a builtin (which has no
/// register form, so the trace knows it as a constant) also which one, above the tag
/// byte, so that the one guard on the answer fixes it.
pub fn capture_key(v: Value) -> i64 {
    match v {
        Value::Builtin(id) => (id as i64) << 8 | v.tag() as i64,
        other => other.tag() as i64,
    }
}
