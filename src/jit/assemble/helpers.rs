//! The runtime helpers of native code: the `extern "sysv64"` Rust functions that emitted
//! code calls for what it does not do inline (math functions without an SSE instruction,
//! float `%`, string, dict, struct, closure and enum accesses, allocation, builtin calls,
//! growing an array or a string), and [`helper_address`], which names the helper of each
//! op. Each does what the interpreter does by calling the runtime's own function
//! (`runtime::access`, `runtime::ops`, `builtins`), so native code and the interpreter
//! cannot disagree. The helpers of builtin calls live in `helpers/calls.rs`, those of dicts
//! in `helpers/dicts.rs`.
//!
//! Terms:
//! - *Bits*: a value as native code holds it in a register: an int, a bool (0/1), a
//!   float's bits, or the address of an object (`GcBox<..>`); with a tag
//!   (`runtime::value::Tag`) it is a whole value ([`value_of`], [`register_bits`]).
//! - *Collection due*: the heap wants a collection; native code never collects, so a
//!   helper that would grow the heap then fails or notes `ExitState::must_exit`, and the
//!   trace exits for the interpreter to redo the operation and collect.
//!
//! Invariants (what every `// SAFETY:` below relies on):
//! - An address a helper receives is an object of the trace's values: a constant of the
//!   traced function (kept alive by its proto) or loaded from a slot, global, element or
//!   field whose tag says its type. Objects never move and no collection runs while native
//!   code does, so it is live; native code holds no Rust reference into it, so `get_mut`
//!   aliases nothing.
//! - `state` is the exit state the trace was entered with (r13), live for the whole run;
//!   its `heap` and `program`, when set, are the interpreter's, which no Rust code uses
//!   while native code runs.

use super::LinkedRebuild;

use crate::builtins::math::float as math;
use crate::builtins::{self, Ctx};
use crate::compile::bytecode::ProtoId;
use crate::jit::abi::{DictHint, ExitState};
use crate::jit::exit;
use crate::jit::ir::{AllocKind, Inst, InstIdx, MathFn, Op, Trace, Ty, MAX_BUILTIN_ARGS};
use crate::jit::residual::Residual;
use crate::runtime::format;
use crate::runtime::heap::{Gc, HeapObject};
use crate::runtime::object::{make_unique_array, make_unique_struct, make_unique_value, ArrayObj, StrObj};
use crate::runtime::object::{DictKey, DictObj, FuncObj, StructObj, TaggedObj};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::{Tag, Value};
use crate::runtime::{access, ops};
use crate::semantics;
use std::sync::OnceLock;

mod calls;
mod dicts;
pub(super) use calls::*;
pub(super) use dicts::*;

pub(super) type UnaryHelper = extern "sysv64" fn(f64) -> f64;
pub(super) type BinaryHelper = extern "sysv64" fn(f64, f64) -> f64;
pub(super) type PushHelper = extern "sysv64" fn(*mut u8, u64, u64, *mut ExitState) -> u64;

// The math helpers call the very functions the builtins in `builtins/math.rs` apply, and
// float `%` is the interpreter's own `ops::float_arith`, so results agree bit for bit.
pub(super) extern "sysv64" fn helper_floor(x: f64) -> f64 {
    math::FLOOR(x)
}
pub(super) extern "sysv64" fn helper_ceil(x: f64) -> f64 {
    math::CEIL(x)
}
pub(super) extern "sysv64" fn helper_round(x: f64) -> f64 {
    math::ROUND(x)
}
pub(super) extern "sysv64" fn helper_sin(x: f64) -> f64 {
    math::SIN(x)
}
pub(super) extern "sysv64" fn helper_cos(x: f64) -> f64 {
    math::COS(x)
}
pub(super) extern "sysv64" fn helper_tan(x: f64) -> f64 {
    math::TAN(x)
}
pub(super) extern "sysv64" fn helper_exp(x: f64) -> f64 {
    math::EXP(x)
}
pub(super) extern "sysv64" fn helper_ln(x: f64) -> f64 {
    math::LOG(x)
}
pub(super) extern "sysv64" fn helper_pow(x: f64, y: f64) -> f64 {
    math::POW(x, y)
}
pub(super) extern "sysv64" fn helper_min(x: f64, y: f64) -> f64 {
    math::MIN(x, y)
}
pub(super) extern "sysv64" fn helper_max(x: f64, y: f64) -> f64 {
    math::MAX(x, y)
}
/// `MOD` of floats. The guard before the call has left the trace on a zero divisor (the
/// interpreter's error), so `float_arith` cannot fail here; NaN would be its IEEE result.
pub(super) extern "sysv64" fn helper_fmod(x: f64, y: f64) -> f64 {
    ops::float_arith(ops::ArithOp::Mod, x, y).unwrap_or(f64::NAN)
}

/// Whether the heap wants a collection, counting the growth native code has not reported
/// yet (`state.heap_growth`). A helper about to grow an object then fails instead, before
/// its operation, so the interpreter redoes it and collects: native code never collects,
/// and a loop that runs natively for long must not starve the collector. (The backend's
/// unit tests attach no heap.)
pub(super) fn collection_due(state: *mut ExitState) -> bool {
    // SAFETY: `state` is the exit state the trace was entered with (r13); its `heap`, when
    // set, is the interpreter's heap, which no Rust code uses while native code runs.
    unsafe { (*state).heap.as_ref().is_some_and(|heap| heap.wants_collection_after((*state).heap_growth as usize)) }
}

/// Mutable access to `object`, which a helper is about to write in place, through the
/// heap's write barrier (`Gc::get_mut`). The backend's unit tests attach no heap; with no
/// collector, no object is old and none needs the barrier.
///
/// # Safety
/// `state` is the exit state the trace was entered with (r13), whose `heap`, when set, is
/// the interpreter's, which no Rust code uses while native code runs.
#[allow(clippy::mut_from_ref)]
unsafe fn written<T>(object: &Gc<T>, state: *mut ExitState) -> &mut T {
    // SAFETY: as the caller guarantees.
    match unsafe { (*state).heap.as_mut() } {
        Some(heap) => object.get_mut(heap),
        None => object.get_mut_young(),
    }
}

/// Reports that `object` grew in place by `grown` bytes: to `state.heap_growth`, which the
/// interpreter hands to the heap's pacing when native code exits, and, when the object is
/// old or has become large, to the heap's generations (`Heap::note_object_growth`).
///
/// # Safety
/// As for [`written`].
pub(super) unsafe fn grew<T: HeapObject>(object: Gc<T>, grown: usize, state: *mut ExitState) {
    // SAFETY: as the caller guarantees.
    unsafe {
        (*state).heap_growth += grown as u64;
        if let Some(heap) = (*state).heap.as_mut() {
            heap.note_object_growth(object, grown);
        }
    }
}

/// `REMEMBER`, the slow path of the write barrier that native code's in-place stores
/// (`ASTORE`, `ASTOREK`, `APUSH`, `FSTORE`, `FSTOREK`) run when the object's
/// `UNREMEMBERED_FLAG_OFFSET` byte is set: the object joins the heap's remembered set.
pub(super) extern "sysv64" fn remember_object(object: *mut u8, state: *mut ExitState) {
    // SAFETY: `object` is a container value of the trace, live (see the module
    // invariants); `state` is the exit state the trace was entered with, whose heap no Rust
    // code uses while native code runs. With no heap attached nothing is old.
    unsafe {
        if let Some(heap) = (*state).heap.as_mut() {
            heap.remember_address(object as usize);
        }
    }
}

/// `APUSH` when the buffer is full: appends the element with tag `tag` and payload bits
/// `payload` (an int, float, bool, null or string, as the verifier ensures) to the array
/// object at `array`, through the same `ArrayObj::try_push` as the `push` builtin, and
/// adds the buffer's growth to `state.heap_growth`. Returns 1, leaving the array as it
/// was, when a collection is due or memory ran out (the exit lets the interpreter redo the
/// push).
pub(super) extern "sysv64" fn push_value(array: *mut u8, tag: u64, payload: u64, state: *mut ExitState) -> u64 {
    if collection_due(state) {
        return 1;
    }
    let value = value_of(tag, payload);
    // SAFETY: `array` is an array value of the trace: an address loaded from a slot or
    // global whose tag is `Array` (possibly carried through Phis). Objects never move and
    // no collection runs while native code does, so it is a live `GcBox<ArrayObj>`; native
    // code holds no Rust reference into it, so `get_mut` aliases nothing.
    let array = unsafe { Gc::<ArrayObj>::from_address(array as usize) };
    // SAFETY: `state` is the exit state the trace was entered with (r13).
    let Ok(grown) = unsafe { written(&array, state) }.try_push(value) else {
        // The array stays as it was; the exit lets the interpreter raise the error.
        return 1;
    };
    // SAFETY: `state` is the exit state the trace was entered with (r13), live for the
    // whole run and not referenced by Rust code while native code runs.
    unsafe { grew(array, grown, state) };
    0
}

/// `SAPPEND`: appends the string at `piece` to the string at `string` through the
/// interpreter's own in-place append, and adds the buffer's growth to `state.heap_growth`.
/// The emitted code has already checked that `string` is unshared and is not `piece`.
/// Returns 1, leaving the string as it was, when it would grow while a collection is due
/// or memory ran out (the exit lets the interpreter redo the append).
pub(super) extern "sysv64" fn append_string(string: *mut u8, piece: *mut u8, state: *mut ExitState) -> u64 {
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
    unsafe { grew(string, grown, state) };
    // SAFETY: as above.
    let state = unsafe { &mut *state };
    // The dict hint knows a string key by its address; this string's text just changed.
    if state.dict_hint.string_operand && state.dict_hint.key == string.addr() as u64 {
        state.dict_hint = DictHint::default();
    }
    0
}

/// The value with tag `tag` and payload bits `payload`, as a helper receives it from the
/// emitted code: an int, float, bool, null, a builtin (its index), or an object of the
/// trace (a string, array, dict, struct, function or enum value).
pub(super) fn value_of(tag: u64, payload: u64) -> Value {
    const NULL: u64 = Tag::Null as u64;
    const BOOL: u64 = Tag::Bool as u64;
    const INT: u64 = Tag::Int as u64;
    const FLOAT: u64 = Tag::Float as u64;
    const STR: u64 = Tag::Str as u64;
    const ARRAY: u64 = Tag::Array as u64;
    const DICT: u64 = Tag::Dict as u64;
    const STRUCT: u64 = Tag::Struct as u64;
    const FUNC: u64 = Tag::Func as u64;
    const TAGGED: u64 = Tag::Tagged as u64;
    const BUILTIN: u64 = Tag::Builtin as u64;
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
        TAGGED => Value::Tagged(unsafe { Gc::from_address(address) }),
        BUILTIN => Value::Builtin(payload as u32),
        // Unwinding out of an `extern` function aborts the process, as it should: the
        // emitter passes no other tag.
        other => unreachable!("a helper got a value with tag {}", other),
    }
}

/// The payload bits of a value in a register of the trace (an object's address); `None`
/// for the types no register holds.
pub(super) fn register_bits(value: Value) -> Option<u64> {
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
        Value::Tagged(t) => t.addr() as u64,
        Value::Builtin(_) | Value::Undef => return None,
    })
}

/// `SLEN`: the string's length in characters.
pub(super) extern "sysv64" fn string_length(string: *mut u8) -> i64 {
    // SAFETY: `string` is a string value of the trace: a constant of the traced function
    // or an address loaded from its frame or an array, live while native code runs.
    let string = unsafe { Gc::<StrObj>::from_address(string as usize) };
    string.char_count() as i64
}

/// `SEQ`: whether two strings are equal, by the interpreter's `==`.
pub(super) extern "sysv64" fn string_equal(a: *mut u8, b: *mut u8) -> u64 {
    // SAFETY: both are string values of the trace (see `string_length`).
    let (a, b) = unsafe { (Gc::<StrObj>::from_address(a as usize), Gc::<StrObj>::from_address(b as usize)) };
    crate::semantics::values_equal(Value::Str(a), Value::Str(b)) as u64
}

/// The code `SEQ`'s inline path gives a string of at most one byte: its byte (a one-byte
/// UTF-8 text is ASCII, below 128), or [`EMPTY_CODE`] for the empty string.
pub(super) const EMPTY_CODE: u8 = 128;

/// How many codes there are: a row of [`short_string_equality`].
pub(super) const SHORT_CODES: usize = EMPTY_CODE as usize + 1;

/// `SEQ`'s answers for every pair of strings of at most one byte, as the interpreter's
/// `==` (`semantics::values_equal`) gives them: byte `code_a * SHORT_CODES + code_b` is 1
/// when they are equal, a string's code being its byte or [`EMPTY_CODE`]. Computed once,
/// from the definition, so that the inline path (`x64/strings.rs`) looks its answers up
/// instead of deciding them: it cannot disagree with the interpreter, whatever string `==`
/// is made to mean. (Bytes rather than bits: one load, no bit extraction; the rows a
/// program's strings use are a few cache lines.)
pub(super) fn short_string_equality() -> &'static [u8; SHORT_CODES * SHORT_CODES] {
    static TABLE: OnceLock<[u8; SHORT_CODES * SHORT_CODES]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut heap = crate::runtime::heap::Heap::default();
        let strings: Vec<Value> = (0..=EMPTY_CODE)
            .map(|code| {
                let text = if code == EMPTY_CODE { String::new() } else { char::from(code).to_string() };
                Value::Str(heap.alloc(StrObj::new(text)))
            })
            .collect();
        let mut table = [0; SHORT_CODES * SHORT_CODES];
        for (a, &x) in strings.iter().enumerate() {
            for (b, &y) in strings.iter().enumerate() {
                table[a * SHORT_CODES + b] = u8::from(semantics::values_equal(x, y));
            }
        }
        table
    })
}

/// The struct object at `object`, a struct value of the trace.
///
/// # Safety
/// `object` must be an address the trace loaded (from a slot or an array element) under
/// a `Struct` tag check; objects never move and no collection runs while native code
/// does, so it is a live `GcBox<StructObj>`.
pub(super) unsafe fn struct_at(object: *mut u8) -> Gc<StructObj> {
    // SAFETY: guaranteed by the caller.
    unsafe { Gc::<StructObj>::from_address(object as usize) }
}

/// The closure at `func`, a function value of the trace.
///
/// # Safety
/// `func` must be a function value of the trace: a `KFunc` constant, which the JIT keeps
/// alive (`Jit::mark_roots`), a closure loaded from a slot, global or field (typed by a
/// tag check), or one `FNEW` allocated; objects never move and no collection runs while
/// native code does.
pub(super) unsafe fn closure_at(func: *mut u8) -> Gc<FuncObj> {
    // SAFETY: guaranteed by the caller.
    unsafe { Gc::<FuncObj>::from_address(func as usize) }
}

/// `FNEW`: a new closure of prototype `proto` whose captured variables are null until the
/// `CSET`s after it fill them, as `Instr::Closure` builds it; notes whether a collection
/// is due.
pub(super) extern "sysv64" fn new_closure(proto: u64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: as in `concat_strings`; `program` is the running program, set with `heap`.
    let (state, heap, program) = unsafe { (&mut *state, &mut *(*state).heap, &*(*state).program) };
    let proto = ProtoId(proto as u32);
    let captures = vec![Value::Null; program.proto(proto).captures.len()];
    let address = heap.alloc(FuncObj { proto, captures }).addr();
    state.must_exit = heap.wants_collection() as u64;
    address as *mut u8
}

/// `CSET`: captured variable `index` of the closure becomes the value (tag `tag`, payload
/// `payload`), as `SetCapture` assigns it.
pub(super) extern "sysv64" fn set_capture(func: *mut u8, index: u64, tag: u64, payload: u64, state: *mut ExitState) {
    let value = value_of(tag, payload);
    // SAFETY: `func` is a function value of the trace (see `closure_at`).
    let func = unsafe { closure_at(func) };
    // The recorder checked the index against this prototype's captures, which the trace
    // guards (`FPROTO`) or allocated (`FNEW`).
    // SAFETY: `state` is the exit state the trace was entered with (r13).
    if let Some(capture) = unsafe { written(&func, state) }.captures.get_mut(index as usize) {
        *capture = value;
    }
}

/// `CTAG`: the tag of captured variable `index`.
pub(super) extern "sysv64" fn capture_tag(func: *mut u8, index: u64) -> i64 {
    // SAFETY: `func` is a function value of the trace (see `closure_at`).
    let func = unsafe { closure_at(func) };
    func.captures.get(index as usize).map_or(-1, |&v| crate::jit::abi::capture_key(v))
}

/// `CGET` of any capture but a float: its payload bits (an object's address).
pub(super) extern "sysv64" fn capture_bits(func: *mut u8, index: u64) -> u64 {
    // SAFETY: `func` is a function value of the trace (see `closure_at`).
    let func = unsafe { closure_at(func) };
    func.captures.get(index as usize).and_then(|v| register_bits(*v)).unwrap_or(0)
}

/// `CGET` of a float capture.
pub(super) extern "sysv64" fn capture_float(func: *mut u8, index: u64) -> f64 {
    // SAFETY: `func` is a function value of the trace (see `closure_at`).
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
pub(super) unsafe fn tagged_at(object: *mut u8) -> Gc<TaggedObj> {
    // SAFETY: guaranteed by the caller.
    unsafe { Gc::<TaggedObj>::from_address(object as usize) }
}

/// `TAGKEY`: the enum object's constructor, enum name over tag.
pub(super) extern "sysv64" fn tag_key(object: *mut u8) -> i64 {
    // SAFETY: `object` is an enum value of the trace (see `tagged_at`).
    let object = unsafe { tagged_at(object) };
    (object.enum_name.0 as i64) << 32 | object.tag.0 as i64
}

/// `PTAG`: the tag of the enum object's payload (null's when it has none).
pub(super) extern "sysv64" fn payload_tag(object: *mut u8) -> i64 {
    // SAFETY: `object` is an enum value of the trace (see `tagged_at`).
    let object = unsafe { tagged_at(object) };
    object.payload.first().map_or(Tag::Null as i64, |v| v.tag() as i64)
}

/// `PGET` of a payload that is no float: its payload bits (an object's address).
pub(super) extern "sysv64" fn payload_bits(object: *mut u8) -> u64 {
    // SAFETY: `object` is an enum value of the trace (see `tagged_at`).
    let object = unsafe { tagged_at(object) };
    object.payload.first().and_then(|&v| register_bits(v)).unwrap_or(0)
}

/// `PGET` of a float payload.
pub(super) extern "sysv64" fn payload_float(object: *mut u8) -> f64 {
    // SAFETY: `object` is an enum value of the trace (see `tagged_at`).
    let object = unsafe { tagged_at(object) };
    match object.payload.first() {
        Some(Value::Float(f)) => *f,
        _ => 0.0,
    }
}

/// `STTYPE`: the struct's type index.
pub(super) extern "sysv64" fn struct_type(object: *mut u8) -> i64 {
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let object = unsafe { struct_at(object) };
    object.type_index as i64
}

/// A linked entry's rebuild of its parent exit's snapshot (which holds sunk values) into
/// the frame at `slots`, from the parent's registers saved in `state`: returns 1, having
/// changed nothing, when the heap already wants a collection (the exit then goes to the
/// exit handler, and the interpreter collects), else 0.
pub(super) extern "sysv64" fn rebuild_linked_exit(
    state: *mut ExitState,
    slots: *mut Value,
    rebuild: *const LinkedRebuild,
) -> u64 {
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
/// collection is now due. When `+` raises (a string longer than a program may build) it
/// returns null and notes an exit, and the interpreter raises the error at its line.
pub(super) extern "sysv64" fn concat_strings(a: *mut u8, b: *mut u8, state: *mut ExitState) -> *mut u8 {
    // SAFETY: both are string values of the trace (see `string_length`).
    let (a, b) = unsafe { (Gc::<StrObj>::from_address(a as usize), Gc::<StrObj>::from_address(b as usize)) };
    // SAFETY: `state` is the exit state the trace was entered with, whose `heap` the exit
    // handler set to the interpreter's heap for this run; no Rust code uses the heap while
    // native code runs, and the allocation never collects.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let domain = &mut crate::semantics::Concrete::with_heap(heap);
    let Ok(Value::Str(s)) = crate::semantics::arith(domain, ops::ArithOp::Add, Value::Str(a), Value::Str(b), false)
    else {
        state.must_exit = 1;
        return std::ptr::null_mut();
    };
    state.must_exit = heap.wants_collection() as u64;
    s.addr() as *mut u8
}

/// `TOSTR`: the text of the scalar with tag `tag` and payload `payload` as a new string,
/// formatted as the interpreter's `to_string` does; notes whether a collection is due.
pub(super) extern "sysv64" fn scalar_to_string(tag: u64, payload: u64, state: *mut ExitState) -> *mut u8 {
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
pub(super) extern "sysv64" fn string_char(string: *mut u8, index: i64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `string` is a string value of the trace (see `string_length`).
    let string = unsafe { Gc::<StrObj>::from_address(string as usize) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    match semantics::get_index(heap, Value::Str(string), Value::Int(index)) {
        Ok(Value::Str(c)) => {
            state.must_exit = heap.wants_collection() as u64;
            c.addr() as *mut u8
        }
        _ => std::ptr::null_mut(),
    }
}

/// `SBYTES`: the string's length in bytes.
pub(super) extern "sysv64" fn string_bytes(string: *mut u8) -> i64 {
    // SAFETY: `string` is a string value of the trace (see `string_length`).
    let string = unsafe { Gc::<StrObj>::from_address(string as usize) };
    string.text.len() as i64
}

/// `SNEXTCH`: the character starting at byte `position` of the string as a new string,
/// through the interpreter's own step of `for c in s` (`access::next_char`), or null and a
/// note that the trace must be left when none starts there; notes whether a collection
/// is due.
pub(super) extern "sysv64" fn string_next_char(string: *mut u8, position: i64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `string` is a string value of the trace (see `string_length`).
    let string = unsafe { Gc::<StrObj>::from_address(string as usize) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let mut after = position;
    match access::next_char(heap, &string, &mut after) {
        Some(Value::Str(c)) => {
            state.must_exit = heap.wants_collection() as u64;
            c.addr() as *mut u8
        }
        _ => {
            state.must_exit = 1;
            std::ptr::null_mut()
        }
    }
}

/// `PUSHCOPY`: `push(array, value)` through the `push` builtin on a shared array, which
/// builds a new array; when the array is no longer shared (the builtin would change it in
/// place) it does nothing and notes that the trace must be left, as when a collection is
/// due afterwards.
pub(super) extern "sysv64" fn push_copy(array: *mut u8, tag: u64, payload: u64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `array` is an array value of the trace (see `push_value`).
    let array = unsafe { Gc::<ArrayObj>::from_address(array as usize) };
    // SAFETY: as in `scalar_to_string`.
    let (state, heap, program) = unsafe { (&mut *state, &mut *(*state).heap, &*(*state).program) };
    if !array.is_shared() {
        state.must_exit = 1;
        return array.addr() as *mut u8;
    }
    let args = [Value::Array(array), value_of(tag, payload)];
    let mut ctx = Ctx { heap, program, out: &mut std::io::sink(), start_time: state.start_time };
    // Looked up by name once, not at every call (a linear search of the table).
    static PUSH: OnceLock<u32> = OnceLock::new();
    let push = *PUSH.get_or_init(|| builtins::lookup("push").expect("push is a builtin"));
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
pub(super) extern "sysv64" fn unique_array(array: *mut u8, state: *mut ExitState) -> *mut u8 {
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
pub(super) extern "sysv64" fn element_for_write(
    array: *mut u8,
    index: i64,
    tag: u64,
    state: *mut ExitState,
) -> *mut u8 {
    // SAFETY: `array` is an array value of the trace (see `push_value`).
    let array = unsafe { Gc::<ArrayObj>::from_address(array as usize) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let position = usize::try_from(index).ok().filter(|&i| i < array.items.len());
    let (false, Some(position)) = (array.is_shared(), position) else {
        state.must_exit = 1;
        return std::ptr::null_mut();
    };
    let element = &mut array.get_mut(heap).items[position];
    if element.tag() as u64 != tag {
        state.must_exit = 1;
        return std::ptr::null_mut();
    }
    make_unique_value(heap, element);
    state.must_exit = heap.wants_collection() as u64;
    element.heap_address().expect("arrays, dicts and structs are objects") as *mut u8
}

/// `SUNIQUE`: the struct, private for a write through a field
/// (`object::make_unique_struct`: a copy when it is shared); notes whether a collection is
/// due.
pub(super) extern "sysv64" fn unique_struct(object: *mut u8, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let object = unsafe { struct_at(object) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let private = make_unique_struct(heap, object);
    state.must_exit = heap.wants_collection() as u64;
    private.addr() as *mut u8
}

/// `FLOADU`: field `field` of an unshared struct for a write through it, made private in
/// place by `access::private_field_for_write`, when it stands at `position` and holds an
/// object with tag `tag`; otherwise (a shared struct, the field elsewhere, another type)
/// it changes nothing and notes that the trace must be left, as when a collection is due
/// afterwards.
pub(super) extern "sysv64" fn field_for_write(
    object: *mut u8,
    field: u64,
    position: u64,
    tag: u64,
    state: *mut ExitState,
) -> *mut u8 {
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let object = unsafe { struct_at(object) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let name = Symbol(field as u32);
    let cached =
        object.fields.get(position as usize).is_some_and(|&(at, value)| at == name && value.tag() as u64 == tag);
    if object.is_shared() || !cached {
        state.must_exit = 1;
        return std::ptr::null_mut();
    }
    let Some(container) = access::private_field_for_write(heap, object, name) else {
        unreachable!("the field was found at its position")
    };
    state.must_exit = heap.wants_collection() as u64;
    container.heap_address().expect("arrays, dicts and structs are objects") as *mut u8
}

/// `ALLOC`: a new empty array (`kind` 0), empty dict (1), or struct (the low
/// `STRUCT_KIND_BITS` bits: 2 + its type; the bits above: the fields it has room for) with
/// no fields yet; notes whether a collection is due. Reserving the fields up front lets the
/// heap account for them at allocation, as for the interpreter's `NewStruct`, and lets the
/// `FINIT`s that follow append them in place.
pub(super) extern "sysv64" fn allocate(kind: u64, state: *mut ExitState) -> *mut u8 {
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let address = match kind {
        0 => heap.alloc(ArrayObj { items: Vec::new() }).addr(),
        1 => heap.alloc(DictObj::default()).addr(),
        struct_kind => {
            let type_index = ((struct_kind & ((1 << STRUCT_KIND_BITS) - 1)) - 2) as u32;
            heap.alloc_struct(type_index, (struct_kind >> STRUCT_KIND_BITS) as u32).addr()
        }
    };
    state.must_exit = heap.wants_collection() as u64;
    address as *mut u8
}

/// Bits of [`allocate`]'s `kind` that say which struct type (2 + its index).
pub(super) const STRUCT_KIND_BITS: u32 = 40;

/// The `kind` argument of [`allocate`] for `ALLOC` of `kind`.
pub(super) fn allocation_kind(kind: AllocKind) -> u64 {
    match kind {
        AllocKind::Array => 0,
        AllocKind::Dict => 1,
        AllocKind::Struct { type_index, fields } => (fields as u64) << STRUCT_KIND_BITS | (2 + type_index as u64),
    }
}

/// `FSET`: `object.field := value` (tag `tag`, payload `payload`) through the
/// interpreter's field assignment (`semantics::set_field`), which copies a shared struct first; returns the struct now
/// holding the field and notes whether a collection is due.
pub(super) extern "sysv64" fn field_set(
    object: *mut u8,
    field: u64,
    tag: u64,
    payload: u64,
    state: *mut ExitState,
) -> *mut u8 {
    let value = value_of(tag, payload);
    // SAFETY: `object` is a struct value of the trace (see `struct_at`).
    let mut holder = Value::Struct(unsafe { struct_at(object) });
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    // The field's name only appears in the error for a non-struct holder.
    let assigned = semantics::assign_field(heap, &mut holder, Symbol(field as u32), || "", value);
    let (Ok(()), Value::Struct(s)) = (assigned, holder) else { unreachable!("a struct's field can be assigned") };
    state.must_exit = heap.wants_collection() as u64;
    s.addr() as *mut u8
}

pub(super) type DictReadHelper = extern "sysv64" fn(*mut u8, u64) -> i64;
pub(super) type DictBitsHelper = extern "sysv64" fn(*mut u8, u64) -> u64;
pub(super) type DictFloatHelper = extern "sysv64" fn(*mut u8, u64) -> f64;
pub(super) type DictLookupHelper<R> = extern "sysv64" fn(*mut u8, u64, *mut ExitState) -> R;
pub(super) type DictSetHelper = extern "sysv64" fn(*mut u8, u64, u64, u64, *mut ExitState) -> u64;
pub(super) type BuiltinHelper<R> = extern "sysv64" fn(u64, u64, u64, u64, *mut ExitState) -> R;

/// The Rust function performing instruction `inst` of `trace`, when the emitted code
/// calls one.
pub(super) fn helper_address(trace: &Trace, inst: &Inst) -> Option<usize> {
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
        Op::SUnique(_) => Some(unique_struct as extern "sysv64" fn(*mut u8, *mut ExitState) -> *mut u8 as usize),
        Op::FieldLoadUnique { .. } => {
            Some(field_for_write as extern "sysv64" fn(*mut u8, u64, u64, u64, *mut ExitState) -> *mut u8 as usize)
        }
        Op::SAppend { .. } => {
            Some(append_string as extern "sysv64" fn(*mut u8, *mut u8, *mut ExitState) -> u64 as usize)
        }
        Op::DTag(_, key) if string_key(key) => Some(dict_tag::<true> as DictLookupHelper<i64> as usize),
        Op::DTag(..) => Some(dict_tag::<false> as DictLookupHelper<i64> as usize),
        Op::DGet(_, key) => Some(match (inst.ty, string_key(key)) {
            (Ty::Float, true) => dict_float::<true> as DictLookupHelper<f64> as usize,
            (Ty::Float, false) => dict_float::<false> as DictLookupHelper<f64> as usize,
            (_, true) => dict_bits::<true> as DictLookupHelper<u64> as usize,
            (_, false) => dict_bits::<false> as DictLookupHelper<u64> as usize,
        }),
        Op::DSet { key, .. } if string_key(key) => Some(dict_set::<true> as DictSetHelper as usize),
        Op::DSet { .. } => Some(dict_set::<false> as DictSetHelper as usize),
        Op::SLen(_) => Some(string_length as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::CallBuiltin { .. } if inst.ty == Ty::Float => Some(call_builtin_float as BuiltinHelper<f64> as usize),
        Op::CallBuiltin { .. } => Some(call_builtin_bits as BuiltinHelper<u64> as usize),
        Op::CallResidual { .. } => Some(call_residual_bits as BuiltinHelper<u64> as usize),
        Op::CallEffect { .. } if inst.ty == Ty::Float => Some(call_effect_float as BuiltinHelper<f64> as usize),
        Op::CallEffect { .. } => Some(call_effect as BuiltinHelper<u64> as usize),
        Op::SConcat(..) => {
            Some(concat_strings as extern "sysv64" fn(*mut u8, *mut u8, *mut ExitState) -> *mut u8 as usize)
        }
        Op::ToStr(_) => Some(scalar_to_string as extern "sysv64" fn(u64, u64, *mut ExitState) -> *mut u8 as usize),
        Op::SChar(..) => Some(string_char as extern "sysv64" fn(*mut u8, i64, *mut ExitState) -> *mut u8 as usize),
        Op::SBytes(_) => Some(string_bytes as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::SNextChar(..) => {
            Some(string_next_char as extern "sysv64" fn(*mut u8, i64, *mut ExitState) -> *mut u8 as usize)
        }
        Op::DictKeys(_) => Some(dict_keys as extern "sysv64" fn(*mut u8, *mut ExitState) -> *mut u8 as usize),
        Op::Alloc(_) => Some(allocate as extern "sysv64" fn(u64, *mut ExitState) -> *mut u8 as usize),
        Op::FieldSet { .. } => {
            Some(field_set as extern "sysv64" fn(*mut u8, u64, u64, u64, *mut ExitState) -> *mut u8 as usize)
        }
        Op::StructType(_) => Some(struct_type as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::TagKey(_) => Some(tag_key as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::PayloadTag(_) => Some(payload_tag as extern "sysv64" fn(*mut u8) -> i64 as usize),
        Op::PayloadGet(_) if inst.ty == Ty::Float => Some(payload_float as extern "sysv64" fn(*mut u8) -> f64 as usize),
        Op::PayloadGet(_) => Some(payload_bits as extern "sysv64" fn(*mut u8) -> u64 as usize),
        Op::CaptureTag { .. } => Some(capture_tag as DictReadHelper as usize),
        Op::FuncNew { .. } => Some(new_closure as extern "sysv64" fn(u64, *mut ExitState) -> *mut u8 as usize),
        Op::CaptureSet { .. } => {
            Some(set_capture as extern "sysv64" fn(*mut u8, u64, u64, u64, *mut ExitState) as usize)
        }
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
