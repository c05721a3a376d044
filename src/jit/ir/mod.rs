//! The trace IR: linear SSA over one recorded loop iteration, typed, with guards as
//! instructions and sparse snapshots for deoptimization.
//!
//! Terms:
//! - An instruction is named by its [`InstIdx`] (its position in [`Trace::insts`]); every
//!   operand refers to an earlier instruction, except the second operand of a `Phi`.
//! - Every instruction has a [`Ty`]: the type of the value it produces (`Void` for stores,
//!   guards and `Loop`). Ints are i64 in general registers, floats f64 in XMM registers,
//!   bools 0/1 in general registers; `Null` values need no register.
//! - A *guard* is an instruction that can leave the trace: type-guarded loads, overflow-
//!   checked int arithmetic, checked division, `GuardTrue`/`GuardFalse`. Every guard names a
//!   snapshot; when the check fails, execution resumes in the interpreter from it.
//! - A *snapshot* records the bytecode pc to resume at and, for each frame slot whose value
//!   differs from what the interpreter's slot holds, the IR value it must be given. Slots
//!   not listed still hold their correct values in memory (the trace never writes frame
//!   slots; globals are stored at once, so snapshots never mention them).
//! - Loop structure: before loop peeling a trace is one recorded iteration; `loop_end`
//!   names the snapshot of the slot state when it gets back to the loop header. After peeling it is `pre-roll; Loop; Phi...; body` and the end
//!   of the body jumps back to just after `Loop`. `Phi(a, b)` sits right after `Loop`: on
//!   the first entry into the body it has the value `a` (defined before `Loop`), on every
//!   later iteration the value `b` (defined in the body, after the `Phi`).
//!
//! - *Sunk* values: `DNew` and `DIns` build a dict literal (`StructNew` and `StructSet` a
//!   struct instance) that native code never creates. The recorder reads entries back from the IR (`r["y"]` becomes the value
//!   inserted under `"y"`), so the dict is named only by `DIns` chains and snapshots; an
//!   exit whose snapshot names one allocates it then (`exit.rs`), the way LuaJIT sinks
//!   allocations. Sunk values have no location and emit no code; the verifier rejects any
//!   other use of them.
//!
//! - A *function trace* records one call of a function, from its first instruction to a
//!   `Ret`; it has no `Loop`. Its recursive calls are `CallTrace`: native calls of the same
//!   trace on a new frame (see `CallTrace`). Its side traces end in `Ret` too.
//!
//! - A *side trace* has no `Loop`: it runs once, from a hot exit of a root trace to that
//!   trace's loop header, then stores every slot it changed (`SStore`) and returns
//!   `abi::BACK_TO_LOOP`, and the root trace is entered again.
//!
//! Text form (dumps and pass tests), one instruction per line:
//! `0004 > int  ADD      0001 0003        #2  ; L7` = instruction 4, a guard (`>`) of type
//! int adding instructions 1 and 3, exiting through snapshot 2, recorded at source line 7.
//! Snapshots print as `.... SNAP #2 pc=14 [ 1=0004 3=0002 ]` (slot=instruction).

use std::fmt;

use crate::compile::bytecode::ProtoId;
use crate::runtime::heap::Gc;
use crate::runtime::object::{FuncObj, StrObj};

pub mod text;
pub mod verify;

pub use text::InstText;

/// `CallTrace::trace` for a call of the function the trace (tree) itself records.
pub const SELF_TRACE: u32 = u32::MAX;

/// The most arguments a `CallBuiltin` passes.
pub const MAX_BUILTIN_ARGS: usize = 3;

/// The position of an instruction in its trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstIdx(pub u32);

impl InstIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for InstIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// The position of a snapshot in its trace; also the trace's exit number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapIdx(pub u32);

impl SnapIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Null,
    /// A builtin function value (only as a constant, e.g. a callee in a snapshot).
    Builtin,
    /// A pointer to an array object (`GcBox<ArrayObj>`), in a general register.
    Array,
    /// A pointer to a dict object (`GcBox<DictObj>`), in a general register.
    Dict,
    /// A pointer to a string object (`GcBox<StrObj>`), in a general register.
    Str,
    /// A pointer to a function object (`GcBox<FuncObj>`), in a general register: a callee.
    Func,
    /// A struct instance: a pointer to its object (`GcBox<StructObj>`) in a general
    /// register, or a sunk value (no location).
    Struct,
    /// An enum value (`Ok(v)`, `None`, ...); on trace only sunk.
    Tagged,
    Void,
}

impl Ty {
    /// Whether a value of this type may be stored into a struct field on trace (sunk with
    /// `StructSet` or written by `FieldSet`): the types an exit and the `FSET` helper box.
    pub fn is_field_value(self) -> bool {
        matches!(
            self,
            Ty::Int | Ty::Float | Ty::Bool | Ty::Null | Ty::Str | Ty::Array | Ty::Dict | Ty::Struct | Ty::Func
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "flt",
            Ty::Bool => "bool",
            Ty::Null => "null",
            Ty::Builtin => "fn",
            Ty::Array => "arr",
            Ty::Dict => "dict",
            Ty::Str => "str",
            Ty::Func => "func",
            Ty::Struct => "obj",
            Ty::Tagged => "enum",
            Ty::Void => "void",
        }
    }

    /// Whether values of this type live in XMM registers.
    pub fn is_float(self) -> bool {
        self == Ty::Float
    }
}

/// What `Alloc` allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllocKind {
    Array,
    Dict,
    /// A struct of struct type `type_index` (`StructObj::type_index`), with no fields yet
    /// and room for `fields` (the `FSET`s that follow fill them without growing it).
    Struct {
        type_index: u32,
        fields: u16,
    },
}

/// A pure numeric builtin called on trace; results are floats (LANGUAGE.md section 15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathFn {
    Abs,
    Sqrt,
    Floor,
    Ceil,
    Round,
    Sin,
    Cos,
    Tan,
    Exp,
    Log,
    Pow,
    Min,
    Max,
}

impl MathFn {
    pub fn name(self) -> &'static str {
        match self {
            MathFn::Abs => "abs",
            MathFn::Sqrt => "sqrt",
            MathFn::Floor => "floor",
            MathFn::Ceil => "ceil",
            MathFn::Round => "round",
            MathFn::Sin => "sin",
            MathFn::Cos => "cos",
            MathFn::Tan => "tan",
            MathFn::Exp => "exp",
            MathFn::Log => "log",
            MathFn::Pow => "pow",
            MathFn::Min => "min",
            MathFn::Max => "max",
        }
    }

    pub fn arity(self) -> usize {
        match self {
            MathFn::Pow | MathFn::Min | MathFn::Max => 2,
            _ => 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// Constants. Their type is the constant's type.
    KInt(i64),
    KFloat(f64),
    KBool(bool),
    KNull,
    /// The builtin function with this index in `builtins::BUILTINS`.
    KBuiltin(u32),
    /// A string constant of the traced function. Its proto's constant table keeps the
    /// object alive, and constants are marked shared, so native code never changes it.
    KStr(Gc<StrObj>),
    /// A function object: the callee an inlined call was recorded with, compared with
    /// `EqRef`. Kept alive by the global or closure that held it when recorded, and by the
    /// trace's own reference (`jit::NativeTrace` roots nothing: see `Jit::mark_roots`).
    KFunc(Gc<FuncObj>),
    /// Loads frame slot `slot` (relative to the trace's frame base), guarding that its tag
    /// is the instruction's type. A guard.
    SLoad {
        slot: u16,
    },
    /// Loads global `global`, guarding its tag (also fails on an unassigned global). A guard.
    GLoad {
        global: u32,
    },
    /// Stores `value` (of its own type) into global `global`. Type `Void`.
    GStore {
        global: u32,
        value: InstIdx,
    },
    /// Stores `value` into frame slot `slot`. Only at the end of a side trace, to hand the
    /// frame back to the root trace. Type `Void`.
    SStore {
        slot: u16,
        value: InstIdx,
    },

    /// Int arithmetic with Ruff's checks: overflow (`Add`, `Sub`, `Mul`, `Neg`), zero
    /// divisor and `MIN / -1` (`Div`, `Mod`) fail the guard. All are guards.
    AddInt(InstIdx, InstIdx),
    SubInt(InstIdx, InstIdx),
    MulInt(InstIdx, InstIdx),
    DivInt(InstIdx, InstIdx),
    ModInt(InstIdx, InstIdx),
    NegInt(InstIdx),
    /// Float arithmetic (IEEE). `DivFloat` and `ModFloat` are guards: a zero divisor is a
    /// Ruff error. `ModFloat` is C `fmod`.
    AddFloat(InstIdx, InstIdx),
    SubFloat(InstIdx, InstIdx),
    MulFloat(InstIdx, InstIdx),
    DivFloat(InstIdx, InstIdx),
    ModFloat(InstIdx, InstIdx),
    NegFloat(InstIdx),
    /// Int to float conversion (mixed arithmetic).
    IntToFloat(InstIdx),

    /// Comparisons producing a bool. Float `Eq`/`Ne` use Ruff's rule: equal when `a == b` or
    /// both finite and `|a - b| < f64::EPSILON` (`runtime::ops::floats_equal`).
    LtInt(InstIdx, InstIdx),
    LeInt(InstIdx, InstIdx),
    GtInt(InstIdx, InstIdx),
    GeInt(InstIdx, InstIdx),
    EqInt(InstIdx, InstIdx),
    NeInt(InstIdx, InstIdx),
    LtFloat(InstIdx, InstIdx),
    LeFloat(InstIdx, InstIdx),
    GtFloat(InstIdx, InstIdx),
    GeFloat(InstIdx, InstIdx),
    EqFloat(InstIdx, InstIdx),
    NeFloat(InstIdx, InstIdx),
    /// Bool equality and negation.
    EqBool(InstIdx, InstIdx),
    /// Whether two function values are the same object (identity, not contents).
    EqRef(InstIdx, InstIdx),
    NotBool(InstIdx),
    /// Truthiness of an int (`!= 0`) or a float (`!= 0.0`, NaN is truthy).
    TruthyInt(InstIdx),
    TruthyFloat(InstIdx),

    /// Leave the trace unless the bool operand is true / false. Guards of type `Void`.
    GuardTrue(InstIdx),
    GuardFalse(InstIdx),

    /// The length of an array. Pure, but reads array memory: it moves only across
    /// instructions that do not store into arrays.
    ALen(InstIdx),
    /// Element `index` of an array, guarding `0 <= index < length` and that the element's
    /// tag is the instruction's type. It only reads: the recorder follows it with `SHARE`
    /// of an object read out, as `access::get_index` marks it (the array still holds it),
    /// except for `PeekIndex`, which does not mark. A guard.
    ALoad(InstIdx, InstIdx),
    /// Element `index` of an array, for a write into it (`a[i][j] := v`, the interpreter's
    /// `access::index_for_write`): guards that the array is not shared, that
    /// `0 <= index < length`, that the element's tag is the instruction's type (an array,
    /// dict or struct) and that the element is not shared either, so that neither needs
    /// the copy the interpreter would make; the element is not marked shared (the write
    /// goes through it). A guard.
    ALoadForWrite(InstIdx, InstIdx),
    /// The array, private to its holder for a write: the array itself when it is not
    /// shared, else a copy made by the interpreter's own copy-on-write
    /// (`object::make_unique_array`, which marks the elements shared). The recorder writes
    /// the result back into the holder's slot, as the interpreter does. A guard that exits
    /// when the heap then wants a collection (redoing the instruction finds the copy
    /// private and copies nothing). Allocates.
    AUnique(InstIdx),
    /// Element `index` of an unshared array, for a write into it, as
    /// `access::index_for_write` takes it: guards that the array is not shared, that
    /// `0 <= index < length` and that the element has the instruction's type (an array,
    /// dict or struct), then makes the element private, copying it in place when it is
    /// shared. Exits afterwards when a collection is due. Allocates.
    ALoadUnique(InstIdx, InstIdx),
    /// `array[index] = value` in place, guarding that the array is not shared (a shared
    /// array must be copied first, which only the interpreter does) and that
    /// `0 <= index < length`. `value` is a scalar or an object (handed over, as
    /// `access::set_index` takes it). A guard.
    AStore {
        array: InstIdx,
        index: InstIdx,
        value: InstIdx,
    },
    /// Appends `value` (a scalar or an object: the call's argument, handed over) to an
    /// array in place, guarding that the array is not shared. May grow the array's
    /// buffer. A guard.
    APush {
        array: InstIdx,
        value: InstIdx,
    },
    /// `push(array, value)` on a shared array: a new array holding `array`'s elements and
    /// `value`, through the `push` builtin (which copies a shared array rather than change
    /// it). A guard that exits, for the interpreter to push, when the array is no longer
    /// shared (the builtin would change it in place, which an exit could not undo) or the
    /// heap then wants a collection. Allocates; marks the elements shared.
    PushCopy {
        array: InstIdx,
        value: InstIdx,
    },
    /// `s := s + piece` appending to `string` in place, as the interpreter does for an
    /// unshared string whose holder the result overwrites: guards that `string` is not
    /// shared and is not `piece` itself (otherwise the interpreter builds a new string).
    /// May grow the string's buffer. A guard of type `Void`; the result is `string`.
    SAppend {
        string: InstIdx,
        piece: InstIdx,
    },

    /// Guards that an array, dict or struct object is not shared (a `TakeField` recorded
    /// on an unshared struct, which then did not mark the field it took).
    GuardUnshared(InstIdx),
    /// Sets the shared bit of an array, dict, string or struct object, as the
    /// interpreter's `Move` (a copy) does: a later in-place write through either holder
    /// then finds it shared (and leaves the trace, the interpreter copying). Type `Void`.
    MarkShared(InstIdx),

    /// A new string `a + b` (the interpreter's `+` on strings that builds a new string).
    /// Allocates; a guard that exits, before the concatenation, when the heap then wants a
    /// collection (the interpreter redoes it and collects).
    SConcat(InstIdx, InstIdx),
    /// The text of an int, float, bool or null as a new string (`to_string`, string
    /// interpolation), through the interpreter's formatting. Allocates; a guard like
    /// `SConcat`.
    ToStr(InstIdx),
    /// The array a `for` loop over a dict iterates: the dict's keys as strings, through
    /// the interpreter's `access::iteration_source`. Allocates; a guard like `SConcat`.
    DictKeys(InstIdx),
    /// `string[index]`: the character at an int index as a new one-character string,
    /// through the interpreter's indexing (negative indices count from the end). Allocates;
    /// a guard that exits, before the indexing, when the index is out of bounds (the
    /// interpreter raises the error) or the heap then wants a collection.
    SChar(InstIdx, InstIdx),

    /// The length of a string in characters (`len`). Reads string memory (an `SAppend`
    /// changes it).
    SLen(InstIdx),
    /// Whether two strings have the same text (`==` on strings). Reads string memory.
    SEq(InstIdx, InstIdx),

    /// The type tag (`runtime::value::Tag`) of the entry of a dict under an int key, or
    /// -1 when there is none. Reads dict memory; a guard on it makes the `DGet` after it
    /// valid.
    DTag(InstIdx, InstIdx),
    /// The value of the entry of a dict under an int key, of the instruction's type (int,
    /// float, bool or null). Only after a guard that `DTag` of the same dict and key is that
    /// type's tag. Reads dict memory.
    DGet(InstIdx, InstIdx),
    /// `dict[key] = value` for an int key, in place, guarding that the dict is not shared.
    /// `value` is an int, float, bool or null. May grow the dict. A guard.
    DSet {
        dict: InstIdx,
        key: InstIdx,
        value: InstIdx,
    },

    /// A new empty array or dict, or a struct with no fields yet, of the instruction's
    /// type: a sunk value built for real where it escapes (it is stored, pushed, passed to
    /// native code or carried into the next iteration); `APush`, `DSet` and `FieldSet` then
    /// fill it. Allocates; a guard like `SConcat`.
    Alloc(AllocKind),

    /// A sunk empty dict (see the module docs). Type `Dict`.
    DNew,
    /// The sunk dict `dict` with `value` (int, float, bool or null) inserted under the
    /// string constant `key`, as a dict literal's `DictInsert` does. Type `Dict`; `dict`
    /// is a sunk value and this instruction its only use besides snapshots.
    DIns {
        dict: InstIdx,
        key: InstIdx,
        value: InstIdx,
    },

    /// The type tag of field `field` (a symbol) of a struct object, or -1 when it has no
    /// such field; a guard on it makes the `FieldGet` after it valid. Reads struct memory.
    FieldTag {
        object: InstIdx,
        field: u32,
    },
    /// The value of field `field` of a struct object, of the instruction's type (int,
    /// float, bool, null, or a string, array, dict or struct, which the recorder then marks
    /// shared), after a guard on its `FieldTag`. Reads struct memory.
    FieldGet {
        object: InstIdx,
        field: u32,
    },
    /// `object.field := value` (an int, float, bool or null) through the interpreter's field
    /// assignment: in place when the struct is not shared, else on a new copy. The result
    /// (type `Struct`) is the struct now holding the field. Writes struct memory and may
    /// allocate: a guard like `SConcat`.
    FieldSet {
        object: InstIdx,
        field: u32,
        value: InstIdx,
    },
    /// The constructor of an enum object (`TaggedObj`): its enum name's symbol in the high
    /// 32 bits, its tag's in the low ones. Enum objects never change.
    TagKey(InstIdx),
    /// The type tag of an enum object's payload (`Tag::Null` when it has none); a guard
    /// on it makes the `PayloadGet` after it valid.
    PayloadTag(InstIdx),
    /// An enum object's payload, of the instruction's type (int, float, bool or null).
    PayloadGet(InstIdx),
    /// The struct type (`StructObj::type_index`) of a struct object: methods are per type.
    StructType(InstIdx),
    /// The type tag of captured variable `index` of a closure (`func`), and its value (of
    /// the instruction's type: int, float, bool or null) after a guard on that tag. Read
    /// closure memory (only the interpreter assigns captures).
    CaptureTag {
        func: InstIdx,
        index: u32,
    },
    CaptureGet {
        func: InstIdx,
        index: u32,
    },

    /// A sunk struct instance of struct type `type_index` with no fields yet, and the sunk
    /// struct `object` with field `field` (a symbol) set to `value` (int, float, bool or
    /// null): a struct literal's fields in order, and field assignments after it. Type
    /// `Struct`, sunk like `DNew`/`DIns`.
    StructNew {
        type_index: u32,
    },
    StructSet {
        object: InstIdx,
        field: u32,
        value: InstIdx,
    },
    /// A sunk empty array, and the sunk array `array` with `value` (an int, float, bool,
    /// null or string constant) appended: an array literal's elements in order. Type
    /// `Array`, sunk like `DNew`/`DIns`.
    ANew,
    AIns {
        array: InstIdx,
        value: InstIdx,
    },
    /// A sunk enum value: tag `tag` (a symbol) of enum `enum_name`, with no payload or one
    /// (an int, float, bool, null or string constant). Type `Tagged`.
    TagNew {
        enum_name: u32,
        tag: u32,
        payload: Option<InstIdx>,
    },

    /// A float-valued numeric builtin on float operands. `Sqrt` of a negative and `Log` of a
    /// non-positive operand are Ruff errors, so those two are guards.
    Math1(MathFn, InstIdx),
    Math2(MathFn, InstIdx, InstIdx),

    /// Builtin `builtin` (an index into `builtins::BUILTINS` that `builtins::is_repeatable`
    /// allows) called on the first `argc` of `args` through `builtins::call`, the
    /// interpreter's own code. Arguments are ints, floats, bools, nulls, strings, arrays,
    /// dicts, structs or functions; the result has the instruction's type (one of the
    /// same, but not a function). A guard that exits, for the interpreter to make the
    /// same call again, when the builtin raises an error, returns a value of another type,
    /// or leaves the heap wanting a collection. Reads containers and may mark their
    /// elements shared; never merged with another call (each may allocate).
    CallBuiltin {
        builtin: u32,
        args: [InstIdx; MAX_BUILTIN_ARGS],
        argc: u8,
    },

    /// Calls a function trace natively (the traced function's own, for recursion, or
    /// another function's; in a function trace or a side trace), as a new frame
    /// whose slot 0 is slot `base + 1` of the current one, its first `filled` slots (the
    /// arguments, stored into the frame before the call) kept and the rest up to
    /// `callee_slots` cleared; the callee's `Ret` leaves the result in slot `base`.
    /// `return_pc` is where the interpreter resumes this frame if an exit happens inside
    /// the call. The call clobbers every register and slot, so no value defined before it
    /// is used after it except constants (the verifier checks this). A guard: it exits,
    /// before calling, when the native recursion depth budget is spent. Type `Void`.
    CallTrace {
        /// The function called, and its function trace (`SELF_TRACE`: the trace being
        /// compiled, or for a side trace its root).
        function: Gc<FuncObj>,
        trace: u32,
        base: u16,
        filled: u16,
        callee_slots: u16,
        return_pc: u32,
    },
    /// Ends a function trace (or its side trace) at a loop that has a trace of its own:
    /// jumps into that loop trace's pre-roll (the frame's slots are stored first), which
    /// runs the loop on the same frame. Type `Void`.
    JumpTrace {
        trace: u32,
    },
    /// Ends a function trace: the function returns `value` (into the slot below its frame)
    /// to its native caller, or to the interpreter. Type `Void`.
    Ret(InstIdx),

    /// Separates the pre-roll from the loop body (after peeling). Type `Void`.
    Loop,
    /// A loop-carried value (see the module docs). The second operand may be later.
    Phi(InstIdx, InstIdx),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::KInt(_) | Op::KFloat(_) | Op::KBool(_) | Op::KNull | Op::KBuiltin(_) | Op::KStr(_) | Op::KFunc(_) => {
                "K"
            }
            Op::SLoad { .. } => "SLOAD",
            Op::GLoad { .. } => "GLOAD",
            Op::GStore { .. } => "GSTORE",
            Op::SStore { .. } => "SSTORE",
            Op::AddInt(..) | Op::AddFloat(..) => "ADD",
            Op::SubInt(..) | Op::SubFloat(..) => "SUB",
            Op::MulInt(..) | Op::MulFloat(..) => "MUL",
            Op::DivInt(..) | Op::DivFloat(..) => "DIV",
            Op::ModInt(..) | Op::ModFloat(..) => "MOD",
            Op::NegInt(_) | Op::NegFloat(_) => "NEG",
            Op::IntToFloat(_) => "CONV",
            Op::LtInt(..) | Op::LtFloat(..) => "LT",
            Op::LeInt(..) | Op::LeFloat(..) => "LE",
            Op::GtInt(..) | Op::GtFloat(..) => "GT",
            Op::GeInt(..) | Op::GeFloat(..) => "GE",
            Op::EqInt(..) | Op::EqFloat(..) | Op::EqBool(..) => "EQ",
            Op::EqRef(..) => "SAME",
            Op::NeInt(..) | Op::NeFloat(..) => "NE",
            Op::NotBool(_) => "NOT",
            Op::TruthyInt(_) | Op::TruthyFloat(_) => "TRUTHY",
            Op::GuardTrue(_) => "GTRUE",
            Op::GuardFalse(_) => "GFALSE",
            Op::Math1(..) | Op::Math2(..) => "MATH",
            Op::ALen(_) => "ALEN",
            Op::ALoad(..) => "ALOAD",
            Op::ALoadForWrite(..) => "ALOADW",
            Op::AUnique(_) => "AUNIQUE",
            Op::ALoadUnique(..) => "ALOADU",
            Op::AStore { .. } => "ASTORE",
            Op::APush { .. } => "APUSH",
            Op::PushCopy { .. } => "PUSHCOPY",
            Op::SAppend { .. } => "SAPPEND",
            Op::SLen(_) => "SLEN",
            Op::SConcat(..) => "SCONCAT",
            Op::ToStr(_) => "TOSTR",
            Op::SChar(..) => "SCHAR",
            Op::DictKeys(_) => "KEYS",
            Op::TagKey(_) => "TAGKEY",
            Op::PayloadTag(_) => "PTAG",
            Op::PayloadGet(_) => "PGET",
            Op::MarkShared(_) => "SHARE",
            Op::GuardUnshared(_) => "UNSHARED",
            Op::SEq(..) => "SEQ",
            Op::DTag(..) => "DTAG",
            Op::DGet(..) => "DGET",
            Op::DSet { .. } => "DSET",
            Op::DNew => "DNEW",
            Op::Alloc(_) => "ALLOC",
            Op::DIns { .. } => "DINS",
            Op::StructNew { .. } => "STNEW",
            Op::TagNew { .. } => "ENUM",
            Op::ANew => "ANEW",
            Op::AIns { .. } => "AINS",
            Op::FieldTag { .. } => "FTAG",
            Op::FieldGet { .. } => "FGET",
            Op::FieldSet { .. } => "FSET",
            Op::StructType(_) => "STTYPE",
            Op::CaptureTag { .. } => "CTAG",
            Op::CaptureGet { .. } => "CGET",
            Op::StructSet { .. } => "STSET",
            Op::CallTrace { .. } => "CALLTRACE",
            Op::CallBuiltin { .. } => "CALLB",
            Op::Ret(_) => "RET",
            Op::JumpTrace { .. } => "JUMP",
            Op::Loop => "LOOP",
            Op::Phi(..) => "PHI",
        }
    }

    /// The instructions this one reads, in operand order.
    pub fn operands(&self) -> smallvec::SmallVec<[InstIdx; 2]> {
        let mut operands = smallvec::SmallVec::new();
        self.map_operands(|o| {
            operands.push(o);
            o
        });
        operands
    }

    /// Rewrites every operand through `f`.
    pub fn map_operands(&self, mut f: impl FnMut(InstIdx) -> InstIdx) -> Op {
        let mut op = *self;
        match &mut op {
            Op::KInt(_) | Op::KFloat(_) | Op::KBool(_) | Op::KNull | Op::KBuiltin(_) | Op::KStr(_) | Op::KFunc(_) => {}
            Op::SLoad { .. }
            | Op::GLoad { .. }
            | Op::Loop
            | Op::DNew
            | Op::Alloc(_)
            | Op::ANew
            | Op::StructNew { .. }
            | Op::JumpTrace { .. }
            | Op::CallTrace { .. } => {}
            Op::AIns { array, value } => {
                *array = f(*array);
                *value = f(*value);
            }
            Op::StructSet { object, value, .. } | Op::FieldSet { object, value, .. } => {
                *object = f(*object);
                *value = f(*value);
            }
            Op::FieldTag { object, .. } | Op::FieldGet { object, .. } | Op::StructType(object) => *object = f(*object),
            Op::CaptureTag { func, .. } | Op::CaptureGet { func, .. } => *func = f(*func),
            Op::TagNew { payload, .. } => {
                if let Some(payload) = payload {
                    *payload = f(*payload);
                }
            }
            Op::GStore { value, .. } | Op::SStore { value, .. } => *value = f(*value),
            Op::NegInt(a)
            | Op::NegFloat(a)
            | Op::IntToFloat(a)
            | Op::NotBool(a)
            | Op::TruthyInt(a)
            | Op::TruthyFloat(a)
            | Op::GuardTrue(a)
            | Op::GuardFalse(a)
            | Op::ALen(a)
            | Op::AUnique(a)
            | Op::SLen(a)
            | Op::MarkShared(a)
            | Op::GuardUnshared(a)
            | Op::ToStr(a)
            | Op::DictKeys(a)
            | Op::TagKey(a)
            | Op::PayloadTag(a)
            | Op::PayloadGet(a)
            | Op::Ret(a)
            | Op::Math1(_, a) => *a = f(*a),
            Op::CallBuiltin { args, argc, .. } => {
                for arg in &mut args[..*argc as usize] {
                    *arg = f(*arg);
                }
            }
            Op::AStore { array, index, value } => {
                *array = f(*array);
                *index = f(*index);
                *value = f(*value);
            }
            Op::DSet { dict, key, value } | Op::DIns { dict, key, value } => {
                *dict = f(*dict);
                *key = f(*key);
                *value = f(*value);
            }
            Op::APush { array, value } | Op::PushCopy { array, value } => {
                *array = f(*array);
                *value = f(*value);
            }
            Op::SAppend { string, piece } => {
                *string = f(*string);
                *piece = f(*piece);
            }
            Op::AddInt(a, b)
            | Op::SubInt(a, b)
            | Op::MulInt(a, b)
            | Op::DivInt(a, b)
            | Op::ModInt(a, b)
            | Op::AddFloat(a, b)
            | Op::SubFloat(a, b)
            | Op::MulFloat(a, b)
            | Op::DivFloat(a, b)
            | Op::ModFloat(a, b)
            | Op::LtInt(a, b)
            | Op::LeInt(a, b)
            | Op::GtInt(a, b)
            | Op::GeInt(a, b)
            | Op::EqInt(a, b)
            | Op::NeInt(a, b)
            | Op::LtFloat(a, b)
            | Op::LeFloat(a, b)
            | Op::GtFloat(a, b)
            | Op::GeFloat(a, b)
            | Op::EqFloat(a, b)
            | Op::NeFloat(a, b)
            | Op::EqBool(a, b)
            | Op::EqRef(a, b)
            | Op::Math2(_, a, b)
            | Op::ALoad(a, b)
            | Op::ALoadForWrite(a, b)
            | Op::ALoadUnique(a, b)
            | Op::SEq(a, b)
            | Op::SConcat(a, b)
            | Op::SChar(a, b)
            | Op::DTag(a, b)
            | Op::DGet(a, b)
            | Op::Phi(a, b) => {
                *a = f(*a);
                *b = f(*b);
            }
        }
        op
    }

    pub fn is_constant(&self) -> bool {
        matches!(
            self,
            Op::KInt(_) | Op::KFloat(_) | Op::KBool(_) | Op::KNull | Op::KBuiltin(_) | Op::KStr(_) | Op::KFunc(_)
        )
    }

    /// Whether this is a sunk allocation (see the module docs): no code, no location.
    pub fn is_sunk(&self) -> bool {
        matches!(
            self,
            Op::DNew
                | Op::DIns { .. }
                | Op::ANew
                | Op::AIns { .. }
                | Op::StructNew { .. }
                | Op::StructSet { .. }
                | Op::TagNew { .. }
        )
    }

    /// Whether this instruction can leave the trace (and so needs a snapshot).
    pub fn is_guard(&self) -> bool {
        matches!(
            self,
            Op::SLoad { .. }
                | Op::GLoad { .. }
                | Op::AddInt(..)
                | Op::SubInt(..)
                | Op::MulInt(..)
                | Op::DivInt(..)
                | Op::ModInt(..)
                | Op::NegInt(_)
                | Op::DivFloat(..)
                | Op::ModFloat(..)
                | Op::GuardTrue(_)
                | Op::GuardFalse(_)
                | Op::GuardUnshared(_)
                | Op::Math1(MathFn::Sqrt | MathFn::Log, _)
                | Op::ALoad(..)
                | Op::ALoadForWrite(..)
                | Op::AUnique(_)
                | Op::ALoadUnique(..)
                | Op::AStore { .. }
                | Op::APush { .. }
                | Op::SAppend { .. }
                | Op::DSet { .. }
                | Op::CallTrace { .. }
                | Op::SConcat(..)
                | Op::ToStr(_)
                | Op::SChar(..)
                | Op::FieldSet { .. }
                | Op::DictKeys(_)
                | Op::CallBuiltin { .. }
                | Op::Alloc(_)
                | Op::PushCopy { .. }
        )
    }

    /// Whether this instruction writes array, dict, string or struct contents (so reads of
    /// them cannot move across it). A builtin call counts: it reaches into containers
    /// through Rust code the optimizer cannot see.
    pub fn writes_containers(&self) -> bool {
        matches!(
            self,
            Op::AStore { .. }
                | Op::APush { .. }
                | Op::SAppend { .. }
                | Op::DSet { .. }
                | Op::FieldSet { .. }
                | Op::CallBuiltin { .. }
                | Op::PushCopy { .. }
                | Op::AUnique(_)
                | Op::ALoadUnique(..)
        )
    }

    /// Whether this instruction reads array, dict or string contents.
    pub fn reads_containers(&self) -> bool {
        matches!(
            self,
            Op::ALen(_)
                | Op::ALoad(..)
                | Op::ALoadForWrite(..)
                | Op::ALoadUnique(..)
                | Op::DTag(..)
                | Op::DGet(..)
                | Op::SLen(_)
                | Op::SEq(..)
                | Op::FieldTag { .. }
                | Op::FieldGet { .. }
                | Op::CaptureTag { .. }
                | Op::CaptureGet { .. }
                | Op::CallBuiltin { .. }
        )
    }

    /// Whether removing this instruction when its value is unused changes behaviour.
    /// Guards must stay (they check a condition the interpreter would act on), stores
    /// must stay, and `Loop` marks structure.
    pub fn has_effect(&self) -> bool {
        self.is_guard()
            || matches!(
                self,
                Op::GStore { .. }
                    | Op::SStore { .. }
                    | Op::Loop
                    | Op::AStore { .. }
                    | Op::APush { .. }
                    | Op::SAppend { .. }
                    | Op::DSet { .. }
                    | Op::MarkShared(_)
                    | Op::Ret(_)
                    | Op::JumpTrace { .. }
            )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    pub op: Op,
    pub ty: Ty,
    /// The snapshot a guard exits through; `None` for every non-guard.
    pub snap: Option<SnapIdx>,
    /// Source line of the bytecode instruction this was recorded from (0 if none).
    pub line: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Bytecode pc the interpreter resumes at, in the innermost frame.
    pub pc: u32,
    /// `(slot, value)` for every slot that differs from memory, ordered by slot. Slots are
    /// numbered from the trace's frame base, so inlined frames' slots come after its own.
    pub entries: Vec<(u16, InstIdx)>,
    /// The frames of inlined calls active at this point, outermost first (empty when
    /// execution is in the trace's own frame). An exit pushes them as interpreter frames.
    pub frames: Vec<InlinedFrame>,
    /// The `try` handlers the trace has installed and not yet removed, in the order they
    /// were installed. Native code keeps no handler stack (every error leaves the trace
    /// before it is raised); an exit pushes these onto the interpreter's.
    pub handlers: Vec<TraceHandler>,
    /// What native code did since the start of the iteration (a side trace's start) or the
    /// last `CallTrace`, which the counters of `--jit-stats` must learn when the trace
    /// exits here: loop back-edges other than a root's own (which the backend counts in a
    /// register), i.e. those of enclosing loops a side trace goes round, and Ruff calls
    /// inlined. An exit through this snapshot adds them to `ExitState`'s counts.
    pub back_edges: u32,
    pub calls: u32,
}

/// A `try` handler installed on trace (`TryBegin` recorded, its `TryEnd` not yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHandler {
    /// The frame it belongs to: 0 for the trace's own frame, `n` for the `n`th of the
    /// snapshot's inlined frames.
    pub frame: u16,
    /// Where the handler starts, in that frame's function.
    pub pc: u32,
    /// The slot that receives the error value, numbered from the trace's frame base.
    pub err_slot: u16,
}

/// An interpreter frame that an exit must rebuild: a call the trace inlined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InlinedFrame {
    pub proto: ProtoId,
    /// The callee (the frame's closure); `None` for a method, called without one.
    pub func: Option<Gc<FuncObj>>,
    /// Its slot 0, numbered from the trace's frame base.
    pub base: u16,
    pub num_slots: u16,
    /// Where the frame below resumes once this one returns (just after its `Call`).
    pub return_pc: u32,
    /// Whether the frame's slots are in memory: a side trace that starts inside an inlined
    /// call finds that call's slots written by its root trace's exit. Otherwise only the
    /// snapshot holds them, and the exit clears the rest.
    pub slots_in_memory: bool,
}

/// A trace under construction or optimization.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub insts: Vec<Inst>,
    pub snapshots: Vec<Snapshot>,
    /// The slot state at the end of the recorded iteration, when control is back at the
    /// loop header (its pc): which slots the iteration changed and their new values. Loop
    /// peeling builds the `Phi`s from it. Not referenced by any guard.
    pub loop_end: Option<SnapIdx>,
}

impl Trace {
    pub fn push(&mut self, op: Op, ty: Ty, snap: Option<SnapIdx>, line: u32) -> InstIdx {
        self.insts.push(Inst { op, ty, snap, line });
        InstIdx(self.insts.len() as u32 - 1)
    }

    pub fn inst(&self, i: InstIdx) -> &Inst {
        &self.insts[i.index()]
    }

    pub fn add_snapshot(&mut self, snapshot: Snapshot) -> SnapIdx {
        self.snapshots.push(snapshot);
        SnapIdx(self.snapshots.len() as u32 - 1)
    }

    /// Calls `f` with every value an exit through `snap` reads from a location: the
    /// snapshot's entries, with each sunk value replaced by the values it is built from.
    pub fn for_each_snapshot_value(&self, snap: SnapIdx, mut f: impl FnMut(InstIdx)) {
        let mut pending: smallvec::SmallVec<[InstIdx; 8]> =
            self.snapshots[snap.index()].entries.iter().map(|&(_, v)| v).collect();
        while let Some(v) = pending.pop() {
            let op = &self.inst(v).op;
            if op.is_sunk() {
                pending.extend(op.operands());
            } else {
                f(v);
            }
        }
    }

    /// The elements of the sunk array `array` (an `ANew`, `AIns` chain), in order.
    pub fn sunk_elements(&self, array: InstIdx) -> Vec<InstIdx> {
        let mut elements = Vec::new();
        let mut at = array;
        while let Op::AIns { array, value } = self.inst(at).op {
            elements.push(value);
            at = array;
        }
        elements.reverse();
        elements
    }

    /// The `(key, value)` inserts of the sunk dict `dict` (a `DNew`, `DIns` chain), in order.
    pub fn sunk_inserts(&self, dict: InstIdx) -> Vec<(InstIdx, InstIdx)> {
        let mut inserts = Vec::new();
        let mut at = dict;
        while let Op::DIns { dict, key, value } = self.inst(at).op {
            inserts.push((key, value));
            at = dict;
        }
        inserts.reverse();
        inserts
    }

    /// The struct type and the `(field, value)` sets of the sunk struct `object` (a
    /// `StructNew`, `StructSet` chain), in the order they were made.
    pub fn sunk_fields(&self, object: InstIdx) -> (u32, Vec<(u32, InstIdx)>) {
        let mut sets = Vec::new();
        let mut at = object;
        loop {
            match self.inst(at).op {
                Op::StructSet { object, field, value } => {
                    sets.push((field, value));
                    at = object;
                }
                Op::StructNew { type_index } => {
                    sets.reverse();
                    return (type_index, sets);
                }
                other => unreachable!("a sunk struct chain starts with STNEW, not {}", other.name()),
            }
        }
    }

    /// The position of `Loop`, once the trace has been peeled.
    pub fn loop_start(&self) -> Option<InstIdx> {
        self.insts.iter().position(|i| i.op == Op::Loop).map(|p| InstIdx(p as u32))
    }
}
