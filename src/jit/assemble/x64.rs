//! x86-64 code emission with dynasm-rs: prologue, pre-roll, Phi moves, loop body,
//! back-edge, exit stubs and epilogue of one allocated trace.
//!
//! Terms:
//! - *Operand*: where an instruction reads a value: a register, a spill slot (as a
//!   displacement from the `ExitState` pointer) or the raw 64 bits of a constant.
//! - *Work register*: the register an instruction computes in: its destination register
//!   when it has one, otherwise a scratch register whose content is then stored.
//! - *Exit stub*: the code a failing guard jumps to; one per snapshot that some guard
//!   names. It saves rax, loads the exit number into eax and jumps to the shared tail,
//!   which saves the other registers, sets the stress flag and returns.
//! - *Helper*: a Rust function the code calls: the math functions without an SSE
//!   instruction, float `%`, and `push_value` for `APUSH`, which appends through
//!   `Vec::push` because growing the element buffer needs Rust's allocator.
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
use std::time::Instant;

use super::regalloc::{gpr::*, Allocation, ALLOCATABLE_GPRS, CALLEE_SAVED_ALLOCATABLE};
use super::{AssembleError, LinkedRebuild};
use crate::builtins::{self, Ctx};
use crate::jit::abi::{
    ExitState, Location, BACK_TO_LOOP, COUNT_CALLS_MADE, COUNT_CALLS_RETURNED, COUNT_COMPLETIONS, COUNT_ENTRIES,
    COUNT_EXITS, FUNCTION_RETURNED,
};
use crate::jit::exit;
use crate::jit::ir::{AllocKind, Inst, InstIdx, MathFn, Op, SnapIdx, Trace, Ty, MAX_BUILTIN_ARGS, SELF_TRACE};
use crate::runtime::format;
use crate::runtime::heap::Gc;
use crate::runtime::heap::SHARED_FLAG_OFFSET;
use crate::runtime::object::{make_unique_array, make_unique_value, ArrayLayout, ArrayObj, StrObj};
use crate::runtime::object::{DictKey, DictObj, FuncObj, StructObj, TaggedObj};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::{Tag, Value};
use crate::runtime::{access, ops};

macro_rules! emit {
    ($ops:expr; $($t:tt)*) => {
        dynasm!($ops ; .arch x64 ; $($t)*)
    };
}

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
const LOOP_ITERATIONS: i32 = offset_of!(ExitState, loop_iterations) as i32;
const BACK_EDGES: i32 = offset_of!(ExitState, back_edges) as i32;
const CALLS: i32 = offset_of!(ExitState, calls) as i32;
const EXITED_TRACE: i32 = offset_of!(ExitState, exited_trace) as i32;

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
    /// The trace's counters (`abi::COUNT_ENTRIES` and the rest).
    pub counters: *mut u64,
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

type UnaryHelper = extern "sysv64" fn(f64) -> f64;
type BinaryHelper = extern "sysv64" fn(f64, f64) -> f64;
type PushHelper = extern "sysv64" fn(*mut u8, u64, u64, *mut ExitState) -> u64;

// The helpers are the very functions the builtins in `builtins/math.rs` and the float
// `%` of `runtime/ops.rs` use, so results agree bit for bit.
extern "sysv64" fn helper_floor(x: f64) -> f64 {
    x.floor()
}
extern "sysv64" fn helper_ceil(x: f64) -> f64 {
    x.ceil()
}
extern "sysv64" fn helper_round(x: f64) -> f64 {
    x.round()
}
extern "sysv64" fn helper_sin(x: f64) -> f64 {
    x.sin()
}
extern "sysv64" fn helper_cos(x: f64) -> f64 {
    x.cos()
}
extern "sysv64" fn helper_tan(x: f64) -> f64 {
    x.tan()
}
extern "sysv64" fn helper_exp(x: f64) -> f64 {
    x.exp()
}
extern "sysv64" fn helper_ln(x: f64) -> f64 {
    x.ln()
}
extern "sysv64" fn helper_pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}
extern "sysv64" fn helper_min(x: f64, y: f64) -> f64 {
    x.min(y)
}
extern "sysv64" fn helper_max(x: f64, y: f64) -> f64 {
    x.max(y)
}
extern "sysv64" fn helper_fmod(x: f64, y: f64) -> f64 {
    x % y
}

/// Whether the heap wants a collection, counting the growth native code has not reported
/// yet (`state.heap_growth`). A helper about to grow an object then fails instead, before
/// its operation, so the interpreter redoes it and collects: native code never collects,
/// and a loop that runs natively for long must not starve the collector. (The backend's
/// unit tests attach no heap.)
fn collection_due(state: *mut ExitState) -> bool {
    // SAFETY: `state` is the exit state the trace was entered with (r13); its `heap`, when
    // set, is the interpreter's heap, which no Rust code uses while native code runs.
    unsafe { (*state).heap.as_ref().is_some_and(|heap| heap.wants_collection_after((*state).heap_growth as usize)) }
}

/// `APUSH` when the buffer is full: appends the element with tag `tag` and payload bits
/// `payload` (an int, float, bool, null or string, as the verifier ensures) to the array
/// object at `array`, through the same `ArrayObj::try_push` as the `push` builtin, and
/// adds the buffer's growth to `state.heap_growth`. Returns 1, leaving the array as it
/// was, when a collection is due or memory ran out (the exit lets the interpreter redo the
/// push).
extern "sysv64" fn push_value(array: *mut u8, tag: u64, payload: u64, state: *mut ExitState) -> u64 {
    if collection_due(state) {
        return 1;
    }
    let value = value_of(tag, payload);
    // SAFETY: `array` is an array value of the trace: an address loaded from a slot or
    // global whose tag is `Array` (possibly carried through Phis). Objects never move and
    // no collection runs while native code does, so it is a live `GcBox<ArrayObj>`; native
    // code holds no Rust reference into it, so `get_mut` aliases nothing.
    let array = unsafe { Gc::<ArrayObj>::from_address(array as usize) };
    let Ok(grown) = array.get_mut().try_push(value) else {
        // The array stays as it was; the exit lets the interpreter raise the error.
        return 1;
    };
    // SAFETY: `state` is the exit state the trace was entered with (r13), live for the
    // whole run and not referenced by Rust code while native code runs.
    unsafe { (*state).heap_growth += grown as u64 };
    0
}

/// `SAPPEND`: appends the string at `piece` to the string at `string` through the
/// interpreter's own in-place append, and adds the buffer's growth to `state.heap_growth`.
/// The emitted code has already checked that `string` is unshared and is not `piece`.
/// Returns 1, leaving the string as it was, when it would grow while a collection is due
/// or memory ran out (the exit lets the interpreter redo the append).
extern "sysv64" fn append_string(string: *mut u8, piece: *mut u8, state: *mut ExitState) -> u64 {
    // SAFETY: both are string values of the trace: constants of the traced function (kept
    // alive by its proto) or addresses loaded from slots whose tag is `Str`. Objects never
    // move and no collection runs while native code does; native code holds no Rust
    // reference into them, and they are distinct objects, so `get_mut` aliases nothing.
    let (string, piece) =
        unsafe { (Gc::<StrObj>::from_address(string as usize), Gc::<StrObj>::from_address(piece as usize)) };
    let grows = string.text.capacity() - string.text.len() < piece.text.len();
    if grows && collection_due(state) {
        return 1;
    }
    let Ok(grown) = crate::runtime::ops::append_in_place(string, piece) else {
        // The string stays as it was; the exit lets the interpreter raise the error.
        return 1;
    };
    // SAFETY: `state` is the exit state the trace was entered with (r13), live for the
    // whole run and not referenced by Rust code while native code runs.
    unsafe { (*state).heap_growth += grown as u64 };
    0
}

/// Where a helper's result goes: nowhere, from xmm0 (floats) or from rax.
enum HelperResult {
    Nothing,
    Xmm0(Option<Operand>),
    Rax(Option<Operand>),
}

/// The value with tag `tag` and payload bits `payload`, as a helper receives it from the
/// emitted code: an int, float, bool, null, or an object of the trace (a string, array,
/// dict, struct or function).
fn value_of(tag: u64, payload: u64) -> Value {
    const NULL: u64 = Tag::Null as u64;
    const BOOL: u64 = Tag::Bool as u64;
    const INT: u64 = Tag::Int as u64;
    const FLOAT: u64 = Tag::Float as u64;
    const STR: u64 = Tag::Str as u64;
    const ARRAY: u64 = Tag::Array as u64;
    const DICT: u64 = Tag::Dict as u64;
    const STRUCT: u64 = Tag::Struct as u64;
    const FUNC: u64 = Tag::Func as u64;
    let address = payload as usize;
    // SAFETY (each object arm): the emitter passes an object tag only with a value of the
    // trace of that type (`value_tag` of its IR type): a constant of the traced function or
    // an object loaded from a slot, global or container, or allocated on trace. Objects
    // never move and no collection runs while native code does, so it is live.
    match tag {
        NULL => Value::Null,
        BOOL => Value::Bool(payload != 0),
        INT => Value::Int(payload as i64),
        FLOAT => Value::Float(f64::from_bits(payload)),
        STR => Value::Str(unsafe { Gc::from_address(address) }),
        ARRAY => Value::Array(unsafe { Gc::from_address(address) }),
        DICT => Value::Dict(unsafe { Gc::from_address(address) }),
        STRUCT => Value::Struct(unsafe { Gc::from_address(address) }),
        FUNC => Value::Func(unsafe { Gc::from_address(address) }),
        // Unwinding out of an `extern` function aborts the process, as it should: the
        // emitter passes no other tag.
        other => unreachable!("a helper got a value with tag {}", other),
    }
}

/// The payload bits of a value in a register of the trace (an object's address); `None`
/// for the types no register holds.
fn register_bits(value: Value) -> Option<u64> {
    Some(match value {
        Value::Null => 0,
        Value::Bool(b) => b as u64,
        Value::Int(i) => i as u64,
        Value::Float(x) => x.to_bits(),
        Value::Str(s) => s.addr() as u64,
        Value::Array(a) => a.addr() as u64,
        Value::Dict(d) => d.addr() as u64,
        Value::Struct(s) => s.addr() as u64,
        Value::Func(f) => f.addr() as u64,
        Value::Tagged(_) | Value::Builtin(_) | Value::Undef => return None,
    })
}

/// How the emitted code describes a `CALLB` to [`call_builtin`]: the builtin, the number
/// of arguments, their tags and the tag the result must have, in one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BuiltinCall {
    builtin: u32,
    argc: u8,
    arg_tags: [u8; MAX_BUILTIN_ARGS],
    result_tag: u8,
}

impl BuiltinCall {
    fn encode(self) -> u64 {
        let tags = self.arg_tags.iter().enumerate().fold(0u64, |word, (n, &tag)| word | (tag as u64) << (8 * n));
        tags | (self.result_tag as u64) << 24 | (self.argc as u64) << 32 | (self.builtin as u64) << 40
    }

    fn decode(word: u64) -> BuiltinCall {
        let byte = |n: u32| (word >> (8 * n)) as u8;
        BuiltinCall {
            builtin: (word >> 40) as u32,
            argc: byte(4),
            arg_tags: [byte(0), byte(1), byte(2)],
            result_tag: byte(3),
        }
    }
}

/// `CALLB`: calls a builtin through `builtins::call`, as the interpreter does, on the
/// arguments whose payload bits are `payloads` (tags in the encoded `call`). Returns the
/// result's payload bits; sets `state.must_exit` when the builtin raised an error, its
/// result has another tag than `call`'s, or the heap now wants a collection (the exit
/// lets the interpreter make the call again).
fn call_builtin(call: u64, payloads: [u64; MAX_BUILTIN_ARGS], state: *mut ExitState) -> u64 {
    let call = BuiltinCall::decode(call);
    let mut args = [Value::Null; MAX_BUILTIN_ARGS];
    for (n, arg) in args.iter_mut().enumerate().take(call.argc as usize) {
        *arg = value_of(call.arg_tags[n] as u64, payloads[n]);
    }
    // SAFETY: as in `scalar_to_string`.
    let (state, heap, program) = unsafe { (&mut *state, &mut *(*state).heap, &*(*state).program) };
    // Builtins a trace calls write no output and read no clock (`builtins::is_repeatable`).
    let mut ctx = Ctx { heap, program, out: &mut std::io::sink(), start_time: Instant::now() };
    let result = builtins::call(call.builtin, &mut ctx, &args[..call.argc as usize]);
    let bits = match result {
        Ok(value) if value.tag() as u8 == call.result_tag => register_bits(value),
        _ => None,
    };
    state.must_exit = (bits.is_none() || heap.wants_collection()) as u64;
    bits.unwrap_or(0)
}

/// `CALLB` of a builtin whose result is an int, bool, null or object (see `call_builtin`).
extern "sysv64" fn call_builtin_bits(call: u64, a: u64, b: u64, c: u64, state: *mut ExitState) -> u64 {
    call_builtin(call, [a, b, c], state)
}

/// `CALLB` of a builtin whose result is a float (see `call_builtin`).
extern "sysv64" fn call_builtin_float(call: u64, a: u64, b: u64, c: u64, state: *mut ExitState) -> f64 {
    f64::from_bits(call_builtin(call, [a, b, c], state))
}

/// The dict object at `dict`, a dict value of the trace.
///
/// # Safety
/// `dict` must be an address the trace loaded from a slot or global whose tag is `Dict`
/// (possibly carried through Phis); objects never move and no collection runs while
/// native code does, so it is a live `GcBox<DictObj>`.
unsafe fn dict_at(dict: *mut u8) -> Gc<DictObj> {
    // SAFETY: guaranteed by the caller.
    unsafe { Gc::<DictObj>::from_address(dict as usize) }
}

/// The dict key a key operand's bits denote: an int, or (`STRING_KEY`) the address of a
/// string object, keyed as `access::dict_key` keys strings (a canonical integer spelling
/// is the int key).
fn dict_key<const STRING_KEY: bool>(key: u64) -> DictKey {
    if STRING_KEY {
        // SAFETY: a string key operand is a string value of the trace: a constant of the
        // traced function or an address loaded from its frame, live while native code runs.
        DictKey::of_string(unsafe { Gc::<StrObj>::from_address(key as usize) })
    } else {
        DictKey::Int(key as i64)
    }
}

/// `DTAG`: the tag of the entry under the key, or -1 when there is none.
extern "sysv64" fn dict_tag<const STRING_KEY: bool>(dict: *mut u8, key: u64) -> i64 {
    // SAFETY: `dict` is a dict value of the trace (see `dict_at`).
    let dict = unsafe { dict_at(dict) };
    dict.get(&dict_key::<STRING_KEY>(key)).map_or(-1, |v| v.tag() as i64)
}

/// `DGET` of an int, bool or null entry: its payload bits (a bool as 0/1).
extern "sysv64" fn dict_bits<const STRING_KEY: bool>(dict: *mut u8, key: u64) -> u64 {
    // SAFETY: `dict` is a dict value of the trace (see `dict_at`).
    let dict = unsafe { dict_at(dict) };
    match dict.get(&dict_key::<STRING_KEY>(key)) {
        Some(Value::Int(i)) => i as u64,
        Some(Value::Bool(b)) => b as u64,
        _ => 0,
    }
}

/// `DGET` of a float entry.
extern "sysv64" fn dict_float<const STRING_KEY: bool>(dict: *mut u8, key: u64) -> f64 {
    // SAFETY: `dict` is a dict value of the trace (see `dict_at`).
    let dict = unsafe { dict_at(dict) };
    match dict.get(&dict_key::<STRING_KEY>(key)) {
        Some(Value::Float(f)) => f,
        _ => 0.0,
    }
}

/// `DSET`: inserts or replaces the entry under the key with the value of tag `tag` and
/// payload `payload`, as the interpreter's `set_index` does (a string key becomes
/// shared: the dict holds it now), and adds the growth to `state.heap_growth`. Returns 1,
/// changing nothing, when a collection is due (the exit lets the interpreter redo it).
extern "sysv64" fn dict_set<const STRING_KEY: bool>(
    dict: *mut u8,
    key: u64,
    tag: u64,
    payload: u64,
    state: *mut ExitState,
) -> u64 {
    // An insert may grow the dict (see `collection_due`).
    if collection_due(state) {
        return 1;
    }
    let value = value_of(tag, payload);
    // SAFETY: `dict` is a dict value of the trace (see `dict_at`); native code holds no
    // Rust reference into it, so `get_mut` aliases nothing.
    let dict = unsafe { dict_at(dict) };
    let key = dict_key::<STRING_KEY>(key);
    if let DictKey::Str(s) = key {
        s.set_shared();
    }
    let grown = dict.get_mut().insert(key, value);
    // SAFETY: `state` is the exit state the trace was entered with (r13), live for the
    // whole run and not referenced by Rust code while native code runs.
    unsafe { (*state).heap_growth += grown as u64 };
    0
}

/// `SLEN`: the string's length in characters.
extern "sysv64" fn string_length(string: *mut u8) -> i64 {
    // SAFETY: `string` is a string value of the trace: a constant of the traced function
    // or an address loaded from its frame or an array, live while native code runs.
    let string = unsafe { Gc::<StrObj>::from_address(string as usize) };
    string.char_count() as i64
}

/// `SEQ`: whether two strings are equal, by the interpreter's `==`.
extern "sysv64" fn string_equal(a: *mut u8, b: *mut u8) -> u64 {
    // SAFETY: both are string values of the trace (see `string_length`).
    let (a, b) = unsafe { (Gc::<StrObj>::from_address(a as usize), Gc::<StrObj>::from_address(b as usize)) };
    ops::values_equal(Value::Str(a), Value::Str(b)) as u64
}

/// The struct object at `object`, a struct value of the trace.
///
/// # Safety
/// `object` must be an address the trace loaded (from a slot or an array element) under
/// a `Struct` tag check; objects never move and no collection runs while native code
/// does, so it is a live `GcBox<StructObj>`.
unsafe fn struct_at(object: *mut u8) -> Gc<StructObj> {
    // SAFETY: guaranteed by the caller.
    unsafe { Gc::<StructObj>::from_address(object as usize) }
}

/// `FTAG`: the tag of field `field`, or -1 when there is none.
extern "sysv64" fn field_tag(object: *mut u8, field: u64) -> i64 {
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let object = unsafe { struct_at(object) };
    object.get(Symbol(field as u32)).map_or(-1, |v| v.tag() as i64)
}

/// `FGET` of a field that is not a float: its payload bits (an object's address).
extern "sysv64" fn field_bits(object: *mut u8, field: u64) -> u64 {
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let object = unsafe { struct_at(object) };
    object.get(Symbol(field as u32)).and_then(register_bits).unwrap_or(0)
}

/// `FGET` of a float field.
extern "sysv64" fn field_float(object: *mut u8, field: u64) -> f64 {
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let object = unsafe { struct_at(object) };
    match object.get(Symbol(field as u32)) {
        Some(Value::Float(f)) => f,
        _ => 0.0,
    }
}

/// The closure at `func`, a function constant of the trace.
///
/// # Safety
/// `func` must be the address of a `KFunc` constant, which the JIT keeps alive
/// (`Jit::mark_roots`); objects never move.
unsafe fn closure_at(func: *mut u8) -> Gc<FuncObj> {
    // SAFETY: guaranteed by the caller.
    unsafe { Gc::<FuncObj>::from_address(func as usize) }
}

/// `CTAG`: the tag of captured variable `index`.
extern "sysv64" fn capture_tag(func: *mut u8, index: u64) -> i64 {
    // SAFETY: `func` is a function constant of the trace (see `closure_at`).
    let func = unsafe { closure_at(func) };
    func.captures.get(index as usize).map_or(-1, |v| v.tag() as i64)
}

/// `CGET` of an int, bool or null capture: its payload bits.
extern "sysv64" fn capture_bits(func: *mut u8, index: u64) -> u64 {
    // SAFETY: `func` is a function constant of the trace (see `closure_at`).
    let func = unsafe { closure_at(func) };
    match func.captures.get(index as usize) {
        Some(Value::Int(i)) => *i as u64,
        Some(Value::Bool(b)) => *b as u64,
        _ => 0,
    }
}

/// `CGET` of a float capture.
extern "sysv64" fn capture_float(func: *mut u8, index: u64) -> f64 {
    // SAFETY: `func` is a function constant of the trace (see `closure_at`).
    let func = unsafe { closure_at(func) };
    match func.captures.get(index as usize) {
        Some(Value::Float(f)) => *f,
        _ => 0.0,
    }
}

/// The enum object at `object`, a `Ty::Tagged` value of the trace.
///
/// # Safety
/// `object` must be an enum value the trace loaded from its frame or an array (typed by
/// a tag guard); objects never move and no collection runs while native code does.
unsafe fn tagged_at(object: *mut u8) -> Gc<TaggedObj> {
    // SAFETY: guaranteed by the caller.
    unsafe { Gc::<TaggedObj>::from_address(object as usize) }
}

/// `TAGKEY`: the enum object's constructor, enum name over tag.
extern "sysv64" fn tag_key(object: *mut u8) -> i64 {
    // SAFETY: `object` is an enum value of the trace (see `tagged_at`).
    let object = unsafe { tagged_at(object) };
    (object.enum_name.0 as i64) << 32 | object.tag.0 as i64
}

/// `PTAG`: the tag of the enum object's payload (null's when it has none).
extern "sysv64" fn payload_tag(object: *mut u8) -> i64 {
    // SAFETY: `object` is an enum value of the trace (see `tagged_at`).
    let object = unsafe { tagged_at(object) };
    object.payload.first().map_or(Tag::Null as i64, |v| v.tag() as i64)
}

/// `PGET` of an int, bool, null or string payload: its payload bits (a string's address).
extern "sysv64" fn payload_bits(object: *mut u8) -> u64 {
    // SAFETY: `object` is an enum value of the trace (see `tagged_at`).
    let object = unsafe { tagged_at(object) };
    match object.payload.first() {
        Some(Value::Int(i)) => *i as u64,
        Some(Value::Bool(b)) => *b as u64,
        Some(Value::Str(s)) => s.addr() as u64,
        _ => 0,
    }
}

/// `PGET` of a float payload.
extern "sysv64" fn payload_float(object: *mut u8) -> f64 {
    // SAFETY: `object` is an enum value of the trace (see `tagged_at`).
    let object = unsafe { tagged_at(object) };
    match object.payload.first() {
        Some(Value::Float(f)) => *f,
        _ => 0.0,
    }
}

/// `STTYPE`: the struct's type index.
extern "sysv64" fn struct_type(object: *mut u8) -> i64 {
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let object = unsafe { struct_at(object) };
    object.type_index as i64
}

/// A linked entry's rebuild of its parent exit's snapshot (which holds sunk values) into
/// the frame at `slots`, from the parent's registers saved in `state`: returns 1, having
/// changed nothing, when the heap already wants a collection (the exit then goes to the
/// exit handler, and the interpreter collects), else 0.
extern "sysv64" fn rebuild_linked_exit(state: *mut ExitState, slots: *mut Value, rebuild: *const LinkedRebuild) -> u64 {
    // SAFETY: `state` is the exit state the trace was entered with, whose `heap` the exit
    // handler set for this run; `rebuild` is owned by the side trace whose code calls this;
    // `slots` is the frame the parent trace runs on, which covers every slot its snapshots
    // name (`Jit::frame_needs`), i.e. `rebuild.extent` slots. No Rust code uses the heap
    // while native code runs, and allocating never collects.
    let (state, rebuild) = unsafe { (&mut *state, &*rebuild) };
    let heap = unsafe { &mut *state.heap };
    if heap.wants_collection() {
        return 1;
    }
    let slots = unsafe { std::slice::from_raw_parts_mut(slots, rebuild.extent) };
    exit::restore(&rebuild.trace, &rebuild.locations, state, rebuild.snap, slots, heap);
    0
}

/// `SCONCAT`: a new string `a + b`, allocated through the interpreter's own `+` (which,
/// told not to reuse `a`, always builds a new string); notes in `state` whether a
/// collection is now due.
extern "sysv64" fn concat_strings(a: *mut u8, b: *mut u8, state: *mut ExitState) -> *mut u8 {
    // SAFETY: both are string values of the trace (see `string_length`).
    let (a, b) = unsafe { (Gc::<StrObj>::from_address(a as usize), Gc::<StrObj>::from_address(b as usize)) };
    // SAFETY: `state` is the exit state the trace was entered with, whose `heap` the exit
    // handler set to the interpreter's heap for this run; no Rust code uses the heap while
    // native code runs, and the allocation never collects.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let Ok(Value::Str(s)) = ops::arith(heap, ops::ArithOp::Add, Value::Str(a), Value::Str(b), false) else {
        unreachable!("string + string is a string")
    };
    state.must_exit = heap.wants_collection() as u64;
    s.addr() as *mut u8
}

/// `TOSTR`: the text of the scalar with tag `tag` and payload `payload` as a new string,
/// formatted as the interpreter's `to_string` does; notes whether a collection is due.
extern "sysv64" fn scalar_to_string(tag: u64, payload: u64, state: *mut ExitState) -> *mut u8 {
    let value = value_of(tag, payload);
    // SAFETY: as in `concat_strings`; `program` is the running program, set with `heap`.
    let (state, heap, program) = unsafe { (&mut *state, &mut *(*state).heap, &*(*state).program) };
    let text = format::display(program, &value).expect("scalars always display");
    let s = heap.alloc(StrObj::new(text));
    state.must_exit = heap.wants_collection() as u64;
    s.addr() as *mut u8
}

/// `SCHAR`: `string[index]` through the interpreter's own indexing, or null when that
/// raises an error (the exit lets the interpreter raise it); notes whether a collection
/// is due.
extern "sysv64" fn string_char(string: *mut u8, index: i64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `string` is a string value of the trace (see `string_length`).
    let string = unsafe { Gc::<StrObj>::from_address(string as usize) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    match access::get_index(heap, Value::Str(string), Value::Int(index)) {
        Ok(Value::Str(c)) => {
            state.must_exit = heap.wants_collection() as u64;
            c.addr() as *mut u8
        }
        _ => std::ptr::null_mut(),
    }
}

/// `KEYS`: the keys of the dict as a new array, as `for k in dict` iterates them; notes
/// whether a collection is due.
extern "sysv64" fn dict_keys(dict: *mut u8, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `dict` is a dict value of the trace (see `dict_at`).
    let dict = unsafe { dict_at(dict) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let Ok(Value::Array(keys)) = access::iteration_source(heap, Value::Dict(dict)) else {
        unreachable!("a dict iterates as the array of its keys")
    };
    state.must_exit = heap.wants_collection() as u64;
    keys.addr() as *mut u8
}

/// `PUSHCOPY`: `push(array, value)` through the `push` builtin on a shared array, which
/// builds a new array; when the array is no longer shared (the builtin would change it in
/// place) it does nothing and notes that the trace must be left, as when a collection is
/// due afterwards.
extern "sysv64" fn push_copy(array: *mut u8, tag: u64, payload: u64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `array` is an array value of the trace (see `push_value`).
    let array = unsafe { Gc::<ArrayObj>::from_address(array as usize) };
    // SAFETY: as in `scalar_to_string`.
    let (state, heap, program) = unsafe { (&mut *state, &mut *(*state).heap, &*(*state).program) };
    if !array.is_shared() {
        state.must_exit = 1;
        return array.addr() as *mut u8;
    }
    let args = [Value::Array(array), value_of(tag, payload)];
    let mut ctx = Ctx { heap, program, out: &mut std::io::sink(), start_time: Instant::now() };
    let push = builtins::lookup("push").expect("push is a builtin");
    match builtins::call(push, &mut ctx, &args) {
        Ok(Value::Array(copy)) => {
            state.must_exit = heap.wants_collection() as u64;
            copy.addr() as *mut u8
        }
        // Out of memory: the interpreter raises it.
        _ => {
            state.must_exit = 1;
            array.addr() as *mut u8
        }
    }
}

/// `AUNIQUE`: the array, private for a write (`object::make_unique_array`: a copy when
/// it is shared); notes whether a collection is due.
extern "sysv64" fn unique_array(array: *mut u8, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `array` is an array value of the trace (see `push_value`).
    let array = unsafe { Gc::<ArrayObj>::from_address(array as usize) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let private = make_unique_array(heap, array);
    state.must_exit = heap.wants_collection() as u64;
    private.addr() as *mut u8
}

/// `ALOADU`: element `index` of an unshared array for a write into it, made private in
/// place (`object::make_unique_value`), when it is an object with tag `tag`; otherwise
/// (a shared array, an index out of bounds, another type) it changes nothing and notes
/// that the trace must be left, as when a collection is due afterwards.
extern "sysv64" fn element_for_write(array: *mut u8, index: i64, tag: u64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `array` is an array value of the trace (see `push_value`).
    let array = unsafe { Gc::<ArrayObj>::from_address(array as usize) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let position = usize::try_from(index).ok().filter(|&i| i < array.items.len());
    let (false, Some(position)) = (array.is_shared(), position) else {
        state.must_exit = 1;
        return std::ptr::null_mut();
    };
    let element = &mut array.get_mut().items[position];
    if element.tag() as u64 != tag {
        state.must_exit = 1;
        return std::ptr::null_mut();
    }
    make_unique_value(heap, element);
    state.must_exit = heap.wants_collection() as u64;
    element.heap_address().expect("arrays, dicts and structs are objects") as *mut u8
}

/// `ALLOC`: a new empty array (`kind` 0), empty dict (1), or struct of type `kind - 2`
/// with no fields; notes whether a collection is due.
extern "sysv64" fn allocate(kind: u64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let address = match kind {
        0 => heap.alloc(ArrayObj { items: Vec::new() }).addr(),
        1 => heap.alloc(DictObj::default()).addr(),
        struct_kind => heap.alloc(StructObj { type_index: (struct_kind - 2) as u32, fields: Vec::new() }).addr(),
    };
    state.must_exit = heap.wants_collection() as u64;
    address as *mut u8
}

/// The `kind` argument of [`allocate`] for `ALLOC` of `kind`.
fn allocation_kind(kind: AllocKind) -> u64 {
    match kind {
        AllocKind::Array => 0,
        AllocKind::Dict => 1,
        AllocKind::Struct(type_index) => 2 + type_index as u64,
    }
}

/// `FSET`: `object.field := value` (tag `tag`, payload `payload`) through the
/// interpreter's `set_field`, which copies a shared struct first; returns the struct now
/// holding the field and notes whether a collection is due.
extern "sysv64" fn field_set(object: *mut u8, field: u64, tag: u64, payload: u64, state: *mut ExitState) -> *mut u8 {
    let value = value_of(tag, payload);
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let mut holder = Value::Struct(unsafe { struct_at(object) });
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    // The field's name only appears in the error for a non-struct holder.
    let assigned = access::set_field(heap, &mut holder, Symbol(field as u32), "", value);
    let (Ok(()), Value::Struct(s)) = (assigned, holder) else { unreachable!("a struct's field can be assigned") };
    state.must_exit = heap.wants_collection() as u64;
    s.addr() as *mut u8
}

type DictReadHelper = extern "sysv64" fn(*mut u8, u64) -> i64;
type DictBitsHelper = extern "sysv64" fn(*mut u8, u64) -> u64;
type DictFloatHelper = extern "sysv64" fn(*mut u8, u64) -> f64;
type DictSetHelper = extern "sysv64" fn(*mut u8, u64, u64, u64, *mut ExitState) -> u64;
type BuiltinHelper<R> = extern "sysv64" fn(u64, u64, u64, u64, *mut ExitState) -> R;

/// The Rust function performing instruction `inst` of `trace`, when the emitted code
/// calls one.
fn helper_address(trace: &Trace, inst: &Inst) -> Option<usize> {
    let unary = |f: UnaryHelper| Some(f as usize);
    let binary = |f: BinaryHelper| Some(f as usize);
    let string_key = |key: InstIdx| trace.inst(key).ty == Ty::Str;
    match inst.op {
        Op::APush { .. } => Some(push_value as PushHelper as usize),
        Op::PushCopy { .. } => {
            Some(push_copy as extern "sysv64" fn(*mut u8, u64, u64, *mut ExitState) -> *mut u8 as usize)
        }
        Op::AUnique(_) => Some(unique_array as extern "sysv64" fn(*mut u8, *mut ExitState) -> *mut u8 as usize),
        Op::ALoadUnique(..) => {
            Some(element_for_write as extern "sysv64" fn(*mut u8, i64, u64, *mut ExitState) -> *mut u8 as usize)
        }
        Op::SAppend { .. } => {
            Some(append_string as extern "sysv64" fn(*mut u8, *mut u8, *mut ExitState) -> u64 as usize)
        }
        Op::DTag(_, key) if string_key(key) => Some(dict_tag::<true> as DictReadHelper as usize),
        Op::DTag(..) => Some(dict_tag::<false> as DictReadHelper as usize),
        Op::DGet(_, key) => Some(match (inst.ty, string_key(key)) {
            (Ty::Float, true) => dict_float::<true> as DictFloatHelper as usize,
            (Ty::Float, false) => dict_float::<false> as DictFloatHelper as usize,
            (_, true) => dict_bits::<true> as DictBitsHelper as usize,
            (_, false) => dict_bits::<false> as DictBitsHelper as usize,
        }),
        Op::DSet { key, .. } if string_key(key) => Some(dict_set::<true> as DictSetHelper as usize),
        Op::DSet { .. } => Some(dict_set::<false> as DictSetHelper as usize),
        Op::SLen(_) => Some(string_length as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::CallBuiltin { .. } if inst.ty == Ty::Float => Some(call_builtin_float as BuiltinHelper<f64> as usize),
        Op::CallBuiltin { .. } => Some(call_builtin_bits as BuiltinHelper<u64> as usize),
        Op::SConcat(..) => {
            Some(concat_strings as extern "sysv64" fn(*mut u8, *mut u8, *mut ExitState) -> *mut u8 as usize)
        }
        Op::ToStr(_) => Some(scalar_to_string as extern "sysv64" fn(u64, u64, *mut ExitState) -> *mut u8 as usize),
        Op::SChar(..) => Some(string_char as extern "sysv64" fn(*mut u8, i64, *mut ExitState) -> *mut u8 as usize),
        Op::DictKeys(_) => Some(dict_keys as extern "sysv64" fn(*mut u8, *mut ExitState) -> *mut u8 as usize),
        Op::Alloc(_) => Some(allocate as extern "sysv64" fn(u64, *mut ExitState) -> *mut u8 as usize),
        Op::FieldSet { .. } => {
            Some(field_set as extern "sysv64" fn(*mut u8, u64, u64, u64, *mut ExitState) -> *mut u8 as usize)
        }
        Op::FieldTag { .. } => Some(field_tag as DictReadHelper as usize),
        Op::FieldGet { .. } if inst.ty == Ty::Float => Some(field_float as DictFloatHelper as usize),
        Op::FieldGet { .. } => Some(field_bits as DictBitsHelper as usize),
        Op::StructType(_) => Some(struct_type as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::TagKey(_) => Some(tag_key as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::PayloadTag(_) => Some(payload_tag as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::PayloadGet(_) if inst.ty == Ty::Float => Some(payload_float as extern "sysv64" fn(*mut u8) -> f64 as usize),
        Op::PayloadGet(_) => Some(payload_bits as extern "sysv64" fn(*mut u8) -> u64 as usize),
        Op::CaptureTag { .. } => Some(capture_tag as DictReadHelper as usize),
        Op::CaptureGet { .. } if inst.ty == Ty::Float => Some(capture_float as DictFloatHelper as usize),
        Op::CaptureGet { .. } => Some(capture_bits as DictBitsHelper as usize),
        Op::SEq(..) => Some(string_equal as extern "sysv64" fn(*mut u8, *mut u8) -> u64 as usize),
        Op::ModFloat(..) => binary(helper_fmod),
        Op::Math1(MathFn::Floor, _) => unary(helper_floor),
        Op::Math1(MathFn::Ceil, _) => unary(helper_ceil),
        Op::Math1(MathFn::Round, _) => unary(helper_round),
        Op::Math1(MathFn::Sin, _) => unary(helper_sin),
        Op::Math1(MathFn::Cos, _) => unary(helper_cos),
        Op::Math1(MathFn::Tan, _) => unary(helper_tan),
        Op::Math1(MathFn::Exp, _) => unary(helper_exp),
        Op::Math1(MathFn::Log, _) => unary(helper_ln),
        Op::Math2(MathFn::Pow, ..) => binary(helper_pow),
        Op::Math2(MathFn::Min, ..) => binary(helper_min),
        Op::Math2(MathFn::Max, ..) => binary(helper_max),
        _ => None,
    }
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
    /// `None` when `runtime::object::array_layout` could not determine it.
    array_layout: Option<ArrayLayout>,
    deopt_stress: bool,
    exit_labels: Vec<Option<DynamicLabel>>,
    common_exit: DynamicLabel,
    /// Restores the caller's registers and returns `eax`.
    epilogue: DynamicLabel,
    trace_id: u32,
    exit_table: *const usize,
    stress_flags: *mut u8,
    counters: *mut u64,
    end_events: (u32, u32),
    iteration_events: (u32, u32),
    /// Where `CallTrace` calls: the function trace's pre-roll.
    self_call: SelfCallTarget,
    trace_entries: &'a [usize],
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
    array_layout: Option<ArrayLayout>,
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
        array_layout,
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
            .filter(|slot| !snapshot.entries.iter().any(|&(written, _)| written == *slot))
            .collect();
        cleared.sort_unstable();
        cleared.dedup();
        for slot in cleared {
            emit!(self.ops; mov BYTE [Rq(SLOTS_BASE) + value_offset(slot as u64)?], Tag::Null as i8);
        }
        for &(slot, value) in &snapshot.entries {
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

    /// Adds one to the trace's counter `index` (clobbers r11 and the flags).
    fn count(&mut self, index: usize) {
        // SAFETY: only the address is computed; `index` is within the counters block
        // (`COUNT_EXITS` plus one per snapshot), which lives as long as the code.
        let address = unsafe { self.counters.add(index) } as i64;
        emit!(self.ops
            ; mov r11, QWORD address
            ; add QWORD [r11], 1
        );
    }

    /// Adds back-edges and calls to `ExitState`'s counts (clobbers the flags).
    fn count_events(&mut self, back_edges: u32, calls: u32) {
        if back_edges > 0 {
            emit!(self.ops; add QWORD [r13 + BACK_EDGES], back_edges as i32);
        }
        if calls > 0 {
            emit!(self.ops; add QWORD [r13 + CALLS], calls as i32);
        }
    }

    /// Moves the iteration counter into `ExitState` (with the unrolled back-edges and
    /// inlined calls of those iterations) and clears it: before code of another tree may run (a native call or
    /// jump, a return to a native caller), and at exits. Clobbers r11 and the flags.
    fn flush_iterations(&mut self) {
        emit!(self.ops; add [r13 + LOOP_ITERATIONS], Rq(ITERATION_COUNTER));
        let (back_edges, calls) = self.iteration_events;
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
            (IntAlu::Add, Operand::Spill(m)) => emit!(self.ops; add Rq(r), [r13 + m]),
            (IntAlu::Sub, Operand::Spill(m)) => emit!(self.ops; sub Rq(r), [r13 + m]),
            (IntAlu::Imul, Operand::Spill(m)) => emit!(self.ops; imul Rq(r), [r13 + m]),
            (IntAlu::Cmp, Operand::Spill(m)) => emit!(self.ops; cmp Rq(r), [r13 + m]),
            (IntAlu::Add, Operand::Bits(k)) => emit!(self.ops; add Rq(r), k as i32),
            (IntAlu::Sub, Operand::Bits(k)) => emit!(self.ops; sub Rq(r), k as i32),
            (IntAlu::Imul, Operand::Bits(k)) => emit!(self.ops; imul Rq(r), Rq(r), k as i32),
            (IntAlu::Cmp, Operand::Bits(k)) => emit!(self.ops; cmp Rq(r), k as i32),
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

    fn instruction(&mut self, i: usize) -> Result<(), AssembleError> {
        let inst = &self.trace.insts[i];
        let destination = self.destination(i);
        let unused_pure = destination.is_none() && !inst.op.has_effect();
        if self.alloc.fused[i] || inst.op.is_constant() || unused_pure {
            return Ok(());
        }
        let exit = match inst.snap {
            Some(snap) if inst.op.is_guard() => {
                let label = self.exit_label(snap);
                if self.deopt_stress {
                    emit!(self.ops
                        ; mov r11, QWORD self.stress_flags as i64
                        ; cmp BYTE [r11 + snap.0 as i32], 0
                        ; je =>label
                    );
                }
                Some(label)
            }
            _ => None,
        };
        let guard_exit = || exit.ok_or_else(|| AssembleError::Unsupported(format!("guard {} has no snapshot", i)));
        match inst.op {
            Op::KInt(_)
            | Op::KFloat(_)
            | Op::KBool(_)
            | Op::KNull
            | Op::KBuiltin(_)
            | Op::KStr(_)
            | Op::KFunc(_)
            | Op::Loop
            | Op::Phi(..)
            | Op::DNew
            | Op::DIns { .. }
            | Op::StructNew { .. }
            | Op::StructSet { .. }
            | Op::TagNew { .. }
            | Op::ANew
            | Op::AIns { .. } => {}
            Op::SLoad { slot } => {
                self.load_value(SLOTS_BASE, value_offset(slot as u64)?, inst.ty, destination, guard_exit()?)?
            }
            Op::GLoad { global } => {
                self.load_value(GLOBALS_BASE, value_offset(global as u64)?, inst.ty, destination, guard_exit()?)?
            }
            Op::GStore { global, value } => self.store_value(GLOBALS_BASE, value_offset(global as u64)?, value)?,
            Op::SStore { slot, value } => self.store_value(SLOTS_BASE, value_offset(slot as u64)?, value)?,
            Op::ALen(array) => {
                let layout = self.array_layout()?;
                let a = self.gpr_register(self.operand(array));
                let work = Self::gpr_work(destination);
                emit!(self.ops; mov Rq(work), [Rq(a) + layout.items_len]);
                self.store(destination, Operand::Gpr(work));
            }
            Op::ALoad(array, index) => {
                let (layout, exit) = (self.array_layout()?, guard_exit()?);
                let a = self.gpr_register(self.operand(array));
                self.element_address(a, index, layout, exit);
                self.load_value(ELEMENT, 0, inst.ty, destination, exit)?;
            }
            Op::GuardUnshared(object) => {
                let exit = guard_exit()?;
                let object = self.gpr_register(self.operand(object));
                emit!(self.ops
                    ; cmp BYTE [Rq(object) + SHARED_FLAG_OFFSET as i32], 0
                    ; jne =>exit
                );
            }
            Op::ALoadForWrite(array, index) => {
                let (layout, exit) = (self.array_layout()?, guard_exit()?);
                let a = self.gpr_register(self.operand(array));
                self.exit_if_shared(a, layout, exit);
                self.element_address(a, index, layout, exit);
                self.load_value(ELEMENT, 0, inst.ty, destination, exit)?;
                if let Some(destination) = destination {
                    let element = self.gpr_register(destination);
                    emit!(self.ops
                        ; cmp BYTE [Rq(element) + SHARED_FLAG_OFFSET as i32], 0
                        ; jne =>exit
                    );
                }
            }
            Op::CallTrace { function, trace, base, filled, callee_slots, return_pc } => {
                let exit = guard_exit()?;
                let stride = value_offset(base as u64 + 1)?;
                emit!(self.ops
                    ; mov rax, [r13 + NATIVE_DEPTH]
                    ; cmp rax, [r13 + DEPTH_BUDGET]
                    ; jae =>exit
                );
                // The call is made: count it with what the trace did since its start (or
                // last call), in case an exit inside the callee unwinds this level.
                let snapshots = &self.trace.snapshots;
                let (back_edges, calls) =
                    inst.snap.map_or((0, 0), |s| (snapshots[s.index()].back_edges, snapshots[s.index()].calls));
                self.count_events(back_edges, calls + 1);
                self.flush_iterations();
                emit!(self.ops
                    ; lea rdx, [Rq(SLOTS_BASE) + stride]
                    ; mov r11, [r13 + NATIVE_FRAMES]
                    ; lea rax, [rax + rax * 2]
                    ; lea r11, [r11 + rax * 8]
                    ; mov [r11], rdx
                    ; mov QWORD [r11 + 8], return_pc as i32
                    ; mov rax, QWORD function.addr() as i64
                    ; mov [r11 + 16], rax
                    ; add QWORD [r13 + NATIVE_DEPTH], 1
                );
                for s in filled..callee_slots {
                    emit!(self.ops; mov BYTE [rdx + value_offset(s as u64)?], Tag::Null as i8);
                }
                self.count(COUNT_CALLS_MADE);
                emit!(self.ops
                    ; mov Rq(SLOTS_BASE), rdx
                    ; sub rsp, FRAME_SIZE
                );
                let target = match (trace, self.self_call) {
                    (SELF_TRACE, SelfCallTarget::Own(label)) => {
                        emit!(self.ops; call =>label);
                        None
                    }
                    (SELF_TRACE, SelfCallTarget::Address(address)) => Some(address),
                    (other, _) => Some(
                        *self
                            .trace_entries
                            .get(other as usize)
                            .ok_or_else(|| AssembleError::Unsupported(format!("call of unknown trace {}", other)))?,
                    ),
                };
                if let Some(address) = target {
                    emit!(self.ops
                        ; mov r11, QWORD address as i64
                        ; call r11
                    );
                }
                emit!(self.ops
                    ; add rsp, FRAME_SIZE
                    ; sub Rq(SLOTS_BASE), stride
                    ; sub QWORD [r13 + NATIVE_DEPTH], 1
                );
                self.count(COUNT_CALLS_RETURNED);
            }
            Op::JumpTrace { trace } => {
                let address = *self
                    .trace_entries
                    .get(trace as usize)
                    .ok_or_else(|| AssembleError::Unsupported(format!("jump to unknown trace {}", trace)))?;
                self.count_completion();
                self.flush_iterations();
                emit!(self.ops
                    ; mov r11, QWORD address as i64
                    ; jmp r11
                );
            }
            Op::Ret(value) => {
                self.count_completion();
                self.flush_iterations();
                self.store_value(SLOTS_BASE, -16, value)?;
                let native_caller = self.ops.new_dynamic_label();
                emit!(self.ops
                    ; cmp QWORD [r13 + NATIVE_DEPTH], 0
                    ; jne =>native_caller
                    ; mov eax, FUNCTION_RETURNED as i32
                    ; jmp =>self.epilogue
                    ; =>native_caller
                    ; ret
                );
            }
            Op::MarkShared(object) => {
                let r = self.gpr_register(self.operand(object));
                emit!(self.ops; mov BYTE [Rq(r) + SHARED_FLAG_OFFSET as i32], 1);
            }
            Op::CaptureTag { func: object, index: field }
            | Op::CaptureGet { func: object, index: field }
            | Op::FieldTag { object, field }
            | Op::FieldGet { object, field } => {
                let arguments =
                    vec![(Operand::Gpr(RDI), self.operand(object)), (Operand::Gpr(RSI), Operand::Bits(field as u64))];
                let result =
                    if inst.ty == Ty::Float { HelperResult::Xmm0(destination) } else { HelperResult::Rax(destination) };
                self.call_helper(i, arguments, result);
            }
            Op::StructType(object) | Op::TagKey(object) | Op::PayloadTag(object) => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(object))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
            }
            Op::PayloadGet(object) => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(object))];
                let result =
                    if inst.ty == Ty::Float { HelperResult::Xmm0(destination) } else { HelperResult::Rax(destination) };
                self.call_helper(i, arguments, result);
            }
            Op::SConcat(a, b) => {
                let exit = guard_exit()?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(a)),
                    (Operand::Gpr(RSI), self.operand(b)),
                    (Operand::Gpr(RDX), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::ToStr(value) => {
                let exit = guard_exit()?;
                let tag = value_tag(self.trace.inst(value).ty)?;
                let arguments = vec![
                    (Operand::Gpr(RDI), Operand::Bits(tag as u64)),
                    (Operand::Gpr(RSI), self.operand(value)),
                    (Operand::Gpr(RDX), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::SChar(string, index) => {
                let exit = guard_exit()?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(string)),
                    (Operand::Gpr(RSI), self.operand(index)),
                    (Operand::Gpr(RDX), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                // rax still holds the result: no allocatable register is rax.
                emit!(self.ops
                    ; test rax, rax
                    ; jz =>exit
                    ; cmp QWORD [r13 + MUST_EXIT], 0
                    ; jne =>exit
                );
            }
            Op::CallBuiltin { builtin, args, argc } => {
                let exit = guard_exit()?;
                let mut arg_tags = [0; MAX_BUILTIN_ARGS];
                let mut arguments = Vec::with_capacity(2 + MAX_BUILTIN_ARGS);
                for (n, register) in [RSI, RDX, RCX].into_iter().enumerate() {
                    let payload = if n < argc as usize {
                        arg_tags[n] = value_tag(self.trace.inst(args[n]).ty)? as u8;
                        self.operand(args[n])
                    } else {
                        Operand::Bits(0)
                    };
                    arguments.push((Operand::Gpr(register), payload));
                }
                let result_tag = value_tag(inst.ty)? as u8;
                let call = BuiltinCall { builtin, argc, arg_tags, result_tag };
                arguments.push((Operand::Gpr(RDI), Operand::Bits(call.encode())));
                arguments.push((Operand::Gpr(R8), Operand::Gpr(R13)));
                let result =
                    if inst.ty == Ty::Float { HelperResult::Xmm0(destination) } else { HelperResult::Rax(destination) };
                self.call_helper(i, arguments, result);
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::AUnique(array) => {
                let exit = guard_exit()?;
                let arguments = vec![(Operand::Gpr(RDI), self.operand(array)), (Operand::Gpr(RSI), Operand::Gpr(R13))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::ALoadUnique(array, index) => {
                let exit = guard_exit()?;
                let tag = value_tag(inst.ty)?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(array)),
                    (Operand::Gpr(RSI), self.operand(index)),
                    (Operand::Gpr(RDX), Operand::Bits(tag as u64)),
                    (Operand::Gpr(RCX), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::PushCopy { array, value } => {
                let exit = guard_exit()?;
                let tag = value_tag(self.trace.inst(value).ty)?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(array)),
                    (Operand::Gpr(RSI), Operand::Bits(tag as u64)),
                    (Operand::Gpr(RDX), self.operand(value)),
                    (Operand::Gpr(RCX), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::Alloc(kind) => {
                let exit = guard_exit()?;
                let arguments = vec![
                    (Operand::Gpr(RDI), Operand::Bits(allocation_kind(kind))),
                    (Operand::Gpr(RSI), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::DictKeys(dict) => {
                let exit = guard_exit()?;
                let arguments = vec![(Operand::Gpr(RDI), self.operand(dict)), (Operand::Gpr(RSI), Operand::Gpr(R13))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::FieldSet { object, field, value } => {
                let exit = guard_exit()?;
                let tag = value_tag(self.trace.inst(value).ty)?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(object)),
                    (Operand::Gpr(RSI), Operand::Bits(field as u64)),
                    (Operand::Gpr(RDX), Operand::Bits(tag as u64)),
                    (Operand::Gpr(RCX), self.operand(value)),
                    (Operand::Gpr(R8), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::SLen(string) => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(string))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
            }
            Op::SEq(a, b) => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(a)), (Operand::Gpr(RSI), self.operand(b))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
            }
            Op::AStore { array, index, value } => {
                let (layout, exit) = (self.array_layout()?, guard_exit()?);
                let a = self.gpr_register(self.operand(array));
                self.exit_if_shared(a, layout, exit);
                self.element_address(a, index, layout, exit);
                self.store_value(ELEMENT, 0, value)?;
            }
            Op::APush { array, value } => {
                let (layout, exit) = (self.array_layout()?, guard_exit()?);
                let a = self.gpr_register(self.operand(array));
                self.exit_if_shared(a, layout, exit);
                let tag = value_tag(self.trace.inst(value).ty)?;
                // With spare capacity the element is written in place and the length bumped
                // (what `Vec::push` does without growing); only growth calls the helper.
                let (grow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
                emit!(self.ops
                    ; mov r11, [Rq(a) + layout.items_len]
                    ; cmp r11, [Rq(a) + layout.items_capacity]
                    ; jae =>grow
                    ; mov Rq(ELEMENT), r11
                    ; shl Rq(ELEMENT), 4
                    ; add Rq(ELEMENT), [Rq(a) + layout.items_ptr]
                    ; add QWORD [Rq(a) + layout.items_len], 1
                );
                // After the length: `a` may be rax, which the store may use.
                self.store_value(ELEMENT, 0, value)?;
                emit!(self.ops
                    ; jmp =>done
                    ; =>grow
                );
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(array)),
                    (Operand::Gpr(RSI), Operand::Bits(tag as u64)),
                    (Operand::Gpr(RDX), self.operand(value)),
                    (Operand::Gpr(RCX), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Nothing);
                emit!(self.ops
                    ; test rax, rax
                    ; jnz =>exit
                    ; =>done
                );
            }
            Op::SAppend { string, piece } => {
                let exit = guard_exit()?;
                let s = self.gpr_register(self.operand(string));
                emit!(self.ops
                    ; cmp BYTE [Rq(s) + SHARED_FLAG_OFFSET as i32], 0
                    ; jne =>exit
                );
                // `s` may be rax (when `string` is not in a register); r11 is free here.
                self.load_gpr(R11, self.operand(piece));
                emit!(self.ops; cmp Rq(s), r11; je =>exit);
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(string)),
                    (Operand::Gpr(RSI), self.operand(piece)),
                    (Operand::Gpr(RDX), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Nothing);
                emit!(self.ops; test rax, rax; jnz =>exit);
            }
            Op::DTag(dict, key) => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(dict)), (Operand::Gpr(RSI), self.operand(key))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
            }
            Op::DGet(dict, key) => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(dict)), (Operand::Gpr(RSI), self.operand(key))];
                let result =
                    if inst.ty == Ty::Float { HelperResult::Xmm0(destination) } else { HelperResult::Rax(destination) };
                self.call_helper(i, arguments, result);
            }
            Op::DSet { dict, key, value } => {
                let exit = guard_exit()?;
                let d = self.gpr_register(self.operand(dict));
                emit!(self.ops
                    ; cmp BYTE [Rq(d) + SHARED_FLAG_OFFSET as i32], 0
                    ; jne =>exit
                );
                let tag = value_tag(self.trace.inst(value).ty)?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(dict)),
                    (Operand::Gpr(RSI), self.operand(key)),
                    (Operand::Gpr(RDX), Operand::Bits(tag as u64)),
                    (Operand::Gpr(RCX), self.operand(value)),
                    (Operand::Gpr(R8), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Nothing);
                emit!(self.ops; test rax, rax; jnz =>exit);
            }
            Op::AddInt(a, b) => self.checked_int(IntAlu::Add, a, b, destination, guard_exit()?),
            Op::SubInt(a, b) => self.checked_int(IntAlu::Sub, a, b, destination, guard_exit()?),
            Op::MulInt(a, b) => self.checked_int(IntAlu::Imul, a, b, destination, guard_exit()?),
            Op::DivInt(a, b) => self.int_division(a, b, false, destination, guard_exit()?),
            Op::ModInt(a, b) => self.int_division(a, b, true, destination, guard_exit()?),
            Op::NegInt(a) => {
                let exit = guard_exit()?;
                let work = Self::gpr_work(destination);
                self.load_gpr(work, self.operand(a));
                emit!(self.ops; neg Rq(work); jo =>exit);
                self.store(destination, Operand::Gpr(work));
            }
            Op::AddFloat(a, b) => self.float_arith(FloatAlu::Add, a, b, destination),
            Op::SubFloat(a, b) => self.float_arith(FloatAlu::Sub, a, b, destination),
            Op::MulFloat(a, b) => self.float_arith(FloatAlu::Mul, a, b, destination),
            Op::DivFloat(a, b) => {
                self.exit_if_float_zero(self.operand(b), guard_exit()?);
                if destination.is_some() {
                    self.float_arith(FloatAlu::Div, a, b, destination);
                }
            }
            Op::ModFloat(a, b) => {
                self.exit_if_float_zero(self.operand(b), guard_exit()?);
                if destination.is_some() {
                    self.call_float_helper(i, &[a, b]);
                }
            }
            Op::NegFloat(a) => self.flip_sign_bit(a, destination, false),
            Op::IntToFloat(a) => {
                let work = Self::xmm_work(destination);
                let source = self.operand(a);
                // xorps breaks cvtsi2sd's false dependency on the old upper bits of `work`.
                emit!(self.ops; xorps Rx(work), Rx(work));
                match source {
                    Operand::Spill(m) => emit!(self.ops; cvtsi2sd Rx(work), QWORD [r13 + m]),
                    other => {
                        let r = self.gpr_register(other);
                        emit!(self.ops; cvtsi2sd Rx(work), Rq(r));
                    }
                }
                self.store(destination, Operand::Xmm(work));
            }
            Op::NotBool(a) => {
                let work = Self::gpr_work(destination);
                self.load_gpr(work, self.operand(a));
                emit!(self.ops; xor Rq(work), 1);
                self.store(destination, Operand::Gpr(work));
            }
            Op::GuardTrue(condition) | Op::GuardFalse(condition) => {
                let holds = if self.alloc.fused[condition.index()] {
                    self.condition(condition)
                } else {
                    match self.operand(condition) {
                        Operand::Spill(m) => emit!(self.ops; cmp QWORD [r13 + m], 0),
                        other => {
                            let r = self.gpr_register(other);
                            emit!(self.ops; test Rq(r), Rq(r));
                        }
                    }
                    Cond::NotEqual
                };
                let exits_when = if matches!(inst.op, Op::GuardTrue(_)) { holds.negate() } else { holds };
                let exit = guard_exit()?;
                self.jump_if(exits_when, exit);
            }
            Op::Math1(MathFn::Abs, a) => self.flip_sign_bit(a, destination, true),
            Op::Math1(MathFn::Sqrt, a) => {
                // sqrt() fails on x < 0; NaN and -0.0 pass (their roots are NaN and -0.0).
                let exit = guard_exit()?;
                let x = self.operand(a);
                emit!(self.ops; xorps Rx(XMM_WORK), Rx(XMM_WORK));
                self.float_alu(FloatAlu::Ucomi, XMM_WORK, x);
                emit!(self.ops; ja =>exit);
                if destination.is_some() {
                    let work = Self::xmm_work(destination);
                    self.float_alu(FloatAlu::Sqrt, work, x);
                    self.store(destination, Operand::Xmm(work));
                }
            }
            Op::Math1(MathFn::Log, a) => {
                // log() fails on x <= 0; NaN passes (0 >= NaN is unordered: CF set).
                let exit = guard_exit()?;
                emit!(self.ops; xorps Rx(XMM_WORK), Rx(XMM_WORK));
                self.float_alu(FloatAlu::Ucomi, XMM_WORK, self.operand(a));
                emit!(self.ops; jae =>exit);
                if destination.is_some() {
                    self.call_float_helper(i, &[a]);
                }
            }
            Op::Math1(_, a) => self.call_float_helper(i, &[a]),
            Op::Math2(_, a, b) => self.call_float_helper(i, &[a, b]),
            Op::LtInt(..)
            | Op::LeInt(..)
            | Op::GtInt(..)
            | Op::GeInt(..)
            | Op::EqInt(..)
            | Op::NeInt(..)
            | Op::LtFloat(..)
            | Op::LeFloat(..)
            | Op::GtFloat(..)
            | Op::GeFloat(..)
            | Op::EqFloat(..)
            | Op::NeFloat(..)
            | Op::EqBool(..)
            | Op::EqRef(..)
            | Op::TruthyInt(_)
            | Op::TruthyFloat(_) => {
                let holds = self.condition(InstIdx(i as u32));
                self.set_al_if(holds);
                let work = Self::gpr_work(destination);
                emit!(self.ops; movzx Rd(work), al);
                self.store(destination, Operand::Gpr(work));
            }
        }
        Ok(())
    }

    fn load_value(
        &mut self,
        base: u8,
        offset: i32,
        ty: Ty,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let payload = offset + 8;
        let tag = value_tag(ty)?;
        emit!(self.ops
            ; cmp BYTE [Rq(base) + offset], tag
            ; jne =>exit
        );
        match (ty, destination) {
            // Types without storage (the verifier admits only null among them for loads).
            (_, None) | (Ty::Null | Ty::Builtin | Ty::Void, _) => {}
            (Ty::Float, Some(Operand::Xmm(x))) => emit!(self.ops; movsd Rx(x), [Rq(base) + payload]),
            (Ty::Bool, destination) => {
                let work = Self::gpr_work(destination);
                emit!(self.ops; movzx Rd(work), BYTE [Rq(base) + payload]);
                self.store(destination, Operand::Gpr(work));
            }
            (
                Ty::Int | Ty::Float | Ty::Array | Ty::Dict | Ty::Str | Ty::Func | Ty::Struct | Ty::Tagged,
                destination,
            ) => {
                let work = Self::gpr_work(destination);
                emit!(self.ops; mov Rq(work), [Rq(base) + payload]);
                self.store(destination, Operand::Gpr(work));
            }
        }
        Ok(())
    }

    /// Writes `value` as the `Value` at `[base + offset]`: its tag, then its payload.
    /// `base` must not be rax, which may carry the payload.
    fn store_value(&mut self, base: u8, offset: i32, value: InstIdx) -> Result<(), AssembleError> {
        let ty = self.trace.inst(value).ty;
        let tag = value_tag(ty)?;
        emit!(self.ops; mov BYTE [Rq(base) + offset], tag);
        if ty == Ty::Null {
            return Ok(());
        }
        let payload = offset + 8;
        // A bool is stored as the whole 0/1 word: byte 8 is the bool, the rest is padding.
        match self.operand(value) {
            Operand::Xmm(x) => emit!(self.ops; movsd [Rq(base) + payload], Rx(x)),
            Operand::Bits(bits) if fits_i32(bits as i64) => {
                emit!(self.ops; mov QWORD [Rq(base) + payload], bits as i32)
            }
            other => {
                let r = self.gpr_register(other);
                emit!(self.ops; mov [Rq(base) + payload], Rq(r));
            }
        }
        Ok(())
    }

    fn array_layout(&self) -> Result<ArrayLayout, AssembleError> {
        self.array_layout.ok_or_else(|| AssembleError::Unsupported("array layout unknown".into()))
    }

    /// Exits when the array object at register `a` is shared: writing to it in place would
    /// change what its other holders see, so only the interpreter (which copies it first)
    /// may write.
    fn exit_if_shared(&mut self, a: u8, layout: ArrayLayout, exit: DynamicLabel) {
        emit!(self.ops
            ; cmp BYTE [Rq(a) + layout.shared_flag], 0
            ; jne =>exit
        );
    }

    /// Exits unless `0 <= index < length` of the array object at register `a`, then leaves
    /// the address of element `index` in `ELEMENT`. One unsigned compare checks both
    /// bounds: a negative index is above every length. The interpreter counts a negative
    /// index from the end, which the trace leaves to it.
    fn element_address(&mut self, a: u8, index: InstIdx, layout: ArrayLayout, exit: DynamicLabel) {
        self.load_gpr(ELEMENT, self.operand(index));
        emit!(self.ops
            ; cmp Rq(ELEMENT), [Rq(a) + layout.items_len]
            ; jae =>exit
            // index < length <= isize::MAX / 16, so the shift cannot overflow.
            ; shl Rq(ELEMENT), 4
            ; add Rq(ELEMENT), [Rq(a) + layout.items_ptr]
        );
    }

    /// Add, Sub, Mul with the overflow guard; the work register may hold a wrapped
    /// result when the guard fails, which is fine: it never holds a snapshot value.
    fn checked_int(&mut self, op: IntAlu, a: InstIdx, b: InstIdx, destination: Option<Operand>, exit: DynamicLabel) {
        let work = Self::gpr_work(destination);
        self.load_gpr(work, self.operand(a));
        self.int_alu(op, work, self.operand(b));
        emit!(self.ops; jo =>exit);
        self.store(destination, Operand::Gpr(work));
    }

    /// Ruff's `/` and `%` on ints are x86 `idiv` (truncating quotient, remainder with the
    /// dividend's sign) once the two failing cases are excluded: divisor 0, and
    /// `i64::MIN / -1`, which would raise #DE.
    fn int_division(
        &mut self,
        a: InstIdx,
        b: InstIdx,
        remainder: bool,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) {
        let divisor = self.operand(b);
        match divisor {
            Operand::Bits(0) => {
                emit!(self.ops; jmp =>exit);
                return;
            }
            Operand::Bits(bits) if !matches!(bits as i64, -1 | 1) => {
                self.divide_by_constant(a, bits as i64, remainder, destination);
                return;
            }
            Operand::Bits(_) => self.load_gpr(R11, divisor),
            _ => {
                self.load_gpr(R11, divisor);
                emit!(self.ops; test r11, r11; jz =>exit);
            }
        }
        self.load_gpr(RAX, self.operand(a));
        let may_be_minus_one = !matches!(divisor, Operand::Bits(bits) if bits as i64 != -1);
        if may_be_minus_one {
            // `rax - 1` overflows exactly when rax is i64::MIN.
            emit!(self.ops
                ; cmp r11, -1
                ; jne >divide
                ; cmp rax, 1
                ; jo =>exit
                ; divide:
            );
        }
        if destination.is_none() {
            return;
        }
        emit!(self.ops; cqo; idiv r11);
        self.store(destination, Operand::Gpr(if remainder { RDX } else { RAX }));
    }

    /// `a / d` or `a % d` for a constant `d` other than 0, 1 and -1, which cannot fail:
    /// the quotient is the high half of `a * magic`, corrected and shifted (Hacker's
    /// Delight, section 10-1), the remainder `a - quotient * d`. Same results as `idiv`.
    fn divide_by_constant(&mut self, a: InstIdx, d: i64, remainder: bool, destination: Option<Operand>) {
        if destination.is_none() {
            return;
        }
        let (magic, shift) = signed_magic(d);
        self.load_gpr(R11, self.operand(a));
        emit!(self.ops
            ; mov rax, QWORD magic
            ; imul r11
        );
        if d > 0 && magic < 0 {
            emit!(self.ops; add rdx, r11);
        } else if d < 0 && magic > 0 {
            emit!(self.ops; sub rdx, r11);
        }
        if shift > 0 {
            emit!(self.ops; sar rdx, shift as i8);
        }
        emit!(self.ops
            ; mov rax, rdx
            ; shr rax, 63
            ; add rdx, rax
        );
        if !remainder {
            self.store(destination, Operand::Gpr(RDX));
            return;
        }
        emit!(self.ops
            ; mov rax, QWORD d
            ; imul rdx, rax
            ; mov rax, r11
            ; sub rax, rdx
        );
        self.store(destination, Operand::Gpr(RAX));
    }

    fn float_arith(&mut self, op: FloatAlu, a: InstIdx, b: InstIdx, destination: Option<Operand>) {
        let work = Self::xmm_work(destination);
        self.load_xmm(work, self.operand(a));
        self.float_alu(op, work, self.operand(b));
        self.store(destination, Operand::Xmm(work));
    }

    /// Exits when `divisor` is +0.0 or -0.0: the only doubles whose bits without the sign
    /// are all zero (NaN is not zero).
    fn exit_if_float_zero(&mut self, divisor: Operand, exit: DynamicLabel) {
        match divisor {
            Operand::Bits(bits) if bits << 1 == 0 => emit!(self.ops; jmp =>exit),
            Operand::Bits(_) => {}
            other => {
                self.load_gpr(RAX, other);
                emit!(self.ops; shl rax, 1; jz =>exit);
            }
        }
    }

    /// Negation (flip) or `abs` (clear) as an operation on the sign bit, as `f64::abs`
    /// and IEEE negation are.
    fn flip_sign_bit(&mut self, a: InstIdx, destination: Option<Operand>, clear: bool) {
        self.load_gpr(RAX, self.operand(a));
        if clear {
            emit!(self.ops; btr rax, BYTE SIGN_BIT);
        } else {
            emit!(self.ops; btc rax, BYTE SIGN_BIT);
        }
        self.store(destination, Operand::Gpr(RAX));
    }

    /// Sets the flags for comparison `c` and returns the condition under which it holds.
    fn condition(&mut self, c: InstIdx) -> Cond {
        let op = self.trace.inst(c).op;
        match op {
            Op::LtInt(a, b) => self.int_compare(a, b, Cond::Less),
            Op::LeInt(a, b) => self.int_compare(a, b, Cond::LessEq),
            Op::GtInt(a, b) => self.int_compare(a, b, Cond::Greater),
            Op::GeInt(a, b) => self.int_compare(a, b, Cond::GreaterEq),
            Op::EqInt(a, b) | Op::EqBool(a, b) | Op::EqRef(a, b) => self.int_compare(a, b, Cond::Equal),
            Op::NeInt(a, b) => self.int_compare(a, b, Cond::NotEqual),
            Op::TruthyInt(a) => {
                match self.operand(a) {
                    Operand::Spill(m) => emit!(self.ops; cmp QWORD [r13 + m], 0),
                    other => {
                        let r = self.gpr_register(other);
                        emit!(self.ops; test Rq(r), Rq(r));
                    }
                }
                Cond::NotEqual
            }
            // ucomisd reports "unordered" (a NaN operand) as CF=ZF=PF=1, so the "above"
            // conditions (CF=0) are false on NaN; `a < b` is therefore tested as `b > a`.
            Op::LtFloat(a, b) => self.float_compare(b, a, Cond::Above),
            Op::LeFloat(a, b) => self.float_compare(b, a, Cond::AboveEq),
            Op::GtFloat(a, b) => self.float_compare(a, b, Cond::Above),
            Op::GeFloat(a, b) => self.float_compare(a, b, Cond::AboveEq),
            Op::EqFloat(a, b) => {
                self.floats_equal(a, b);
                Cond::NotEqual
            }
            Op::NeFloat(a, b) => {
                self.floats_equal(a, b);
                Cond::Equal
            }
            Op::TruthyFloat(a) => {
                // Truthy unless ±0.0; NaN has nonzero bits, so it is truthy.
                self.load_gpr(RAX, self.operand(a));
                emit!(self.ops; shl rax, 1);
                Cond::NotEqual
            }
            other => unreachable!("{} is not a comparison", other.name()),
        }
    }

    fn int_compare(&mut self, a: InstIdx, b: InstIdx, holds: Cond) -> Cond {
        let r = self.gpr_register(self.operand(a));
        self.int_alu(IntAlu::Cmp, r, self.operand(b));
        holds
    }

    fn float_compare(&mut self, first: InstIdx, second: InstIdx, holds: Cond) -> Cond {
        let second = self.sse_source(self.operand(second));
        let x = self.xmm_register(self.operand(first), XMM_WORK);
        self.float_alu(FloatAlu::Ucomi, x, second);
        holds
    }

    /// Leaves al = 1 when `runtime::ops::floats_equal(a, b)`, else 0, and sets ZF from al.
    /// That rule is `a == b || |a - b| < EPSILON` (when an operand is infinite or NaN,
    /// `a - b` is infinite or NaN unless `a == b`, so the finiteness test is implied).
    fn floats_equal(&mut self, a: InstIdx, b: InstIdx) {
        let second = self.sse_source(self.operand(b));
        self.load_xmm(XMM_WORK, self.operand(a));
        self.float_alu(FloatAlu::Ucomi, XMM_WORK, second);
        emit!(self.ops
            ; sete al
            ; setnp dl
            ; and al, dl
        );
        self.float_alu(FloatAlu::Sub, XMM_WORK, second);
        // |d| < EPSILON compared as integers: without the sign bit, the bit patterns of
        // non-negative doubles are ordered like their values, and NaNs sort above all.
        emit!(self.ops
            ; movq rdx, Rx(XMM_WORK)
            ; shl rdx, 1
            ; mov r11, QWORD EPSILON_BITS_SHIFTED as i64
            ; cmp rdx, r11
            ; setb dl
            ; or al, dl
            ; test al, al
        );
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

/// The multiplier and shift that turn signed 64-bit division by `d` (|d| >= 2) into a
/// multiply-high (Hacker's Delight, figure 10-1, widened to 64 bits).
fn signed_magic(d: i64) -> (i64, u32) {
    const TWO63: u64 = 1 << 63;
    let ad = d.unsigned_abs();
    let t = TWO63.wrapping_add((d as u64) >> 63);
    let anc = t - 1 - t % ad;
    let mut p = 63u32;
    let (mut q1, mut r1) = (TWO63 / anc, TWO63 - (TWO63 / anc) * anc);
    let (mut q2, mut r2) = (TWO63 / ad, TWO63 - (TWO63 / ad) * ad);
    loop {
        p += 1;
        q1 = q1.wrapping_mul(2);
        r1 = r1.wrapping_mul(2);
        if r1 >= anc {
            q1 = q1.wrapping_add(1);
            r1 = r1.wrapping_sub(anc);
        }
        q2 = q2.wrapping_mul(2);
        r2 = r2.wrapping_mul(2);
        if r2 >= ad {
            q2 = q2.wrapping_add(1);
            r2 = r2.wrapping_sub(ad);
        }
        let delta = ad - r2;
        if !(q1 < delta || (q1 == delta && r1 == 0)) {
            break;
        }
    }
    let magic = q2.wrapping_add(1) as i64;
    (if d < 0 { magic.wrapping_neg() } else { magic }, p - 64)
}

#[cfg(test)]
mod magic_tests {
    use super::signed_magic;

    /// The instruction sequence `divide_by_constant` emits, step by step.
    fn emulate(x: i64, d: i64) -> (i64, i64) {
        let (magic, shift) = signed_magic(d);
        let mut high = ((magic as i128 * x as i128) >> 64) as i64;
        if d > 0 && magic < 0 {
            high = high.wrapping_add(x);
        } else if d < 0 && magic > 0 {
            high = high.wrapping_sub(x);
        }
        high >>= shift;
        let quotient = high.wrapping_add(((high as u64) >> 63) as i64);
        (quotient, x.wrapping_sub(quotient.wrapping_mul(d)))
    }

    #[test]
    fn magic_division_matches_idiv_for_every_divisor_class() {
        let mut divisors: Vec<i64> = (2..300).chain((-300..=-2).into_iter()).collect();
        divisors.extend([7, 13, 1000003, 10000019, 1 << 20, 1 << 62, i64::MAX, i64::MIN, -(1 << 62), i64::MIN + 1]);
        let mut dividends: Vec<i64> = (-1000..1000).collect();
        dividends.extend([i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1, 1 << 40, -(1 << 40), 4_000_000_000_000]);
        for &d in &divisors {
            for &x in &dividends {
                assert_eq!(emulate(x, d), (x.wrapping_div(d), x.wrapping_rem(d)), "{} / {}", x, d);
            }
        }
    }
}
