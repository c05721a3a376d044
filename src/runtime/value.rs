//! The one value type every part of the runtime passes around.
//!
//! Layout (relied on by native code): `#[repr(C, u8)]`, 16 bytes. Byte 0 is the tag
//! ([`Tag`]); bytes 8..16 are the payload: an `i64`, an `f64`, a `bool` in byte 8, a
//! builtin index (`u32`) or a pointer to a heap object's [`GcBox`](super::heap::GcBox).
//! `Null` and `Undef` have no payload.
//!
//! Invariant: `Undef` only ever sits in a global slot that has not been assigned yet; it
//! is never produced by an expression, stored in a container or seen by Ruff code.

use std::mem::MaybeUninit;

use super::heap::Gc;
use super::object::{ArrayObj, DictObj, FuncObj, StrObj, StructObj, TaggedObj};

#[derive(Clone, Copy)]
#[repr(C, u8)]
pub enum Value {
    Null = 0,
    Bool(bool) = 1,
    Int(i64) = 2,
    Float(f64) = 3,
    Str(Gc<StrObj>) = 4,
    Array(Gc<ArrayObj>) = 5,
    Dict(Gc<DictObj>) = 6,
    Struct(Gc<StructObj>) = 7,
    Tagged(Gc<TaggedObj>) = 8,
    Func(Gc<FuncObj>) = 9,
    Builtin(u32) = 10,
    Undef = 11,
}

/// The tag byte of each [`Value`] variant, for code that inspects the raw layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Tag {
    Null = 0,
    Bool = 1,
    Int = 2,
    Float = 3,
    Str = 4,
    Array = 5,
    Dict = 6,
    Struct = 7,
    Tagged = 8,
    Func = 9,
    Builtin = 10,
    Undef = 11,
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);

/// A value in flight between two slots, held as its two parts: the tag byte and the
/// eight payload bytes (which together were a valid [`Value`], and are again once stored).
///
/// Why not a plain copy: the compiler copies a `Value` as one 16-byte load and store, and
/// writes a fresh one (an arithmetic result, a loop variable) as two stores, the tag byte
/// and the payload. A 16-byte load of a slot written by those two stores a few
/// instructions earlier cannot be served from the store buffer, so the CPU waits until both
/// stores reach the cache: a store-forwarding stall of a dozen cycles or more. Reading the
/// tag byte and the payload apart are two loads each served by one store. The handlers that
/// hand on a value just written (a `return` of an expression's result) go through this.
#[derive(Clone, Copy)]
pub struct Relay {
    tag: u8,
    /// Uninitialized for `Null` and `Undef`, whose payload bytes are padding.
    payload: MaybeUninit<u64>,
}

impl Relay {
    /// Writes the value into `target`, as a tag byte store and a payload store. The
    /// padding bytes 1..8 of `target` keep whatever they held.
    #[inline(always)]
    pub fn store(self, target: &mut Value) {
        let to = target as *mut Value as *mut u8;
        // SAFETY: `Value` is `repr(C, u8)`, 16 bytes, aligned to 8, tag in byte 0 and
        // payload in bytes 8..16 (the layout asserted above); `self` was read from a valid
        // `Value` by `Value::relay`, so once both parts are written `target` holds that
        // same valid value. Nothing reads `target` between the two writes.
        unsafe {
            to.write(self.tag);
            to.add(8).cast::<MaybeUninit<u64>>().write(self.payload);
        }
    }
}

impl Relay {
    /// The value itself, assembled from its two parts (a local the compiler keeps as the
    /// two scalars when the code using it reads only the tag and the payload).
    #[inline(always)]
    pub fn value(self) -> Value {
        let mut value = MaybeUninit::<Value>::uninit();
        let to = value.as_mut_ptr() as *mut u8;
        // SAFETY: as in `store`; the bytes left unwritten (1..8, and the payload of
        // `Null` and `Undef`) are padding of every variant, which may be uninitialized.
        unsafe {
            to.write(self.tag);
            to.add(8).cast::<MaybeUninit<u64>>().write(self.payload);
            value.assume_init()
        }
    }
}

impl Value {
    /// This value read as its two parts (see [`Relay`]).
    #[inline(always)]
    pub fn relay(&self) -> Relay {
        let from = self as *const Value as *const u8;
        // SAFETY: the layout asserted above: byte 0 is the tag, bytes 8..16 the payload,
        // 8-aligned; the payload is read as `MaybeUninit` because it is padding for
        // `Null` and `Undef`.
        unsafe { Relay { tag: from.read(), payload: from.add(8).cast::<MaybeUninit<u64>>().read() } }
    }

    /// A copy of this value read as its two parts, for operands that may have been
    /// written just before (see [`Relay`]).
    #[inline(always)]
    pub fn relay_copy(&self) -> Value {
        self.relay().value()
    }

    pub fn tag(&self) -> Tag {
        match self {
            Value::Null => Tag::Null,
            Value::Bool(_) => Tag::Bool,
            Value::Int(_) => Tag::Int,
            Value::Float(_) => Tag::Float,
            Value::Str(_) => Tag::Str,
            Value::Array(_) => Tag::Array,
            Value::Dict(_) => Tag::Dict,
            Value::Struct(_) => Tag::Struct,
            Value::Tagged(_) => Tag::Tagged,
            Value::Func(_) => Tag::Func,
            Value::Builtin(_) => Tag::Builtin,
            Value::Undef => Tag::Undef,
        }
    }

    /// The name `type(v)` returns (LANGUAGE.md section 2).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
            Value::Dict(_) => "dict",
            Value::Struct(_) => "struct",
            Value::Tagged(t) => t.type_name(),
            Value::Func(_) | Value::Builtin(_) => "function",
            Value::Undef => "undefined",
        }
    }

    /// Truthiness (LANGUAGE.md section 6), as `semantics::truthy` defines it.
    #[inline]
    pub fn is_truthy(&self) -> bool {
        crate::semantics::concrete::is_truthy(*self)
    }

    /// Marks the heap object behind this value as shared, so the next write through any
    /// holder copies it first. Called whenever a second live holder of a value appears.
    #[inline]
    pub fn mark_shared(&self) {
        match self {
            Value::Str(g) => g.set_shared(),
            Value::Array(g) => g.set_shared(),
            Value::Dict(g) => g.set_shared(),
            Value::Struct(g) => g.set_shared(),
            Value::Tagged(g) => g.set_shared(),
            _ => {}
        }
    }

    /// Puts the heap object behind this value on loan to a call (`Instr::Lend`).
    pub fn lend(&self) {
        match self {
            Value::Str(g) => g.lend(),
            Value::Array(g) => g.lend(),
            Value::Dict(g) => g.lend(),
            Value::Struct(g) => g.lend(),
            Value::Tagged(g) => g.lend(),
            _ => {}
        }
    }

    /// Ends the loan `lend` started (`Instr::EndLoan`).
    pub fn end_loan(&self) {
        match self {
            Value::Str(g) => g.end_loan(),
            Value::Array(g) => g.end_loan(),
            Value::Dict(g) => g.end_loan(),
            Value::Struct(g) => g.end_loan(),
            Value::Tagged(g) => g.end_loan(),
            _ => {}
        }
    }

    /// Whether a write through this value must copy its object first: it may have another
    /// holder, or is on loan (scalars have none).
    pub fn is_shared(&self) -> bool {
        match self {
            Value::Str(g) => g.is_shared(),
            Value::Array(g) => g.is_shared(),
            Value::Dict(g) => g.is_shared(),
            Value::Struct(g) => g.is_shared(),
            Value::Tagged(g) => g.is_shared(),
            _ => false,
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => write!(f, "Null"),
            Value::Undef => write!(f, "Undef"),
            Value::Bool(b) => write!(f, "Bool({})", b),
            Value::Int(i) => write!(f, "Int({})", i),
            Value::Float(x) => write!(f, "Float({})", x),
            Value::Str(s) => write!(f, "Str({:?})", s.text),
            Value::Builtin(id) => write!(f, "Builtin({})", crate::builtins::BUILTINS[*id as usize].name),
            other => write!(f, "{}@{:#x}", other.type_name(), other.heap_address().unwrap_or(0)),
        }
    }
}

impl Value {
    /// The address of the heap object behind this value, if any.
    pub fn heap_address(&self) -> Option<usize> {
        match self {
            Value::Str(g) => Some(g.addr()),
            Value::Array(g) => Some(g.addr()),
            Value::Dict(g) => Some(g.addr()),
            Value::Struct(g) => Some(g.addr()),
            Value::Tagged(g) => Some(g.addr()),
            Value::Func(g) => Some(g.addr()),
            _ => None,
        }
    }
}
